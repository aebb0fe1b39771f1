// The main thread's side of the I/O worker (docs/architecture.md, "Using more than one core"): a worker thread
// owns the plaintext client listeners — protocol decision, the :authority normalizer, the gRPC front's framing
// of the hot unary calls — while everything that touches the member's state stays here: each call the front
// takes runs as a UnaryCall through the one request pipeline, and every other byte of a connection reaches the
// same HTTP/1.1 and HTTP/2 servers a ClientListener feeds, through a BridgedSocket.
//
// Node 20 cannot hand a socket to a worker thread (only to a child process) nor share a listening port between
// threads, hence the worker listens itself. A worker that dies (a defect) is started again on the same ports;
// its connections are lost, the member is not.
import path from 'node:path';
import { Worker } from 'node:worker_threads';
import type net from 'node:net';
import type { ClientListenerLimits, ClientListenerTargets } from '../client-listener';
import type { RequestPipeline } from '../pipeline';
import { type FastUnaryMethod, UnaryCall, type UnaryTransport } from '../unary-call';
import { BridgedSocket, type BridgeSink } from './bridged-socket';
import {
  type ConnectionInfo,
  FromWorker,
  RecordWriter,
  ToWorker,
  decodeHeaders,
  readRecords,
} from './bridge-records';
import { applyStatsDelta } from './stats-delta';
import type { IoWorkerSettings, MainMessage, StatsChanges, WorkerMessage } from './worker-messages';

export interface IoWorkerOptions {
  /** Where connections go, as for a ClientListener (no TLS: https URLs keep their ClientListener). */
  targets: Pick<ClientListenerTargets, 'grpc' | 'http' | 'normalizeAuthority' | 'log'>;
  limits: ClientListenerLimits;
  /** The calls the worker's gRPC front takes; they run here. */
  front?: {
    methods: readonly FastUnaryMethod[];
    pipeline: RequestPipeline;
    maxReceiveBytes: number;
    maxConcurrentStreams: number;
    alsoFirst: readonly string[];
  };
  log: {
    warn(fields: object, message: string): void;
    error(fields: object, message: string): void;
  };
}

/** A bridged connection and the calls its front sent that are not yet answered. */
interface MainConnection {
  readonly socket: BridgedSocket;
  readonly calls: Map<number, UnaryCall>;
}

export class IoWorkerListener implements BridgeSink {
  private worker: Worker;
  private readonly out: RecordWriter;
  private readonly connections = new Map<number, MainConnection>();
  private readonly methods: ReadonlyMap<string, FastUnaryMethod>;
  private readonly addresses: Array<{ host: string; port: number }> = [];
  private readonly pendingListens = new Map<number, (result: { port?: number; error?: string }) => void>();
  private nextListenId = 1;
  private closing = false;

  constructor(private readonly options: IoWorkerOptions) {
    this.methods = new Map((options.front?.methods ?? []).map((m) => [m.definition.path, m]));
    // Answers leave once per turn (bridge-records.ts: waking the idle worker is what costs).
    this.out = new RecordWriter((chunk) => this.post({ records: chunk }, [chunk]), undefined, Infinity);
    this.worker = this.startWorker();
  }

  /** Listens on host:port in the worker; resolves with the port bound. */
  async listen(host: string, port: number): Promise<net.AddressInfo> {
    const bound = await this.listenInWorker(host, port);
    this.addresses.push({ host, port: bound });
    return { address: host, port: bound, family: host.includes(':') ? 'IPv6' : 'IPv4' };
  }

