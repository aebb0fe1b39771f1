// One client URL for everything, as etcd does: a connection whose first bytes are the HTTP/2 preface goes to
// the gRPC server, anything else to the HTTP/1.1 server (JSON gateway, /health, /metrics, REST, console).
// A gRPC connection gets the raw socket unless its first request shows it needs the :authority normalizer
// (first-request-sniffer.ts).
import net from 'node:net';
import type http from 'node:http';
import type { Duplex } from 'node:stream';
import { AuthorityNormalizingSocket } from './authority-normalizer';
import { HTTP2_PREFACE } from './http2-frames';
import { EMPTY_SETTINGS_FRAME, FirstRequestSniffer, type SniffVerdict } from './first-request-sniffer';

/**
 * How long a gRPC connection may stay without a first request before it is served through the normalizer
 * anyway (an idle channel): HTTP/2 pings and the like must not wait for a request that may never come.
 */
const FIRST_REQUEST_WAIT_MS = 1_000;

export interface ClientListenerTargets {
  /**
   * `connection` is what to serve gRPC on: the socket itself, or (for a client that sends `:authority:
   * http://...`, as Go clients do for http:// endpoints) its bytes with that rewritten to a form Node's HTTP/2
   * accepts. `socket` is the raw socket, for byte counts and lifetime.
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
      if (couldBeHttp2) {
        this.sniffFirstRequest(socket, head);
      } else {
        socket.pause();
        socket.unshift(head);
        this.targets.http.emit('connection', socket);
        socket.resume();
      }
    };
    socket.on('data', onData);
    socket.on('error', () => socket.destroy());
  }

  private sniffFirstRequest(socket: net.Socket, head: Buffer): void {
    const sniffer = new FirstRequestSniffer();
    const handOver = (verdict: SniffVerdict): void => {
      if (verdict.kind !== 'decided') return;
      clearTimeout(timer);
      socket.off('data', onData);
      socket.pause();
      socket.unshift(verdict.bytes);
      // Node's HTTP/2 session drains what was read ahead from the paused socket itself; resuming here would
      // let those bytes flow past with no listener.
      this.targets.grpc(socket, verdict.normalize ? new AuthorityNormalizingSocket(socket) : socket);
    };
    const onData = (chunk: Buffer): void => {
      const verdict = sniffer.push(chunk);
      if (verdict.kind === 'decided') return handOver(verdict);
      if (sniffer.waitingForServerPreface) {
        // A Go client sends its first request only after the server's SETTINGS.
        socket.write(EMPTY_SETTINGS_FRAME);
        sniffer.sentSettings();
      }
    };
    const timer = setTimeout(() => {
      socket.off('data', onData);
      // A client that never acknowledged our SETTINGS breaks the protocol; nghttp2 must not get its late ACK.
      if (sniffer.ackPending) socket.destroy();
      else handOver(sniffer.giveUp());
    }, FIRST_REQUEST_WAIT_MS);
    socket.once('close', () => clearTimeout(timer));
    socket.on('data', onData);
    onData(head);
  }
}
