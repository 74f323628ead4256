#!/usr/bin/python3
"""rolling_restart.py - measures what a restart costs clients behind a
proxy (README "Operating mnemod"; not part of ctest: it takes ~1 minute
and reports figures rather than pass/fail, except for the goal below).

1. SIGTERM to NOT_SERVING through nginx: mnemod behind deploy/nginx/
   mnemo.conf, a client polling health Check through nginx as fast as it
   can; the time from sending SIGTERM to the first NOT_SERVING it reads,
   over --trials restarts.
2. Rolling restart behind HAProxy: two mnemods (replicas A and B, each
   with its own data dir and --health-listen port) behind deploy/haproxy/
   mnemo.cfg as it is; --clients threads loop StoreMemory and GetMemory
   through HAProxy while A gets SIGTERM, drains for --drain-delay, exits,
   restarts on the same ports and data and is seen healthy again by
   HAProxy, then B the same. Counts the calls made and the calls that
   failed, by status code. Goal: 0 failed.

    /usr/bin/python3 tests/integration/rolling_restart.py \
        --mnemod build/server/mnemod --proto-dir proto --deploy-dir deploy \
        [--drain-delay 5s] [--clients 4] [--trials 5]

Exit status 0 when no call failed, 1 otherwise. `--drain-delay 0s` shows
what the drain buys. Every process is the script's own (temp dirs, free
loopback ports); nothing is left running.
"""

import argparse
import os
import shutil
import signal
import statistics
import sys
import tempfile
import threading
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from test_python_client import Server, generate_stubs  # noqa: E402
import proxy_lib  # noqa: E402

RPC_TIMEOUT_S = 10
ARGS = None


def duration_s(text):
    for unit, scale in (("ms", 0.001), ("s", 1), ("m", 60), ("h", 3600)):
        if text.endswith(unit) and text[:-len(unit)].isdigit():
            return int(text[:-len(unit)]) * scale
    raise ValueError("not a duration: %r" % text)


class Replica:
    """One mnemod on fixed ports (a restart comes back where the proxy
    looks) over its own data dir."""

    def __init__(self, name, work):
        self.name = name
        self.ports = (proxy_lib.free_port(), proxy_lib.free_port())
        self.data = os.path.join(work, "data-" + name)
        self.server = None

    @property
    def address(self):
        return "127.0.0.1:%d" % self.ports[0]

    def start(self):
        self.server = Server(ARGS.mnemod, [
            "--listen", self.address, "--data-dir", self.data,
            "--health-listen", "127.0.0.1:%d" % self.ports[1],
            "--drain-delay", ARGS.drain_delay, "--grace-ms", str(ARGS.grace_ms)])

    def stop(self):
        """SIGTERM and wait; returns (exit code, seconds it took)."""
        t0 = time.monotonic()
        code = self.server.stop()
        took = time.monotonic() - t0
        self.server.cleanup()
        return code, took


def wait_serving(health, hpb, grpc, timeout=30):
    deadline = time.monotonic() + timeout
    while True:
        try:
            if health.Check(hpb.HealthCheckRequest(), timeout=2).status == \
                    hpb.HealthCheckResponse.SERVING:
                return
        except grpc.RpcError:
            pass
        if time.monotonic() > deadline:
            raise RuntimeError("not SERVING after %ss" % timeout)
        time.sleep(0.05)


def not_serving_through_nginx(mods, work):
    grpc, hpb, hgrpc = mods["grpc"], mods["hpb"], mods["hgrpc"]
    replica = Replica("nginx", work)
    replica.start()
    proxy = proxy_lib.Nginx(os.path.join(ARGS.deploy_dir, "nginx", "mnemo.conf"),
                            replica.address)
    times = []
    try:
        channel = grpc.insecure_channel(proxy.address)
        health = hgrpc.HealthStub(channel)
        for trial in range(ARGS.trials):
            if trial:
                replica.start()
            wait_serving(health, hpb, grpc)
            t0 = time.monotonic()
            replica.server.proc.send_signal(signal.SIGTERM)
            seen = None
            while time.monotonic() - t0 < 10:
                try:
                    r = health.Check(hpb.HealthCheckRequest(), timeout=2)
                except grpc.RpcError as e:
                    print("  trial %d: %s before NOT_SERVING was seen" % (trial, e.code()))
                    break
                if r.status == hpb.HealthCheckResponse.NOT_SERVING:
                    seen = time.monotonic() - t0
                    break
            if seen is not None:
                times.append(seen * 1000)
            replica.stop()
        channel.close()
    finally:
        proxy.cleanup()
        if replica.server is not None:
            replica.server.cleanup()
    return times


class Load:
    """Client threads looping StoreMemory and GetMemory through the proxy;
    counts calls and failures (with their time and code)."""

    def __init__(self, mods, address, known_id):
        self.mods = mods
        self.address = address
        self.known_id = known_id
        self.stop = threading.Event()
        self.lock = threading.Lock()
        self.calls = 0
        self.failures = []
        self.t0 = time.monotonic()
        self.threads = [threading.Thread(target=self.run, args=(i,), daemon=True)
                        for i in range(ARGS.clients)]
        for t in self.threads:
            t.start()

    def run(self, idx):
        grpc, mpb = self.mods["grpc"], self.mods["mpb"]
        channel = grpc.insecure_channel(self.address)
        mem = self.mods["mgrpc"].MemoryServiceStub(channel)
        i = 0
        while not self.stop.is_set():
            i += 1
            try:
                if i % 2:
                    mem.StoreMemory(mpb.StoreMemoryRequest(content="rolling %d %d" % (idx, i)),
                                    timeout=RPC_TIMEOUT_S)
                else:
                    mem.GetMemory(mpb.GetMemoryRequest(id=self.known_id), timeout=RPC_TIMEOUT_S)
                ok = None
            except grpc.RpcError as e:
                ok = (time.monotonic() - self.t0, e.code().name, e.details())
            with self.lock:
                self.calls += 1
                if ok is not None:
                    self.failures.append(ok)
        channel.close()

    def finish(self):
        self.stop.set()
        for t in self.threads:
            t.join(30)


