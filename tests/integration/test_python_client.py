#!/usr/bin/python3
"""test_python_client.py - drives a real mnemod from a Python client generated
from mnemo's .proto files at test time: the contract works for a client
written in another language than the server (docs/design.md).

Run with Debian's /usr/bin/python3 (python3-grpcio, python3-grpc-tools); a
pyenv `python3` on PATH may lack them:

    /usr/bin/python3 tests/integration/test_python_client.py \
        --mnemod build/server/mnemod --proto-dir proto

Stubs are generated into a temp dir with grpc_tools.protoc. health.proto is
generated from inside /usr/share/grpc-proto/grpc/health/v1 so that its output
is a top-level health_pb2 module: generating it by its full path would create
a local `grpc` package that shadows grpcio itself.
"""

import argparse
import hashlib
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import types
import unittest

HEALTH_DIR = "/usr/share/grpc-proto/grpc/health/v1"
START_TIMEOUT_S = 20
RPC_TIMEOUT_S = 15

ARGS = None  # parsed command line, set in main()


def generate_stubs(proto_dir, out_dir):
    """Writes mnemo/v1/*_pb2*.py and health_pb2*.py into out_dir."""
    from grpc_tools import protoc  # imported late: a clear error if missing

    protos = [os.path.join("mnemo", "v1", name)
              for name in sorted(os.listdir(os.path.join(proto_dir, "mnemo", "v1")))
              if name.endswith(".proto")]
    include = os.path.join(os.path.dirname(protoc.__file__), "_proto")
    args = ["protoc", "-I" + proto_dir, "-I" + include,
            "--python_out=" + out_dir, "--grpc_python_out=" + out_dir] + protos
    if protoc.main(args) != 0:
        raise RuntimeError("protoc failed on " + " ".join(protos))
    args = ["protoc", "-I.", "-I" + include,
            "--python_out=" + out_dir, "--grpc_python_out=" + out_dir, "health.proto"]
    cwd = os.getcwd()
    os.chdir(HEALTH_DIR)
    try:
        if protoc.main(args) != 0:
            raise RuntimeError("protoc failed on health.proto")
    finally:
        os.chdir(cwd)
    # grpc_tools 1.14 writes no __init__.py; make mnemo.v1 importable as a
    # regular package in any Python version.
    for pkg in ("mnemo", os.path.join("mnemo", "v1")):
        open(os.path.join(out_dir, pkg, "__init__.py"), "a").close()


def load_stubs(proto_dir):
    """Generates the stubs into a new temporary directory (the caller
    removes it), puts it first on sys.path and returns it with a namespace
    of grpc and the generated modules: memory_pb2, memory_pb2_grpc,
    repository_pb2, repository_pb2_grpc, health_pb2, health_pb2_grpc."""
    stub_dir = tempfile.mkdtemp(prefix="mnemo-pystubs-")
    generate_stubs(proto_dir, stub_dir)
    sys.path.insert(0, stub_dir)
    import grpc
    import health_pb2
    import health_pb2_grpc
    from mnemo.v1 import memory_pb2, memory_pb2_grpc, repository_pb2, repository_pb2_grpc
    return stub_dir, types.SimpleNamespace(
        grpc=grpc, health_pb2=health_pb2, health_pb2_grpc=health_pb2_grpc,
        memory_pb2=memory_pb2, memory_pb2_grpc=memory_pb2_grpc,
        repository_pb2=repository_pb2, repository_pb2_grpc=repository_pb2_grpc)


