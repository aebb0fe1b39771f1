// A fault-injecting TCP proxy on loopback, for the peer links of cluster tests. It listens on a port and
// forwards every accepted connection to a target; a fault applies to all connections or only to those whose
// source a `classify` callback names (e.g. the member that dialled), and takes effect at once on open
// connections too:
//   pass        bytes flow both ways
//   blackhole   connections are accepted, every byte is read and dropped (the peer sees silence)
//   stall       nothing is read any more (TCP back-pressure builds up); passing again delivers it intact
//   reset       open connections are reset, new ones are reset on accept
//   delay       every chunk is forwarded `ms` later, order preserved
//   cut-to-target / cut-to-client   one direction is dropped, the other flows
// A connection that lost bytes to a drop is reset when its fault is lifted: delivering the rest of a stream
// with a hole in it would only make the two ends misparse each other. close() resets every connection and
// closes the listener, leaving nothing open.
import { createConnection, createServer, type Server, type Socket } from 'node:net';

export type ProxyFault =
  | { kind: 'pass' }
  | { kind: 'blackhole' }
  | { kind: 'stall' }
  | { kind: 'reset' }
  | { kind: 'delay'; ms: number }
  | { kind: 'cut-to-target' }
  | { kind: 'cut-to-client' };

export const PASS: ProxyFault = { kind: 'pass' };
export const BLACKHOLE: ProxyFault = { kind: 'blackhole' };
export const STALL: ProxyFault = { kind: 'stall' };
export const RESET: ProxyFault = { kind: 'reset' };
export const CUT_TO_TARGET: ProxyFault = { kind: 'cut-to-target' };
export const CUT_TO_CLIENT: ProxyFault = { kind: 'cut-to-client' };
export const delay = (ms: number): ProxyFault => ({ kind: 'delay', ms });

/** Which way bytes travel: from the connecting client to the target, or back. */
export type Direction = 'to-target' | 'to-client';

export interface TcpProxyOptions {
  /** Port on 127.0.0.1 to forward to. */
  targetPort: number;
  targetHost?: string;
  /** Port to listen on (127.0.0.1); 0 or absent picks a free one. */
  listenPort?: number;
  /**
   * Names the source of an accepted connection (resolved before any byte is forwarded); faults set for that
   * source apply to it. Undefined, a rejection or no classify at all: only the default fault applies.
   */
  classify?: (socket: Socket) => Promise<string | undefined>;
  label?: string;
}

export interface ProxyStats {
  accepted: number;
  open: number;
  /** Connections reset by a reset fault, a healed drop or close(). */
  reset: number;
  forwarded: Record<Direction, number>;
  dropped: Record<Direction, number>;
}

interface Connection {
  readonly client: Socket;
  target: Socket | undefined;
  source: string | undefined;
  /** Set once classify has answered; until then nothing is read from the client. */
  classified: boolean;
  /** A drop lost bytes (or an end) of this connection: it is reset when its fault no longer drops. */
  holed: boolean;
  /** Chunks (null: the end of the stream) waiting to leave in each direction, in order. */
  queues: Record<Direction, Array<{ chunk: Buffer | null; due: number }>>;
  timers: Record<Direction, NodeJS.Timeout | undefined>;
  closed: boolean;
}

function dropsDirection(fault: ProxyFault, direction: Direction): boolean {
  if (fault.kind === 'blackhole') return true;
  if (fault.kind === 'cut-to-target') return direction === 'to-target';
  if (fault.kind === 'cut-to-client') return direction === 'to-client';
  return false;
}

function dropsAnything(fault: ProxyFault): boolean {
  return dropsDirection(fault, 'to-target') || dropsDirection(fault, 'to-client');
}

const DIRECTIONS: readonly Direction[] = ['to-target', 'to-client'];

