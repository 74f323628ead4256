#!/usr/bin/python3
"""quickstart.py - mnemo_client end to end: store a memory, retrieve it,
sync a directory with a progress line; Ctrl-C cancels the sync (the server
stops at the next batch boundary and records CANCELLED).

    /usr/bin/python3 client/python/build.py
    PYTHONPATH=client/python/build /usr/bin/python3 client/python/examples/quickstart.py \\
        --server 127.0.0.1:50051 ~/src/myproject

The directory must be inside one of mnemod's --allow-root directories.
"""

import argparse
import os
import signal
import sys
import time

import grpc

from mnemo_client import Client, repository_pb2


def progress_line(ev) -> str:
    p = ev.status.progress
    return "\r%5.1f%%  %d/%d files  %d chunks  %-40.40s" % (
        p.percentage, p.processed_files + p.unchanged_files, p.total_files, p.chunks_written,
        ev.current_path)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--server", default=os.environ.get("MNEMO_SERVER", "127.0.0.1:50051"))
    parser.add_argument("--token", default=None, help="bearer token (mnemod --auth-tokens)")
    parser.add_argument("path", help="directory on the server's disk to sync")
    args = parser.parse_args()
    # Ctrl-C raises KeyboardInterrupt even when started with SIGINT ignored
    # (a background job of a script).
    signal.signal(signal.SIGINT, signal.default_int_handler)

    with Client(args.server, token=args.token) as client:
        stored = client.store("the staging database moved to db2.internal", tags=["ops"],
                              metadata={"source": "quickstart"})
        print("stored %s (created=%s)" % (stored.memory.id[:12], stored.created))
        for r in client.retrieve("staging database", limit=3).results:
            print("  %.3f  %s" % (r.score, r.memory.content))

        name = os.path.basename(os.path.normpath(args.path))
        stream = client.sync(os.path.abspath(args.path), name)
        try:
            with stream:  # leaving the block early cancels the call
                for ev in stream:
                    sys.stdout.write(progress_line(ev))
                    sys.stdout.flush()
        except KeyboardInterrupt:
            print("\ninterrupted: cancelling")
        except grpc.RpcError as e:
            print("\nsync failed: %s: %s" % (e.code().name, e.details()))
            return 1
        # A cancelled sync stops at its next batch boundary: wait for that.
        live = (repository_pb2.SYNC_STATE_PENDING, repository_pb2.SYNC_STATE_RUNNING)
        deadline = time.monotonic() + 10
        state = client.sync_status(name).state
        while state in live and time.monotonic() < deadline:
            time.sleep(0.05)
            state = client.sync_status(name).state
        print("\n%s: %s" % (name, repository_pb2.SyncState.Name(state)))
        return 130 if stream.cancelled else 0


if __name__ == "__main__":
    sys.exit(main())
