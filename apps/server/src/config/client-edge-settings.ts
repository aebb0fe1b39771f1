// Timeouts and limits of the client URL (docs/operations.md, "Timeouts and limits"): the flags' parsing and
// validation. etcd's own flags keep etcd's names and defaults (--grpc-keepalive-*, --max-concurrent-streams);
// the rest are Cairn's, for what etcd leaves to Go's net/http and grpc-go.
import { parseGoDurationMs } from '@cairn/server';
import { FlagError } from './flags';

export interface ClientEdgeSettings {
  /** A connection must show HTTP/1.1 or the whole HTTP/2 preface within this, else it is closed. */
  protocolDecisionTimeoutMs: number;
  /** HTTP/1.1: the request's headers must arrive within this (Node's headersTimeout; 408 and close). */
  httpHeadersTimeoutMs: number;
  /** HTTP/1.1: the whole request, body included, must arrive within this (Node's requestTimeout). */
  httpRequestTimeoutMs: number;
  /** HTTP/1.1: an idle keep-alive connection is closed after this (Node's keepAliveTimeout). */
  httpKeepAliveTimeoutMs: number;
  /** A client pinging more often than this gets GOAWAY ENHANCE_YOUR_CALM (0: no enforcement). */
  grpcKeepAliveMinTimeMs: number;
  /** The member pings each HTTP/2 connection this often (0: never). */
  grpcKeepAliveIntervalMs: number;
  /** A connection that leaves a ping unanswered this long is closed (0: never). */
  grpcKeepAliveTimeoutMs: number;
  /**
   * Server-side bound of a unary call that does not block by design (all but Lock/Campaign), body reading
   * included, on gRPC and on the HTTP body reader; the client's own deadline applies too.
   */
  unaryRequestTimeoutMs: number;
  /** Concurrent streams one HTTP/2 client connection may have open; more are refused (REFUSED_STREAM). */
  maxConcurrentStreams: number;
  /** Client connections one member holds at once; more are closed at accept (0: no limit). */
  maxClientConnections: number;
  /** KV calls framed by the edge itself on connections that open with one (libs/edge grpc-front/). */
  grpcFront: boolean;
  /** Plaintext client URLs served by an I/O worker thread (libs/edge io-worker/). */
  ioWorker: boolean;
}

/** etcd's DefaultMaxConcurrentStreams (math.MaxUint32), also the largest value HTTP/2 SETTINGS can carry. */
export const MAX_UINT32 = 4294967295;

export function toClientEdgeSettings(
  get: (flag: string) => string,
  electionTimeoutMs: number,
): ClientEdgeSettings {
  const duration = (flag: string): number => {
    const text = get(flag);
    const ms = parseGoDurationMs(text);
    if (ms === undefined) {
      throw new FlagError(
        `invalid value "${text}" for flag --${flag}: expected a duration like 500ms, 5s or 2h`,
      );
    }
    return ms;
  };
  const positive = (flag: string): number => {
    const ms = duration(flag);
    if (ms <= 0) throw new FlagError(`invalid value "${get(flag)}" for flag --${flag}: must be > 0`);
    return ms;
  };
  const integer = (flag: string, min: number, max: number): number => {
    const text = get(flag);
    const value = Number(text);
    if (!/^\d+$/.test(text) || !Number.isSafeInteger(value) || value < min || value > max) {
      throw new FlagError(
        `invalid value "${text}" for flag --${flag}: expected an integer in [${min}, ${max}]`,
      );
    }
    return value;
  };

  const httpHeadersTimeoutMs = positive('http-headers-timeout');
  const httpRequestTimeoutMs = positive('http-request-timeout');
  if (httpHeadersTimeoutMs > httpRequestTimeoutMs) {
    throw new FlagError(
      `--http-headers-timeout (${httpHeadersTimeoutMs}ms) must not exceed --http-request-timeout (${httpRequestTimeoutMs}ms)`,
    );
  }
  const unaryText = get('unary-request-timeout');
  const bool = (flag: string): boolean => {
    const text = get(flag);
    if (text !== 'true' && text !== 'false') {
      throw new FlagError(`invalid value "${text}" for flag --${flag}: expected true or false`);
    }
    return text === 'true';
  };
  return {
    protocolDecisionTimeoutMs: positive('protocol-decision-timeout'),
    httpHeadersTimeoutMs,
    httpRequestTimeoutMs,
    httpKeepAliveTimeoutMs: positive('http-keepalive-timeout'),
    grpcKeepAliveMinTimeMs: duration('grpc-keepalive-min-time'),
    grpcKeepAliveIntervalMs: duration('grpc-keepalive-interval'),
    grpcKeepAliveTimeoutMs: duration('grpc-keepalive-timeout'),
    // etcd's ReqTimeout(): 5 s for queueing, computation and disk + 2 election timeouts for a new leader.
    unaryRequestTimeoutMs:
      unaryText === '' ? 5000 + 2 * electionTimeoutMs : positive('unary-request-timeout'),
    maxConcurrentStreams: integer('max-concurrent-streams', 1, MAX_UINT32),
    maxClientConnections: integer('max-client-connections', 0, Number.MAX_SAFE_INTEGER),
    grpcFront: bool('grpc-front'),
    ioWorker: bool('io-worker'),
  };
}
