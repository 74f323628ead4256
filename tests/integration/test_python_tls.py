#!/usr/bin/python3
"""test_python_tls.py - TLS on mnemod's listener against a real mnemod, from
a Python client generated from mnemo's .proto files at test time.

Certificates come from make_certs.sh (same directory) in a temp dir. Cases:
a plaintext client, a client trusting another CA, a server presenting an
expired certificate or one for another host name all fail with
UNAVAILABLE (the last succeeds with grpc.ssl_target_name_override), and
the server keeps serving; the right CA stores and gets a memory; mutual
TLS refuses a client without a certificate or with one from another CA
and serves the right one; SIGHUP after the files were replaced rotates
the certificate for new connections (seen with Python's ssl module) while
a Watch stream opened before goes on, and a broken file keeps the old
certificate and logs why; bad files at start make mnemod exit 2 naming
the file; TLS 1.1 is refused (openssl s_client). No private key line ever
appears in mnemod's log.

    /usr/bin/python3 tests/integration/test_python_tls.py \\
        --mnemod build/server/mnemod --proto-dir proto
"""

import argparse
import hashlib
import os
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import time
import unittest

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from test_python_client import Server, load_stubs  # noqa: E402  (same directory)

RPC_TIMEOUT_S = 10
RELOAD_WAIT_S = 10
START_TIMEOUT_S = 20

ARGS = None


def read(path):
    with open(path, "rb") as f:
        return f.read()


def cert_der(path):
    """DER bytes of the first certificate of a PEM file."""
    return ssl.PEM_cert_to_DER_cert(read(path).decode())


def peer_certificate(port, cafile):
    """(subject CN, DER) of the certificate a NEW connection to 127.0.0.1:port
    gets, verified against cafile for the name localhost."""
    ctx = ssl.create_default_context(cafile=cafile)
    ctx.set_alpn_protocols(["h2"])
    with socket.create_connection(("127.0.0.1", port), timeout=RPC_TIMEOUT_S) as sock:
        with ctx.wrap_socket(sock, server_hostname="localhost") as tls:
            subject = dict(x[0] for x in tls.getpeercert()["subject"])
            return subject.get("commonName"), tls.getpeercert(binary_form=True)


class PythonTlsTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.stub_dir, stubs = load_stubs(ARGS.proto_dir)
        cls.grpc = stubs.grpc
        cls.pb = stubs.memory_pb2
        cls.pb_grpc = stubs.memory_pb2_grpc
        cls.health_pb2 = stubs.health_pb2
        cls.health_pb2_grpc = stubs.health_pb2_grpc
        cls.certs = tempfile.mkdtemp(prefix="mnemo-pytls-")
        subprocess.run(["bash", os.path.join(HERE, "make_certs.sh"), cls.certs], check=True,
                       timeout=60)
        cls.tls = cls.start_server("server")

    @classmethod
    def tearDownClass(cls):
        cls.stop_server(cls.tls)
        shutil.rmtree(cls.stub_dir, ignore_errors=True)
        shutil.rmtree(cls.certs, ignore_errors=True)

    # ---- servers and channels ----

    @classmethod
    def cert(cls, name, ext="pem"):
        return os.path.join(cls.certs, "%s.%s" % (name, ext))

    @classmethod
    def start_server(cls, name, extra=(), cert=None, key=None):
        """mnemod with NAME.pem/NAME.key (or the given paths) as its TLS files."""
        return Server(ARGS.mnemod, ["--tls-cert", cert or cls.cert(name),
                                    "--tls-key", key or cls.cert(name, "key")] + list(extra))

    @classmethod
    def stop_server(cls, server):
        """SIGTERM; mnemod must exit 0 and its log hold no private key line."""
        code = server.stop()
        log = server.read_log()
        server.cleanup()
        server.proc.stderr.close()
        for name in os.listdir(cls.certs):
            if not name.endswith(".key"):
                continue
            for line in read(os.path.join(cls.certs, name)).decode().splitlines():
                if not line.startswith("-----") and line.strip() and line in log:
                    raise AssertionError("a line of %s is in mnemod's log" % name)
        if code != 0:
            raise AssertionError("mnemod exited %r on SIGTERM, want 0; log:\n%s" % (code, log))

    def server(self, name, extra=(), **kw):
        server = self.start_server(name, extra, **kw)
        self.addCleanup(self.stop_server, server)
        return server

    def port(self, server):
        return int(server.address.rsplit(":", 1)[1])

    def channel(self, server, ca="ca", client=None, options=()):
        """A secure channel with its own connection (no subchannel sharing)."""
        creds = self.grpc.ssl_channel_credentials(
            root_certificates=read(self.cert(ca)),
            private_key=read(self.cert(client, "key")) if client else None,
            certificate_chain=read(self.cert(client)) if client else None)
        ch = self.grpc.secure_channel(server.address, creds,
                                      [("grpc.use_local_subchannel_pool", 1)] + list(options))
        self.addCleanup(ch.close)
        return ch

    def insecure_channel(self, server):
        ch = self.grpc.insecure_channel(server.address, [("grpc.use_local_subchannel_pool", 1)])
        self.addCleanup(ch.close)
        return ch

    # ---- calls ----

    def store_and_get(self, channel, content):
        mem = self.pb_grpc.MemoryServiceStub(channel)
        stored = mem.StoreMemory(self.pb.StoreMemoryRequest(content=content, tags=["tls"]),
                                 timeout=RPC_TIMEOUT_S)
        got = mem.GetMemory(self.pb.GetMemoryRequest(id=stored.memory.id), timeout=RPC_TIMEOUT_S)
        self.assertEqual(got.content, content)
        self.assertEqual(got.id, hashlib.sha256(content.encode()).hexdigest())

    def health(self, channel):
        stub = self.health_pb2_grpc.HealthStub(channel)
        return stub.Check(self.health_pb2.HealthCheckRequest(service=""), timeout=RPC_TIMEOUT_S)

    def assert_unavailable(self, channel):
        with self.assertRaises(self.grpc.RpcError) as cm:
            self.health(channel)
        self.assertEqual(cm.exception.code(), self.grpc.StatusCode.UNAVAILABLE,
                         cm.exception.details())
        return cm.exception.details() or ""

    def reload(self, server, marker):
        """SIGHUP; waits until the log gains one more `marker`; the log."""
        before = server.read_log().count(marker)
        server.proc.send_signal(signal.SIGHUP)
        deadline = time.monotonic() + RELOAD_WAIT_S
        while server.read_log().count(marker) == before:
            self.assertLess(time.monotonic(), deadline,
                            "no '%s' after SIGHUP; log:\n%s" % (marker, server.read_log()))
            time.sleep(0.05)
        return server.read_log()

    # ---- server authentication ----

    def test_right_ca_stores_and_gets(self):
        self.store_and_get(self.channel(self.tls), "stored over TLS")
        self.assertIn("subject CN=mnemod,O=mnemo test", self.tls.read_log())

    def test_plaintext_client_fails_and_server_keeps_serving(self):
        self.assert_unavailable(self.insecure_channel(self.tls))
        self.assertEqual(self.health(self.channel(self.tls)).status,
                         self.health_pb2.HealthCheckResponse.SERVING)

    def test_client_trusting_another_ca_fails(self):
        self.assert_unavailable(self.channel(self.tls, ca="other-ca"))
        self.store_and_get(self.channel(self.tls), "still served after a refused handshake")

    def test_expired_certificate_fails(self):
        server = self.server("expired")
        self.assertIn("EXPIRED", server.read_log())
        self.assert_unavailable(self.channel(server))

    def test_wrong_host_fails_unless_name_overridden(self):
        server = self.server("wrong-host")
        self.assert_unavailable(self.channel(server))
        ok = self.channel(server, options=[("grpc.ssl_target_name_override", "wrong.example")])
        self.store_and_get(ok, "reached under the certificate's own name")

    def test_tls_1_1_refused(self):
        port = self.port(self.tls)

        def s_client(version):
            # SECLEVEL=0: the client itself allows TLS 1.1, so a refusal is
            # the server's.
            return subprocess.run(
                ["openssl", "s_client", "-connect", "127.0.0.1:%d" % port, version,
                 "-cipher", "DEFAULT@SECLEVEL=0", "-servername", "localhost",
                 "-alpn", "h2", "-CAfile", self.cert("ca")],
                stdin=subprocess.DEVNULL, capture_output=True, timeout=RPC_TIMEOUT_S)

        before = self.tls.read_log().count("unsupported protocol")
        old = s_client("-tls1_1")
        out = (old.stdout + old.stderr).decode(errors="replace")
        self.assertNotEqual(old.returncode, 0, out)
        self.assertIn("Cipher is (NONE)", out)
        # The server closes without an alert; gRPC logs why: the version.
        deadline = time.monotonic() + RELOAD_WAIT_S
        while self.tls.read_log().count("unsupported protocol") == before:
            self.assertLess(time.monotonic(), deadline, self.tls.read_log())
            time.sleep(0.05)
        good = s_client("-tls1_2")  # the control: the same command with 1.2 works
        out = (good.stdout + good.stderr).decode(errors="replace")
        self.assertEqual(good.returncode, 0, out)
        self.assertIn("TLSv1.2", out)

    # ---- mutual TLS ----

    def test_mutual_tls(self):
        server = self.server("server", ["--tls-client-ca", self.cert("ca")])
        self.assert_unavailable(self.channel(server))
        self.assert_unavailable(self.channel(server, client="other-client"))
        self.store_and_get(self.channel(server, client="client"), "stored over mutual TLS")

    # ---- rotation ----

    def test_rotation_keeps_streams_and_serves_the_new_certificate(self):
        live = tempfile.mkdtemp(prefix="mnemo-pytls-live-")
        self.addCleanup(shutil.rmtree, live, True)
        cert, key = os.path.join(live, "cert.pem"), os.path.join(live, "key.pem")
        shutil.copy(self.cert("server"), cert)
        shutil.copy(self.cert("server", "key"), key)
        server = self.start_server(None, cert=cert, key=key)
        try:
            self.rotate(server, cert, key)
        finally:
            self.stop_server(server)

    def rotate(self, server, cert, key):
        port = self.port(server)
        self.assertEqual(peer_certificate(port, self.cert("ca"))[1], cert_der(self.cert("server")))
        old = self.channel(server)
        watch = self.health_pb2_grpc.HealthStub(old).Watch(
            self.health_pb2.HealthCheckRequest(service=""), timeout=60)
        serving = self.health_pb2.HealthCheckResponse.SERVING
        self.assertEqual(next(watch).status, serving)

        shutil.copy(self.cert("server2"), cert)
        shutil.copy(self.cert("server2", "key"), key)
        log = self.reload(server, "TLS certificate reloaded")
        self.assertIn("subject CN=mnemod-rotated,O=mnemo test", log)
        self.assertEqual(peer_certificate(port, self.cert("ca")),
                         ("mnemod-rotated", cert_der(self.cert("server2"))))
        self.store_and_get(self.channel(server), "stored on a connection made after rotation")
        # The connection made before goes on: its stream and new calls on it.
        self.assertTrue(watch.is_active())
        self.assertEqual(self.health(old).status, serving)

        # A broken file, then a key of another certificate: nothing changes.
        with open(cert, "w") as f:
            f.write("not a certificate\n")
        log = self.reload(server, "TLS files NOT reloaded")
        self.assertIn("--tls-cert %s: not a PEM file" % cert, log)
        shutil.copy(self.cert("server"), cert)  # server2.key stays: they do not match
        log = self.reload(server, "TLS files NOT reloaded")
        self.assertIn("--tls-key %s: not the key of the certificate" % key, log)
        self.assertEqual(peer_certificate(port, self.cert("ca"))[0], "mnemod-rotated")
        self.store_and_get(self.channel(server), "served with the kept certificate")

        # The stream opened before the rotation hears the shutdown.
        self.assertTrue(watch.is_active())
        server.proc.send_signal(signal.SIGTERM)
        self.assertEqual(next(watch).status, self.health_pb2.HealthCheckResponse.NOT_SERVING)

    # ---- bad files at start ----

    def start_fails(self, extra, want):
        """mnemod with extra flags exits 2 and says `want` on stderr."""
        data = tempfile.mkdtemp(prefix="mnemo-pytls-data-")
        self.addCleanup(shutil.rmtree, data, True)
        env = {k: v for k, v in os.environ.items() if not k.startswith("MNEMO_")}
        p = subprocess.run([ARGS.mnemod, "--listen", "127.0.0.1:0", "--data-dir",
                            os.path.join(data, "d")] + extra, stdin=subprocess.DEVNULL,
                           capture_output=True, env=env, timeout=START_TIMEOUT_S)
        err = p.stderr.decode(errors="replace")
        self.assertEqual(p.returncode, 2, err)
        self.assertIn(want, err)
        self.assertFalse(os.path.exists(os.path.join(data, "d")),
                         "a bad TLS file must stop mnemod before it touches the data dir")

    def test_bad_files_at_start_exit_2_naming_the_file(self):
        junk = os.path.join(self.certs, "junk.txt")
        with open(junk, "w") as f:
            f.write("hello, not PEM\n")
        cert, key, ca = self.cert("server"), self.cert("server", "key"), self.cert("ca")
        missing = os.path.join(self.certs, "missing.pem")
        cases = [
            (["--tls-cert", missing, "--tls-key", key], "--tls-cert %s: cannot read" % missing),
            (["--tls-cert", junk, "--tls-key", key], "--tls-cert %s: not a PEM file" % junk),
            (["--tls-cert", key, "--tls-key", key], "--tls-cert %s: no certificate" % key),
            (["--tls-cert", cert, "--tls-key", cert], "--tls-key %s: no private key" % cert),
            (["--tls-cert", cert, "--tls-key", self.cert("server2", "key")],
             "--tls-key %s: not the key of the certificate in --tls-cert %s"
             % (self.cert("server2", "key"), cert)),
            (["--tls-cert", cert, "--tls-key", key, "--tls-client-ca", key],
             "--tls-client-ca %s: no certificate" % key),
        ]
        for extra, want in cases:
            with self.subTest(want=want):
                self.start_fails(extra, want)


def main():
    global ARGS
    parser = argparse.ArgumentParser()
    parser.add_argument("--mnemod", required=True)
    parser.add_argument("--proto-dir", required=True)
    ARGS, rest = parser.parse_known_args()
    ARGS.mnemod = os.path.abspath(ARGS.mnemod)
    ARGS.proto_dir = os.path.abspath(ARGS.proto_dir)
    unittest.main(argv=[sys.argv[0]] + rest, verbosity=2)


if __name__ == "__main__":
    main()
