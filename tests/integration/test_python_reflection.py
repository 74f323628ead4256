#!/usr/bin/python3
"""test_python_reflection.py - a generic client that knows nothing of mnemo
discovers its API through server reflection (grpc.reflection.v1 and
v1alpha) and calls StoreMemory with messages built only from the
descriptors the server returned.

    /usr/bin/python3 tests/integration/test_python_reflection.py \
        --mnemod build/server/mnemod --proto-dir proto

Only reflection.proto is compiled here (from inside its directory, so no
local `grpc` package shadows grpcio); mnemo's own .proto files are not.
"""

import argparse
import os
import shutil
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from test_python_client import Server  # noqa: E402  (one harness for both)

REFLECTION_DIR = "/usr/share/grpc-proto/grpc/reflection/v1"
# v1alpha has the same messages and field numbers under another package (and
# the same file name, which one descriptor pool cannot hold twice): it is
# called with v1's message classes on its own path.
PATHS = {
    "v1": "/grpc.reflection.v1.ServerReflection/ServerReflectionInfo",
    "v1alpha": "/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo",
}
RPC_TIMEOUT_S = 15
ARGS = None


def generate_reflection_stubs(out_dir):
    from grpc_tools import protoc

    include = os.path.join(os.path.dirname(protoc.__file__), "_proto")
    cwd = os.getcwd()
    os.chdir(REFLECTION_DIR)
    try:
        if protoc.main(["protoc", "-I.", "-I" + include, "--python_out=" + out_dir,
                        "reflection.proto"]) != 0:
            raise RuntimeError("protoc failed on reflection.proto")
    finally:
        os.chdir(cwd)


class ReflectionTest(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        import grpc
        cls.grpc = grpc
        cls.stub_dir = tempfile.mkdtemp(prefix="mnemo-reflstubs-")
        generate_reflection_stubs(cls.stub_dir)
        sys.path.insert(0, cls.stub_dir)
        import reflection_pb2
        cls.pb2 = reflection_pb2
        cls.server = Server(ARGS.mnemod)
        cls.channel = grpc.insecure_channel(cls.server.address)

    @classmethod
    def tearDownClass(cls):
        cls.channel.close()
        code = cls.server.stop()
        log = cls.server.read_log()
        cls.server.cleanup()
        shutil.rmtree(cls.stub_dir, ignore_errors=True)
        if code != 0:
            raise AssertionError("mnemod exited %r on SIGTERM; log:\n%s" % (code, log))

    def ask(self, version, **requests):
        """Sends one request per keyword, in one stream; returns responses."""
        call = self.channel.stream_stream(
            PATHS[version],
            request_serializer=self.pb2.ServerReflectionRequest.SerializeToString,
            response_deserializer=self.pb2.ServerReflectionResponse.FromString)
        reqs = [self.pb2.ServerReflectionRequest(**{k: v}) for k, v in requests.items()]
        return list(call(iter(reqs), timeout=RPC_TIMEOUT_S))

    def test_lists_every_served_service(self):
        for version in PATHS:
            (resp,) = self.ask(version, list_services="")
            names = {s.name for s in resp.list_services_response.service}
            self.assertLessEqual({"mnemo.v1.MemoryService", "mnemo.v1.RepositoryService",
                                  "grpc.health.v1.Health",
                                  "grpc.reflection.v1.ServerReflection"}, names, version)

    def test_answers_in_order_within_one_stream(self):
        responses = self.ask("v1", list_services="",
                             file_containing_symbol="mnemo.v1.RepositoryService.SyncRepository",
                             file_by_filename="grpc/health/v1/health.proto")
        kinds = [r.WhichOneof("message_response") for r in responses]
        self.assertEqual(kinds, ["list_services_response", "file_descriptor_response",
                                 "file_descriptor_response"])
        self.assertEqual(responses[1].original_request.file_containing_symbol,
                         "mnemo.v1.RepositoryService.SyncRepository")

    def test_unknown_symbol_is_not_found_and_stream_goes_on(self):
        responses = self.ask("v1", file_containing_symbol="mnemo.v1.Nope",
                             list_services="")
        self.assertEqual(responses[0].WhichOneof("message_response"), "error_response")
        self.assertEqual(responses[0].error_response.error_code,
                         self.grpc.StatusCode.NOT_FOUND.value[0])
        self.assertEqual(responses[1].WhichOneof("message_response"), "list_services_response")

    def test_descriptors_drive_a_dynamic_call(self):
        from google.protobuf import descriptor_pb2, descriptor_pool, message_factory
        (resp,) = self.ask("v1alpha", file_containing_symbol="mnemo.v1.MemoryService")
        pool = descriptor_pool.DescriptorPool()
        files = [descriptor_pb2.FileDescriptorProto.FromString(b)
                 for b in resp.file_descriptor_response.file_descriptor_proto]
        self.assertEqual(files[0].name, "mnemo/v1/memory.proto")
        for f in reversed(files):  # dependencies come after their users
            pool.Add(f)
        service = pool.FindServiceByName("mnemo.v1.MemoryService")
        method = service.methods_by_name["StoreMemory"]
        factory = message_factory.MessageFactory(pool)
        request_cls = factory.GetPrototype(method.input_type)
        response_cls = factory.GetPrototype(method.output_type)
        call = self.channel.unary_unary(
            "/mnemo.v1.MemoryService/StoreMemory",
            request_serializer=request_cls.SerializeToString,
            response_deserializer=response_cls.FromString)
        out = call(request_cls(content="found through reflection", tags=["refl"]),
                   timeout=RPC_TIMEOUT_S)
        self.assertTrue(out.created)
        self.assertEqual(out.memory.content, "found through reflection")
        self.assertEqual(list(out.memory.tags), ["refl"])


def main():
    global ARGS
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--mnemod", required=True)
    parser.add_argument("--proto-dir", required=True)
    ARGS, rest = parser.parse_known_args()
    ARGS.mnemod = os.path.abspath(ARGS.mnemod)
    unittest.main(argv=[sys.argv[0]] + rest, verbosity=2)


if __name__ == "__main__":
    main()
