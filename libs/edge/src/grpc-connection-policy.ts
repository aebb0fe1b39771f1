// The HTTP/2 connection rules of the client URL's gRPC server, as etcd's grpc-go applies them:
//
// - Liveness by PING, never by idle time (quiet Watch and LeaseKeepAlive streams live): the member pings every
//   connection each --grpc-keepalive-interval and closes one that leaves a ping unanswered for
//   --grpc-keepalive-timeout. grpc-js does this itself given grpcKeepaliveServerOptions().
// - Clients may not ping more often than --grpc-keepalive-min-time: grpc-go's enforcement policy (etcd sets
//   PermitWithoutStream false), which grpc-js servers lack. Every PING that comes sooner than min-time after the
//   previous one (or, on a connection without streams, sooner than 2 h) is a strike unless the member has sent
//   something since; the third strike is answered GOAWAY ENHANCE_YOUR_CALM "too_many_pings" and the connection
//   is closed, which grpc-go and grpc-js clients answer by doubling their keepalive time.
// - At most --max-concurrent-streams streams per connection: one more is refused with RST_STREAM
//   REFUSED_STREAM (grpc-go's answer; the client may retry it). This is not nghttp2's own limit (the SETTINGS
//   value), which would end the whole connection with PROTOCOL_ERROR once its SETTINGS are acknowledged.
// - A stream the member has finished (trailers sent) while its client is still sending is closed with
//   RST_STREAM NO_ERROR, as grpc-go does: a call answered early (its body timed out, request-body-bound.ts)
//   releases its stream instead of holding it half-open.
//
// Both hooks reach grpc-js's HTTP/2 servers, which grpc-js keeps in a private field: the stream limit through
// routeGrpcStreams (first of the routes), the ping rule through the servers' 'session' event. When that field
// is not what this expects, installGrpcConnectionPolicy says so and nothing is enforced (the caller logs it).
import http2 from 'node:http2';
import type * as grpc from '@grpc/grpc-js';
import type { EdgeStats } from './edge-stats';
import { type Http2StreamRoute, routeGrpcStreams } from './grpc-stream-router';
import { Http2ErrorCode } from './http2-frames';
import { socketProxyUnder } from './socket-proxy';

export interface GrpcConnectionPolicy {
  maxConcurrentStreams: number;
  /** 0: no enforcement. */
  keepAliveMinTimeMs: number;
  /** Whether clients may ping a connection without streams every min-time (etcd: false, 2 h apart). */
  permitWithoutStream?: boolean;
}

/** grpc-go: the third early ping ends the connection. */
const MAX_PING_STRIKES = 2;
/** grpc-go's bound between pings on a connection without streams when PermitWithoutStream is false. */
const NO_STREAM_PING_INTERVAL_MS = 2 * 60 * 60 * 1000;
/**
 * More than this written since the last ping means the member sent headers or data (grpc-go resets the strikes
 * then): a PING ACK is 17 bytes, a WINDOW_UPDATE 13, a SETTINGS ACK 9.
 */
const CONTROL_FRAME_BYTES = 64;

/** grpc-js server options for the member's own pings (etcd: 0 for either disables them). */
export function grpcKeepaliveServerOptions(intervalMs: number, timeoutMs: number): grpc.ServerOptions {
  if (intervalMs <= 0 || timeoutMs <= 0) return {};
  return { 'grpc.keepalive_time_ms': intervalMs, 'grpc.keepalive_timeout_ms': timeoutMs };
}

/**
 * Installs the stream limit and the ping rule on every HTTP/2 server `server` has made so far (call it right
 * after createConnectionInjector). Returns what could be installed.
 */
