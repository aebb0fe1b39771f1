// etcd's --listen-metrics-urls: extra listeners (http, or https with the client URL's TLS) that serve only
// /metrics and the probes (/health, /livez, /readyz), so a scraper or a kubelet needs no token, and over http no
// client certificate, even when the client URL demands them. Every other path is 404, as etcd's metrics mux
// answers. The allowed requests are served by the client URL's own HTTP handler (the same pipeline, the same
// probe and metrics handlers): nothing is served twice.
import http from 'node:http';
import net from 'node:net';
import type { TlsTerminator } from './tls/tls-terminator';

/** What a metrics URL serves; anything else is 404. */
export const METRICS_URL_PATHS: ReadonlySet<string> = new Set(['/metrics', '/health', '/livez', '/readyz']);

export interface MetricsListenerOptions {
  /** The client URL's HTTP/1.1 handler (the Nest/Express app) that serves the allowed paths. */
  handler: http.RequestListener;
  /**
   * TLS for an https:// metrics URL: the client URL's terminator, so (as etcd's metrics listener, which takes the
   * client TLS info) a client certificate is required there too when the client URL requires one.
   */
  tls?: TlsTerminator;
  /** A connection that has not finished its TLS handshake within this is closed. */
  handshakeTimeoutMs: number;
}

export class MetricsListener {
  /** The HTTP/1.1 server connections are handed to (the caller applies its timeouts: http1-timeouts.ts). */
  readonly http: http.Server;
  private readonly server: net.Server;
  private readonly sockets = new Set<net.Socket>();

  constructor(private readonly options: MetricsListenerOptions) {
    this.http = http.createServer((req, res) => {
      const path = (req.url ?? '/').split('?')[0] ?? '/';
      if (METRICS_URL_PATHS.has(path)) {
        options.handler(req, res);
        return;
      }
      res.writeHead(404, { 'content-type': 'text/plain; charset=utf-8' }).end('404 page not found\n');
    });
    this.server = net.createServer({ noDelay: true }, (socket) => this.accept(socket));
  }

  listen(host: string, port: number): Promise<net.AddressInfo> {
    return new Promise((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen({ host, port }, () => {
        this.server.off('error', reject);
        this.server.on('error', () => undefined); // a failed accept (EMFILE) loses that connection only
        resolve(this.server.address() as net.AddressInfo);
      });
    });
  }

  async close(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    // Stops the HTTP server's connection checker (it never listened: ERR_SERVER_NOT_RUNNING is expected).
    this.http.close(() => undefined);
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private accept(socket: net.Socket): void {
    this.sockets.add(socket);
    socket.once('close', () => this.sockets.delete(socket));
    socket.on('error', () => socket.destroy());
    const tls = this.options.tls;
    if (tls === undefined) {
      this.http.emit('connection', socket);
      return;
    }
    const handshake = setTimeout(() => socket.destroy(), this.options.handshakeTimeoutMs);
    socket.once('close', () => clearTimeout(handshake));
    tls.terminate(socket, (secure) => {
      clearTimeout(handshake);
      secure.on('error', () => secure.destroy());
      this.http.emit('connection', secure);
    });
  }
}
