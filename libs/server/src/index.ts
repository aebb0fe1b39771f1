export * from './config';
export * from './logger';
export * from './ids';
export * from './transport';
export * from './members';
export * from './alarms';
export * from './applier';
export * from './kv-codec';
export { CairnNode, type NodeStatus, type TransportFactory } from './node';
export type { ProposalBody } from './proposal';
export * from './port';
export {
  PeerTransport,
  registerPeerService,
  routePeerStreams,
  PEER_SERVER_OPTIONS,
  PEER_DEFAULTS,
  PEER_REJECTIONS,
  type PeerTransportOptions,
  type PeerServiceHandlers,
  type BackoffOptions,
  registerMembershipService,
  registerHashKvService,
  fetchPeerHashKv,
  PeerHashKvError,
  type PeerHashKv,
  fetchClusterView,
  type ClusterView,
  type LeaseAuthority,
  type MembershipServiceOptions,
  PeerTlsMaterial,
  TlsPeerDialer,
  PLAINTEXT_PEER_DIALER,
  type PeerDialer,
  type PeerTlsConfig,
  type PeerTlsVersion,
} from './peer';
export { AutoCompactor, parseRetentionMs, parseGoDurationMs, AutoCompactorError } from './auto-compactor';
export * from './version';
// Data corruption detection (etcd's corrupt.go): the initial and periodic HashKV checks.
export * from './corruption-check';
// etcd's v3 service semantics over a node: used by the gRPC services, the JSON gateway and in-process
// features (registry, config center) alike.
export { createEtcdApis, createRecipeApis, type EtcdApis, type RecipeApis } from './etcd/apis';
export { LockApi, type RecipeSource, type LockRequestWire, type UnlockRequestWire } from './etcd/lock-api';
export {
  ElectionApi,
  ELECTION_NOT_LEADER,
  ELECTION_NO_LEADER,
  type CampaignRequestWire,
  type LeaderKeyWire,
  type LeaderRequestWire,
  type ObserveSend,
  type ProclaimRequestWire,
  type ResignRequestWire,
} from './etcd/election-api';
export { KvApi } from './etcd/kv-api';
export { encodePutResponse } from './etcd/put-response-codec';
export { AuthApi, type AuthApiOptions } from './etcd/auth-api';
export * from './auth';
export { LeaseApi } from './etcd/lease-api';
export { MaintenanceApi } from './etcd/maintenance-api';
export {
  WatchSession,
  type WatchSessionOptions,
  type WatchSend,
  type WatchSource,
} from './etcd/watch-session';
// Snapshot restore and status (`cairnctl snapshot restore|status`), and the etcd snapshot framing they read.
export * from './restore';
export {
  readSnapshotFrame,
  writeFramedSnapshot,
  framedSnapshotChunks,
  framedSnapshotSize,
  SnapshotFileError,
  type SnapshotFrame,
} from './snapshot-file';
export {
  BackupScheduler,
  backupFileName,
  listBackups,
  type BackupOptions,
  type BackupSource,
  type BackupStats,
} from './backup';
