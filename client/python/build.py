#!/usr/bin/python3
"""build.py - builds the mnemo_client Python package from proto/ (nothing
generated is committed): one command, then the package imports from OUT.

    /usr/bin/python3 client/python/build.py [--out DIR]   # default client/python/build
    PYTHONPATH=client/python/build /usr/bin/python3 -c 'import mnemo_client'

Uses Debian 12's protoc 3.21 (protobuf-compiler: --python_out, and --pyi_out
for the typed stubs) with grpc_python_plugin (protobuf-compiler-grpc), whose
output matches python3-protobuf 3.21 and python3-grpcio 1.51. The protoc
inside python3-grpc-tools 1.14 is too old for --pyi_out.

Layout of OUT/mnemo_client:
  __init__.py, _client.py, py.typed   the wrapper (copied from mnemo_client/)
  v1/{memory,repository}_pb2{.py,.pyi,_grpc.py}   mnemo.v1 (proto/mnemo/v1)
  health/v1/health_pb2*, reflection/v1/reflection_pb2*  what mnemod also serves
Each .proto is staged under the package path it is generated into, so the
generated imports are package-absolute (mnemo_client.v1...) and never
shadow grpcio's own top-level `grpc` package.
"""

import argparse
import os
import shutil
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
GRPC_PROTO = "/usr/share/grpc-proto"
PROTOC = "/usr/bin/protoc"
GRPC_PLUGIN = "/usr/bin/grpc_python_plugin"
PACKAGE = "mnemo_client"


def stage(proto_dir, stage_dir):
    """Copies each .proto to the package path it is generated into; returns
    (their paths relative to stage_dir, the package directories)."""
    wanted = [(os.path.join(proto_dir, "mnemo", "v1", name), "v1")
              for name in sorted(os.listdir(os.path.join(proto_dir, "mnemo", "v1")))
              if name.endswith(".proto")]
    wanted += [(os.path.join(GRPC_PROTO, "grpc", "health", "v1", "health.proto"), "health/v1"),
               (os.path.join(GRPC_PROTO, "grpc", "reflection", "v1", "reflection.proto"),
                "reflection/v1")]
    rels, pkgs = [], set()
    for src, sub in wanted:
        rel = os.path.join(PACKAGE, sub, os.path.basename(src))
        os.makedirs(os.path.join(stage_dir, os.path.dirname(rel)), exist_ok=True)
        shutil.copyfile(src, os.path.join(stage_dir, rel))
        rels.append(rel)
        parts = sub.split("/")
        for i in range(len(parts)):
            pkgs.add(os.path.join(PACKAGE, *parts[:i + 1]))
    return rels, sorted(pkgs)


def build(proto_dir, out):
    for tool in (PROTOC, GRPC_PLUGIN):
        if not os.access(tool, os.X_OK):
            sys.exit("build.py: %s missing: bash cmake/install-deps.sh" % tool)
    # Built next to OUT and moved into place, so a failed build never leaves
    # half a package behind and a concurrent import sees old or new.
    os.makedirs(out, exist_ok=True)
    tmp = tempfile.mkdtemp(prefix=".mnemo-client-", dir=out)
    try:
        stage_dir = os.path.join(tmp, "proto")
        gen = os.path.join(tmp, "out")
        os.makedirs(gen)
        rels, pkgs = stage(proto_dir, stage_dir)
        subprocess.run([PROTOC, "-I" + stage_dir, "--python_out=" + gen, "--pyi_out=" + gen,
                        "--plugin=protoc-gen-grpc_python=" + GRPC_PLUGIN,
                        "--grpc_python_out=" + gen] + rels, check=True)
        for pkg in pkgs:
            open(os.path.join(gen, pkg, "__init__.py"), "a").close()
        src = os.path.join(HERE, PACKAGE)
        for name in sorted(os.listdir(src)):
            if name.endswith(".py") or name == "py.typed":
                shutil.copyfile(os.path.join(src, name), os.path.join(gen, PACKAGE, name))
        final = os.path.join(out, PACKAGE)
        old = os.path.join(tmp, "old")
        if os.path.exists(final):
            os.rename(final, old)
        os.rename(os.path.join(gen, PACKAGE), final)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return final


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", default=os.path.join(HERE, "build"),
                        help="directory to put mnemo_client/ in (default: %(default)s)")
    parser.add_argument("--proto-dir", default=os.path.join(HERE, "..", "..", "proto"),
                        help="mnemo's proto/ directory (default: the repository's)")
    args = parser.parse_args()
    final = build(os.path.abspath(args.proto_dir), os.path.abspath(args.out))
    print("build.py: built %s (PYTHONPATH=%s)" % (final, os.path.dirname(final)))


if __name__ == "__main__":
    main()