  async close(): Promise<void> {
    this.closing = true;
    const worker = this.worker;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, 2_000); // a worker that does not answer is terminated below
      const onMessage = (message: WorkerMessage): void => {
        if ('closed' in message) {
          clearTimeout(timer);
          worker.off('message', onMessage);
          resolve();
        }
      };
      worker.on('message', onMessage);
      this.post({ close: true });
    });
    for (const connection of this.connections.values()) connection.socket.destroy();
    await worker.terminate();
  }

  private startWorker(): Worker {
    const front = this.options.front;
    const settings: IoWorkerSettings = {
      frontPaths: front ? [...this.methods.keys()] : [],
      alsoFirst: front ? [...front.alsoFirst] : [],
      maxReceiveBytes: front?.maxReceiveBytes ?? 0,
      maxConcurrentStreams: front?.maxConcurrentStreams ?? 0,
      normalizeAuthority: this.options.targets.normalizeAuthority !== false,
      limits: {
        protocolDecisionTimeoutMs: this.options.limits.protocolDecisionTimeoutMs,
        maxConnections: this.options.limits.maxConnections,
      },
    };
    const worker = new Worker(workerEntry(), { workerData: settings });
    worker.on('message', (message: WorkerMessage) => this.onMessage(message));
    worker.on('error', (err) => this.options.log.error({ err }, 'the I/O worker failed'));
    worker.once('exit', (code) => this.workerExited(worker, code));
    return worker;
  }

  /** A worker gone while the member runs: its connections are lost; a new one listens on the same ports. */
  private workerExited(worker: Worker, code: number): void {
    if (this.closing || worker !== this.worker) return;
    this.options.log.error({ code }, 'the I/O worker exited: starting it again on the same ports');
    for (const connection of [...this.connections.values()]) connection.socket.destroy();
    this.worker = this.startWorker();
    for (const { host, port } of this.addresses) {
      this.listenInWorker(host, port).catch((err: unknown) =>
        this.options.log.error({ err, host, port }, 'the restarted I/O worker could not listen'),
      );
    }
  }

  private listenInWorker(host: string, port: number): Promise<number> {
    const id = this.nextListenId++;
    return new Promise((resolve, reject) => {
      this.pendingListens.set(id, (result) =>
        result.error === undefined ? resolve(result.port ?? port) : reject(new Error(result.error)),
      );
      this.post({ listen: { id, host, port } });
    });
  }

  private post(message: MainMessage, transfer?: ArrayBuffer[]): void {
    this.worker.postMessage(message, transfer);
  }

  private onMessage(message: WorkerMessage): void {
    if ('records' in message) {
      readRecords(message.records, (type, id, stream, payload) => this.onRecord(type, id, stream, payload));
    } else if ('listening' in message) {
      const done = this.pendingListens.get(message.listening.id);
      this.pendingListens.delete(message.listening.id);
      done?.(message.listening);
    } else if ('log' in message) {
      this.options.log.warn(message.log.fields, message.log.message);
    }
  }

  private onRecord(type: number, id: number, streamId: number, payload: Buffer): void {
    if (type === FromWorker.OPEN) {
      this.open(id, JSON.parse(payload.toString()) as ConnectionInfo);
      return;
    }
    if (type === FromWorker.STATS) {
      applyStatsDelta(this.options.limits.stats, JSON.parse(payload.toString()) as StatsChanges);
      return;
    }
    const connection = this.connections.get(id);
    if (connection === undefined) return;
    const socket = connection.socket;
    try {
      switch (type) {
        case FromWorker.BYTES:
          // Copied: a view would keep the whole chunk alive while the server holds it.
          socket.fromClient(Buffer.from(payload));
          return;
        case FromWorker.END:
          socket.clientEnded();
          return;
        case FromWorker.CLOSE:
          this.connections.delete(id);
          socket.closedFromWorker(JSON.parse(payload.toString()) as never);
          for (const call of connection.calls.values()) call.abort();
          return;
        case FromWorker.WROTE:
          socket.written(payload.readUInt32BE(0));
          return;
        case FromWorker.PING:
          socket.clientPinged();
          return;
        default:
          this.onCallRecord(connection, type, streamId, payload);
      }
    } catch (err) {
      // A defect costs this connection only.
      this.options.log.warn({ err }, 'a bridged connection failed: closed');
      socket.destroy();
    }
  }

  private open(id: number, info: ConnectionInfo): void {
    const socket = new BridgedSocket(id, info, this);
    const connection: MainConnection = { socket, calls: new Map() };
    this.connections.set(id, connection);
    socket.once('close', () => {
      if (this.connections.get(id) !== connection) return;
      this.connections.delete(id);
      for (const call of connection.calls.values()) call.abort();
    });
    socket.on('error', () => socket.destroy());
    try {
      if (info.kind === 'http') this.options.targets.http.emit('connection', socket);
      else this.options.targets.grpc(socket as unknown as net.Socket, socket);
    } catch (err) {
      this.options.log.warn(
        { err, remoteAddress: info.remoteAddress },
        'a connection could not be handed over',
      );
      socket.destroy();
    }
  }

  private onCallRecord(connection: MainConnection, type: number, streamId: number, payload: Buffer): void {
    const front = this.options.front;
    switch (type) {
      case FromWorker.CALL: {
        const headers = decodeHeaders(payload);
        const method = this.methods.get(headers.get(':path') ?? '');
        if (front === undefined || method === undefined) {
          this.out.add(ToWorker.RESET, connection.socket.id, streamId);
          return;
        }
        connection.socket.ownStreams.opened++;
        connection.socket.ownStreams.open++;
        const transport = new BridgedCallTransport(this.out, connection, streamId, headers);
        connection.calls.set(
          streamId,
          new UnaryCall(method, transport, front.maxReceiveBytes, front.pipeline),
        );
        return;
      }
      case FromWorker.CALL_DATA:
        // Copied: the call keeps its body until it ends.
        connection.calls.get(streamId)?.data(Buffer.from(payload));
        return;
      case FromWorker.CALL_END:
        connection.calls.get(streamId)?.end();
        return;
      case FromWorker.CALL_ABORT:
        // Its transport leaves the map (and the open count) as the abort answers it.
        connection.calls.get(streamId)?.abort();
        return;
    }
  }

  // BridgeSink: what the main thread's servers do to a bridged connection.
  bytes(connection: number, data: Buffer): void {
    this.out.add(ToWorker.BYTES, connection, 0, data);
  }
  end(connection: number): void {
    this.out.add(ToWorker.END, connection, 0);
  }
  closeConnection(connection: number): void {
    this.out.add(ToWorker.CLOSE, connection, 0);
  }
  pause(connection: number): void {
    this.out.add(ToWorker.PAUSE, connection, 0);
  }
  resume(connection: number): void {
    this.out.add(ToWorker.RESUME, connection, 0);
  }
}

