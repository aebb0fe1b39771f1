// One client URL for everything, as etcd does: a connection whose first bytes are the HTTP/2 preface goes to
// the gRPC server, anything else to the HTTP/1.1 server (JSON gateway, /health, /metrics, REST, console).
import net from 'node:net';
import type http from 'node:http';
import type { Duplex } from 'node:stream';
import { AuthorityNormalizingSocket } from './authority-normalizer';

const HTTP2_PREFACE = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n');

export interface ClientListenerTargets {
  /**
   * `connection` is what to serve gRPC on: the socket's bytes with `:authority: http://...` (as Go clients
   * send for http:// endpoints) rewritten to a form Node's HTTP/2 accepts. `socket` is the raw socket, for
   * byte counts and lifetime.
   */
  grpc(socket: net.Socket, connection: Duplex): void;
  http: http.Server;
}

export class ClientListener {
  private readonly server: net.Server;
  private readonly sockets = new Set<net.Socket>();

  constructor(private readonly targets: ClientListenerTargets) {
    this.server = net.createServer({ noDelay: true }, (socket) => this.route(socket));
  }

  listen(host: string, port: number): Promise<net.AddressInfo> {
    return new Promise((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen({ host, port }, () => {
        this.server.off('error', reject);
        resolve(this.server.address() as net.AddressInfo);
      });
    });
  }

  async close(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private route(socket: net.Socket): void {
    this.sockets.add(socket);
    socket.once('close', () => this.sockets.delete(socket));
    let head = Buffer.alloc(0);
    const onData = (chunk: Buffer): void => {
      head = Buffer.concat([head, chunk]);
      const probe = head.subarray(0, Math.min(head.length, HTTP2_PREFACE.length));
      const couldBeHttp2 = probe.equals(HTTP2_PREFACE.subarray(0, probe.length));
      if (couldBeHttp2 && head.length < HTTP2_PREFACE.length) return; // need more bytes to decide
      socket.off('data', onData);
      socket.pause();
      socket.unshift(head);
      if (couldBeHttp2) {
        // Node's HTTP/2 session drains what was read ahead from the paused socket itself; resuming here
        // would let those bytes flow past with no listener.
        this.targets.grpc(socket, new AuthorityNormalizingSocket(socket));
      } else {
        this.targets.http.emit('connection', socket);
        socket.resume();
      }
    };
    socket.on('data', onData);
    socket.on('error', () => socket.destroy());
  }
}
