#!/usr/bin/python3
"""test_python_conn.py - connection management, drain and the health port
against real mnemods, from a Python client (grpcio: gRPC's C core, as most
clients in a mesh) generated from mnemo's .proto files at test time.

Cases (README "Operating mnemod"):
- drain: SIGTERM with --drain-delay 2s turns health NOT_SERVING at once on
  both listeners (Check and Watch) while data calls still succeed; a
  foreground sync cut by the stop gets its final event (CANCELLED) and then
  UNAVAILABLE saying it can be resumed; mnemod exits 0, new calls are
  refused, and after a restart the same sync resumes and completes. The
  time from SIGTERM to NOT_SERVING is printed.
- connection age: with --max-connection-age 1s a client calling for 5 s is
  moved to new connections (counted in /proc/net/tcp and seen in the
  channel's connectivity), and no call fails.
- keepalive: a client pinging every second on a quiet stream gets GOAWAY
  too_many_pings under the default policy, and not with
  --keepalive-min-ping-interval 500ms.
- max concurrent streams: the SETTINGS frame advertises the default and the
  flag's value, and a fifth stream waits while four are open.
- metadata: a 16 KB header is refused with RESOURCE_EXHAUSTED by default,
  the connection staying up for the next call; --max-metadata-bytes 32768
  accepts it.
- health port: with mutual TLS on --listen, --health-listen answers Check
  and Watch in plaintext and refuses data RPCs and reflection
  (UNIMPLEMENTED); a health port that cannot be bound stops the start
  (exit 1, naming the flag).

    /usr/bin/python3 tests/integration/test_python_conn.py \\
        --mnemod build/server/mnemod --proto-dir proto

Times are printed, never asserted; bounds are safety timeouts only.
"""

import argparse
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import unittest

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from test_python_client import Server, load_stubs  # noqa: E402  (same directory)
from test_python_sync import write_tree  # noqa: E402

RPC_TIMEOUT_S = 15
EXIT_TIMEOUT_S = 30
WAIT_S = 10  # safety bound for something that should happen at once

ARGS = None


def tcp_connections(port):
    """Local ports of the established TCP connections to 127.0.0.1:port."""
    found = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            with open(table) as f:
                rows = f.read().splitlines()[1:]
        except OSError:
            continue
        for row in rows:
            local, remote, state = row.split()[1:4]
            if state == "01" and int(remote.split(":")[1], 16) == port:
                found.add(int(local.split(":")[1], 16))
    return found


def recv_exact(sock, n):
    data = b""
    while len(data) < n:
        chunk = sock.recv(n - len(data))
        if not chunk:
            raise AssertionError("connection closed before %d bytes" % n)
        data += chunk
    return data


