// The client URL's timeouts and limits, applied where each one lives (docs/operations.md, "Timeouts and
// limits"): the listener (protocol decision, connections per member), the HTTP/1.1 server (headers, whole
// request, idle keep-alive), the gRPC server (keepalive pings, the ping rule, streams per connection, the unary
// body bound) — all counted in one EdgeStats that /metrics reads.
import type http from 'node:http';
import type * as grpc from '@grpc/grpc-js';
import {
  type ClientListenerLimits,
  EdgeStats,
  applyHttp1Timeouts,
  grpcKeepaliveServerOptions,
  installGrpcConnectionPolicy,
  requestBodyBoundInterceptor,
} from '@cairn/edge';
import type { Logger } from '@cairn/server';
import type { ClientEdgeSettings } from './config/client-edge-settings';
import { registerEdgeMetrics } from './edge-metrics';
import type { CairnMetrics } from './metrics';

export class ClientEdge {
  readonly stats = new EdgeStats();

  constructor(
    private readonly settings: ClientEdgeSettings,
    metrics: CairnMetrics,
    private readonly logger: Logger,
  ) {
    registerEdgeMetrics(metrics.registry, this.stats);
  }

  /** Options for the client URL's grpc-js server: its keepalive pings and the unary body bound. */
  grpcServerOptions(): grpc.ServerOptions {
    const s = this.settings;
    return {
      ...grpcKeepaliveServerOptions(s.grpcKeepAliveIntervalMs, s.grpcKeepAliveTimeoutMs),
      interceptors: [requestBodyBoundInterceptor(s.unaryRequestTimeoutMs, this.stats)],
    };
  }

  /** Call right after createConnectionInjector: streams per connection and the client ping rule. */
  installOnGrpcServer(server: grpc.Server): void {
    const installed = installGrpcConnectionPolicy(
      server,
      {
        maxConcurrentStreams: this.settings.maxConcurrentStreams,
        keepAliveMinTimeMs: this.settings.grpcKeepAliveMinTimeMs,
      },
      this.stats,
    );
    if (!installed.streamLimit || !installed.pingPolicy) {
      this.logger.warn(
        installed,
        'grpc-js internals not as expected: --max-concurrent-streams and/or --grpc-keepalive-min-time are not enforced',
      );
    }
  }

  /** Node's HTTP/1.1 timeouts, enforced although the server never listens itself (http1-timeouts.ts). */
  installOnHttpServer(server: http.Server): void {
    const s = this.settings;
    const tracked = applyHttp1Timeouts(server, {
      headersTimeoutMs: s.httpHeadersTimeoutMs,
      requestTimeoutMs: s.httpRequestTimeoutMs,
      keepAliveTimeoutMs: s.httpKeepAliveTimeoutMs,
    });
    if (!tracked) {
      this.logger.warn(
        {},
        'Node does not track HTTP/1.1 connections handed over by the listener: --http-headers-timeout and --http-request-timeout are not enforced',
      );
    }
  }

  listenerLimits(): ClientListenerLimits {
    return {
      protocolDecisionTimeoutMs: this.settings.protocolDecisionTimeoutMs,
      maxConnections: this.settings.maxClientConnections,
      stats: this.stats,
    };
  }
}
