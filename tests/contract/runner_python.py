#!/usr/bin/python3
"""runner_python.py - runs the contract cases (tests/contract/README.md)
through the Python client package, mnemo_client (client/python).

    MNEMO_SERVER=127.0.0.1:50051 MNEMO_CONTRACT_ROOT=/srv/trees \\
    PYTHONPATH=client/python/build /usr/bin/python3 tests/contract/runner_python.py \\
        tests/contract/cases.json [CASE...]

or through tests/contract/run_with_server.sh, which starts the server. Calls
go over mnemo_client.Client's channel with the generated message types;
SyncRepository and WatchSync go through Client.sync / Client.watch, the
package's stream helper. Every op of the format is implemented: list_services
and reflect_call through grpc.reflection.v1 (reflect_call builds its types
from the descriptors the server returns, in a pool of their own).
"""

import hashlib
import json
import os
import sys
import time

sys.dont_write_bytecode = True  # no __pycache__ in the source tree

import grpc  # noqa: E402
from google.protobuf import descriptor_pb2, descriptor_pool, json_format  # noqa: E402
from google.protobuf import message_factory  # noqa: E402

import mnemo_client  # noqa: E402
from mnemo_client.health.v1 import health_pb2  # noqa: E402
from mnemo_client.reflection.v1 import reflection_pb2, reflection_pb2_grpc  # noqa: E402
from mnemo_client.v1 import memory_pb2, repository_pb2  # noqa: E402

LANGUAGE = "python"
DEFAULT_TIMEOUT_MS = 15000
DEFAULT_STREAM_TIMEOUT_MS = 60000
RETRY_PAUSE_S = 0.02
MAX_PAGES = 1000
OPS = ("call", "stream", "pages", "tree", "list_services", "reflect_call")
GENERATORS = ("$repeat", "$seq", "$sha256", "$tree", "$ref")


class StepFailed(Exception):
    pass


class Missing:
    """A path that does not resolve (distinct from a JSON null)."""

    def __init__(self, why):
        self.why = why


# ---- values: generators, paths, matchers ---------------------------------

def generate(value, ctx):
    """Replaces every generator object in value, innermost first."""
    if isinstance(value, list):
        return [generate(v, ctx) for v in value]
    if not isinstance(value, dict):
        return value
    value = {k: generate(v, ctx) for k, v in value.items()}
    if len(value) != 1 or next(iter(value)) not in GENERATORS:
        return value
    (key, arg), = value.items()
    if key == "$repeat":
        return arg[0] * arg[1]
    if key == "$seq":
        return ["%s%d" % (arg[0], i) for i in range(arg[1])]
    if key == "$sha256":
        return hashlib.sha256(arg.encode()).hexdigest()
    if key == "$tree":
        return os.path.join(ctx["root"], arg)
    label, _, path = arg.partition(".")
    if label not in ctx["results"]:
        raise StepFailed("$ref %r: no earlier step labelled %r" % (arg, label))
    got = resolve(ctx["results"][label], path)
    if isinstance(got, Missing):
        raise StepFailed("$ref %r: %s" % (arg, got.why))
    return got


def resolve(value, path):
    if path == "":
        return value
    seg, _, rest = path.partition(".")
    if isinstance(value, list):
        if seg == "*":
            out = [resolve(v, rest) for v in value]
            for o in out:
                if isinstance(o, Missing):
                    return o
            return out
        try:
            i = int(seg)
        except ValueError:
            return Missing("%r is not an index of an array" % seg)
        if i == -1 and value:
            i = len(value) - 1
        if not 0 <= i < len(value):
            return Missing("index %s out of range (%d elements)" % (seg, len(value)))
        return resolve(value[i], rest)
    if isinstance(value, dict):
        if seg not in value or value[seg] is None:
            return Missing("no %r" % seg)
        return resolve(value[seg], rest)
    return Missing("%r: not an object or array" % seg)


