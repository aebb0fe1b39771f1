// The connections a run uses: `count` of them spread round-robin over the endpoints, like etcd's
// benchmark tool does with --conns; client i uses connection i mod count.

import { GrpcJsConnection } from './grpc-js-connection';
import { Http2Connection } from './http2-connection';
import type { ConnectionSecurity } from './security';
import type { Connection, TransportKind } from './transport';

export function createConnection(
  endpoint: string,
  transport: TransportKind,
  security: ConnectionSecurity = {},
): Connection {
  return transport === 'http2'
    ? new Http2Connection(endpoint, security)
    : new GrpcJsConnection(endpoint, security);
}

export class ConnectionPool {
  readonly connections: Connection[];

  constructor(
    endpoints: readonly string[],
    count: number,
    readonly transport: TransportKind = 'http2',
    security: ConnectionSecurity = {},
  ) {
    if (endpoints.length === 0) throw new Error('no endpoints given');
    this.connections = Array.from({ length: count }, (_, i) =>
      createConnection(endpoints[i % endpoints.length], transport, security),
    );
  }

  /** Sends `token` with every later call on every connection (etcd auth). */
  setToken(token: string | undefined): void {
    for (const connection of this.connections) connection.setToken(token);
  }

  forClient(clientIndex: number): Connection {
    return this.connections[clientIndex % this.connections.length];
  }

  async ready(timeoutMs = 10_000): Promise<void> {
    await Promise.all(this.connections.map((connection) => connection.ready(timeoutMs)));
  }

  close(): void {
    for (const connection of this.connections) connection.close();
  }
}
