#!/usr/bin/python3
"""test_python_sync.py - RepositoryService sync streams from a Python client
generated from mnemo's .proto files at test time: a client in another
language can follow a sync, cancel it mid-way (the server sees the
cancellation and the sync reads CANCELLED), and run one in the background
and follow it with WatchSync to its end (docs/design.md "Behaviour that users
rely on").

Run with Debian's /usr/bin/python3 (python3-grpcio, python3-grpc-tools):

    /usr/bin/python3 tests/integration/test_python_sync.py \
        --mnemod build/server/mnemod --proto-dir proto

Stubs are generated at test time by test_python_client.generate_stubs (same
directory). The server runs with --batch-pause-ms 50 so that a sync
with a small batch_size lasts long enough to be cancelled mid-way without a
race; --allow-root is the temp dir that holds the generated trees. Times are
printed, never asserted; the only bounds are safety timeouts.
"""

import argparse
import os
import shutil
import sys
import tempfile
import time
import unittest

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from test_python_client import Server, load_stubs  # noqa: E402  (same directory)

RPC_TIMEOUT_S = 15
STREAM_TIMEOUT_S = 60
WAIT_S = 10  # safety bound for a cancelled sync to read CANCELLED
PAUSE_MS = "50"

ARGS = None


def write_tree(root, tag, n):
    """n small C files f0000.c... each with its own identifier on line 4."""
    os.makedirs(root, exist_ok=True)
    for i in range(n):
        with open(os.path.join(root, "f%04d.c" % i), "w") as f:
            f.write("/* file %d: sharedword */\n#include <stdio.h>\n\n"
                    "int %s%05dq(int x)\n{\n    return x + %d;\n}\n" % (i, tag, i, i))


def sync_status(repo, rpb, name, timeout=RPC_TIMEOUT_S):
    """GetSyncStatus of name (rpb: the generated repository_pb2)."""
    return repo.GetSyncStatus(rpb.GetSyncStatusRequest(repository_name=name), timeout=timeout)


def wait_sync_finished(repo, rpb, name, wait_s):
    """name's status once it is no longer PENDING or RUNNING, or after
    wait_s seconds."""
    live = (rpb.SYNC_STATE_PENDING, rpb.SYNC_STATE_RUNNING)
    deadline = time.monotonic() + wait_s
    st = sync_status(repo, rpb, name)
    while st.state in live and time.monotonic() < deadline:
        time.sleep(0.01)
        st = sync_status(repo, rpb, name)
    return st


class PythonSyncTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.stub_dir, stubs = load_stubs(ARGS.proto_dir)
        cls.grpc = stubs.grpc
        cls.pb = stubs.repository_pb2
        cls.trees = os.path.realpath(tempfile.mkdtemp(prefix="mnemo-pytrees-"))
        cls.server = Server(ARGS.mnemod, ["--allow-root", cls.trees,
                                          "--batch-pause-ms", PAUSE_MS])
        cls.channel = stubs.grpc.insecure_channel(cls.server.address)
        cls.repo = stubs.repository_pb2_grpc.RepositoryServiceStub(cls.channel)

    @classmethod
    def tearDownClass(cls):
        cls.channel.close()
        code = cls.server.stop()
        log = cls.server.read_log()
        cls.server.cleanup()
        shutil.rmtree(cls.stub_dir, ignore_errors=True)
        shutil.rmtree(cls.trees, ignore_errors=True)
        if code != 0:
            raise AssertionError("mnemod exited %r on SIGTERM, want 0; log:\n%s" % (code, log))

    def status(self, name):
        return sync_status(self.repo, self.pb, name)

    def wait_finished(self, name):
        return wait_sync_finished(self.repo, self.pb, name, WAIT_S)

    def start_background(self, root, name, batch_size):
        events = list(self.repo.SyncRepository(
            self.pb.SyncRepositoryRequest(repository_path=root, repository_name=name,
                                          background=True, batch_size=batch_size),
            timeout=STREAM_TIMEOUT_S))
        self.assertEqual(len(events), 1, "a background sync sends exactly one event")
        self.assertTrue(events[0].status.background)

    def hits(self, query, name):
        return self.repo.SearchCode(self.pb.SearchCodeRequest(query=query, repository_name=name,
                                                              limit=100),
                                    timeout=RPC_TIMEOUT_S).hits

    def test_cancel_stream_midway(self):
        n = 300
        root = os.path.join(self.trees, "pycancel")
        write_tree(root, "pyc", n)
        call = self.repo.SyncRepository(
            self.pb.SyncRepositoryRequest(repository_path=root, repository_name="pycancel",
                                          batch_size=5),
            timeout=STREAM_TIMEOUT_S)
        seen = 0
        events = 0
        for ev in call:
            events += 1
            self.assertIn(ev.status.state, (self.pb.SYNC_STATE_PENDING,
                                            self.pb.SYNC_STATE_RUNNING))
            seen = ev.status.progress.batches_committed
            if seen >= 2:
                break
        self.assertGreaterEqual(seen, 2, "the stream ended before two batches")
        t0 = time.monotonic()
        call.cancel()
        with self.assertRaises(self.grpc.RpcError) as cm:
            for _ in call:
                pass
        self.assertEqual(cm.exception.code(), self.grpc.StatusCode.CANCELLED)
        st = self.wait_finished("pycancel")
        print("\n[timing] python cancel: %d events, %d batches seen, server CANCELLED at %d "
              "batches after %.0f ms" % (events, seen, st.progress.batches_committed,
                                         (time.monotonic() - t0) * 1000))
        self.assertEqual(st.state, self.pb.SYNC_STATE_CANCELLED,
                         self.pb.SyncState.Name(st.state))
        self.assertGreaterEqual(st.progress.batches_committed, seen)
        self.assertLessEqual(st.progress.batches_committed, seen + 2)
        done = st.progress.processed_files
        self.assertEqual(done, 5 * st.progress.batches_committed)
        self.assertEqual(len(self.hits("pyc%05dq" % (done - 1), "pycancel")), 1)
        self.assertEqual(len(self.hits("pyc%05dq" % done, "pycancel")), 0)

    def test_cancel_sync_answers_the_state_it_stopped_in(self):
        n = 300
        root = os.path.join(self.trees, "pycancelrpc")
        write_tree(root, "pyr", n)
        self.start_background(root, "pycancelrpc", 5)
        deadline = time.monotonic() + WAIT_S
        st = self.status("pycancelrpc")
        while st.progress.batches_committed < 2 and time.monotonic() < deadline:
            time.sleep(0.01)
            st = self.status("pycancelrpc")
        self.assertEqual(st.state, self.pb.SYNC_STATE_RUNNING, self.pb.SyncState.Name(st.state))
        t0 = time.monotonic()
        answer = self.repo.CancelSync(self.pb.CancelSyncRequest(repository_name="pycancelrpc"),
                                      timeout=RPC_TIMEOUT_S)
        print("\n[timing] CancelSync answered after %.0f ms, at %d batches"
              % ((time.monotonic() - t0) * 1000, answer.progress.batches_committed))
        # The state that is true when it answers: stopped, not RUNNING.
        self.assertEqual(answer.state, self.pb.SYNC_STATE_CANCELLED,
                         self.pb.SyncState.Name(answer.state))
        self.assertGreater(answer.finished_at_ms, 0)
        self.assertLess(answer.progress.processed_files, n)
        after = self.status("pycancelrpc")
        self.assertEqual(after.state, self.pb.SYNC_STATE_CANCELLED)
        self.assertEqual(after.progress.batches_committed, answer.progress.batches_committed)
        again = self.repo.CancelSync(self.pb.CancelSyncRequest(repository_name="pycancelrpc"),
                                     timeout=RPC_TIMEOUT_S)
        self.assertEqual(again.state, self.pb.SYNC_STATE_CANCELLED)
        self.assertEqual(again.progress.batches_committed, answer.progress.batches_committed)

    def test_background_then_watch_to_completion(self):
        n = 300
        root = os.path.join(self.trees, "pybg")
        write_tree(root, "pyb", n)
        self.start_background(root, "pybg", 25)
        t0 = time.monotonic()
        watched = list(self.repo.WatchSync(self.pb.WatchSyncRequest(repository_name="pybg"),
                                           timeout=STREAM_TIMEOUT_S))
        print("\n[timing] python WatchSync: %d events over %.0f ms" %
              (len(watched), (time.monotonic() - t0) * 1000))
        self.assertGreaterEqual(len(watched), 1)
        last = watched[-1].status
        self.assertEqual(last.state, self.pb.SYNC_STATE_COMPLETED,
                         self.pb.SyncState.Name(last.state))
        self.assertEqual(last.progress.processed_files, n)
        self.assertEqual(last.progress.percentage, 100.0)
        pct = [e.status.progress.percentage for e in watched]
        self.assertEqual(pct, sorted(pct), "percentage never goes backwards")
        batches = [e.status.progress.batches_committed for e in watched]
        self.assertEqual(batches, sorted(batches))
        self.assertEqual(self.status("pybg").state, self.pb.SYNC_STATE_COMPLETED)
        hit = self.hits("pyb%05dq" % 123, "pybg")
        self.assertEqual(len(hit), 1)
        self.assertEqual(hit[0].path, "f0123.c")
        self.assertTrue(hit[0].start_line <= 4 <= hit[0].end_line)


def main():
    global ARGS
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--mnemod", required=True, help="path of the mnemod binary")
    parser.add_argument("--proto-dir", required=True, help="mnemo's proto/ directory")
    ARGS, rest = parser.parse_known_args()
    ARGS.mnemod = os.path.abspath(ARGS.mnemod)
    ARGS.proto_dir = os.path.abspath(ARGS.proto_dir)
    unittest.main(argv=[sys.argv[0]] + rest, verbosity=2)


if __name__ == "__main__":
    main()