def as_number(v):
    if isinstance(v, bool):
        return None
    if isinstance(v, (int, float)):
        return v
    if isinstance(v, str) and v.lstrip("-").isdigit():
        return int(v)
    return None


def equal(got, want):
    if isinstance(want, bool) or isinstance(got, bool):
        return got is want
    wn = as_number(want)
    if wn is not None and not isinstance(want, str):
        gn = as_number(got)
        return gn is not None and gn == wn
    if isinstance(want, list):
        return (isinstance(got, list) and len(got) == len(want)
                and all(equal(g, w) for g, w in zip(got, want)))
    if isinstance(want, dict):
        return (isinstance(got, dict) and set(got) == set(want)
                and all(equal(got[k], want[k]) for k in want))
    return type(got) is type(want) and got == want


def is_set(v):
    if isinstance(v, bool):
        return v
    n = as_number(v)
    if n is not None and not isinstance(v, str):
        return n != 0
    if isinstance(v, str) and as_number(v) is not None:
        return as_number(v) != 0
    return v is not None and len(v) > 0


def unordered(got, want):
    if not isinstance(got, list) or len(got) != len(want):
        return False
    rest = list(got)
    for w in want:
        for i, g in enumerate(rest):
            if equal(g, w):
                del rest[i]
                break
        else:
            return False
    return True


def sorted_as(got, order):
    nums = [as_number(g) for g in got] if isinstance(got, list) else None
    if nums is None or any(n is None for n in nums):
        return False
    pairs = zip(nums, nums[1:])
    return all(a <= b for a, b in pairs) if order == "asc" else all(a >= b for a, b in pairs)


def matcher_holds(key, arg, got):
    n = as_number(got)
    if key == "$set":
        return is_set(got) == arg
    if key == "$len":
        return isinstance(got, (list, dict)) and len(got) == arg or \
            isinstance(got, str) and len(got.encode()) == arg
    if key == "$gte":
        return n is not None and n >= arg
    if key == "$lte":
        return n is not None and n <= arg
    if key == "$in":
        return any(equal(got, v) for v in arg)
    if key == "$contains":
        return isinstance(got, list) and any(equal(g, arg) for g in got)
    if key == "$unordered":
        return unordered(got, arg)
    if key == "$sorted":
        return sorted_as(got, arg)
    raise StepFailed("unknown matcher %s" % key)


def check(result, expect):
    for path, want in expect.items():
        got = resolve(result, path) if result is not None else Missing("no result")
        if isinstance(got, Missing):
            raise StepFailed("%s: %s" % (path, got.why))
        if isinstance(want, dict) and want and all(k.startswith("$") for k in want):
            for key, arg in want.items():
                if not matcher_holds(key, arg, got):
                    raise StepFailed("%s: want %s %s, got %s" % (path, key, short(arg), short(got)))
        elif not equal(got, want):
            raise StepFailed("%s: want %s, got %s" % (path, short(want), short(got)))


def short(v):
    s = json.dumps(v, ensure_ascii=False)
    return s if len(s) <= 200 else s[:200] + "...(%d chars)" % len(s)


# ---- the calls -----------------------------------------------------------

def to_tree(msg):
    return json_format.MessageToDict(msg, preserving_proto_field_name=True,
                                     including_default_value_fields=True)