def rolling_restart(mods, work):
    grpc, mpb, hpb = mods["grpc"], mods["mpb"], mods["hpb"]
    replicas = [Replica("a", work), Replica("b", work)]
    for r in replicas:
        r.start()
    proxy = proxy_lib.HAProxy(os.path.join(ARGS.deploy_dir, "haproxy", "mnemo.cfg"),
                              [(r.address, r.ports[1]) for r in replicas])
    events = []
    try:
        # The memory GetMemory asks for exists on both replicas.
        known = None
        for r in replicas:
            ch = grpc.insecure_channel(r.address)
            known = mods["mgrpc"].MemoryServiceStub(ch).StoreMemory(
                mpb.StoreMemoryRequest(content="known to every replica"),
                timeout=RPC_TIMEOUT_S).memory.id
            ch.close()
        ch = grpc.insecure_channel(proxy.address)
        wait_serving(mods["hgrpc"].HealthStub(ch), hpb, grpc)
        ch.close()
        load = Load(mods, proxy.address, known)
        time.sleep(ARGS.settle)
        for r in replicas:
            t = time.monotonic() - load.t0
            code, took = r.stop()
            events.append("%6.2f s  %s: SIGTERM; exited %s after %.2f s" % (t, r.name, code, took))
            r.start()
            direct = grpc.insecure_channel("127.0.0.1:%d" % r.ports[1])
            wait_serving(mods["hgrpc"].HealthStub(direct), hpb, grpc)
            direct.close()
            events.append("%6.2f s  %s: restarted, SERVING" % (time.monotonic() - load.t0, r.name))
            # HAProxy puts it back after "rise 2" checks "inter 1s" apart.
            time.sleep(ARGS.settle)
        load.finish()
        elapsed = time.monotonic() - load.t0
    finally:
        proxy.cleanup()
        for r in replicas:
            if r.server is not None:
                r.server.cleanup()
    return load, elapsed, events


def main():
    global ARGS
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--mnemod", required=True)
    parser.add_argument("--proto-dir", required=True)
    parser.add_argument("--deploy-dir", required=True)
    parser.add_argument("--drain-delay", default="5s", help="mnemod's --drain-delay (5s)")
    parser.add_argument("--grace-ms", type=int, default=5000)
    parser.add_argument("--clients", type=int, default=4, help="client threads (4)")
    parser.add_argument("--trials", type=int, default=5, help="SIGTERMs through nginx (5)")
    parser.add_argument("--settle", type=float, default=4.0,
                        help="seconds of load before, between and after restarts (4)")
    ARGS = parser.parse_args()
    for attr in ("mnemod", "proto_dir", "deploy_dir"):
        setattr(ARGS, attr, os.path.abspath(getattr(ARGS, attr)))
    duration_s(ARGS.drain_delay)
    os.environ["PATH"] += os.pathsep + "/usr/sbin"

    work = tempfile.mkdtemp(prefix="mnemo-rolling-")
    try:
        generate_stubs(ARGS.proto_dir, work)
        sys.path.insert(0, work)
        import grpc
        import health_pb2
        import health_pb2_grpc
        from mnemo.v1 import memory_pb2, memory_pb2_grpc
        mods = {"grpc": grpc, "hpb": health_pb2, "hgrpc": health_pb2_grpc, "mpb": memory_pb2,
                "mgrpc": memory_pb2_grpc}

        print("1. SIGTERM -> NOT_SERVING seen through nginx (%d trials, --drain-delay %s)"
              % (ARGS.trials, ARGS.drain_delay))
        times = not_serving_through_nginx(mods, work)
        if times:
            print("   ms: %s; median %.1f, max %.1f" % (" ".join("%.1f" % t for t in times),
                                                       statistics.median(times), max(times)))
        else:
            print("   never seen: every trial got an error through the proxy first")

        print("2. rolling restart of two replicas behind HAProxy (--drain-delay %s, "
              "--grace-ms %d, %d client threads)" % (ARGS.drain_delay, ARGS.grace_ms,
                                                     ARGS.clients))
        load, elapsed, events = rolling_restart(mods, work)
        for e in events:
            print("   " + e)
        by_code = {}
        for _, code, _ in load.failures:
            by_code[code] = by_code.get(code, 0) + 1
        print("   %d calls in %.1f s (%.0f/s), %d failed%s" % (
            load.calls, elapsed, load.calls / elapsed, len(load.failures),
            "" if not by_code else ": " + ", ".join("%s %d" % kv for kv in sorted(by_code.items()))))
        for t, code, details in load.failures[:10]:
            print("     at %6.2f s %s %s" % (t, code, details))
        return 0 if not load.failures else 1
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
