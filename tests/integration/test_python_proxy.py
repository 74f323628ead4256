#!/usr/bin/python3
"""test_python_proxy.py - mnemod behind a real nginx (grpc_pass) or HAProxy
(HTTP/2 on both sides), each run from the exact configuration file in
deploy/ (only its placeholders filled in: ports and addresses), on
loopback: every memory RPC, health, a sync whose events arrive as the sync
goes (not buffered to its end), a client cancel the server reads CANCELLED
at the next batch boundary, and a deadline; a drain (SIGTERM with
--drain-delay: health through the proxy NOT_SERVING while data calls still
succeed, then UNAVAILABLE from the proxy, the cut foreground sync
UNAVAILABLE and resumed after a restart); through nginx, an idle WatchSync
kept alive by --stream-heartbeat past grpc_read_timeout, and cut without it
(README "Operating mnemod").

    /usr/bin/python3 tests/integration/test_python_proxy.py --proxy nginx \
        --mnemod build/server/mnemod --proto-dir proto --deploy-dir deploy

The proxy is the test's own instance (proxy_lib.py): own temp dir, config,
pid and log, a free ephemeral port; never the system service. mnemod runs
with --batch-pause-ms so that a sync of a few hundred small files in
batches of 5 lasts seconds. Times are printed; the only asserted times are
generous bounds and ratios (2 shared cores).
"""

import argparse
import hashlib
import os
import shutil
import sys
import signal
import tempfile
import threading
import time
import unittest

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from test_python_client import Server, load_stubs  # noqa: E402  (same directory)
from test_python_sync import wait_sync_finished, write_tree  # noqa: E402
import proxy_lib  # noqa: E402

RPC_TIMEOUT_S = 15
STREAM_TIMEOUT_S = 120
WAIT_S = 15  # safety bound for a stopped sync to read its final state
PAUSE_MS = 100  # mnemod's --batch-pause-ms: a batch of 5 files lasts >= 0.1 s
BATCH = 5

ARGS = None


def start_proxy(kind, mnemod_address, health_port, overrides=None):
    if kind == "nginx":
        return proxy_lib.Nginx(os.path.join(ARGS.deploy_dir, "nginx", "mnemo.conf"),
                               mnemod_address, overrides=overrides)
    if overrides:
        raise ValueError("overrides are for nginx only")
    # Both server lines point at the one mnemod: replicas do not share data.
    return proxy_lib.HAProxy(os.path.join(ARGS.deploy_dir, "haproxy", "mnemo.cfg"),
                             [(mnemod_address, health_port)] * 2)


class StubsMixin:
    @classmethod
    def prepare_stubs(cls):
        cls.stub_dir, stubs = load_stubs(ARGS.proto_dir)
        cls.grpc = stubs.grpc
        cls.mpb, cls.mgrpc = stubs.memory_pb2, stubs.memory_pb2_grpc
        cls.rpb, cls.rgrpc = stubs.repository_pb2, stubs.repository_pb2_grpc
        cls.hpb, cls.hgrpc = stubs.health_pb2, stubs.health_pb2_grpc

    @classmethod
    def wait_answering(cls, health, wait_s):
        """Until a health Check answers (a proxy may still be connecting to
        mnemod or running its first check, a restarted mnemod starting)."""
        deadline = time.monotonic() + wait_s
        while True:
            try:
                health.Check(cls.hpb.HealthCheckRequest(), timeout=2)
                return
            except cls.grpc.RpcError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)

    def stubs(self, address):
        ch = self.grpc.insecure_channel(address)
        self.addCleanup(ch.close)
        return (self.mgrpc.MemoryServiceStub(ch), self.rgrpc.RepositoryServiceStub(ch),
                self.hgrpc.HealthStub(ch))


