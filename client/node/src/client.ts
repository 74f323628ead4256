// client.ts - Mnemo: one channel to mnemod with its token and TLS settings,
// promise-returning calls for every unary RPC, and async iterators for the
// two sync streams.
//
// DESIGN: the generated grpc-js clients do the work; this file adds only
// what every caller would otherwise write again: the bearer token on every
// call (an interceptor, so the raw clients in `memoryService` and
// `repositoryService` carry it too, with or without TLS), a default
// deadline for unary calls, AbortSignal cancellation, and streams as
// `for await` loops that cancel the call when the loop is left early.
// Errors are grpc-js's own ServiceError (`code` from grpc.status,
// `details`), unchanged.
import * as grpc from '@grpc/grpc-js';
import { loadProtos } from './load';
import type { MemoryServiceClient } from './generated/mnemo/v1/MemoryService';
import type { RepositoryServiceClient } from './generated/mnemo/v1/RepositoryService';
import type { HealthClient } from './generated/grpc/health/v1/Health';
import type { StoreMemoryRequest } from './generated/mnemo/v1/StoreMemoryRequest';
import type { StoreMemoryResponse__Output } from './generated/mnemo/v1/StoreMemoryResponse';
import type { GetMemoryRequest } from './generated/mnemo/v1/GetMemoryRequest';
import type { Memory__Output } from './generated/mnemo/v1/Memory';
import type { DeleteMemoryRequest } from './generated/mnemo/v1/DeleteMemoryRequest';
import type { DeleteMemoryResponse__Output } from './generated/mnemo/v1/DeleteMemoryResponse';
import type { ListMemoriesRequest } from './generated/mnemo/v1/ListMemoriesRequest';
import type { ListMemoriesResponse__Output } from './generated/mnemo/v1/ListMemoriesResponse';
import type { RetrieveMemoryRequest } from './generated/mnemo/v1/RetrieveMemoryRequest';
import type { RetrieveMemoryResponse__Output } from './generated/mnemo/v1/RetrieveMemoryResponse';
import type { SearchByTagRequest } from './generated/mnemo/v1/SearchByTagRequest';
import type { SearchByTagResponse__Output } from './generated/mnemo/v1/SearchByTagResponse';
import type { SyncRepositoryRequest } from './generated/mnemo/v1/SyncRepositoryRequest';
import type { WatchSyncRequest } from './generated/mnemo/v1/WatchSyncRequest';
import type { SyncEvent__Output } from './generated/mnemo/v1/SyncEvent';
import type { GetSyncStatusRequest } from './generated/mnemo/v1/GetSyncStatusRequest';
import type { CancelSyncRequest } from './generated/mnemo/v1/CancelSyncRequest';
import type { SyncStatus__Output } from './generated/mnemo/v1/SyncStatus';
import type { ListRepositoriesRequest } from './generated/mnemo/v1/ListRepositoriesRequest';
import type { ListRepositoriesResponse__Output } from './generated/mnemo/v1/ListRepositoriesResponse';
import type { DeleteRepositoryRequest } from './generated/mnemo/v1/DeleteRepositoryRequest';
import type { DeleteRepositoryResponse__Output } from './generated/mnemo/v1/DeleteRepositoryResponse';
import type { SearchCodeRequest } from './generated/mnemo/v1/SearchCodeRequest';
import type { SearchCodeResponse__Output } from './generated/mnemo/v1/SearchCodeResponse';
import type { HealthCheckResponse__Output } from './generated/grpc/health/v1/HealthCheckResponse';

/** TLS settings: PEM contents (not file names), as fs.readFileSync returns them. */
export interface TlsOptions {
  /** CAs that sign mnemod's certificate; absent: the system's roots. */
  ca?: Buffer;
  /** Client certificate and key, for a mnemod started with --tls-client-ca. */
  cert?: Buffer;
  key?: Buffer;
  /** The name to check mnemod's certificate against, when not the host dialled. */
  serverName?: string;
}

