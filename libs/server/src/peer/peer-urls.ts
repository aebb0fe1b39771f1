// Peer URLs (etcd style, `http://10.0.0.7:2380`) as gRPC dial targets, and how every peer channel is set up.
import type * as grpc from '@grpc/grpc-js';

const DEFAULT_PEER_PORT = '2380';

/** `http://host:port` → `host:port` (IPv6 stays bracketed); a bare `host:port` is taken as is. */
export function grpcTargetOf(peerUrl: string): string {
  if (!peerUrl.includes('://')) return peerUrl;
  const url = new URL(peerUrl);
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new Error(`peer URL ${peerUrl}: scheme must be http or https`);
  }
  return `${url.hostname}:${url.port === '' ? DEFAULT_PEER_PORT : url.port}`;
}

/** Pings that notice a peer that stopped answering (SIGSTOP, pulled cable), not only the next write. */
export const PEER_KEEPALIVE = { keepAliveTimeMs: 5_000, keepAliveTimeoutMs: 5_000 } as const;

export const PEER_CHANNEL_OPTIONS: grpc.ChannelOptions = {
  // Each client gets its own connection, and a new client is made for each dial, so that our back-off,
  // not grpc's internal reconnect timer (up to 2 minutes), decides when a restarted peer is redialled.
  'grpc.use_local_subchannel_pool': 1,
  // A peer that stops answering (SIGSTOP, pulled cable) is noticed by pings, not only by the next write.
  'grpc.keepalive_time_ms': PEER_KEEPALIVE.keepAliveTimeMs,
  'grpc.keepalive_timeout_ms': PEER_KEEPALIVE.keepAliveTimeoutMs,
  'grpc.enable_retries': 0,
};
