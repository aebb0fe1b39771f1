// What the edge's timeouts and limits did, as plain numbers: one instance per member, shared by its client
// listeners and its gRPC connection policy, read by the metrics at scrape time (apps/server edge-metrics.ts).
// No timers, no I/O: a counter here is only ever incremented where the event happens.

export type ConnectionProtocol = 'undecided' | 'grpc' | 'http';

/** Why a connection was refused at accept. */
export type ConnectionRefusal = 'limit' | 'accept_error';

/** Why the edge closed a connection before its client did. */
export type ConnectionCloseReason = 'protocol_decision_timeout' | 'too_many_pings' | 'tls_handshake_failed';

export class EdgeStats {
  /** Open client connections by what they turned out to be. */
  readonly connections: Record<ConnectionProtocol, number> = { undecided: 0, grpc: 0, http: 0 };
  readonly connectionsRefused: Record<ConnectionRefusal, number> = { limit: 0, accept_error: 0 };
  readonly connectionsClosed: Record<ConnectionCloseReason, number> = {
    protocol_decision_timeout: 0,
    too_many_pings: 0,
    // https URLs: closed before the TLS handshake completed (a refused client certificate, no common version or
    // cipher, plaintext, a client that gave up); a handshake the decision timeout ended counts as that instead.
    tls_handshake_failed: 0,
  };
  /** HTTP/2 streams open on gRPC connections now (all connections). */
  streams = 0;
  /** Streams refused with RST_STREAM REFUSED_STREAM: their connection already had --max-concurrent-streams. */
  streamsRefused = 0;
  /** Unary calls whose request body had not arrived within the server-side bound, by surface. */
  readonly requestBodyTimeouts: Record<'grpc' | 'http', number> = { grpc: 0, http: 0 };

  get openConnections(): number {
    return this.connections.undecided + this.connections.grpc + this.connections.http;
  }
}
