// The peer transport between Cairn members (see peer-transport.ts).
export { PeerTransport, type PeerServiceHandlers } from './peer-transport';
export { registerPeerService, routePeerStreams } from './register';
export { PEER_DEFAULTS, PEER_SERVER_OPTIONS, type PeerTransportOptions } from './options';
export { PEER_REJECTIONS } from './errors';
export { type BackoffOptions } from './backoff';
export { findPeerProto } from './proto';
export {
  registerMembershipService,
  fetchClusterView,
  callLeaderLease,
  callLeaderLeaseRenewBatch,
  callLeaderLearnerReady,
  closeLeaseClients,
  type ClusterView,
  type FetchViewOptions,
  type LeaderCaller,
  type MembershipServiceOptions,
  type LeaseAuthority,
  type LeaseReply,
} from './membership-service';
export { LeaseRenewBatcher, type RenewBatchCall } from './lease-renew-batcher';
export { PLAINTEXT_PEER_DIALER, TlsPeerDialer, type PeerDialer } from './peer-dialer';
export { PeerTlsMaterial, type PeerTlsConfig, type PeerTlsVersion } from './peer-tls';
export { type PeerCaller } from './peer-call-identity';
export {
  registerHashKvService,
  fetchPeerHashKv,
  PeerHashKvError,
  type HashKvServiceOptions,
  type HashKvSource,
  type PeerHashKv,
  type PeerHashKvErrorKind,
} from './hash-kv-service';
