// One client URL for everything, as etcd does: a connection whose first bytes are the HTTP/2 preface goes to
// the gRPC server, anything else to the HTTP/1.1 server (JSON gateway, /health, /metrics, REST, console).
// A gRPC connection gets the raw socket unless its first request is one the gRPC front serves (grpc-front/:
// then the front reads it) or shows it needs the :authority normalizer (first-request-sniffer.ts).
//
// On an https:// URL the listener terminates TLS first (tls/tls-terminator.ts: ALPN h2 and http/1.1, client
// certificates, rotation) and routes the decrypted stream the same way: sniffing its first bytes serves a
// client with ALPN and one without alike.
//
// Timeouts and limits (docs/operations.md): a connection must show HTTP/1.1 or the whole HTTP/2 connection
// preface (the magic and the header of the client's SETTINGS frame) within the protocol decision timeout — on
// TLS the handshake included — else it is closed; past --max-client-connections a new connection is closed at
// accept. Both are counted in EdgeStats.
import net from 'node:net';
import type { Duplex } from 'node:stream';
import { AuthorityNormalizingSocket } from './authority-normalizer';
import { FRAME_HEADER_SIZE, HTTP2_PREFACE } from './http2-frames';
import { type ConnectionProtocol, EdgeStats } from './edge-stats';
import { EMPTY_SETTINGS_FRAME, FirstRequestSniffer, type SniffVerdict } from './first-request-sniffer';
import type { StreamRouterLog } from './grpc-stream-router';
import type { TlsTerminator } from './tls/tls-terminator';

/**
 * How long a gRPC connection may stay without a first request before it is served through the normalizer
 * anyway (an idle channel): HTTP/2 pings and the like must not wait for a request that may never come.
 */
const FIRST_REQUEST_WAIT_MS = 1_000;

/**
 * How long a client may take to acknowledge the SETTINGS the listener sent it (first-request-sniffer.ts) before
 * the connection is closed. An ACK is a liveness answer like a PING's, so this is etcd's default
 * --grpc-keepalive-timeout (20 s), not FIRST_REQUEST_WAIT_MS: grpc-js waits for the server's SETTINGS before its
 * first request, so every grpc-js connection depends on this ACK, and a busy client process (a bench worker
 * opening 1,250 channels on a loaded 2-core machine) takes seconds to send it. Closing at 1 s reset those
 * healthy connections: `14 UNAVAILABLE: read ECONNRESET` in `bench config-push --members 3 --subscribers 5000`.
 */
const SETTINGS_ACK_TIMEOUT_MS = 20_000;

export interface ClientListenerTargets {
  /**
   * `connection` is what to serve gRPC on: the socket itself, or (for a client that sends `:authority:
   * http://...`, as Go clients do for http:// endpoints) its bytes with that rewritten to a form Node's HTTP/2
   * accepts. `socket` is the raw socket, for byte counts and lifetime.
   */
  grpc(socket: net.Socket, connection: Duplex): void;
  /** Where HTTP/1.1 connections go (the I/O worker passes them to the main thread's server instead). */
  http: { emit(event: 'connection', socket: Duplex): boolean };
  /**
   * Whether a connection whose first request needs it goes through the :authority normalizer (default true).
   * False where its start-up probe failed, or Node does not need it (probeAuthorityNormalizer): every gRPC
   * connection then gets the raw socket at once, without waiting for its first request.
   */
  normalizeAuthority?: boolean;
  /** Where an exception while handing a connection over is reported (that connection is closed). */
  log?: StreamRouterLog;
  /** TLS for this listener (an https:// URL); absent = plaintext. */
  tls?: TlsTerminator;
  /**
   * The gRPC front (grpc-front/): a connection whose first request it takes is served through it (its hot
   * unary calls framed by the edge, the rest by Node's HTTP/2 behind it).
   */
  front?: { takes(firstPath: string | undefined): boolean; wrap(socket: net.Socket): Duplex };
}

export interface ClientListenerLimits {
  /** A connection that has shown neither HTTP/1.1 nor the whole HTTP/2 preface within this is closed. */
  protocolDecisionTimeoutMs: number;
  /** Connections held at once by all listeners that share `stats` (one member's); 0: no limit. */
  maxConnections: number;
  stats: EdgeStats;
}

/** The whole HTTP/2 connection preface as the decision needs it: the magic and the SETTINGS frame's header. */
const HTTP2_DECISION_BYTES = HTTP2_PREFACE.length + FRAME_HEADER_SIZE;

export class ClientListener {
  private readonly server: net.Server;
  private readonly sockets = new Set<net.Socket>();

  constructor(
    private readonly targets: ClientListenerTargets,
    private readonly limits: ClientListenerLimits = {
      protocolDecisionTimeoutMs: 5_000,
      maxConnections: 0,
      stats: new EdgeStats(),
    },
  ) {
    this.server = net.createServer({ noDelay: true }, (socket) => this.route(socket));
  }

  listen(host: string, port: number): Promise<net.AddressInfo> {
    return new Promise((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen({ host, port }, () => {
        this.server.off('error', reject);
        // An accept that fails (EMFILE: out of file descriptors) must not end the process: the connection is
        // lost (libuv closes it), the listener keeps listening.
        this.server.on('error', () => this.limits.stats.connectionsRefused.accept_error++);
        resolve(this.server.address() as net.AddressInfo);
      });
    });
  }

