#!/usr/bin/python3
"""test_python_metrics.py - mnemod as an operator sees it: Prometheus metrics
on --metrics-listen, JSON logs with --access-log, and the memory given back
after a burst of streams (README "Metrics", "Logs").

Run with Debian's /usr/bin/python3 (python3-grpcio, python3-grpc-tools) and
promtool (Debian's prometheus package) on PATH:

    /usr/bin/python3 tests/integration/test_python_metrics.py \\
        --mnemod build/server/mnemod --proto-dir proto

Every server is a real mnemod on 127.0.0.1:0 with --metrics-listen
127.0.0.1:0 (DualStackTest's: :0, every address of both families); the test
learns the metrics port from the log line "metrics on http://HOST:PORT/metrics"
(the log is JSON, so from its "msg"). Counters are
compared before and after a known set of calls and must move by exactly
those calls: a call's end is counted when its last reference goes, just
after the client has its status, so a scrape is repeated (bounded) until
the counter arrives, then compared for equality. Times are never asserted.
"""

import argparse
import hashlib
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import unittest
import urllib.error
import urllib.request

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from test_python_client import Server, generate_stubs  # noqa: E402  (same directory)
from test_python_sync import write_tree  # noqa: E402

RPC_TIMEOUT_S = 15
SETTLE_S = 10  # safety bound for a counter to reach its value
N_STREAMS = 1000
PAUSE_MS = 100  # between sync batches: a sync of 30 batches of 1 takes ~3 s
SHORT_DEADLINE_S = 0.5
METRIC_LINE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})? (\S+)$')

ARGS = None


def json_lines(text):
    """Every line of a JSON-format log, parsed (a line that does not parse
    fails the test that reads it)."""
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def metrics_address(server):
    deadline = time.monotonic() + SETTLE_S
    while time.monotonic() < deadline:
        for rec in json_lines(server.read_log()):
            m = re.match(r"metrics on http://(\S+)/metrics$", rec.get("msg", ""))
            if m:
                return m.group(1)
        time.sleep(0.05)
    raise AssertionError("no 'metrics on' line in the log:\n" + server.read_log())


def ipv6_loopback():
    """True when ::1 can be bound here; without it the ::1 halves skip."""
    try:
        with socket.socket(socket.AF_INET6, socket.SOCK_STREAM) as s:
            s.bind(("::1", 0))
        return True
    except OSError:
        return False


NO_IPV6 = "no IPv6 loopback (::1) on this machine: the scrape over ::1 is not tried"


def scrape(addr, path="/metrics"):
    with urllib.request.urlopen("http://%s%s" % (addr, path), timeout=RPC_TIMEOUT_S) as r:
        return r.headers.get("Content-Type"), r.read().decode()


def parse(text):
    """{(name, frozenset of label pairs): value} of a text exposition."""
    out = {}
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        m = METRIC_LINE.match(line)
        assert m, "not a sample line: %r" % line
        labels = frozenset(re.findall(r'(\w+)="([^"]*)"', m.group(2) or ""))
        out[(m.group(1), labels)] = float(m.group(3))
    return out


def key(name, **labels):
    return (name, frozenset(labels.items()))


def rpc(method, service="mnemo.v1.MemoryService", kind="unary"):
    return {"grpc_type": kind, "grpc_service": service, "grpc_method": method}