export function installGrpcConnectionPolicy(
  server: grpc.Server,
  policy: GrpcConnectionPolicy,
  stats: EdgeStats,
): { streamLimit: boolean; pingPolicy: boolean } {
  const openStreams = new WeakMap<http2.Http2Session, number>();
  const streamLimit = routeGrpcStreams(server, streamPolicyRoute(policy, stats, openStreams), {
    first: true,
  });
  let pingPolicy = false;
  const servers = (server as unknown as { http2Servers?: unknown }).http2Servers;
  if (servers instanceof Map && policy.keepAliveMinTimeMs > 0) {
    for (const h2 of servers.keys() as IterableIterator<http2.Http2Server>) {
      h2.on('session', (session: http2.ServerHttp2Session) =>
        enforcePingPolicy(session, policy, stats, openStreams),
      );
      pingPolicy = true;
    }
  }
  return { streamLimit, pingPolicy: pingPolicy || policy.keepAliveMinTimeMs === 0 };
}

function streamPolicyRoute(
  policy: GrpcConnectionPolicy,
  stats: EdgeStats,
  openStreams: WeakMap<http2.Http2Session, number>,
): Http2StreamRoute {
  return (stream) => {
    const session = stream.session;
    if (session === undefined) return false;
    const open = openStreams.get(session) ?? 0;
    if (open >= policy.maxConcurrentStreams) {
      stats.streamsRefused++;
      stream.on('error', () => undefined);
      stream.close(Http2ErrorCode.REFUSED_STREAM);
      return true;
    }
    openStreams.set(session, open + 1);
    stats.streams++;
    stream.once('close', () => {
      stats.streams--;
      openStreams.set(session, (openStreams.get(session) ?? 1) - 1);
    });
    stream.once('finish', () => {
      if (!stream.readableEnded && !stream.closed) stream.close(Http2ErrorCode.NO_ERROR);
    });
    return false;
  };
}

function enforcePingPolicy(
  session: http2.ServerHttp2Session,
  policy: GrpcConnectionPolicy,
  stats: EdgeStats,
  openStreams: WeakMap<http2.Http2Session, number>,
): void {
  let lastPingAt: number | undefined;
  let strikes = 0;
  let lastStreamId = 0;
  let streamsSincePing = 0;
  // Through the gRPC front (grpc-front/) the member also answers calls nghttp2 never sees, on the real socket:
  // those count as streams and as bytes the member wrote.
  const proxy = socketProxyUnder(session.socket);
  const written = (): number | undefined => {
    const count = (proxy ?? (session.socket as { bytesWritten?: unknown } | undefined))?.bytesWritten;
    return typeof count === 'number' ? count : undefined;
  };
  let writtenAtPing = written();
  let ownStreamsAtPing = proxy?.ownStreams.opened ?? 0;
  session.on('stream', (stream: http2.ServerHttp2Stream) => {
    streamsSincePing++;
    lastStreamId = Math.max(lastStreamId, stream.id ?? 0);
  });
  const onPing = (): void => {
    const now = Date.now();
    const bytes = written();
    const own = proxy?.ownStreams ?? { opened: 0, open: 0 };
    const memberSpoke =
      streamsSincePing > 0 ||
      own.opened !== ownStreamsAtPing ||
      (bytes !== undefined && writtenAtPing !== undefined && bytes - writtenAtPing > CONTROL_FRAME_BYTES);
    const previous = lastPingAt;
    lastPingAt = now;
    streamsSincePing = 0;
    ownStreamsAtPing = own.opened;
    writtenAtPing = bytes;
    if (memberSpoke) {
      strikes = 0;
      return;
    }
    const withoutStreams = (openStreams.get(session) ?? 0) + own.open === 0 && !policy.permitWithoutStream;
    const minGap = withoutStreams ? NO_STREAM_PING_INTERVAL_MS : policy.keepAliveMinTimeMs;
    if (previous !== undefined && now - previous < minGap) strikes++;
    if (strikes <= MAX_PING_STRIKES || session.destroyed) return;
    stats.connectionsClosed.too_many_pings++;
    try {
      session.goaway(Http2ErrorCode.ENHANCE_YOUR_CALM, lastStreamId, Buffer.from('too_many_pings'));
    } catch {
      // Already closing.
    }
    session.destroy(undefined, Http2ErrorCode.ENHANCE_YOUR_CALM);
  };
  // The gRPC front answers its client's PINGs itself (nghttp2 never sees them) and tells the rule.
  if (!proxy?.onClientPing(onPing)) session.on('ping', onPing);
}
