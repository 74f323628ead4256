"""mnemo_client - the Python client of mnemod (client/python/README.md).

    from mnemo_client import Client
    with Client("127.0.0.1:50051") as c:
        m = c.store("the staging database moved to db2", tags=["ops"]).memory

Generated messages and stubs: mnemo_client.v1.memory_pb2(_grpc),
mnemo_client.v1.repository_pb2(_grpc); grpc.health.v1 and grpc.reflection.v1
under mnemo_client.health.v1 and mnemo_client.reflection.v1.
"""

from ._client import Client, SyncStream
from .v1 import memory_pb2, repository_pb2

__all__ = ["Client", "SyncStream", "memory_pb2", "repository_pb2"]