class Server:
    """One mnemod on 127.0.0.1:0 with a fresh data dir (plus `extra` flags);
    stderr to a log. Shared by the other Python tests of this directory."""

    def __init__(self, mnemod, extra=(), env_extra=None):
        self.workdir = tempfile.mkdtemp(prefix="mnemo-pytest-")
        self.data_dir = os.path.join(self.workdir, "data")
        self.log_path = os.path.join(self.workdir, "mnemod.log")
        env = {k: v for k, v in os.environ.items() if not k.startswith("MNEMO_")}
        env.update(env_extra or {})
        self.log = open(self.log_path, "wb")
        self.proc = subprocess.Popen(
            [mnemod, "--listen", "127.0.0.1:0", "--data-dir", self.data_dir] + list(extra),
            stdin=subprocess.DEVNULL, stdout=self.log, stderr=subprocess.PIPE, env=env)
        self.address = None
        self._ready = threading.Event()
        # Drain stderr for the whole life of the process so the pipe never
        # fills; the first "listening on HOST:PORT" gives the address.
        self._drain = threading.Thread(target=self._drain_stderr, daemon=True)
        self._drain.start()
        if not self._ready.wait(START_TIMEOUT_S) or self.address is None:
            self.kill()
            raise RuntimeError("mnemod did not print its address:\n" + self.read_log())

    def _drain_stderr(self):
        for line in iter(self.proc.stderr.readline, b""):
            self.log.write(line)
            self.log.flush()
            m = re.search(rb"listening on (\S+:\d+)", line)
            if m and self.address is None:
                self.address = m.group(1).decode()
                self._ready.set()
        self._ready.set()  # EOF: the process is gone

    def read_log(self):
        with open(self.log_path, "rb") as f:
            return f.read().decode(errors="replace")

    def stop(self):
        """SIGTERM; returns the exit code (None if it had to be killed)."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.kill()
                return None
        return self.proc.returncode

    def finish(self):
        """SIGTERM, then the cleanup; fails unless mnemod exited 0 (its log
        in the message). Returns the log."""
        code = self.stop()
        log = self.read_log()
        self.cleanup()
        if code != 0:
            raise AssertionError("mnemod exited %r on SIGTERM, want 0; log:\n%s" % (code, log))
        return log

    def kill(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()

    def cleanup(self):
        self.kill()
        self._drain.join(5)
        self.log.close()
        shutil.rmtree(self.workdir, ignore_errors=True)


class PythonClientTest(unittest.TestCase):
    """Every MemoryService RPC, Health Check and Watch, through stubs
    generated from the .proto files."""

    @classmethod
    def setUpClass(cls):
        cls.stub_dir, stubs = load_stubs(ARGS.proto_dir)
        cls.grpc = stubs.grpc
        cls.pb = stubs.memory_pb2
        cls.health_pb2 = stubs.health_pb2
        cls.secure_dir = None
        if ARGS.make_certs:
            cls.server, cls.channel = cls.secure_server(stubs.grpc)
        else:
            cls.server = Server(ARGS.mnemod)
            cls.channel = stubs.grpc.insecure_channel(cls.server.address)
        cls.mem = stubs.memory_pb2_grpc.MemoryServiceStub(cls.channel)
        cls.repo = stubs.repository_pb2_grpc.RepositoryServiceStub(cls.channel)
        cls.health = stubs.health_pb2_grpc.HealthStub(cls.channel)

    @classmethod
    def secure_server(cls, grpc):
        """--make-certs: mnemod with TLS and tokens; a channel that trusts
        its CA and sends an admin token on every call."""
        cls.secure_dir = tempfile.mkdtemp(prefix="mnemo-pysecure-")
        d = cls.secure_dir
        subprocess.run(["bash", ARGS.make_certs, d], check=True, capture_output=True)
        token = "python-suite-" + hashlib.sha256(os.urandom(32)).hexdigest()[:32]
        digest = hashlib.sha256(token.encode()).hexdigest()
        with open(os.path.join(d, "tokens"), "w") as f:
            f.write("%s admin python-suite\n" % digest)
        server = Server(ARGS.mnemod, ["--tls-cert", os.path.join(d, "server.pem"),
                                      "--tls-key", os.path.join(d, "server.key"),
                                      "--auth-tokens", os.path.join(d, "tokens")])
        with open(os.path.join(d, "ca.pem"), "rb") as f:
            ssl = grpc.ssl_channel_credentials(root_certificates=f.read())
        creds = grpc.composite_channel_credentials(
            ssl, grpc.access_token_call_credentials(token))
        return server, grpc.secure_channel(server.address, creds)

    @classmethod
    def tearDownClass(cls):
        cls.channel.close()
        code = cls.server.stop()
        log = cls.server.read_log()
        cls.server.cleanup()
        shutil.rmtree(cls.stub_dir, ignore_errors=True)
        if cls.secure_dir is not None:
            shutil.rmtree(cls.secure_dir, ignore_errors=True)
        if code != 0:
            raise AssertionError("mnemod exited %r on SIGTERM, want 0; log:\n%s" % (code, log))

    def store(self, content, tags=(), metadata=None, memory_type=""):
        return self.mem.StoreMemory(
            self.pb.StoreMemoryRequest(content=content, tags=list(tags),
                                       metadata=metadata or {}, memory_type=memory_type),
            timeout=RPC_TIMEOUT_S)

    def assert_status(self, code, field, fn, *args):
        with self.assertRaises(self.grpc.RpcError) as cm:
            fn(*args, timeout=RPC_TIMEOUT_S)
        self.assertEqual(cm.exception.code(), code, cm.exception.details())
        if field:
            self.assertIn(field, cm.exception.details() or "")

    def test_store_get_delete(self):
        content = "python client stores \u00e9t\u00e9 \u2713 memories"
        resp = self.store(content, tags=["py", "b"], metadata={"lang": "python"},
                          memory_type="note")
        self.assertTrue(resp.created)
        m = resp.memory
        self.assertEqual(m.id, hashlib.sha256(content.encode()).hexdigest())
        self.assertEqual(m.content, content)
        self.assertEqual(sorted(m.tags), ["b", "py"])
        self.assertEqual(dict(m.metadata), {"lang": "python"})
        self.assertEqual(m.memory_type, "note")
        self.assertGreater(m.created_at_ms, 0)

        again = self.store(content, tags=["extra"])
        self.assertFalse(again.created)
        self.assertEqual(again.memory.id, m.id)
        self.assertEqual(sorted(again.memory.tags), ["b", "extra", "py"])
        self.assertEqual(again.memory.created_at_ms, m.created_at_ms)

        got = self.mem.GetMemory(self.pb.GetMemoryRequest(id=m.id), timeout=RPC_TIMEOUT_S)
        self.assertEqual(got.content, content)
        self.assertEqual(sorted(got.tags), ["b", "extra", "py"])

        d = self.mem.DeleteMemory(self.pb.DeleteMemoryRequest(id=m.id), timeout=RPC_TIMEOUT_S)
        self.assertTrue(d.deleted)
        d = self.mem.DeleteMemory(self.pb.DeleteMemoryRequest(id=m.id), timeout=RPC_TIMEOUT_S)
        self.assertFalse(d.deleted)
        self.assert_status(self.grpc.StatusCode.NOT_FOUND, None, self.mem.GetMemory,
                           self.pb.GetMemoryRequest(id=m.id))

    def test_list_pages_newest_first(self):
        ids = [self.store("python list item %d" % i, tags=["pylist"]).memory.id
               for i in range(7)]
        seen, token = [], ""
        while True:
            page = self.mem.ListMemories(
                self.pb.ListMemoriesRequest(page_size=3, page_token=token, tags=["pylist"]),
                timeout=RPC_TIMEOUT_S)
            self.assertLessEqual(len(page.memories), 3)
            seen.extend(page.memories)
            token = page.next_page_token
            if not token:
                break
        self.assertEqual(sorted(m.id for m in seen), sorted(ids))
        created = [m.created_at_ms for m in seen]
        self.assertEqual(created, sorted(created, reverse=True))

    def test_retrieve_ranks_by_relevance(self):
        best = self.store("quokka quokka quokka island marsupial").memory.id
        other = self.store("a quokka was seen on the ferry").memory.id
        self.store("nothing about the animal here")
        resp = self.mem.RetrieveMemory(self.pb.RetrieveMemoryRequest(query="quokka", limit=5),
                                       timeout=RPC_TIMEOUT_S)
        ids = [r.memory.id for r in resp.results]
        self.assertEqual(ids[:2], [best, other])
        self.assertFalse(resp.truncated)  # a small reply is within the byte budget
        scores = [r.score for r in resp.results]
        self.assertEqual(scores, sorted(scores, reverse=True))
        high = self.mem.RetrieveMemory(
            self.pb.RetrieveMemoryRequest(query="quokka", limit=5, min_score=scores[0] + 1),
            timeout=RPC_TIMEOUT_S)
        self.assertEqual(len(high.results), 0)

    def test_search_by_tag_any_and_all(self):
        both = self.store("pytag both", tags=["pyx", "pyy"]).memory.id
        only_x = self.store("pytag x only", tags=["pyx"]).memory.id
        only_y = self.store("pytag y only", tags=["pyy"]).memory.id
        anyr = self.mem.SearchByTag(self.pb.SearchByTagRequest(tags=["pyx", "pyy"]),
                                    timeout=RPC_TIMEOUT_S)
        self.assertEqual(sorted(m.id for m in anyr.memories), sorted([both, only_x, only_y]))
        self.assertFalse(anyr.truncated)
        allr = self.mem.SearchByTag(self.pb.SearchByTagRequest(tags=["pyx", "pyy"],
                                                               match_all=True),
                                    timeout=RPC_TIMEOUT_S)
        self.assertEqual([m.id for m in allr.memories], [both])

    def test_bad_input_statuses(self):
        code = self.grpc.StatusCode
        self.assert_status(code.INVALID_ARGUMENT, "content", self.mem.StoreMemory,
                           self.pb.StoreMemoryRequest(content=""))
        self.assert_status(code.INVALID_ARGUMENT, "tags", self.mem.StoreMemory,
                           self.pb.StoreMemoryRequest(content="x", tags=["t%d" % i
                                                                         for i in range(65)]))
        self.assert_status(code.INVALID_ARGUMENT, "id", self.mem.GetMemory,
                           self.pb.GetMemoryRequest(id="not-an-id"))
        self.assert_status(code.INVALID_ARGUMENT, "limit", self.mem.RetrieveMemory,
                           self.pb.RetrieveMemoryRequest(query="x", limit=-1))
        self.assert_status(code.INVALID_ARGUMENT, "page_token", self.mem.ListMemories,
                           self.pb.ListMemoriesRequest(page_token="forged"))

    def test_unparseable_request_and_unknown_method(self):
        raw = self.channel.unary_unary("/mnemo.v1.MemoryService/StoreMemory")
        with self.assertRaises(self.grpc.RpcError) as cm:
            raw(b"\x0a\x05ab", timeout=RPC_TIMEOUT_S)
        self.assertEqual(cm.exception.code(), self.grpc.StatusCode.INVALID_ARGUMENT)
        unknown = self.channel.unary_unary("/mnemo.v1.MemoryService/NoSuchMethod")
        start = time.monotonic()
        with self.assertRaises(self.grpc.RpcError) as cm:
            unknown(b"", timeout=RPC_TIMEOUT_S)
        self.assertEqual(cm.exception.code(), self.grpc.StatusCode.UNIMPLEMENTED)
        self.assertLess(time.monotonic() - start, 3.0)

    def test_repository_service_status_of_unknown_name(self):
        # UNIMPLEMENTED while RepositoryService is not served, NOT_FOUND after.
        from mnemo.v1 import repository_pb2
        with self.assertRaises(self.grpc.RpcError) as cm:
            self.repo.GetSyncStatus(
                repository_pb2.GetSyncStatusRequest(repository_name="never-synced"),
                timeout=RPC_TIMEOUT_S)
        self.assertIn(cm.exception.code(), (self.grpc.StatusCode.UNIMPLEMENTED,
                                            self.grpc.StatusCode.NOT_FOUND))

    def test_health_check(self):
        serving = self.health_pb2.HealthCheckResponse.SERVING
        for name in ("", "mnemo.v1.MemoryService", "mnemo.v1.RepositoryService"):
            r = self.health.Check(self.health_pb2.HealthCheckRequest(service=name),
                                  timeout=RPC_TIMEOUT_S)
            self.assertEqual(r.status, serving, name)
        self.assert_status(self.grpc.StatusCode.NOT_FOUND, None, self.health.Check,
                           self.health_pb2.HealthCheckRequest(service="no.such.Service"))

    def test_health_watch_first_message_serving(self):
        stream = self.health.Watch(self.health_pb2.HealthCheckRequest(service=""),
                                   timeout=RPC_TIMEOUT_S)
        try:
            first = next(stream)
            self.assertEqual(first.status, self.health_pb2.HealthCheckResponse.SERVING)
        finally:
            stream.cancel()


def main():
    global ARGS
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--mnemod", required=True, help="path of the mnemod binary")
    parser.add_argument("--proto-dir", required=True, help="mnemo's proto/ directory")
    parser.add_argument("--make-certs", help="make_certs.sh: run the suite over TLS with a "
                        "bearer token (mnemod with --tls-cert/--tls-key/--auth-tokens)")
    ARGS, rest = parser.parse_known_args()
    ARGS.mnemod = os.path.abspath(ARGS.mnemod)
    ARGS.proto_dir = os.path.abspath(ARGS.proto_dir)
    unittest.main(argv=[sys.argv[0]] + rest, verbosity=2)


if __name__ == "__main__":
    main()
