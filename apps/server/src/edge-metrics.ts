// The client URL's timeouts and limits as Prometheus metrics (docs/operations.md, "Timeouts and limits"), read
// from the member's EdgeStats at scrape time. etcd has no such metrics; the names follow its and grpc's style
// (snake case, `_total` counters, a `reason`/`protocol` label).
import { Counter, Gauge, type Registry } from 'prom-client';
import type { EdgeStats } from '@cairn/edge';

export function registerEdgeMetrics(registry: Registry, stats: EdgeStats): void {
  const registers = [registry];
  new Gauge({
    name: 'cairn_network_client_connections',
    help: 'Open client connections, by protocol (undecided until the first bytes tell gRPC from HTTP/1.1).',
    labelNames: ['protocol'],
    registers,
    collect() {
      for (const [protocol, count] of Object.entries(stats.connections)) this.set({ protocol }, count);
    },
  });
  new Counter({
    name: 'cairn_network_client_connections_refused_total',
    help: 'Client connections closed at accept: over --max-client-connections (limit) or a failed accept (accept_error).',
    labelNames: ['reason'],
    registers,
    collect() {
      this.reset();
      for (const [reason, count] of Object.entries(stats.connectionsRefused)) this.inc({ reason }, count);
    },
  });
  new Counter({
    name: 'cairn_network_client_connections_closed_total',
    help: 'Client connections the member closed: no protocol within --protocol-decision-timeout, pings faster than --grpc-keepalive-min-time (GOAWAY ENHANCE_YOUR_CALM), or a TLS handshake that failed (reason tls_handshake_failed).',
    labelNames: ['reason'],
    registers,
    collect() {
      this.reset();
      for (const [reason, count] of Object.entries(stats.connectionsClosed)) this.inc({ reason }, count);
    },
  });
  new Gauge({
    name: 'cairn_grpc_server_open_streams',
    help: 'HTTP/2 streams open on client gRPC connections.',
    registers,
    collect() {
      this.set(stats.streams);
    },
  });
  new Counter({
    name: 'cairn_grpc_server_streams_refused_total',
    help: 'Streams refused with RST_STREAM REFUSED_STREAM: their connection already had --max-concurrent-streams open.',
    registers,
    collect() {
      this.reset();
      this.inc(stats.streamsRefused);
    },
  });
  new Counter({
    name: 'cairn_request_body_timeouts_total',
    help: 'Unary requests whose body had not arrived within --unary-request-timeout, by surface (grpc, http).',
    labelNames: ['surface'],
    registers,
    collect() {
      this.reset();
      for (const [surface, count] of Object.entries(stats.requestBodyTimeouts)) this.inc({ surface }, count);
    },
  });
}