export interface ConnectOptions {
  /** Sent as `authorization: Bearer <token>` on every call (mnemod --auth-tokens). */
  token?: string;
  /** true: TLS with the system's roots; an object: TLS with these settings. */
  tls?: boolean | TlsOptions;
  /** Deadline of each unary call unless the call sets its own; 0: none. Default 30000. */
  timeoutMs?: number;
  /** Extra grpc-js channel options (e.g. 'grpc.max_receive_message_length'). */
  channelOptions?: grpc.ChannelOptions;
}

export interface CallOpts {
  /** This call's deadline in ms from now; 0: none. */
  timeoutMs?: number;
  /** Aborting cancels the call; it then fails with code grpc.status.CANCELLED. */
  signal?: AbortSignal;
}

type Start<Res> = (md: grpc.Metadata, opts: grpc.CallOptions,
  cb: grpc.requestCallback<Res>) => grpc.ClientUnaryCall;

const DEFAULT_TIMEOUT_MS = 30000;

function credentials(tls: ConnectOptions['tls']): grpc.ChannelCredentials {
  if (!tls) return grpc.credentials.createInsecure();
  const t: TlsOptions = tls === true ? {} : tls;
  return grpc.credentials.createSsl(t.ca ?? null, t.key ?? null, t.cert ?? null);
}

function bearer(token: string): grpc.Interceptor {
  return (options, nextCall) => new grpc.InterceptingCall(nextCall(options), {
    start(metadata, listener, next) {
      metadata.set('authorization', `Bearer ${token}`);
      next(metadata, listener);
    },
  });
}

function deadline(ms: number | undefined): grpc.Deadline | undefined {
  return ms ? Date.now() + ms : undefined;
}

/** A connection to one mnemod. Close it when done: an open channel keeps Node running. */
export class Mnemo {
  /** The generated clients, for anything the wrapper does not cover. */
  readonly memoryService: MemoryServiceClient;
  readonly repositoryService: RepositoryServiceClient;
  readonly healthService: HealthClient;
  private readonly timeoutMs: number;

  /** `address` is host:port, e.g. '127.0.0.1:50051'. */
  constructor(address: string, options: ConnectOptions = {}) {
    const protos = loadProtos();
    const channelOptions: grpc.ClientOptions = { ...options.channelOptions };
    const serverName = typeof options.tls === 'object' ? options.tls.serverName : undefined;
    if (serverName) {
      channelOptions['grpc.ssl_target_name_override'] = serverName;
      channelOptions['grpc.default_authority'] = serverName;
    }
    if (options.token) channelOptions.interceptors = [bearer(options.token)];
    const creds = credentials(options.tls);
    this.memoryService = new protos.mnemo.v1.MemoryService(address, creds, channelOptions);
    const shared = { ...channelOptions, channelOverride: this.memoryService.getChannel() };
    this.repositoryService = new protos.mnemo.v1.RepositoryService(address, creds, shared);
    this.healthService = new protos.grpc.health.v1.Health(address, creds, shared);
    this.timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  }

  close(): void {
    this.memoryService.close();
  }

  storeMemory(req: StoreMemoryRequest, o?: CallOpts): Promise<StoreMemoryResponse__Output> {
    return this.unary((md, co, cb) => this.memoryService.storeMemory(req, md, co, cb), o);
  }

  getMemory(req: GetMemoryRequest, o?: CallOpts): Promise<Memory__Output> {
    return this.unary((md, co, cb) => this.memoryService.getMemory(req, md, co, cb), o);
  }

  deleteMemory(req: DeleteMemoryRequest, o?: CallOpts): Promise<DeleteMemoryResponse__Output> {
    return this.unary((md, co, cb) => this.memoryService.deleteMemory(req, md, co, cb), o);
  }

  listMemories(req: ListMemoriesRequest, o?: CallOpts): Promise<ListMemoriesResponse__Output> {
    return this.unary((md, co, cb) => this.memoryService.listMemories(req, md, co, cb), o);
  }

  retrieveMemory(req: RetrieveMemoryRequest, o?: CallOpts): Promise<RetrieveMemoryResponse__Output> {
    return this.unary((md, co, cb) => this.memoryService.retrieveMemory(req, md, co, cb), o);
  }