class ProxyTest(StubsMixin, unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.prepare_stubs()
        cls.trees = os.path.realpath(tempfile.mkdtemp(prefix="mnemo-pytrees-"))
        cls.server = Server(ARGS.mnemod, ["--allow-root", cls.trees,
                                          "--batch-pause-ms", str(PAUSE_MS)])
        port = int(cls.server.address.rsplit(":", 1)[1])
        cls.proxy = start_proxy(ARGS.proxy, cls.server.address, port)
        cls.channel = cls.grpc.insecure_channel(cls.proxy.address)
        cls.mem = cls.mgrpc.MemoryServiceStub(cls.channel)
        cls.repo = cls.rgrpc.RepositoryServiceStub(cls.channel)
        cls.health = cls.hgrpc.HealthStub(cls.channel)
        cls.wait_answering(cls.health, 10)

    @classmethod
    def tearDownClass(cls):
        cls.channel.close()
        proxy_log = cls.proxy.read_log()
        cls.proxy.cleanup()
        code = cls.server.stop()
        log = cls.server.read_log()
        cls.server.cleanup()
        shutil.rmtree(cls.stub_dir, ignore_errors=True)
        shutil.rmtree(cls.trees, ignore_errors=True)
        if code != 0:
            raise AssertionError("mnemod exited %r on SIGTERM, want 0; log:\n%s\nproxy log:\n%s"
                                 % (code, log, proxy_log))

    def fail_with_logs(self, msg):
        self.fail("%s\nproxy log (tail):\n%s" % (msg, self.proxy.read_log()[-3000:]))

    # ---- memories -------------------------------------------------------

    def test_every_memory_rpc(self):
        pb = self.mpb
        content = "through %s: the staging database moved to db2 \u2713" % ARGS.proxy
        r = self.mem.StoreMemory(pb.StoreMemoryRequest(content=content, tags=["px", "ops"],
                                                       metadata={"via": ARGS.proxy}),
                                 timeout=RPC_TIMEOUT_S)
        self.assertTrue(r.created)
        mid = r.memory.id
        self.assertEqual(mid, hashlib.sha256(content.encode()).hexdigest())
        got = self.mem.GetMemory(pb.GetMemoryRequest(id=mid), timeout=RPC_TIMEOUT_S)
        self.assertEqual(got.content, content)
        self.assertEqual(dict(got.metadata), {"via": ARGS.proxy})
        other = self.mem.StoreMemory(pb.StoreMemoryRequest(content="unrelated px note",
                                                           tags=["px"]),
                                     timeout=RPC_TIMEOUT_S).memory.id

        page = self.mem.ListMemories(pb.ListMemoriesRequest(page_size=1, tags=["px"]),
                                     timeout=RPC_TIMEOUT_S)
        self.assertEqual([m.id for m in page.memories], [other])  # newest first
        self.assertTrue(page.next_page_token)
        page2 = self.mem.ListMemories(pb.ListMemoriesRequest(page_size=1, tags=["px"],
                                                             page_token=page.next_page_token),
                                      timeout=RPC_TIMEOUT_S)
        self.assertEqual([m.id for m in page2.memories], [mid])

        ranked = self.mem.RetrieveMemory(pb.RetrieveMemoryRequest(query="staging database",
                                                                  limit=5),
                                         timeout=RPC_TIMEOUT_S)
        self.assertEqual(ranked.results[0].memory.id, mid)
        self.assertGreater(ranked.results[0].score, 0)

        both = self.mem.SearchByTag(pb.SearchByTagRequest(tags=["px", "ops"], match_all=True),
                                    timeout=RPC_TIMEOUT_S)
        self.assertEqual([m.id for m in both.memories], [mid])

        self.assertTrue(self.mem.DeleteMemory(pb.DeleteMemoryRequest(id=mid),
                                              timeout=RPC_TIMEOUT_S).deleted)
        # Errors pass through with their code and message intact.
        with self.assertRaises(self.grpc.RpcError) as cm:
            self.mem.GetMemory(pb.GetMemoryRequest(id=mid), timeout=RPC_TIMEOUT_S)
        self.assertEqual(cm.exception.code(), self.grpc.StatusCode.NOT_FOUND)
        with self.assertRaises(self.grpc.RpcError) as cm:
            self.mem.RetrieveMemory(pb.RetrieveMemoryRequest(query="x", limit=-1),
                                    timeout=RPC_TIMEOUT_S)
        self.assertEqual(cm.exception.code(), self.grpc.StatusCode.INVALID_ARGUMENT)
        self.assertIn("limit", cm.exception.details())

    def test_largest_memory_passes(self):
        """A memory at the 1 MiB content limit: the proxy's body limit must
        not be below mnemod's (nginx's default 1m is)."""
        content = ("%s-large " % ARGS.proxy) * 1
        content += "x" * (1024 * 1024 - len(content))
        r = self.mem.StoreMemory(self.mpb.StoreMemoryRequest(content=content),
                                 timeout=RPC_TIMEOUT_S)
        got = self.mem.GetMemory(self.mpb.GetMemoryRequest(id=r.memory.id),
                                 timeout=RPC_TIMEOUT_S)
        self.assertEqual(len(got.content), 1024 * 1024)

    # ---- health ---------------------------------------------------------

    def test_health(self):
        serving = self.hpb.HealthCheckResponse.SERVING
        for name in ("", "mnemo.v1.MemoryService", "mnemo.v1.RepositoryService"):
            r = self.health.Check(self.hpb.HealthCheckRequest(service=name),
                                  timeout=RPC_TIMEOUT_S)
            self.assertEqual(r.status, serving, name)
        with self.assertRaises(self.grpc.RpcError) as cm:
            self.health.Check(self.hpb.HealthCheckRequest(service="no.such.Service"),
                              timeout=RPC_TIMEOUT_S)
        self.assertEqual(cm.exception.code(), self.grpc.StatusCode.NOT_FOUND)
        stream = self.health.Watch(self.hpb.HealthCheckRequest(), timeout=RPC_TIMEOUT_S)
        try:
            self.assertEqual(next(stream).status, serving)
        finally:
            stream.cancel()

    # ---- syncs ----------------------------------------------------------

    def wait_finished(self, name):
        return wait_sync_finished(self.repo, self.rpb, name, WAIT_S)

    def hits(self, query, name):
        return self.repo.SearchCode(self.rpb.SearchCodeRequest(query=query, repository_name=name,
                                                               limit=100),
                                    timeout=RPC_TIMEOUT_S).hits

    def test_sync_events_arrive_as_the_sync_goes(self):
        n = 200  # 40 batches, 39 pauses of 100 ms between them: >= 3.9 s
        name = "progressive"
        root = os.path.join(self.trees, name)
        write_tree(root, "pgr", n)
        t0 = time.monotonic()
        arrivals = []
        last = None
        for ev in self.repo.SyncRepository(
                self.rpb.SyncRepositoryRequest(repository_path=root, repository_name=name,
                                               batch_size=BATCH),
                timeout=STREAM_TIMEOUT_S):
            arrivals.append(time.monotonic() - t0)
            last = ev
        end = time.monotonic() - t0
        print("\n[timing] %s sync: %d events, first at %.3f s, stream ended at %.3f s"
              % (ARGS.proxy, len(arrivals), arrivals[0], end))
        self.assertEqual(last.status.state, self.rpb.SYNC_STATE_COMPLETED)
        self.assertEqual(last.status.progress.processed_files, n)
        self.assertGreaterEqual(end, (n // BATCH - 1) * PAUSE_MS / 1000.0,
                                "the sync was too short to tell streaming from buffering")
        # Streamed, not buffered: the first event (PENDING, sent at once)
        # arrives long before the end, and events keep arriving throughout.
        # A proxy that buffered the response would deliver them all at the
        # end.
        self.assertLess(arrivals[0], end / 4, "first event at %.3f s of %.3f s: buffered?"
                        % (arrivals[0], end))
        early = sum(1 for a in arrivals if a < end / 2)
        self.assertGreaterEqual(early, 5, "only %d of %d events in the first half"
                                % (early, len(arrivals)))

    def test_client_cancel_stops_sync_at_next_batch(self):
        n = 300  # 60 batches: >= 6 s; cancelled after 2
        name = "pxcancel"
        root = os.path.join(self.trees, name)
        write_tree(root, "pxc", n)
        call = self.repo.SyncRepository(
            self.rpb.SyncRepositoryRequest(repository_path=root, repository_name=name,
                                           batch_size=BATCH),
            timeout=STREAM_TIMEOUT_S)
        seen = 0
        for ev in call:
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
        st = self.wait_finished(name)
        waited = time.monotonic() - t0
        print("\n[timing] %s cancel: %d batches seen, server CANCELLED at %d batches after "
              "%.0f ms" % (ARGS.proxy, seen, st.progress.batches_committed, waited * 1000))
        if st.state != self.rpb.SYNC_STATE_CANCELLED:
            self.fail_with_logs("state %s after the client cancelled through %s"
                                % (self.rpb.SyncState.Name(st.state), ARGS.proxy))
        # The cancel reached mnemod within a batch: at most the batch that
        # was committing when the client saw `seen`, and the one after.
        self.assertGreaterEqual(st.progress.batches_committed, seen)
        self.assertLessEqual(st.progress.batches_committed, seen + 2)
        done = st.progress.processed_files
        self.assertEqual(done, BATCH * st.progress.batches_committed)  # a batch boundary
        self.assertEqual(len(self.hits("pxc%05dq" % (done - 1), name)), 1)
        self.assertEqual(len(self.hits("pxc%05dq" % done, name)), 0)

    def test_deadline(self):
        n = 300  # >= 6 s of sync against a 1.5 s deadline
        name = "pxdeadline"
        root = os.path.join(self.trees, name)
        write_tree(root, "pxd", n)
        t0 = time.monotonic()
        with self.assertRaises(self.grpc.RpcError) as cm:
            for _ in self.repo.SyncRepository(
                    self.rpb.SyncRepositoryRequest(repository_path=root, repository_name=name,
                                                   batch_size=BATCH),
                    timeout=1.5):
                pass
        took = time.monotonic() - t0
        self.assertEqual(cm.exception.code(), self.grpc.StatusCode.DEADLINE_EXCEEDED,
                         cm.exception.details())
        self.assertGreaterEqual(took, 1.4)
        self.assertLess(took, 10)
        # The deadline reached mnemod too: the sync stops at a batch
        # boundary and reads CANCELLED, long before it would have ended.
        st = self.wait_finished(name)
        print("\n[timing] %s deadline: DEADLINE_EXCEEDED after %.3f s, server %s at %d of %d "
              "files" % (ARGS.proxy, took, self.rpb.SyncState.Name(st.state),
                         st.progress.processed_files, n))
        self.assertEqual(st.state, self.rpb.SYNC_STATE_CANCELLED,
                         self.rpb.SyncState.Name(st.state))
        self.assertLess(st.progress.processed_files, n)



class Collector(threading.Thread):
    """Reads a server stream to its end on its own thread: (seconds since
    start, message) of each message, then the status code and details
    (OK when the stream ended cleanly)."""

    def __init__(self, call, grpc):
        super().__init__(daemon=True)
        self.call, self.grpc = call, grpc
        self.t0 = time.monotonic()
        self.messages, self.code, self.details = [], None, ""
        self.start()

    def run(self):
        try:
            for m in self.call:
                self.messages.append((time.monotonic() - self.t0, m))
            self.code = self.grpc.StatusCode.OK
        except self.grpc.RpcError as e:
            self.code, self.details = e.code(), e.details() or ""
        self.ended = time.monotonic() - self.t0


def mnemod_on(ports, data_dir, extra):
    """A mnemod on fixed ports (a restart must come back where the proxy
    looks) over data_dir; extra: more flags."""
    listen, health = ports
    return Server(ARGS.mnemod, ["--listen", "127.0.0.1:%d" % listen, "--data-dir", data_dir,
                                "--health-listen", "127.0.0.1:%d" % health] + list(extra))


class DrainThroughProxyTest(StubsMixin, unittest.TestCase):
    """SIGTERM with --drain-delay behind the proxy: health through the proxy
    reads NOT_SERVING at once while data calls still succeed; afterwards
    the proxy answers UNAVAILABLE; the foreground sync cut by the stop ends
    UNAVAILABLE through the proxy, and a resume after a restart completes
    it."""

    DRAIN_S = 4

    @classmethod
    def setUpClass(cls):
        cls.prepare_stubs()

    def test_drain(self):
        grpc, rpb, hpb = self.grpc, self.rpb, self.hpb
        work = os.path.realpath(tempfile.mkdtemp(prefix="mnemo-pydrain-"))
        self.addCleanup(shutil.rmtree, work, True)
        trees = os.path.join(work, "trees")
        root = os.path.join(trees, "drained")
        n = 300
        write_tree(root, "pxr", n)
        ports = (proxy_lib.free_port(), proxy_lib.free_port())
        data = os.path.join(work, "data")
        flags = ["--allow-root", trees, "--batch-pause-ms", str(PAUSE_MS),
                 "--drain-delay", "%ds" % self.DRAIN_S, "--grace-ms", "5000"]
        server = mnemod_on(ports, data, flags)
        self.addCleanup(server.cleanup)
        proxy = start_proxy(ARGS.proxy, "127.0.0.1:%d" % ports[0], ports[1])
        self.addCleanup(proxy.cleanup)
        mem, repo, health = self.stubs(proxy.address)
        self.wait_answering(health, 10)

        sync = Collector(repo.SyncRepository(
            rpb.SyncRepositoryRequest(repository_path=root, repository_name="drained",
                                      batch_size=BATCH), timeout=STREAM_TIMEOUT_S), grpc)
        while not any(m.status.progress.batches_committed >= 2 for _, m in sync.messages):
            self.assertIsNone(sync.code, "the sync ended before two batches: %s" % sync.details)
            time.sleep(0.01)

        t0 = time.monotonic()
        server.proc.send_signal(signal.SIGTERM)
        while True:
            r = health.Check(hpb.HealthCheckRequest(), timeout=RPC_TIMEOUT_S)
            if r.status == hpb.HealthCheckResponse.NOT_SERVING:
                break
            self.assertLess(time.monotonic() - t0, self.DRAIN_S, "still SERVING")
        seen = time.monotonic() - t0
        # Still serving: data calls through the proxy succeed after
        # NOT_SERVING was seen (HAProxy's checks, 2 x 1 s, have not yet
        # taken the replica out; nginx has no active checks).
        for i in range(5):
            mem.StoreMemory(self.mpb.StoreMemoryRequest(content="stored while draining %d" % i),
                            timeout=RPC_TIMEOUT_S)
        stored = time.monotonic() - t0
        print("\n[timing] %s drain: NOT_SERVING through the proxy %.1f ms after SIGTERM; "
              "5 stores done by %.1f ms" % (ARGS.proxy, seen * 1000, stored * 1000))
        self.assertLess(stored, self.DRAIN_S, "the stores were not within the drain delay")

        # The foreground sync: final event, then UNAVAILABLE saying resume.
        sync.join(STREAM_TIMEOUT_S)
        self.assertEqual(sync.code, grpc.StatusCode.UNAVAILABLE, sync.details)
        self.assertIn("resume", sync.details)
        last = sync.messages[-1][1].status
        self.assertEqual(last.state, rpb.SYNC_STATE_CANCELLED, rpb.SyncState.Name(last.state))
        done = last.progress.processed_files
        self.assertLess(done, n)
        self.assertEqual(server.proc.wait(30), 0, server.read_log())

        # Afterwards the proxy itself answers, UNAVAILABLE.
        with self.assertRaises(grpc.RpcError) as cm:
            mem.GetMemory(self.mpb.GetMemoryRequest(id="0" * 64), timeout=RPC_TIMEOUT_S)
        self.assertEqual(cm.exception.code(), grpc.StatusCode.UNAVAILABLE,
                         cm.exception.details())

        # Restarted on the same ports and data: the proxy finds it again and
        # the resumed sync reads only what was not committed.
        server2 = mnemod_on(ports, data, ["--allow-root", trees])
        self.addCleanup(server2.cleanup)
        self.wait_answering(health, 20)
        events = list(repo.SyncRepository(
            rpb.SyncRepositoryRequest(repository_path=root, repository_name="drained",
                                      batch_size=100), timeout=STREAM_TIMEOUT_S))
        final = events[-1].status
        self.assertEqual(final.state, rpb.SYNC_STATE_COMPLETED, rpb.SyncState.Name(final.state))
        self.assertEqual(final.progress.unchanged_files, done)
        self.assertEqual(final.progress.processed_files, n - done)
        self.assertEqual(server2.stop(), 0, server2.read_log())


class HeartbeatThroughNginxTest(StubsMixin, unittest.TestCase):
    """An idle WatchSync through nginx with grpc_read_timeout 3s: alive
    after 10 s with --stream-heartbeat 1s, cut at ~3 s without it (which
    proves the setup: the stream really is idle)."""

    READ_TIMEOUT = "3s"
    WATCH_S = 10

    @classmethod
    def setUpClass(cls):
        if ARGS.proxy != "nginx":
            raise unittest.SkipTest("the heartbeat case runs through nginx (grpc_read_timeout)")
        cls.prepare_stubs()

    def watch_idle(self, heartbeat_flags):
        grpc, rpb = self.grpc, self.rpb
        work = os.path.realpath(tempfile.mkdtemp(prefix="mnemo-pyhb-"))
        self.addCleanup(shutil.rmtree, work, True)
        root = os.path.join(work, "idle")
        write_tree(root, "hb", 3)
        # One file per batch, then a pause longer than the watch: the sync
        # runs, and sends nothing of its own, for the whole test.
        server = Server(ARGS.mnemod, ["--allow-root", work, "--batch-pause-ms", "60000"] +
                        heartbeat_flags)
        self.addCleanup(server.cleanup)
        proxy = proxy_lib.Nginx(os.path.join(ARGS.deploy_dir, "nginx", "mnemo.conf"),
                                server.address,
                                overrides={"grpc_read_timeout": self.READ_TIMEOUT})
        self.addCleanup(proxy.cleanup)
        _, repo, _ = self.stubs(proxy.address)
        _, direct, _ = self.stubs(server.address)
        first = list(repo.SyncRepository(
            rpb.SyncRepositoryRequest(repository_path=root, repository_name="idle",
                                      background=True, batch_size=1), timeout=RPC_TIMEOUT_S))
        self.assertEqual(len(first), 1)
        while direct.GetSyncStatus(rpb.GetSyncStatusRequest(repository_name="idle"),
                                   timeout=RPC_TIMEOUT_S).progress.batches_committed < 1:
            time.sleep(0.01)
        watch = Collector(repo.WatchSync(rpb.WatchSyncRequest(repository_name="idle"),
                                         timeout=STREAM_TIMEOUT_S), grpc)
        watch.join(self.WATCH_S)
        alive = watch.is_alive()
        watch.call.cancel()
        watch.join(5)
        direct.CancelSync(rpb.CancelSyncRequest(repository_name="idle"), timeout=RPC_TIMEOUT_S)
        return alive, watch

    def test_idle_watch_survives_with_heartbeat(self):
        alive, watch = self.watch_idle(["--stream-heartbeat", "1s"])
        times = [round(t, 1) for t, _ in watch.messages]
        print("\n[timing] nginx heartbeat 1s: %d events at %s s" % (len(times), times))
        self.assertTrue(alive, "the watch ended after %.1f s: %s %s"
                        % (watch.ended, watch.code, watch.details))
        self.assertEqual(watch.code, self.grpc.StatusCode.CANCELLED)  # our own cancel
        self.assertGreaterEqual(len(watch.messages), self.WATCH_S // 2,
                                "too few heartbeats: %s" % times)

    def test_idle_watch_cut_without_heartbeat(self):
        alive, watch = self.watch_idle([])
        print("\n[timing] nginx, default heartbeat: the watch ended after %.1f s with %s %r"
              % (watch.ended if not alive else -1, watch.code, watch.details))
        self.assertFalse(alive, "an idle watch outlived grpc_read_timeout %s: the test would "
                         "not notice a missing heartbeat" % self.READ_TIMEOUT)
        self.assertNotEqual(watch.code, self.grpc.StatusCode.OK)


def main():
    global ARGS
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--proxy", required=True, choices=("nginx", "haproxy"))
    parser.add_argument("--mnemod", required=True, help="path of the mnemod binary")
    parser.add_argument("--proto-dir", required=True, help="mnemo's proto/ directory")
    parser.add_argument("--deploy-dir", required=True, help="mnemo's deploy/ directory")
    ARGS, rest = parser.parse_known_args()
    for attr in ("mnemod", "proto_dir", "deploy_dir"):
        setattr(ARGS, attr, os.path.abspath(getattr(ARGS, attr)))
    if shutil.which(ARGS.proxy) is None and not os.path.exists("/usr/sbin/" + ARGS.proxy):
        print("%s is not installed (cmake/install-deps.sh installs it)" % ARGS.proxy)
        sys.exit(1)
    os.environ["PATH"] += os.pathsep + "/usr/sbin"
    unittest.main(argv=[sys.argv[0]] + rest, verbosity=2)


if __name__ == "__main__":
    main()
