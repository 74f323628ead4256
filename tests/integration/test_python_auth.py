#!/usr/bin/python3
"""test_python_auth.py - bearer tokens and roles against a real mnemod, from
a Python client generated from mnemo's .proto files at test time.

Every RPC of every mnemo service is called with no token, an unknown token
and a token of each role; each gets exactly the status the role table says
(README "Security"). The table below is keyed by the methods the .proto
files declare, so an RPC added without a role in this table fails the test
(and one added without a role in mnemod's method tables stops mnemod).
Health and reflection stay open. Removing a token from the file and sending
SIGHUP locks it out for the next call. No token, and no token hash, ever
appears in mnemod's log.

The tokens file is written with hashes from `mnemod hash-token`, the way an
operator makes it.

    /usr/bin/python3 tests/integration/test_python_auth.py \
        --mnemod build/server/mnemod --proto-dir proto
"""

import argparse
import hashlib
import os
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import unittest

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from test_python_client import Server, load_stubs  # noqa: E402  (same directory)

RPC_TIMEOUT_S = 15
RELOAD_WAIT_S = 10

ARGS = None

# The role each RPC needs (README "Security"): read < write < admin.
ROLES = {
    "mnemo.v1.MemoryService/StoreMemory": "write",
    "mnemo.v1.MemoryService/GetMemory": "read",
    "mnemo.v1.MemoryService/DeleteMemory": "write",
    "mnemo.v1.MemoryService/ListMemories": "read",
    "mnemo.v1.MemoryService/RetrieveMemory": "read",
    "mnemo.v1.MemoryService/SearchByTag": "read",
    "mnemo.v1.RepositoryService/SyncRepository": "admin",
    "mnemo.v1.RepositoryService/WatchSync": "read",
    "mnemo.v1.RepositoryService/GetSyncStatus": "read",
    "mnemo.v1.RepositoryService/CancelSync": "admin",
    "mnemo.v1.RepositoryService/ListRepositories": "read",
    "mnemo.v1.RepositoryService/DeleteRepository": "admin",
    "mnemo.v1.RepositoryService/SearchCode": "read",
}
STREAMING = {"SyncRepository", "WatchSync"}
RANK = {"read": 1, "write": 2, "admin": 3}


def hash_token(mnemod, token):
    """The SHA-256 hex of token, as `mnemod hash-token` prints it."""
    out = subprocess.run([mnemod, "hash-token"], input=(token + "\n").encode(),
                         capture_output=True, check=True, timeout=RPC_TIMEOUT_S)
    line = out.stdout.decode().strip()
    if token in out.stdout.decode() + out.stderr.decode():
        raise AssertionError("mnemod hash-token printed the token")
    return line


class PythonAuthTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.stub_dir, stubs = load_stubs(ARGS.proto_dir)
        cls.grpc = stubs.grpc
        cls.health_pb2 = stubs.health_pb2
        cls.health_pb2_grpc = stubs.health_pb2_grpc
        cls.files = [stubs.memory_pb2.DESCRIPTOR, stubs.repository_pb2.DESCRIPTOR]
        cls.workdir = tempfile.mkdtemp(prefix="mnemo-pyauth-")
        cls.tokens = {role: secrets.token_urlsafe(32) for role in RANK}
        cls.hashes = {role: hash_token(ARGS.mnemod, t) for role, t in cls.tokens.items()}
        cls.tokens_path = os.path.join(cls.workdir, "tokens")
        cls.write_tokens(["read", "write", "admin"])
        # gRPC's own tracers at their most verbose: they print request
        # headers, so mnemod must switch them off when it checks tokens.
        cls.server = Server(ARGS.mnemod, ["--auth-tokens", cls.tokens_path,
                                          "--allow-root", cls.workdir],
                            env_extra={"GRPC_TRACE": "all", "GRPC_VERBOSITY": "DEBUG"})
        cls.channel = stubs.grpc.insecure_channel(cls.server.address)

    @classmethod
    def write_tokens(cls, roles):
        with open(cls.tokens_path, "w") as f:
            f.write("# test tokens: SHA256-HEX ROLE NAME\n")
            for role in roles:
                f.write("%s %s %s-client\n" % (cls.hashes[role], role, role))

    @classmethod
    def tearDownClass(cls):
        cls.channel.close()
        code = cls.server.stop()
        log = cls.server.read_log()
        cls.server.cleanup()
        shutil.rmtree(cls.stub_dir, ignore_errors=True)
        shutil.rmtree(cls.workdir, ignore_errors=True)
        if "GRPC_TRACE" not in log:
            raise AssertionError("mnemod did not say it switched GRPC_TRACE off")
        for role, token in cls.tokens.items():
            hex_bytes = " ".join("%02x" % b for b in token.encode()[:8])  # tcp tracer dumps
            if token in log or cls.hashes[role] in log or hex_bytes in log:
                raise AssertionError("a %s token or its hash is in mnemod's log" % role)
        if code != 0:
            raise AssertionError("mnemod exited %r on SIGTERM, want 0; log:\n%s" % (code, log))

    def methods(self):
        """(path, method descriptor) of every RPC the .proto files declare."""
        for fd in self.files:
            for service in fd.services_by_name.values():
                for m in service.methods:
                    yield "%s/%s" % (service.full_name, m.name), m

    def call(self, path, method, metadata):
        """Calls path with an empty request; returns the status code."""
        from google.protobuf import message_factory
        request_class = message_factory.MessageFactory().GetPrototype(method.input_type)
        kwargs = dict(request_serializer=lambda m: m.SerializeToString(),
                      response_deserializer=lambda b: b)
        try:
            if method.name in STREAMING:
                stream = self.channel.unary_stream("/" + path, **kwargs)(
                    request_class(), timeout=RPC_TIMEOUT_S, metadata=metadata)
                for _ in stream:
                    pass
            else:
                self.channel.unary_unary("/" + path, **kwargs)(
                    request_class(), timeout=RPC_TIMEOUT_S, metadata=metadata)
        except self.grpc.RpcError as e:
            return e.code(), e.details() or ""
        return self.grpc.StatusCode.OK, ""

    def bearer(self, token):
        return (("authorization", "Bearer " + token),)

    def test_every_rpc_has_a_role(self):
        declared = {path for path, _ in self.methods()}
        self.assertEqual(declared - set(ROLES), set(),
                         "RPCs without a role in this test's table")
        self.assertEqual(set(ROLES) - declared, set(), "roles for RPCs that do not exist")

    def test_role_table(self):
        S = self.grpc.StatusCode
        for path, method in self.methods():
            need = ROLES[path]
            with self.subTest(path=path, token="none"):
                code, details = self.call(path, method, ())
                self.assertEqual(code, S.UNAUTHENTICATED, details)
            with self.subTest(path=path, token="unknown"):
                code, details = self.call(path, method, self.bearer(secrets.token_urlsafe(32)))
                self.assertEqual(code, S.UNAUTHENTICATED, details)
                self.assertIn("unknown bearer token", details)
            for role in RANK:
                with self.subTest(path=path, token=role):
                    code, details = self.call(path, method, self.bearer(self.tokens[role]))
                    if RANK[role] < RANK[need]:
                        self.assertEqual(code, S.PERMISSION_DENIED, details)
                        self.assertIn("needs role " + need, details)
                        self.assertIn("has role " + role, details)
                    else:
                        # Past the check: the empty request gets whatever the
                        # handler says of it, never an auth status.
                        self.assertNotIn(code, (S.UNAUTHENTICATED, S.PERMISSION_DENIED),
                                         details)

    def test_other_schemes_are_unauthenticated(self):
        S = self.grpc.StatusCode
        path, method = next(iter(self.methods()))
        token = self.tokens["admin"]
        for value in ("Basic " + token, token, "Bearer"):
            code, details = self.call(path, method, (("authorization", value),))
            self.assertEqual(code, S.UNAUTHENTICATED, details)
            self.assertNotIn(token, details)
        # The scheme is case-insensitive: past the check, the empty request
        # gets the handler's answer.
        code, details = self.call(path, method, (("authorization", "bearer " + token),))
        self.assertNotIn(code, (S.UNAUTHENTICATED, S.PERMISSION_DENIED), details)

    def test_health_and_reflection_are_open(self):
        health = self.health_pb2_grpc.HealthStub(self.channel)
        resp = health.Check(self.health_pb2.HealthCheckRequest(service=""),
                            timeout=RPC_TIMEOUT_S)
        self.assertEqual(resp.status, self.health_pb2.HealthCheckResponse.SERVING)
        # One reflection request, built by hand: list_services (field 7).
        stream = self.channel.stream_stream(
            "/grpc.reflection.v1.ServerReflection/ServerReflectionInfo",
            request_serializer=lambda b: b, response_deserializer=lambda b: b)
        replies = list(stream(iter([b"\x3a\x00"]), timeout=RPC_TIMEOUT_S))
        self.assertEqual(len(replies), 1)
        self.assertIn(b"mnemo.v1.MemoryService", replies[0])

    def reload(self, marker):
        """Sends SIGHUP and waits until the log gains one more `marker`."""
        before = self.server.read_log().count(marker)
        self.server.proc.send_signal(signal.SIGHUP)
        deadline = time.monotonic() + RELOAD_WAIT_S
        while self.server.read_log().count(marker) == before:
            self.assertLess(time.monotonic(), deadline, "no '%s' logged after SIGHUP" % marker)
            time.sleep(0.05)

    def test_removed_token_is_refused_after_sighup(self):
        S = self.grpc.StatusCode
        path = "mnemo.v1.MemoryService/ListMemories"
        method = dict(self.methods())[path]
        self.assertEqual(self.call(path, method, self.bearer(self.tokens["write"]))[0], S.OK)
        try:
            self.write_tokens(["read", "admin"])
            self.reload("credentials reloaded")
            code, details = self.call(path, method, self.bearer(self.tokens["write"]))
            self.assertEqual(code, S.UNAUTHENTICATED, details)
            self.assertEqual(self.call(path, method, self.bearer(self.tokens["read"]))[0], S.OK)
            # A file that does not parse keeps the tokens that were loaded.
            with open(self.tokens_path, "w") as f:
                f.write("this is not a token line\n")
            self.reload("credentials NOT reloaded")
            self.assertEqual(self.call(path, method, self.bearer(self.tokens["read"]))[0], S.OK)
        finally:
            self.write_tokens(["read", "write", "admin"])
            self.reload("credentials reloaded")

    def test_hash_token_matches_sha256(self):
        token = self.tokens["read"]
        self.assertEqual(self.hashes["read"], hashlib.sha256(token.encode()).hexdigest())


def main():
    global ARGS
    parser = argparse.ArgumentParser()
    parser.add_argument("--mnemod", required=True)
    parser.add_argument("--proto-dir", required=True)
    ARGS, rest = parser.parse_known_args()
    unittest.main(argv=[sys.argv[0]] + rest, verbosity=2)


if __name__ == "__main__":
    main()
