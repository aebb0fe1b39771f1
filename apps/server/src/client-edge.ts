// The client URL's timeouts and limits, applied where each one lives (docs/operations.md, "Timeouts and
// limits"): the listener (protocol decision, connections per member), the HTTP/1.1 server (headers, whole
// request, idle keep-alive), the gRPC server (keepalive pings, the ping rule, streams per connection, the unary
// body bound) — all counted in one EdgeStats that /metrics reads. Also the TLS of the https client URLs and
// the --listen-metrics-urls listeners (docs/operations.md, "TLS on the client URL").
import type * as tlsModule from 'node:tls';
import type http from 'node:http';
import type * as grpc from '@grpc/grpc-js';
import {
  type ClientListenerLimits,
  EdgeStats,
  MetricsListener,
  type TlsTerminator,
  applyHttp1Timeouts,
  createClientTls,
  grpcKeepaliveServerOptions,
  installGrpcConnectionPolicy,
  requestBodyBoundInterceptor,
} from '@cairn/edge';
import type { Logger } from '@cairn/server';
import type { ClientEdgeSettings } from './config/client-edge-settings';
import type { SecuritySettings } from './config/security-settings';
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

  /**
   * The TLS every https client URL (and https metrics URL) of this member shares; undefined when none is
   * https. Throws a start-up error for unusable files, unknown cipher suites, or --auto-tls without openssl.
   */
  async startTls(
    security: SecuritySettings,
    dataDir: string,
    urls: readonly URL[],
  ): Promise<TlsTerminator | undefined> {
    const https = urls.filter((url) => url.protocol === 'https:');
    if (https.length === 0) return undefined;
    const { certFile, autoTls } = security.tls.client;
    if (certFile === '' && !autoTls) {
      throw new Error(
        `TLS key/cert (--cert-file, --key-file) must be provided for ${https[0]?.href} (or --auto-tls)`,
      );
    }
    return createClientTls({
      files: security.tls.client,
      policy: security.tls,
      dataDir,
      hosts: https.map((url) => url.hostname),
      log: this.logger,
    });
  }

  /**
   * --listen-metrics-urls: listeners serving /metrics and the probes through `handler` (the client URL's HTTP
   * app); an https one uses the client URL's TLS (`tls`, from startTls over the same URLs).
   */
  async listenMetrics(
    urls: readonly URL[],
    handler: http.RequestListener,
    tls: TlsTerminator | undefined,
  ): Promise<{ listeners: MetricsListener[]; urls: string[] }> {
    const listeners: MetricsListener[] = [];
    const served: string[] = [];
    for (const url of urls) {
      const listener = new MetricsListener({
        handler,
        tls: url.protocol === 'https:' ? tls : undefined,
        handshakeTimeoutMs: this.settings.protocolDecisionTimeoutMs,
      });
      this.installOnHttpServer(listener.http);
      const address = await listener.listen(
        url.hostname,
        Number(url.port || (url.protocol === 'https:' ? 443 : 80)),
      );
      listeners.push(listener);
      served.push(`${url.protocol}//${url.hostname}:${address.port}`);
    }
    return { listeners, urls: served };
  }

  listenerLimits(): ClientListenerLimits {
    return {
      protocolDecisionTimeoutMs: this.settings.protocolDecisionTimeoutMs,
      maxConnections: this.settings.maxClientConnections,
      stats: this.stats,
    };
  }
}

/**
 * How this member dials other members' https client URLs (the console's cluster view): with its own CA and
 * certificate, or — for --auto-tls, whose self-signed certificates nobody can verify — without verification,
 * as etcd's dialers do then.
 */
export function memberDialOptions(
  settings: { security: SecuritySettings },
  tls: TlsTerminator | undefined,
): () => Pick<tlsModule.ConnectionOptions, 'ca' | 'cert' | 'key' | 'rejectUnauthorized'> {
  const { autoTls, certFile } = settings.security.tls.client;
  if (autoTls && certFile === '') return () => ({ rejectUnauthorized: false });
  return () => tls?.dialOptions() ?? {};
}