  async close(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private route(socket: net.Socket): void {
    const { stats, maxConnections, protocolDecisionTimeoutMs } = this.limits;
    if (maxConnections > 0 && stats.openConnections >= maxConnections) {
      stats.connectionsRefused.limit++;
      socket.on('error', () => undefined);
      socket.destroy();
      return;
    }
    this.sockets.add(socket);
    let protocol: ConnectionProtocol = 'undecided';
    stats.connections.undecided++;
    const decided = (next: ConnectionProtocol): void => {
      clearTimeout(decisionTimer);
      stats.connections[protocol]--;
      stats.connections[next]++;
      protocol = next;
    };
    let decisionTimedOut = false;
    const decisionTimer = setTimeout(() => {
      decisionTimedOut = true;
      stats.connectionsClosed.protocol_decision_timeout++;
      socket.destroy();
    }, protocolDecisionTimeoutMs);
    socket.once('close', () => {
      clearTimeout(decisionTimer);
      this.sockets.delete(socket);
      stats.connections[protocol]--;
    });
    socket.on('error', () => socket.destroy());
    const tls = this.targets.tls;
    if (tls === undefined) {
      this.sniffProtocol(socket, decided);
      return;
    }
    tls.terminate(
      socket,
      (secure) => {
        secure.on('error', () => secure.destroy());
        this.sniffProtocol(secure, decided);
      },
      () => {
        // Not when the decision timer closed it (counted as that).
        if (!decisionTimedOut) stats.connectionsClosed.tls_handshake_failed++;
      },
    );
  }

  /** Routes a (plaintext or decrypted) connection by its first bytes: HTTP/2 preface → gRPC, else HTTP/1.1. */
  private sniffProtocol(socket: net.Socket, decided: (protocol: ConnectionProtocol) => void): void {
    let head = Buffer.alloc(0);
    const onData = (chunk: Buffer): void => {
      head = Buffer.concat([head, chunk]);
      const probe = head.subarray(0, Math.min(head.length, HTTP2_PREFACE.length));
      const couldBeHttp2 = probe.equals(HTTP2_PREFACE.subarray(0, probe.length));
      if (couldBeHttp2 && head.length < HTTP2_DECISION_BYTES) return; // need more bytes to decide
      socket.off('data', onData);
      if (couldBeHttp2) {
        decided('grpc');
        this.sniffFirstRequest(socket, head);
      } else {
        decided('http');
        socket.pause();
        socket.unshift(head);
        this.targets.http.emit('connection', socket);
        socket.resume();
      }
    };
    socket.on('data', onData);
  }

  private sniffFirstRequest(socket: net.Socket, head: Buffer): void {
    if (this.targets.normalizeAuthority === false && this.targets.front === undefined) {
      socket.pause();
      socket.unshift(head);
      this.handOverGrpc(socket, socket);
      return;
    }
    const sniffer = new FirstRequestSniffer();
    const handOver = (verdict: SniffVerdict): void => {
      if (verdict.kind !== 'decided') return;
      clearTimeout(timer);
      socket.off('data', onData);
      socket.pause();
      socket.unshift(verdict.bytes);
      // Node's HTTP/2 session drains what was read ahead from the paused socket itself; resuming here would
      // let those bytes flow past with no listener.
      this.handOverGrpc(socket, this.connectionFor(socket, verdict));
    };
    const onData = (chunk: Buffer): void => {
      let verdict: SniffVerdict;
      try {
        verdict = sniffer.push(chunk);
      } catch (err) {
        // A defect in the sniffer must cost this connection only (an event handler: nothing may leave it).
        clearTimeout(timer);
        this.closeAfter(socket, err, 'the first request could not be read');
        return;
      }
      if (verdict.kind === 'decided') return handOver(verdict);
      if (sniffer.waitingForServerPreface) {
        // A Go client sends its first request only after the server's SETTINGS.
        socket.write(EMPTY_SETTINGS_FRAME);
        sniffer.sentSettings();
      }
    };
    const sniffStart = Date.now();
    const onTimer = (): void => {
      if (sniffer.ackPending && Date.now() - sniffStart < SETTINGS_ACK_TIMEOUT_MS) {
        // Our SETTINGS are not acknowledged yet: a slow client, not a broken one. The bytes cannot be handed
        // over before the ACK (nghttp2 must not get it), so look again later.
        timer = setTimeout(onTimer, FIRST_REQUEST_WAIT_MS);
        return;
      }
      socket.off('data', onData);
      // A client that never acknowledged our SETTINGS breaks the protocol; nghttp2 must not get its late ACK.
      if (sniffer.ackPending) socket.destroy();
      else handOver(sniffer.giveUp());
    };
    let timer = setTimeout(onTimer, FIRST_REQUEST_WAIT_MS);
    socket.once('close', () => clearTimeout(timer));
    socket.on('data', onData);
    onData(head);
  }

  /** What Node's HTTP/2 server reads this connection through: the front, the normalizer or the raw socket. */
  private connectionFor(socket: net.Socket, verdict: SniffVerdict & { kind: 'decided' }): Duplex {
    const front = this.targets.front;
    if (front?.takes(verdict.firstPath)) return front.wrap(socket);
    if (verdict.normalize && this.targets.normalizeAuthority !== false)
      return new AuthorityNormalizingSocket(socket);
    return socket;
  }

  /** Hands a gRPC connection over; an exception there closes that connection, never the listener. */
  private handOverGrpc(socket: net.Socket, connection: Duplex): void {
    try {
      this.targets.grpc(socket, connection);
    } catch (err) {
      this.closeAfter(socket, err, 'a gRPC connection could not be handed over');
    }
  }

  private closeAfter(socket: net.Socket, err: unknown, what: string): void {
    this.targets.log?.warn({ err, remoteAddress: socket.remoteAddress }, `${what}: connection closed`);
    socket.destroy();
  }
}