/** A call of the worker's front as a UnaryCall sees it: its answer crosses back as a record. */
class BridgedCallTransport implements UnaryTransport {
  private done = false;

  constructor(
    private readonly out: RecordWriter,
    private readonly connection: MainConnection,
    private readonly streamId: number,
    private readonly headers: ReadonlyMap<string, string>,
  ) {}

  header(name: string): string | undefined {
    return this.headers.get(name);
  }
  get remoteAddress(): string | undefined {
    return this.connection.socket.remoteAddress;
  }
  get certificateCommonName(): string | undefined {
    return undefined; // the worker serves plaintext URLs only
  }

  answer(message: Buffer): void {
    this.finish(ToWorker.ANSWER, message);
  }

  answerStatus(code: number, details: string): void {
    const payload = Buffer.allocUnsafe(4 + Buffer.byteLength(details));
    payload.writeUInt32BE(code, 0);
    payload.write(details, 4);
    this.finish(ToWorker.STATUS, payload);
  }

  reset(): void {
    this.finish(ToWorker.RESET, undefined);
  }

  private finish(type: number, payload: Buffer | undefined): void {
    if (this.done) return;
    this.done = true;
    const { socket, calls } = this.connection;
    if (calls.delete(this.streamId)) socket.ownStreams.open--;
    if (!socket.destroyed) this.out.add(type, socket.id, this.streamId, payload, true);
  }
}

/** The worker's compiled entry: beside this file in dist/ (tests that run the sources use the built one). */
function workerEntry(): string {
  const here = __dirname;
  const dist = here.includes(`${path.sep}src${path.sep}`)
    ? here.replace(`${path.sep}src${path.sep}`, `${path.sep}dist${path.sep}`)
    : here;
  return path.join(dist, 'worker-entry.js');
}