class Runner:
    def __init__(self, server, root):
        self.root = root
        self.client = mnemo_client.Client(server)
        self.methods = {}  # "pkg.Service/Method" -> (request class, response class)
        for module in (memory_pb2, repository_pb2, health_pb2):
            for svc in module.DESCRIPTOR.services_by_name.values():
                for m in svc.methods:
                    self.methods["%s/%s" % (svc.full_name, m.name)] = (
                        getattr(module, m.input_type.name), getattr(module, m.output_type.name))
        self.reflection = reflection_pb2_grpc.ServerReflectionStub(self.client.channel)

    def close(self):
        self.client.close()

    def types(self, method):
        if method not in self.methods:
            raise StepFailed("unknown method %s" % method)
        return self.methods[method]

    def unary(self, method, req_cls, resp_cls, request, timeout_s):
        call = self.client.channel.unary_unary("/" + method,
                                               request_serializer=req_cls.SerializeToString,
                                               response_deserializer=resp_cls.FromString)
        req = json_format.ParseDict(request, req_cls())
        return to_tree(call(req, timeout=timeout_s))

    def op_call(self, step, request, timeout_s):
        req_cls, resp_cls = self.types(step["method"])
        return self.unary(step["method"], req_cls, resp_cls, request, timeout_s)

    def op_pages(self, step, request, timeout_s):
        req_cls, resp_cls = self.types(step["method"])
        items, pages, token = [], 0, ""
        while True:
            pages += 1
            if pages > MAX_PAGES:
                raise StepFailed("more than %d pages" % MAX_PAGES)
            page = self.unary(step["method"], req_cls, resp_cls,
                              dict(request, page_token=token), timeout_s)
            items += page[step["items"]]
            token = page["next_page_token"]
            if not token:
                return {"pages": pages, "items": items}

    def op_stream(self, step, request, timeout_s, outcome):
        """Through the package's SyncStream; fills outcome["result"] as the
        events come, so a failed stream still has its events."""
        method = step["method"]
        if method == "mnemo.v1.RepositoryService/SyncRepository":
            stream = self.client.sync(**request, timeout=timeout_s)
        elif method == "mnemo.v1.RepositoryService/WatchSync":
            stream = self.client.watch(**request, timeout=timeout_s)
        else:
            raise StepFailed("no stream helper for %s" % method)
        events = []
        outcome["result"] = {"events": events}
        with stream:
            for ev in stream:
                events.append(to_tree(ev))
                if len(events) == step.get("cancel_after"):
                    stream.cancel()
        # After the package's own cancel() iteration ends quietly: the final
        # status is read from the call.
        if stream.code() != grpc.StatusCode.OK:
            outcome["code"], outcome["details"] = stream.code().name, stream.details()
        return outcome["result"]

    def reflect(self, request, timeout_s):
        resp = next(iter(self.reflection.ServerReflectionInfo(iter([request]),
                                                              timeout=timeout_s)))
        if resp.HasField("error_response"):
            raise StepFailed("reflection: %s" % resp.error_response.error_message)
        return resp

    def op_list_services(self, step, request, timeout_s):
        resp = self.reflect(reflection_pb2.ServerReflectionRequest(list_services=""), timeout_s)
        return {"services": [s.name for s in resp.list_services_response.service]}

    def op_reflect_call(self, step, request, timeout_s):
        service, _, name = step["method"].partition("/")
        resp = self.reflect(reflection_pb2.ServerReflectionRequest(
            file_containing_symbol=service), timeout_s)
        pool = descriptor_pool.DescriptorPool()
        pending = [descriptor_pb2.FileDescriptorProto.FromString(b)
                   for b in resp.file_descriptor_response.file_descriptor_proto]
        while pending:  # dependencies first, in whatever order they came
            added = [f for f in pending if all(_has_file(pool, d) for d in f.dependency)]
            if not added:
                raise StepFailed("reflection: unresolvable imports in %s" %
                                 [f.name for f in pending])
            for f in added:
                pool.Add(f)
                pending.remove(f)
        m = pool.FindServiceByName(service).FindMethodByName(name)
        factory = message_factory.MessageFactory(pool)
        return self.unary(step["method"], factory.GetPrototype(m.input_type),
                          factory.GetPrototype(m.output_type), request, timeout_s)

    def op_tree(self, step, request, timeout_s):
        d = os.path.join(self.root, step["name"])
        os.mkdir(d)
        for i in range(step["files"]):
            with open(os.path.join(d, "f%04d.c" % i), "w") as f:
                f.write("/* contract tree %s file %d */\nint %s%05dq(int x)\n{\n"
                        "    return x + %d;\n}\n" % (step["name"], i, step["name"], i, i))
        return None

    # ---- steps and cases -------------------------------------------------

    def attempt(self, step, ctx):
        """One attempt: (code, details, result), then the checks."""
        request = generate(step.get("request", {}), ctx)
        default = DEFAULT_STREAM_TIMEOUT_MS if step["op"] == "stream" else DEFAULT_TIMEOUT_MS
        timeout_s = step.get("timeout_ms", default) / 1000.0
        outcome = {"code": "OK", "details": "", "result": None}
        try:
            fn = getattr(self, "op_" + step["op"])
            if step["op"] == "stream":
                fn(step, request, timeout_s, outcome)
            else:
                outcome["result"] = fn(step, request, timeout_s)
        except grpc.RpcError as e:
            outcome["code"], outcome["details"] = e.code().name, e.details() or ""
        want = step.get("code", "OK")
        if outcome["code"] != want:
            raise StepFailed("want code %s, got %s (%s)" % (want, outcome["code"],
                                                            outcome["details"]))
        if "message_contains" in step and step["message_contains"] not in outcome["details"]:
            raise StepFailed("status message %r does not contain %r" %
                             (outcome["details"], step["message_contains"]))
        check(outcome["result"], generate(step.get("expect", {}), ctx))
        return outcome["result"]

    def run_step(self, step, ctx):
        deadline = time.monotonic() + step.get("retry_ms", 0) / 1000.0
        while True:
            try:
                result = self.attempt(step, ctx)
                break
            except StepFailed:
                if time.monotonic() >= deadline:
                    raise
                time.sleep(RETRY_PAUSE_S)
        if "label" in step:
            ctx["results"][step["label"]] = result

    def run_case(self, case):
        unknown = sorted({s["op"] for s in case["steps"]} - set(OPS))
        if unknown:
            return "SKIP", "op %s not implemented by this runner" % ", ".join(unknown)
        ctx = {"root": self.root, "results": {}}
        for i, step in enumerate(case["steps"]):
            try:
                self.run_step(step, ctx)
            except StepFailed as e:
                return "FAIL", "step %d (%s): %s" % (i, step.get("label", step["op"]), e)
        return "PASS", None


