// index.ts - the package's public surface: connect()/Mnemo, the message
// types generated from proto/ (input types accept partial objects; the
// __Output types are what calls return, every field present), and grpc-js's
// status codes and Metadata for callers that need them.
export { connect, Mnemo } from './client';
export type { ConnectOptions, CallOpts, TlsOptions } from './client';
export { loadProtos, LOADER_OPTIONS, PROTO_DIR } from './load';
export { status, Metadata } from '@grpc/grpc-js';
export type { ServiceError } from '@grpc/grpc-js';
export { SyncState } from './generated/mnemo/v1/SyncState';

export type { Memory, Memory__Output } from './generated/mnemo/v1/Memory';
export type { StoreMemoryRequest } from './generated/mnemo/v1/StoreMemoryRequest';
export type { StoreMemoryResponse__Output } from './generated/mnemo/v1/StoreMemoryResponse';
export type { GetMemoryRequest } from './generated/mnemo/v1/GetMemoryRequest';
export type { DeleteMemoryRequest } from './generated/mnemo/v1/DeleteMemoryRequest';
export type { DeleteMemoryResponse__Output } from './generated/mnemo/v1/DeleteMemoryResponse';
export type { ListMemoriesRequest } from './generated/mnemo/v1/ListMemoriesRequest';
export type { ListMemoriesResponse__Output } from './generated/mnemo/v1/ListMemoriesResponse';
export type { RetrieveMemoryRequest } from './generated/mnemo/v1/RetrieveMemoryRequest';
export type { RetrieveMemoryResponse__Output } from './generated/mnemo/v1/RetrieveMemoryResponse';
export type { ScoredMemory__Output } from './generated/mnemo/v1/ScoredMemory';
export type { SearchByTagRequest } from './generated/mnemo/v1/SearchByTagRequest';
export type { SearchByTagResponse__Output } from './generated/mnemo/v1/SearchByTagResponse';
export type { SyncRepositoryRequest } from './generated/mnemo/v1/SyncRepositoryRequest';
export type { WatchSyncRequest } from './generated/mnemo/v1/WatchSyncRequest';
export type { SyncEvent__Output } from './generated/mnemo/v1/SyncEvent';
export type { SyncStatus__Output } from './generated/mnemo/v1/SyncStatus';
export type { SyncProgress__Output } from './generated/mnemo/v1/SyncProgress';
export type { SyncState__Output } from './generated/mnemo/v1/SyncState';
export type { GetSyncStatusRequest } from './generated/mnemo/v1/GetSyncStatusRequest';
export type { CancelSyncRequest } from './generated/mnemo/v1/CancelSyncRequest';
export type { ListRepositoriesRequest } from './generated/mnemo/v1/ListRepositoriesRequest';
export type { ListRepositoriesResponse__Output } from './generated/mnemo/v1/ListRepositoriesResponse';
export type { Repository__Output } from './generated/mnemo/v1/Repository';
export type { DeleteRepositoryRequest } from './generated/mnemo/v1/DeleteRepositoryRequest';
export type { DeleteRepositoryResponse__Output } from './generated/mnemo/v1/DeleteRepositoryResponse';
export type { SearchCodeRequest } from './generated/mnemo/v1/SearchCodeRequest';
export type { SearchCodeResponse__Output } from './generated/mnemo/v1/SearchCodeResponse';
export type { CodeHit__Output } from './generated/mnemo/v1/CodeHit';
export type { MemoryServiceClient } from './generated/mnemo/v1/MemoryService';
export type { RepositoryServiceClient } from './generated/mnemo/v1/RepositoryService';