def rss_anon_kib(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("RssAnon:"):
                return int(line.split()[1])
    raise AssertionError("no RssAnon in /proc/%d/status" % pid)


class MetricsTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        import grpc
        import health_pb2
        import health_pb2_grpc
        from mnemo.v1 import memory_pb2, memory_pb2_grpc, repository_pb2, repository_pb2_grpc
        cls.grpc, cls.mpb, cls.rpb, cls.hpb = grpc, memory_pb2, repository_pb2, health_pb2
        cls.health_grpc = health_pb2_grpc
        cls.trees = os.path.realpath(tempfile.mkdtemp(prefix="mnemo-pytrees-"))
        cls.secret_dir = tempfile.mkdtemp(prefix="mnemo-pytoken-")
        cls.token = "metrics-suite-" + hashlib.sha256(os.urandom(32)).hexdigest()[:32]
        cls.token_hash = hashlib.sha256(cls.token.encode()).hexdigest()
        tokens = os.path.join(cls.secret_dir, "tokens")
        with open(tokens, "w") as f:
            f.write("%s admin ops-dashboard\n" % cls.token_hash)
        cls.server = Server(ARGS.mnemod, ["--metrics-listen", "127.0.0.1:0", "--access-log",
                                          "--log-format", "json", "--allow-root", cls.trees,
                                          "--auth-tokens", tokens,
                                          "--batch-pause-ms", str(PAUSE_MS)])
        cls.addr = metrics_address(cls.server)
        cls.channel = grpc.insecure_channel(cls.server.address)
        cls.md = [("authorization", "Bearer " + cls.token)]
        cls.mem = memory_pb2_grpc.MemoryServiceStub(cls.channel)
        cls.repo = repository_pb2_grpc.RepositoryServiceStub(cls.channel)

    @classmethod
    def tearDownClass(cls):
        cls.channel.close()
        for d in (cls.trees, cls.secret_dir):
            shutil.rmtree(d, ignore_errors=True)
        cls.server.finish()

    def wait_for(self, want):
        """Scrapes until every key of want has its value (bounded), then
        returns the last scrape; the caller asserts equality."""
        deadline = time.monotonic() + SETTLE_S
        while True:
            got = parse(scrape(self.addr)[1])
            if all(got.get(k) == v for k, v in want.items()) or time.monotonic() > deadline:
                return got

    def assert_moved(self, before, after, deltas):
        for k, d in deltas.items():
            self.assertEqual(after.get(k, 0) - before.get(k, 0), d, "%s %s" % (k[0], dict(k[1])))

    def access_lines(self, n, keep):
        """The log and its access lines that keep accepts, once there are n
        of them (bounded); every line of the log must be valid JSON."""
        deadline = time.monotonic() + SETTLE_S
        while True:
            log = self.server.read_log()
            lines = [r for r in json_lines(log) if r.get("msg") == "call" and keep(r)]
            if len(lines) >= n or time.monotonic() > deadline:
                return log, lines
            time.sleep(0.05)

    def test_scrape_passes_promtool_and_other_paths_are_404(self):
        ctype, body = scrape(self.addr)
        self.assertTrue(ctype.startswith("text/plain; version=0.0.4"), ctype)
        promtool = shutil.which("promtool")
        self.assertIsNotNone(promtool, "promtool missing: bash cmake/install-deps.sh")
        r = subprocess.run([promtool, "check", "metrics"], input=body.encode(),
                           capture_output=True)
        self.assertEqual(r.returncode, 0, (r.stdout + r.stderr).decode())
        names = {k[0] for k in parse(body)}
        for want in ("grpc_server_started_total", "grpc_server_handled_total",
                     "grpc_server_msg_received_total", "grpc_server_msg_sent_total",
                     "grpc_server_handling_seconds_bucket", "grpc_server_handling_seconds_sum",
                     "grpc_server_handling_seconds_count", "mnemo_memories",
                     "mnemo_repositories", "mnemo_syncs_running", "mnemo_sync_files_total",
                     "mnemo_sync_chunks_total", "mnemo_sync_bytes_total",
                     "mnemo_sync_batches_total", "mnemo_sync_paced_seconds_total",
                     "mnemo_syncs_finished_total", "mnemo_store_disk_bytes", "mnemo_store_memory_bytes",
                     "mnemo_index_memory_bytes", "mnemo_heap_in_use_bytes", "mnemo_heap_mapped_bytes", "mnemo_heap_free_bytes",
                     "mnemo_store_write_errors_total", "process_resident_memory_bytes",
                     "process_virtual_memory_bytes", "process_cpu_seconds_total",
                     "process_open_fds", "process_max_fds", "process_start_time_seconds"):
            self.assertIn(want, names)
        with self.assertRaises(urllib.error.HTTPError) as cm:
            scrape(self.addr, "/")
        self.assertEqual(cm.exception.code, 404)

    def test_unary_counters_move_by_exactly_the_calls(self):
        marker = "metrics-content-%s" % os.urandom(8).hex()
        stored = self.mem.StoreMemory(self.mpb.StoreMemoryRequest(content=marker),
                                      metadata=self.md, timeout=RPC_TIMEOUT_S).memory
        before = parse(scrape(self.addr)[1])
        n_ok, n_missing, n_bad = 7, 3, 2
        for _ in range(n_ok):
            self.mem.GetMemory(self.mpb.GetMemoryRequest(id=stored.id), metadata=self.md,
                               timeout=RPC_TIMEOUT_S)
        for i in range(n_missing + n_bad):
            missing = hashlib.sha256(b"absent %d" % i).hexdigest()
            with self.assertRaises(self.grpc.RpcError):
                self.mem.GetMemory(self.mpb.GetMemoryRequest(
                    id=missing if i < n_missing else "not-an-id"), metadata=self.md,
                    timeout=RPC_TIMEOUT_S)
        get = rpc("GetMemory")
        n = n_ok + n_missing + n_bad
        want = {key("grpc_server_handling_seconds_count", **get):
                before[key("grpc_server_handling_seconds_count", **get)] + n}
        after = self.wait_for(want)
        self.assert_moved(before, after, {
            key("grpc_server_started_total", **get): n,
            key("grpc_server_msg_received_total", **get): n,
            key("grpc_server_msg_sent_total", **get): n_ok,
            key("grpc_server_handled_total", grpc_code="OK", **get): n_ok,
            key("grpc_server_handled_total", grpc_code="NotFound", **get): n_missing,
            key("grpc_server_handled_total", grpc_code="InvalidArgument", **get): n_bad,
            key("grpc_server_handling_seconds_count", **get): n,
            key("grpc_server_handling_seconds_bucket", le="+Inf", **get): n,
            key("grpc_server_started_total", **rpc("StoreMemory")): 0,
        })
        self.assertGreaterEqual(after[key("mnemo_memories")], 1)
        self.access_lines_are_json_without_secrets(marker, n_ok, n_missing)

    def access_lines_are_json_without_secrets(self, marker, n_ok, n_missing):
        """The access log of the calls above: one JSON line per call with
        the fields, the token's name and never the token, its hash or the
        memory's content."""
        log, gets = self.access_lines(
            n_ok + n_missing, lambda r: r.get("method") == "/mnemo.v1.MemoryService/GetMemory" and
            r.get("code") != "UNAUTHENTICATED")  # another test's
        codes = [g["code"] for g in gets]
        self.assertEqual(codes.count("OK"), n_ok, codes)
        self.assertEqual(codes.count("NOT_FOUND"), n_missing, codes)
        for g in gets:
            for field in ("ts", "level", "peer", "code", "ms", "bytes_in", "bytes_out", "who"):
                self.assertIn(field, g)
            self.assertEqual(g["who"], "token ops-dashboard")
            self.assertTrue(g["peer"].startswith("ipv4:127.0.0.1:"), g["peer"])
            self.assertGreater(g["bytes_in"], 0)
        ok = [g for g in gets if g["code"] == "OK"]
        self.assertTrue(all(g["bytes_out"] > len(marker) for g in ok))
        for secret in (marker, self.token, self.token_hash):
            self.assertNotIn(secret, log)

    def test_a_host_given_is_that_address_alone(self):
        """127.0.0.1:0 is IPv4's loopback only: ::1 on its port is refused."""
        if not ipv6_loopback():
            self.skipTest(NO_IPV6)
        with self.assertRaises(urllib.error.URLError) as cm:
            scrape("[::1]:%s" % self.addr.rsplit(":", 1)[1])
        self.assertIsInstance(cm.exception.reason, ConnectionRefusedError)

    def test_deadline_is_counted_deadline_exceeded(self):
        """A call that outlives its deadline ends DeadlineExceeded (gRPC's
        code 4, go-grpc-prometheus' label) in the counters and the access
        log, not Canceled; a call its client cancels stays Canceled."""
        root = os.path.join(self.trees, "deadlinerepo")
        write_tree(root, "ddl", 30)
        sync = rpc("SyncRepository", "mnemo.v1.RepositoryService", "server_stream")
        watch = rpc("Watch", "grpc.health.v1.Health", "server_stream")
        health = self.health_grpc.HealthStub(self.channel)
        watch_req = self.hpb.HealthCheckRequest(service="")

        def handled(code, labels):
            return key("grpc_server_handled_total", grpc_code=code, **labels)

        def outlive(call):
            with self.assertRaises(self.grpc.RpcError) as cm:
                list(call)
            self.assertEqual(cm.exception.code(), self.grpc.StatusCode.DEADLINE_EXCEEDED)

        before = parse(scrape(self.addr)[1])
        outlive(self.repo.SyncRepository(  # 30 batches of 1, PAUSE_MS apart
            self.rpb.SyncRepositoryRequest(repository_path=root, repository_name="deadlinerepo",
                                           batch_size=1),
            metadata=self.md, timeout=SHORT_DEADLINE_S))
        outlive(health.Watch(watch_req, timeout=SHORT_DEADLINE_S))
        left = health.Watch(watch_req, timeout=RPC_TIMEOUT_S)
        next(left)
        left.cancel()
        stopped = key("mnemo_syncs_finished_total", state="cancelled")
        want = {handled("DeadlineExceeded", sync): 1, handled("Canceled", sync): 0,
                handled("DeadlineExceeded", watch): 1, handled("Canceled", watch): 1, stopped: 1}
        after = self.wait_for({k: before[k] + d for k, d in want.items()})
        self.assert_moved(before, after, want)
        self.assertEqual(after[key("mnemo_syncs_running")], 0)
        _, lines = self.access_lines(3, lambda r: r.get("code") in (
            "DEADLINE_EXCEEDED", "CANCELLED"))
        self.assertEqual(sorted((r["method"], r["code"]) for r in lines), [
            ("/grpc.health.v1.Health/Watch", "CANCELLED"),
            ("/grpc.health.v1.Health/Watch", "DEADLINE_EXCEEDED"),
            ("/mnemo.v1.RepositoryService/SyncRepository", "DEADLINE_EXCEEDED")])

    def test_refused_call_is_counted_with_its_code(self):
        get = rpc("GetMemory")
        k = key("grpc_server_handled_total", grpc_code="Unauthenticated", **get)
        before = parse(scrape(self.addr)[1])
        with self.assertRaises(self.grpc.RpcError) as cm:
            self.mem.GetMemory(self.mpb.GetMemoryRequest(id="0" * 64), timeout=RPC_TIMEOUT_S)
        self.assertEqual(cm.exception.code(), self.grpc.StatusCode.UNAUTHENTICATED)
        after = self.wait_for({k: before[k] + 1})
        self.assert_moved(before, after, {k: 1, key("grpc_server_started_total", **get): 1})

    def test_sync_stream_counts_its_messages(self):
        root = os.path.join(self.trees, "metricsrepo")
        os.makedirs(root)
        n_files = 25
        for i in range(n_files):
            with open(os.path.join(root, "f%02d.c" % i), "w") as f:
                f.write("int metrics_fn_%d(void) { return %d; }\n" % (i, i))
        sync = rpc("SyncRepository", "mnemo.v1.RepositoryService", "server_stream")
        before = parse(scrape(self.addr)[1])
        events = list(self.repo.SyncRepository(
            self.rpb.SyncRepositoryRequest(repository_path=root, repository_name="metricsrepo",
                                           batch_size=10),
            metadata=self.md, timeout=60))
        self.assertEqual(events[-1].status.state, self.rpb.SYNC_STATE_COMPLETED)
        done = key("grpc_server_handled_total", grpc_code="OK", **sync)
        after = self.wait_for({done: before[done] + 1})
        self.assert_moved(before, after, {
            key("grpc_server_started_total", **sync): 1,
            key("grpc_server_msg_received_total", **sync): 1,
            key("grpc_server_msg_sent_total", **sync): len(events),
            done: 1,
            key("mnemo_sync_files_total"): n_files,
            key("mnemo_sync_batches_total"): 3,
            key("mnemo_sync_bytes_total"): events[-1].status.progress.bytes_processed,
            key("mnemo_sync_chunks_total"): events[-1].status.progress.chunks_written,
            key("mnemo_syncs_finished_total", state="completed"): 1,
        })
        self.assertGreaterEqual(after[key("mnemo_repositories")], 1)
        self.assertEqual(after[key("mnemo_syncs_running")], 0)
        self.assertGreater(after[key("mnemo_store_disk_bytes", store="code")], 0)
        # LevelDB's cache and memtables: the sync's blocks are in there.
        self.assertGreater(after[key("mnemo_store_memory_bytes", store="code")], 0)
        # The search indexes: at least their document tables.
        self.assertGreater(after[key("mnemo_index_memory_bytes", index="code")], 0)
        self.assertGreater(after[key("mnemo_index_memory_bytes", index="memories")], 0)
        if not ARGS.no_rss_check:  # a sanitizer's allocator answers mallinfo2 with zeros
            self.assertGreater(after[key("mnemo_heap_in_use_bytes")], 0)


class DualStackTest(unittest.TestCase):
    """--metrics-listen :PORT listens on every address of both families, as
    exporters do: one port answers over 127.0.0.1 and over ::1."""

    @classmethod
    def setUpClass(cls):
        cls.server = Server(ARGS.mnemod, ["--metrics-listen", ":0", "--log-format", "json"])
        addr = metrics_address(cls.server)
        cls.port = addr.rsplit(":", 1)[1]
        assert addr == ":" + cls.port, addr

    @classmethod
    def tearDownClass(cls):
        cls.server.finish()

    def test_empty_host_answers_over_ipv4(self):
        self.assertIn("process_open_fds", scrape("127.0.0.1:" + self.port)[1])

    def test_empty_host_answers_over_ipv6(self):
        if not ipv6_loopback():
            self.skipTest(NO_IPV6)
        self.assertIn("process_open_fds", scrape("[::1]:" + self.port)[1])


class HeapAfterBurstTest(unittest.TestCase):
    """After 1,000 streams close, the heap's pages go back: RssAnon (the
    anonymous memory: heap and arenas, not the mapped libraries) comes back
    within 2x of where it was before the burst. glibc alone keeps the
    high-water mark (about 5x here)."""

    def test_rss_returns_after_1000_streams_close(self):
        import grpc
        import health_pb2
        import health_pb2_grpc
        server = Server(ARGS.mnemod, ["--metrics-listen", "127.0.0.1:0", "--log-format", "json",
                                      "--log-level", "debug"])
        channels = [grpc.insecure_channel(server.address) for _ in range(10)]
        try:
            addr = metrics_address(server)
            stubs = [health_pb2_grpc.HealthStub(c) for c in channels]
            req = health_pb2.HealthCheckRequest(service="")
            for s in stubs:  # connections and first calls made before "before"
                s.Check(req, timeout=RPC_TIMEOUT_S)
            time.sleep(1.0)
            pid = server.proc.pid
            before = rss_anon_kib(pid)
            streams = []
            for i in range(N_STREAMS):  # 100 per connection: fits any stream limit
                it = stubs[i % len(stubs)].Watch(req, timeout=120)
                next(it)  # open on the server
                streams.append(it)
            peak = rss_anon_kib(pid)
            for it in streams:
                it.cancel()
            streams = None
            k = key("mnemo_heap_give_backs_total")
            deadline = time.monotonic() + SETTLE_S
            got = {}
            while got.get(k, 0) < 1 and time.monotonic() < deadline:
                time.sleep(0.1)
                got = parse(scrape(addr)[1])
            self.assertEqual(got.get(key("mnemo_calls_in_flight")), 0)
            self.assertGreaterEqual(got.get(k, 0), 1, "no give-back after the burst")
            # The burst's give-back comes 250 ms after it; gRPC frees the
            # rest of its calls later, which the quiet give-back (2-4 s
            # with no call started) returns: the least RssAnon over 6 s.
            after = rss_anon_kib(pid)
            deadline = time.monotonic() + 6.0
            while after > 2 * before and time.monotonic() < deadline:
                time.sleep(0.25)
                after = min(after, rss_anon_kib(pid))
            print("\n[memory] RssAnon before %d KiB, with %d streams %d KiB, after they "
                  "closed %d KiB: %.2fx" % (before, N_STREAMS, peak, after, after / before))
            if ARGS.no_rss_check:  # the burst and the give-back still ran
                print("[memory] not asserted: a sanitizer's allocator is not glibc's heap")
            else:
                self.assertGreater(peak, 2 * before, "the burst did not grow the heap: no test")
                self.assertLessEqual(after, 2 * before)
        finally:
            for c in channels:
                c.close()
            log = server.finish()
        json_lines(log)  # debug lines are JSON too


def main():
    global ARGS
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--mnemod", required=True, help="path of the mnemod binary")
    parser.add_argument("--proto-dir", required=True, help="mnemo's proto/ directory")
    parser.add_argument("--no-rss-check", action="store_true",
                        help="run the burst, assert nothing of RSS or malloc's figures "
                        "(sanitizer builds)")
    ARGS, rest = parser.parse_known_args()
    ARGS.mnemod = os.path.abspath(ARGS.mnemod)
    ARGS.proto_dir = os.path.abspath(ARGS.proto_dir)
    stub_dir = tempfile.mkdtemp(prefix="mnemo-pystubs-")
    try:
        generate_stubs(ARGS.proto_dir, stub_dir)
        sys.path.insert(0, stub_dir)
        unittest.main(argv=[sys.argv[0]] + rest, verbosity=2)
    finally:
        shutil.rmtree(stub_dir, ignore_errors=True)


if __name__ == "__main__":
    main()