export class TcpProxy {
  private readonly connections = new Set<Connection>();
  private defaultFault: ProxyFault = PASS;
  private readonly sourceFaults = new Map<string, ProxyFault>();
  private closing = false;
  private readonly counters: ProxyStats = {
    accepted: 0,
    open: 0,
    reset: 0,
    forwarded: { 'to-target': 0, 'to-client': 0 },
    dropped: { 'to-target': 0, 'to-client': 0 },
  };

  private constructor(
    private readonly server: Server,
    readonly port: number,
    private readonly options: TcpProxyOptions,
  ) {
    server.on('connection', (socket) => this.accept(socket));
    server.on('error', () => {
      /* a listener error after bind (none expected on loopback) must not crash the worker */
    });
  }

  /** Starts listening on 127.0.0.1 and resolves once the port is bound. */
  static async start(options: TcpProxyOptions): Promise<TcpProxy> {
    const server = createServer({ pauseOnConnect: true, noDelay: true, allowHalfOpen: true });
    const port = await new Promise<number>((resolve, reject) => {
      server.once('error', reject);
      server.listen({ host: '127.0.0.1', port: options.listenPort ?? 0, exclusive: true }, () => {
        server.off('error', reject);
        const address = server.address();
        resolve(typeof address === 'object' && address !== null ? address.port : 0);
      });
    });
    return new TcpProxy(server, port, options);
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  get label(): string {
    return this.options.label ?? `proxy :${this.port} -> :${this.options.targetPort}`;
  }

  /** The fault for connections whose source has none of its own (initially pass). */
  setFault(fault: ProxyFault): void {
    this.defaultFault = fault;
    this.reapply();
  }

  /** The fault for connections classified as `source`, whatever the default is. */
  setSourceFault(source: string, fault: ProxyFault): void {
    this.sourceFaults.set(source, fault);
    this.reapply();
  }

  /** Back to the default fault for `source`. */
  clearSourceFault(source: string): void {
    this.sourceFaults.delete(source);
    this.reapply();
  }

  /** Pass everything, for every source. */
  heal(): void {
    this.sourceFaults.clear();
    this.defaultFault = PASS;
    this.reapply();
  }

  faultFor(source: string | undefined): ProxyFault {
    return (source === undefined ? undefined : this.sourceFaults.get(source)) ?? this.defaultFault;
  }

  stats(): ProxyStats {
    return {
      ...this.counters,
      open: this.connections.size,
      forwarded: { ...this.counters.forwarded },
      dropped: { ...this.counters.dropped },
    };
  }

  /** Sources of the open connections (undefined: not classified yet, or classify named none). */
  openSources(): Array<string | undefined> {
    return [...this.connections].map((conn) => conn.source);
  }

  /** Resets every connection and stops listening; resolves when the listener is closed. */
  async close(): Promise<void> {
    if (this.closing) return;
    this.closing = true;
    for (const conn of [...this.connections]) this.resetConnection(conn);
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private accept(client: Socket): void {
    if (this.closing) {
      client.resetAndDestroy();
      return;
    }
    this.counters.accepted++;
    const conn: Connection = {
      client,
      target: undefined,
      source: undefined,
      classified: false,
      holed: false,
      queues: { 'to-target': [], 'to-client': [] },
      timers: { 'to-target': undefined, 'to-client': undefined },
      closed: false,
    };
    this.connections.add(conn);
    this.wire(conn, client, 'to-target');

    const classify = this.options.classify;
    if (classify === undefined) {
      this.classified(conn, undefined);
      return;
    }
    classify(client).then(
      (source) => this.classified(conn, source),
      () => this.classified(conn, undefined),
    );
  }

  /** Listens to one side; `direction` is where its bytes go. */
  private wire(conn: Connection, socket: Socket, direction: Direction): void {
    socket.on('error', () => this.resetConnection(conn));
    socket.on('close', () => this.sideClosed(conn));
    socket.on('end', () => this.route(conn, direction, null));
    socket.on('data', (chunk: Buffer) => this.route(conn, direction, chunk));
  }

  private classified(conn: Connection, source: string | undefined): void {
    if (conn.closed) return;
    conn.source = source;
    conn.classified = true;
    if (this.faultFor(source).kind === 'reset') {
      this.resetConnection(conn);
      return;
    }
    // Dial the target even under blackhole or a cut: a dropped direction must still look connected.
    const target = createConnection({
      host: this.options.targetHost ?? '127.0.0.1',
      port: this.options.targetPort,
      noDelay: true,
      allowHalfOpen: true,
    });
    conn.target = target;
    this.wire(conn, target, 'to-client');
    target.once('connect', () => this.applyFlow(conn));
  }

  /** Forwards, drops or delays one chunk (null: the end of the stream) per the current fault. */
  private route(conn: Connection, direction: Direction, chunk: Buffer | null): void {
    if (conn.closed) return;
    const fault = this.faultFor(conn.source);
    if (dropsDirection(fault, direction)) {
      conn.holed = true;
      if (chunk !== null) this.counters.dropped[direction] += chunk.length;
      return;
    }
    const due = fault.kind === 'delay' ? Date.now() + fault.ms : 0;
    conn.queues[direction].push({ chunk, due });
    this.drain(conn, direction);
  }

  /** Sends every queued chunk that is due, in order; waits for the first one that is not. */
  private drain(conn: Connection, direction: Direction): void {
    if (conn.closed || conn.timers[direction] !== undefined) return;
    const queue = conn.queues[direction];
    const destination = direction === 'to-target' ? conn.target : conn.client;
    while (queue.length > 0) {
      const head = queue[0]!;
      const wait = head.due - Date.now();
      if (wait > 0) {
        conn.timers[direction] = setTimeout(() => {
          conn.timers[direction] = undefined;
          this.drain(conn, direction);
        }, wait);
        return;
      }
      queue.shift();
      if (destination === undefined || destination.destroyed) continue;
      if (head.chunk === null) {
        destination.end();
      } else {
        this.counters.forwarded[direction] += head.chunk.length;
        destination.write(head.chunk);
      }
    }
  }

  /** Applies the current faults to every open connection (after a change). */
  private reapply(): void {
    for (const conn of [...this.connections]) {
      if (!conn.classified) continue; // classified() applies the fault once the source is known
      const fault = this.faultFor(conn.source);
      if (fault.kind === 'reset' || (conn.holed && !dropsAnything(fault))) {
        this.resetConnection(conn);
        continue;
      }
      this.applyFlow(conn);
    }
  }

  /** Stall stops reading both sockets; any other fault reads them (then forwards, delays or drops). */
  private applyFlow(conn: Connection): void {
    const target = conn.target;
    if (conn.closed || target === undefined || target.connecting) return;
    const stalled = this.faultFor(conn.source).kind === 'stall';
    for (const socket of [conn.client, target]) {
      if (stalled) socket.pause();
      else socket.resume();
    }
  }

  private resetConnection(conn: Connection): void {
    if (conn.closed) return;
    this.counters.reset++;
    this.forget(conn);
    for (const socket of [conn.client, conn.target]) {
      if (socket === undefined || socket.destroyed) continue;
      if (socket.connecting) socket.destroy();
      else socket.resetAndDestroy();
    }
  }

  /** A side closed cleanly: the connection is done once both are (each half was ended via route). */
  private sideClosed(conn: Connection): void {
    if (conn.closed) return;
    const targetDone = conn.target === undefined || conn.target.destroyed;
    if (conn.client.destroyed && targetDone) this.forget(conn);
  }

  private forget(conn: Connection): void {
    conn.closed = true;
    this.connections.delete(conn);
    for (const direction of DIRECTIONS) {
      clearTimeout(conn.timers[direction]);
      conn.timers[direction] = undefined;
      conn.queues[direction] = [];
    }
  }
}