def _has_file(pool, name):
    try:
        pool.FindFileByName(name)
        return True
    except KeyError:
        return False


def main(argv):
    if len(argv) < 2:
        print("usage: runner_python.py CASES_JSON [CASE...]", file=sys.stderr)
        return 2
    server, root = os.environ.get("MNEMO_SERVER"), os.environ.get("MNEMO_CONTRACT_ROOT")
    if not server or not root:
        print("runner_python: MNEMO_SERVER and MNEMO_CONTRACT_ROOT must be set", file=sys.stderr)
        return 2
    try:
        with open(argv[1], encoding="utf-8") as f:
            cases = json.load(f)["cases"]
    except (OSError, ValueError, KeyError) as e:
        print("runner_python: %s: %s" % (argv[1], e), file=sys.stderr)
        return 2
    only = set(argv[2:])
    runner = Runner(server, root)
    counts = {"PASS": 0, "FAIL": 0, "SKIP": 0}
    try:
        for case in cases:
            if only and case["name"] not in only:
                continue
            verdict, why = runner.run_case(case)
            counts[verdict] += 1
            print("%s %s%s" % (verdict, case["name"], ": " + why if why else ""), flush=True)
    finally:
        runner.close()
    total = sum(counts.values())
    print("contract %s: %d passed, %d failed, %d skipped of %d cases" %
          (LANGUAGE, counts["PASS"], counts["FAIL"], counts["SKIP"], total))
    return 1 if counts["FAIL"] else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