  searchByTag(req: SearchByTagRequest, o?: CallOpts): Promise<SearchByTagResponse__Output> {
    return this.unary((md, co, cb) => this.memoryService.searchByTag(req, md, co, cb), o);
  }

  getSyncStatus(req: GetSyncStatusRequest, o?: CallOpts): Promise<SyncStatus__Output> {
    return this.unary((md, co, cb) => this.repositoryService.getSyncStatus(req, md, co, cb), o);
  }

  cancelSync(req: CancelSyncRequest, o?: CallOpts): Promise<SyncStatus__Output> {
    return this.unary((md, co, cb) => this.repositoryService.cancelSync(req, md, co, cb), o);
  }

  listRepositories(req: ListRepositoriesRequest,
    o?: CallOpts): Promise<ListRepositoriesResponse__Output> {
    return this.unary((md, co, cb) => this.repositoryService.listRepositories(req, md, co, cb), o);
  }

  deleteRepository(req: DeleteRepositoryRequest,
    o?: CallOpts): Promise<DeleteRepositoryResponse__Output> {
    return this.unary((md, co, cb) => this.repositoryService.deleteRepository(req, md, co, cb), o);
  }

  searchCode(req: SearchCodeRequest, o?: CallOpts): Promise<SearchCodeResponse__Output> {
    return this.unary((md, co, cb) => this.repositoryService.searchCode(req, md, co, cb), o);
  }

  /** grpc.health.v1 Check: 'SERVING', 'NOT_SERVING', ... for `service` ('' = the server). */
  async health(service = '', o?: CallOpts): Promise<HealthCheckResponse__Output['status']> {
    const res = await this.unary<HealthCheckResponse__Output>(
      (md, co, cb) => this.healthService.check({ service }, md, co, cb), o);
    return res.status;
  }

  /**
   * Runs SyncRepository and yields its progress events until the sync ends.
   * Leaving the loop early (break, throw) or aborting `o.signal` cancels the
   * call; a foreground sync then stops at its next batch boundary and reads
   * CANCELLED on the server. An abort makes the loop throw the call's
   * CANCELLED error. No deadline unless `o.timeoutMs` is given.
   */
  sync(req: SyncRepositoryRequest, o: CallOpts = {}): AsyncGenerator<SyncEvent__Output> {
    return this.stream(
      (md, co) => this.repositoryService.syncRepository(req, md, co), o);
  }

  /** Attaches to a running sync (WatchSync); the same loop and cancellation as sync(). */
  watch(req: WatchSyncRequest, o: CallOpts = {}): AsyncGenerator<SyncEvent__Output> {
    return this.stream((md, co) => this.repositoryService.watchSync(req, md, co), o);
  }

  private unary<Res>(start: Start<Res>, o: CallOpts = {}): Promise<Res> {
    const co: grpc.CallOptions = { deadline: deadline(o.timeoutMs ?? this.timeoutMs) };
    return new Promise<Res>((resolve, reject) => {
      const call = start(new grpc.Metadata(), co, (err, res) => {
        o.signal?.removeEventListener('abort', cancel);
        if (err) reject(err);
        else resolve(res as Res);
      });
      const cancel = () => call.cancel();
      if (o.signal?.aborted) call.cancel();
      else o.signal?.addEventListener('abort', cancel, { once: true });
    });
  }

  private async *stream<T>(
    start: (md: grpc.Metadata, co: grpc.CallOptions) => grpc.ClientReadableStream<T>,
    o: CallOpts): AsyncGenerator<T> {
    const call = start(new grpc.Metadata(), { deadline: deadline(o.timeoutMs) });
    const cancel = () => call.cancel();
    if (o.signal?.aborted) call.cancel();
    else o.signal?.addEventListener('abort', cancel, { once: true });
    try {
      for await (const event of call) yield event as T;
    } finally {
      o.signal?.removeEventListener('abort', cancel);
      call.cancel(); // a no-op once the stream ended by itself
    }
  }
}

/** Opens a connection to mnemod at `address` (host:port). */
export function connect(address: string, options?: ConnectOptions): Mnemo {
  return new Mnemo(address, options);
}