def http2_settings(port):
    """{id: value} of the SETTINGS frame mnemod sends first on a new
    plaintext HTTP/2 connection (RFC 9113: 3 = MAX_CONCURRENT_STREAMS,
    6 = MAX_HEADER_LIST_SIZE)."""
    with socket.create_connection(("127.0.0.1", port), timeout=RPC_TIMEOUT_S) as sock:
        sock.sendall(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n" + bytes([0, 0, 0, 4, 0, 0, 0, 0, 0]))
        head = recv_exact(sock, 9)
        length, kind = int.from_bytes(head[:3], "big"), head[3]
        if kind != 4:
            raise AssertionError("first frame is of type %d, not SETTINGS" % kind)
        payload = recv_exact(sock, length)
        return {int.from_bytes(payload[i:i + 2], "big"): int.from_bytes(payload[i + 2:i + 6], "big")
                for i in range(0, length, 6)}


def health_port(server):
    """The port of mnemod's "health port HOST:PORT" line."""
    deadline = time.monotonic() + WAIT_S
    while time.monotonic() < deadline:
        m = re.search(r"health port \S+:(\d+)", server.read_log())
        if m:
            return int(m.group(1))
        time.sleep(0.01)
    raise AssertionError("no health port line in the log:\n" + server.read_log())


class Collector(threading.Thread):
    """Reads a server stream to its end on its own thread: (monotonic time,
    message) of each message, then the status code and details."""

    def __init__(self, call, grpc):
        super().__init__(daemon=True)
        self.call, self.grpc = call, grpc
        self.messages, self.code, self.details = [], None, ""
        self.start()

    def run(self):
        try:
            for msg in self.call:
                self.messages.append((time.monotonic(), msg))
            self.code = self.grpc.StatusCode.OK
        except self.grpc.RpcError as e:
            self.code, self.details = e.code(), e.details() or ""


class ConnTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.stub_dir, stubs = load_stubs(ARGS.proto_dir)
        cls.grpc = stubs.grpc
        cls.hpb, cls.hpb_grpc = stubs.health_pb2, stubs.health_pb2_grpc
        cls.mpb, cls.mpb_grpc = stubs.memory_pb2, stubs.memory_pb2_grpc
        cls.rpb, cls.rpb_grpc = stubs.repository_pb2, stubs.repository_pb2_grpc
        cls.SERVING = stubs.health_pb2.HealthCheckResponse.SERVING
        cls.NOT_SERVING = stubs.health_pb2.HealthCheckResponse.NOT_SERVING
        cls.work = os.path.realpath(tempfile.mkdtemp(prefix="mnemo-pyconn-"))
        cls.certs = os.path.join(cls.work, "certs")
        subprocess.run(["bash", os.path.join(HERE, "make_certs.sh"), cls.certs], check=True,
                       timeout=60)

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.stub_dir, ignore_errors=True)
        shutil.rmtree(cls.work, ignore_errors=True)

    # ---- servers and channels ----

    def server(self, extra=()):
        """A mnemod of the test's own; stopped at the end, where it must exit 0."""
        server = Server(ARGS.mnemod, list(extra))
        self.addCleanup(self.stop_clean, server)
        return server

    def stop_clean(self, server):
        code = server.stop()
        log = server.read_log()
        server.cleanup()
        server.proc.stderr.close()
        if code != 0:
            raise AssertionError("mnemod exited %r on SIGTERM, want 0; log:\n%s" % (code, log))

    def channel(self, address, options=()):
        """A channel with a connection of its own (no subchannel sharing)."""
        ch = self.grpc.insecure_channel(address,
                                        [("grpc.use_local_subchannel_pool", 1)] + list(options))
        self.addCleanup(ch.close)
        return ch

    def check(self, channel, service=""):
        return self.hpb_grpc.HealthStub(channel).Check(
            self.hpb.HealthCheckRequest(service=service), timeout=RPC_TIMEOUT_S).status

    def store(self, channel, content, metadata=None):
        return self.mpb_grpc.MemoryServiceStub(channel).StoreMemory(
            self.mpb.StoreMemoryRequest(content=content), metadata=metadata,
            timeout=RPC_TIMEOUT_S)

    def sync(self, channel, root, name, batch_size):
        return self.rpb_grpc.RepositoryServiceStub(channel).SyncRepository(
            self.rpb.SyncRepositoryRequest(repository_path=root, repository_name=name,
                                           batch_size=batch_size), timeout=120)

    # ---- drain ----

    def start_drain_server(self, trees):
        return self.server(["--drain-delay", "2s", "--batch-pause-ms", "50",
                            "--allow-root", trees, "--health-listen", "127.0.0.1:0"])

    def sigterm_and_watch_health(self, server, main, health):
        """Sends SIGTERM while a Check loop runs; returns the ms until each
        of Check on --listen and Check on --health-listen read NOT_SERVING."""
        t0 = time.monotonic()
        server.proc.send_signal(signal.SIGTERM)
        seen = {}
        while len(seen) < 2 and time.monotonic() - t0 < WAIT_S:
            for name, ch in (("main", main), ("health", health)):
                if name not in seen and self.check(ch) == self.NOT_SERVING:
                    seen[name] = (time.monotonic() - t0) * 1000
        self.assertEqual(sorted(seen), ["health", "main"],
                         "health never read NOT_SERVING after SIGTERM")
        return t0, seen

    def test_drain_not_serving_first_then_goaway_and_resumable_sync(self):
        trees = os.path.join(self.work, "trees")
        root = os.path.join(trees, "drained")
        write_tree(root, "drn", 1000)  # 200 batches of 5, 50 ms apart: ~10 s
        server = self.start_drain_server(trees)
        main = self.channel(server.address)
        health = self.channel("127.0.0.1:%d" % health_port(server))
        watch = Collector(self.hpb_grpc.HealthStub(main).Watch(
            self.hpb.HealthCheckRequest(service="mnemo.v1.MemoryService"), timeout=60), self.grpc)
        sync = Collector(self.sync(main, root, "drained", 5), self.grpc)
        deadline = time.monotonic() + WAIT_S
        while (not sync.messages or
               sync.messages[-1][1].status.progress.batches_committed < 2) and \
                time.monotonic() < deadline:
            time.sleep(0.01)
        self.assertEqual(self.check(main), self.SERVING)
        self.assertEqual(self.check(health), self.SERVING)
        t0, seen = self.sigterm_and_watch_health(server, main, health)
        # Still serving after NOT_SERVING was seen: the drain delay.
        for i in range(5):
            self.assertTrue(self.store(main, "stored while draining %d" % i).memory.id)
        events_at_sigterm = sum(1 for t, _ in sync.messages if t < t0)
        self.assertEqual(server.proc.wait(EXIT_TIMEOUT_S), 0, server.read_log())
        watch.join(WAIT_S)
        sync.join(WAIT_S)
        watched = [(t, m.status) for t, m in watch.messages]
        self.assertEqual(watched[0][1], self.SERVING)
        self.assertIn(self.NOT_SERVING, [s for _, s in watched], "Watch heard NOT_SERVING")
        watch_ms = next((t - t0) * 1000 for t, s in watched if s == self.NOT_SERVING)
        print("\n[timing] SIGTERM -> NOT_SERVING: Check on --listen %.1f ms, on --health-listen "
              "%.1f ms, Watch %.1f ms; the sync sent %d events after SIGTERM"
              % (seen["main"], seen["health"], watch_ms,
                 len(sync.messages) - events_at_sigterm))
        # The interrupted foreground sync: final event, then UNAVAILABLE.
        self.assertEqual(sync.code, self.grpc.StatusCode.UNAVAILABLE, sync.details)
        self.assertIn("resume", sync.details)
        last = sync.messages[-1][1].status
        self.assertEqual(last.state, self.rpb.SYNC_STATE_CANCELLED,
                         self.rpb.SyncState.Name(last.state))
        done = last.progress.processed_files
        self.assertGreater(done, 0)
        self.assertLess(done, 1000)
        # Gone: new connections are refused.
        with self.assertRaises(self.grpc.RpcError) as cm:
            self.check(self.channel(server.address))
        self.assertEqual(cm.exception.code(), self.grpc.StatusCode.UNAVAILABLE)
        self.resume(server, trees, root, done)

    def resume(self, old, trees, root, done):
        """A new mnemod on old's data dir completes the sync, reading only
        what the stopped one had not committed."""
        server = self.server(["--data-dir", old.data_dir, "--allow-root", trees])
        events = list(self.sync(self.channel(server.address), root, "drained", 100))
        last = events[-1].status
        self.assertEqual(last.state, self.rpb.SYNC_STATE_COMPLETED,
                         self.rpb.SyncState.Name(last.state))
        self.assertEqual(last.progress.processed_files + last.progress.unchanged_files, 1000)
        self.assertEqual(last.progress.unchanged_files, done)

    # ---- connection management ----

    def test_connection_age_moves_clients_without_failing_calls(self):
        server = self.server(["--max-connection-age", "1s"])
        port = int(server.address.rsplit(":", 1)[1])
        ch = self.channel(server.address)
        states = []
        ch.subscribe(states.append, try_to_connect=True)
        self.addCleanup(ch.unsubscribe, states.append)
        seen, calls, failed = set(), 0, []
        t0 = time.monotonic()
        while time.monotonic() - t0 < 5:
            try:
                self.store(ch, "aged %d" % calls)
                calls += 1
            except self.grpc.RpcError as e:
                failed.append("%s: %s" % (e.code(), e.details()))
            seen |= tcp_connections(port)
        ready = sum(1 for s in states if s == self.grpc.ChannelConnectivity.READY)
        print("\n[info] connection age 1s: %d calls over 5 s on %d connections, READY %d times"
              % (calls, len(seen), ready))
        self.assertEqual(failed, [])
        self.assertGreaterEqual(len(seen), 3, "connections were not replaced")
        self.assertGreaterEqual(ready, 3)

    def keepalive_watch(self, server):
        """A Watch stream, quiet after its first message, on a channel that
        pings every second; returns (messages, code, details) at its end."""
        ch = self.channel(server.address, [
            ("grpc.keepalive_time_ms", 1000), ("grpc.keepalive_timeout_ms", 5000),
            ("grpc.http2.max_pings_without_data", 0),
            ("grpc.http2.min_time_between_pings_ms", 1000)])
        w = Collector(self.hpb_grpc.HealthStub(ch).Watch(self.hpb.HealthCheckRequest(),
                                                         timeout=7), self.grpc)
        w.join(30)
        return len(w.messages), w.code, w.details

    def test_keepalive_pings_faster_than_allowed_get_goaway(self):
        n, code, details = self.keepalive_watch(self.server())
        self.assertEqual(n, 1)
        self.assertEqual(code, self.grpc.StatusCode.UNAVAILABLE, details)
        self.assertIn("many pings", details.lower())

    def test_keepalive_pings_allowed_by_the_flag(self):
        n, code, details = self.keepalive_watch(
            self.server(["--keepalive-min-ping-interval", "500ms"]))
        self.assertEqual(n, 1)
        # It ran to its own deadline: nothing cut it.
        self.assertEqual(code, self.grpc.StatusCode.DEADLINE_EXCEEDED, details)

    def test_max_concurrent_streams(self):
        default = self.server()
        settings = http2_settings(int(default.address.rsplit(":", 1)[1]))
        self.assertEqual(settings.get(3), 1000, settings)
        server = self.server(["--max-concurrent-streams", "4"])
        self.assertEqual(http2_settings(int(server.address.rsplit(":", 1)[1])).get(3), 4)
        stub = self.hpb_grpc.HealthStub(self.channel(server.address))
        calls = [stub.Watch(self.hpb.HealthCheckRequest(), timeout=60) for _ in range(5)]
        watches = [Collector(c, self.grpc) for c in calls]
        deadline = time.monotonic() + WAIT_S
        while sum(1 for w in watches if w.messages) < 4 and time.monotonic() < deadline:
            time.sleep(0.01)
        self.assertEqual(sum(1 for w in watches if w.messages), 4, "four streams open")
        time.sleep(1)  # the fifth would have had its first message in a few ms
        waiting = [i for i, w in enumerate(watches) if not w.messages]
        self.assertEqual(len(waiting), 1, "a fifth stream opened past the limit")
        calls[(waiting[0] + 1) % 5].cancel()
        deadline = time.monotonic() + WAIT_S
        while not watches[waiting[0]].messages and time.monotonic() < deadline:
            time.sleep(0.01)
        self.assertTrue(watches[waiting[0]].messages, "the fifth stream opens when one closes")
        for c in calls:
            c.cancel()

    def test_metadata_limit_refuses_the_call_not_the_connection(self):
        server = self.server()
        port = int(server.address.rsplit(":", 1)[1])
        ch = self.channel(server.address)
        self.store(ch, "small headers", [("x-big", "a" * 4000)])
        with self.assertRaises(self.grpc.RpcError) as cm:
            self.store(ch, "big headers", [("x-big", "a" * 16384)])
        self.assertEqual(cm.exception.code(), self.grpc.StatusCode.RESOURCE_EXHAUSTED)
        self.assertIn("--max-metadata-bytes", cm.exception.details())
        self.assertNotIn("aaaa", cm.exception.details())  # header values are never echoed
        before = tcp_connections(port)
        self.assertEqual(self.check(ch), self.SERVING)
        self.assertEqual(tcp_connections(port), before, "the connection stayed up")
        self.assertEqual(len(before), 1)
        bigger = self.server(["--max-metadata-bytes", "32768"])
        self.store(self.channel(bigger.address), "big headers", [("x-big", "a" * 16384)])

    # ---- the health port ----

    def cert(self, name, ext="pem"):
        return os.path.join(self.certs, "%s.%s" % (name, ext))

    def test_health_port_serves_health_only_while_listen_needs_mtls(self):
        server = self.server(["--tls-cert", self.cert("server"), "--tls-key",
                              self.cert("server", "key"), "--tls-client-ca", self.cert("ca"),
                              "--health-listen", "127.0.0.1:0"])
        health = self.channel("127.0.0.1:%d" % health_port(server))
        for service in ("", "mnemo.v1.MemoryService", "mnemo.v1.RepositoryService"):
            self.assertEqual(self.check(health, service), self.SERVING)
        watch = self.hpb_grpc.HealthStub(health).Watch(self.hpb.HealthCheckRequest(),
                                                       timeout=RPC_TIMEOUT_S)
        self.assertEqual(next(watch).status, self.SERVING)
        watch.cancel()
        with self.assertRaises(self.grpc.RpcError) as cm:
            self.store(health, "not here")
        self.assertEqual(cm.exception.code(), self.grpc.StatusCode.UNIMPLEMENTED)
        reflect = health.stream_stream("/grpc.reflection.v1.ServerReflection/ServerReflectionInfo")
        with self.assertRaises(self.grpc.RpcError) as cm:
            list(reflect(iter([b""]), timeout=RPC_TIMEOUT_S))
        self.assertEqual(cm.exception.code(), self.grpc.StatusCode.UNIMPLEMENTED)
        # The main port itself wants a client certificate.
        with self.assertRaises(self.grpc.RpcError) as cm:
            self.check(self.channel(server.address))
        self.assertEqual(cm.exception.code(), self.grpc.StatusCode.UNAVAILABLE)
        with open(self.cert("ca"), "rb") as ca, open(self.cert("client", "key"), "rb") as key, \
                open(self.cert("client"), "rb") as chain:
            creds = self.grpc.ssl_channel_credentials(ca.read(), key.read(), chain.read())
        mtls = self.grpc.secure_channel(server.address, creds)
        self.addCleanup(mtls.close)
        self.assertTrue(self.store(mtls, "over mutual TLS").memory.id)

    def test_health_port_that_cannot_be_bound_stops_the_start(self):
        taken = self.server()
        data = os.path.join(self.work, "unbound")
        run = subprocess.run([ARGS.mnemod, "--listen", "127.0.0.1:0", "--data-dir", data,
                              "--health-listen", taken.address],
                             stdin=subprocess.DEVNULL, capture_output=True, text=True,
                             timeout=EXIT_TIMEOUT_S)
        self.assertEqual(run.returncode, 1, run.stderr)  # 1: cannot start, not a crash
        self.assertIn("--health-listen: cannot listen on " + taken.address, run.stderr)


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
