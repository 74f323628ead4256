"""The mnemo_client wrapper: a Client that owns one channel (plaintext or
TLS, with an optional bearer token on every call) and exposes the generated
stubs, plus the few helpers that earn their place: memory calls with plain
arguments, ListMemories followed to its last page, and sync streams that
yield progress events and cancel cleanly.

Errors are grpc.RpcError as grpcio raises them (.code(), .details()).
"""

from __future__ import annotations

from typing import Iterable, Iterator, Mapping, Optional, Sequence

import grpc

from .health.v1 import health_pb2, health_pb2_grpc
from .v1 import memory_pb2, memory_pb2_grpc, repository_pb2, repository_pb2_grpc

DEFAULT_TARGET = "127.0.0.1:50051"
DEFAULT_TIMEOUT_S = 30.0
DEFAULT_MAX_RECEIVE = 64 * 1024 * 1024  # bytes, as libmnemo


class _TokenInterceptor(grpc.UnaryUnaryClientInterceptor, grpc.UnaryStreamClientInterceptor):
    """Adds "authorization: Bearer <token>" to every call. Metadata, not
    grpc.access_token_call_credentials: those need TLS, and a token must
    also work over loopback or behind a sidecar that terminates TLS."""

    def __init__(self, token: str):
        self._header = ("authorization", "Bearer " + token)

    def _details(self, details):
        metadata = list(details.metadata or ()) + [self._header]
        return details._replace(metadata=metadata)

    def intercept_unary_unary(self, continuation, client_call_details, request):
        return continuation(self._details(client_call_details), request)

    def intercept_unary_stream(self, continuation, client_call_details, request):
        return continuation(self._details(client_call_details), request)


def _read(path: Optional[str]) -> Optional[bytes]:
    if path is None:
        return None
    with open(path, "rb") as f:
        return f.read()


class SyncStream:
    """A SyncRepository or WatchSync stream: iterate it for SyncEvent
    messages. cancel() (or leaving a `with` block, or closing a generator
    that iterates it) cancels the call; the server then stops the sync at
    its next batch boundary (a foreground sync; a background one runs on
    unless CancelSync stops it). Iteration ends quietly after cancel();
    any other failure (DEADLINE_EXCEEDED, PERMISSION_DENIED, ...) raises
    grpc.RpcError. code() and details() give the final status once the
    stream has ended."""

    def __init__(self, call):
        self._call = call
        self._cancelled = False
        self.last: Optional[repository_pb2.SyncEvent] = None

    def __iter__(self) -> Iterator[repository_pb2.SyncEvent]:
        try:
            for event in self._call:
                self.last = event
                yield event
        except grpc.RpcError as e:
            if not (self._cancelled and e.code() == grpc.StatusCode.CANCELLED):
                raise

    def cancel(self) -> None:
        self._cancelled = True
        self._call.cancel()

    @property
    def cancelled(self) -> bool:
        """True once cancel() was called."""
        return self._cancelled

    def code(self) -> grpc.StatusCode:
        return self._call.code()

    def details(self) -> str:
        return self._call.details() or ""

    def close(self) -> None:
        """Cancels the call unless it has ended."""
        if self._call.is_active():
            self.cancel()

    def __enter__(self) -> "SyncStream":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


class Client:
    """A connection to mnemod.

    target: "host:port" (or any gRPC target). tls: verify the server with
    ca_file (PEM; None: gRPC's default roots), present cert_file/key_file
    for mutual TLS, expect server_name in its certificate when it is not
    the target's host. token: a bearer token sent on every call, over TLS
    and plaintext alike (send it in plaintext only over loopback).
    timeout: the default deadline of each call, in seconds (None: none).
    """

    def __init__(self, target: str = DEFAULT_TARGET, *, token: Optional[str] = None,
                 tls: bool = False, ca_file: Optional[str] = None,
                 cert_file: Optional[str] = None, key_file: Optional[str] = None,
                 server_name: Optional[str] = None,
                 timeout: Optional[float] = DEFAULT_TIMEOUT_S,
                 max_receive_bytes: int = DEFAULT_MAX_RECEIVE):
        if not tls and (ca_file or cert_file or key_file or server_name):
            raise ValueError("ca_file, cert_file, key_file and server_name need tls=True")
        if (cert_file is None) != (key_file is None):
            raise ValueError("cert_file and key_file go together")
        options = [("grpc.max_receive_message_length", max_receive_bytes)]
        if tls:
            creds = grpc.ssl_channel_credentials(root_certificates=_read(ca_file),
                                                 private_key=_read(key_file),
                                                 certificate_chain=_read(cert_file))
            if server_name:
                options.append(("grpc.ssl_target_name_override", server_name))
            self._raw_channel = grpc.secure_channel(target, creds, options)
        else:
            self._raw_channel = grpc.insecure_channel(target, options)
        self.channel: grpc.Channel = self._raw_channel
        if token is not None:
            self.channel = grpc.intercept_channel(self._raw_channel, _TokenInterceptor(token))
        self.target = target
        self.timeout = timeout
        # The generated stubs, for every RPC and field the helpers leave out.
        self.memory = memory_pb2_grpc.MemoryServiceStub(self.channel)
        self.repository = repository_pb2_grpc.RepositoryServiceStub(self.channel)
        self.health_stub = health_pb2_grpc.HealthStub(self.channel)

    def close(self) -> None:
        self._raw_channel.close()

    def __enter__(self) -> "Client":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def _t(self, timeout: Optional[float]) -> Optional[float]:
        return self.timeout if timeout is None else timeout

    # ---- memories -----------------------------------------------------

    def store(self, content: str, tags: Iterable[str] = (),
              metadata: Optional[Mapping[str, str]] = None, memory_type: str = "",
              timeout: Optional[float] = None) -> memory_pb2.StoreMemoryResponse:
        """StoreMemory: .memory and .created (False: the same content was
        stored before; its tags were merged)."""
        req = memory_pb2.StoreMemoryRequest(content=content, tags=list(tags),
                                            metadata=dict(metadata or {}),
                                            memory_type=memory_type)
        return self.memory.StoreMemory(req, timeout=self._t(timeout))

    def get(self, memory_id: str, timeout: Optional[float] = None) -> memory_pb2.Memory:
        """GetMemory; grpc.RpcError NOT_FOUND when absent."""
        return self.memory.GetMemory(memory_pb2.GetMemoryRequest(id=memory_id),
                                     timeout=self._t(timeout))

    def delete(self, memory_id: str, timeout: Optional[float] = None) -> bool:
        """DeleteMemory: False when no memory had that id."""
        return self.memory.DeleteMemory(memory_pb2.DeleteMemoryRequest(id=memory_id),
                                        timeout=self._t(timeout)).deleted

    def retrieve(self, query: str, limit: int = 0, tags: Sequence[str] = (),
                 min_score: float = 0.0,
                 timeout: Optional[float] = None) -> memory_pb2.RetrieveMemoryResponse:
        """RetrieveMemory: .results best first, .truncated."""
        req = memory_pb2.RetrieveMemoryRequest(query=query, limit=limit, tags=list(tags),
                                               min_score=min_score)
        return self.memory.RetrieveMemory(req, timeout=self._t(timeout))

    def search_by_tag(self, tags: Sequence[str], match_all: bool = False, limit: int = 0,
                      timeout: Optional[float] = None) -> memory_pb2.SearchByTagResponse:
        req = memory_pb2.SearchByTagRequest(tags=list(tags), match_all=match_all, limit=limit)
        return self.memory.SearchByTag(req, timeout=self._t(timeout))

    def list_memories(self, tags: Sequence[str] = (), page_size: int = 0,
                      timeout: Optional[float] = None) -> Iterator[memory_pb2.Memory]:
        """Every memory (with any of tags), newest first, following
        next_page_token to the last page; one call per page."""
        token = ""
        while True:
            page = self.memory.ListMemories(
                memory_pb2.ListMemoriesRequest(page_size=page_size, page_token=token,
                                               tags=list(tags)),
                timeout=self._t(timeout))
            yield from page.memories
            token = page.next_page_token
            if not token:
                return

    # ---- repositories -------------------------------------------------

    def sync(self, repository_path: str, repository_name: str = "", *,
             background: bool = False, batch_size: int = 0, full: bool = False,
             dry_run: bool = False, timeout: Optional[float] = None) -> SyncStream:
        """SyncRepository of a directory on the server's disk (inside one
        of its --allow-root directories). The stream's deadline is timeout
        (seconds; None: none, a sync may take minutes)."""
        req = repository_pb2.SyncRepositoryRequest(
            repository_path=repository_path, repository_name=repository_name,
            background=background, batch_size=batch_size, full=full, dry_run=dry_run)
        return SyncStream(self.repository.SyncRepository(req, timeout=timeout))

    def watch(self, repository_name: str, timeout: Optional[float] = None) -> SyncStream:
        """WatchSync: follow a running (e.g. background) sync to its end."""
        req = repository_pb2.WatchSyncRequest(repository_name=repository_name)
        return SyncStream(self.repository.WatchSync(req, timeout=timeout))

    def sync_status(self, repository_name: str,
                    timeout: Optional[float] = None) -> repository_pb2.SyncStatus:
        return self.repository.GetSyncStatus(
            repository_pb2.GetSyncStatusRequest(repository_name=repository_name),
            timeout=self._t(timeout))

    def cancel_sync(self, repository_name: str,
                    timeout: Optional[float] = None) -> repository_pb2.SyncStatus:
        return self.repository.CancelSync(
            repository_pb2.CancelSyncRequest(repository_name=repository_name),
            timeout=self._t(timeout))

    # ---- health -------------------------------------------------------

    def health(self, service: str = "", timeout: Optional[float] = None) -> str:
        """"SERVING" or "NOT_SERVING" (grpc.health.v1 Check)."""
        resp = self.health_stub.Check(health_pb2.HealthCheckRequest(service=service),
                                      timeout=self._t(timeout))
        return health_pb2.HealthCheckResponse.ServingStatus.Name(resp.status)
