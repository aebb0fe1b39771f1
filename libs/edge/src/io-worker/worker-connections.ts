// The I/O worker's side of the bridge: every connection its listener hands over is a Duplex whose bytes cross
// to the main thread's servers (HTTP/1.1, Node's HTTP/2 under grpc-js), and the calls its gRPC front takes
// cross as records to the main thread's request pipeline and handlers; answers come back the same way.
import type { Duplex } from 'node:stream';
import type { FrontCall, FrontCalls, FrontStream, GrpcFrontSocket } from '../grpc-front';
import {
  type ConnectionInfo,
  FromWorker,
  RecordWriter,
  ToWorker,
  encodeHeaders,
  readRecords,
} from './bridge-records';

/** A connection handed to the main thread: what its bytes come from, its front (if any) and that front's calls. */
interface WorkerConnection {
  readonly id: number;
  readonly duplex: Duplex;
  readonly front: GrpcFrontSocket | undefined;
  /** Calls the front took on this connection and has not yet seen answered, by stream. */
  readonly calls: Map<number, RemoteCall>;
}

export class WorkerConnections implements FrontCalls {
  private readonly connections = new Map<number, WorkerConnection>();
  private readonly ids = new WeakMap<Duplex, number>();
  private nextId = 1;
  readonly out: RecordWriter;

  constructor(
    send: (chunk: ArrayBuffer) => void,
    private readonly frontPaths: ReadonlySet<string>,
    private readonly maxReceiveBytes: number,
    beforeFlush?: (out: RecordWriter) => void,
  ) {
    this.out = new RecordWriter(send, beforeFlush && (() => beforeFlush(this.out)));
  }

  get size(): number {
    return this.connections.size;
  }

  /**
   * Hands `duplex` (the raw or decrypted socket, the :authority normalizer, or the gRPC front) to the main
   * thread. `socket` is the raw socket, for the byte counts reported at close.
   */
  open(
    duplex: Duplex,
    socket: Duplex & { bytesRead?: number; bytesWritten?: number },
    kind: ConnectionInfo['kind'],
    front?: GrpcFrontSocket,
  ): void {
    const id = this.nextId;
    this.nextId = id >= 0xffffffff ? 1 : id + 1;
    const connection: WorkerConnection = { id, duplex, front, calls: new Map() };
    this.connections.set(id, connection);
    this.ids.set(duplex, id);
    const s = socket as Partial<import('node:net').Socket>;
    const info: ConnectionInfo = {
      kind,
      remoteAddress: s.remoteAddress,
      remotePort: s.remotePort,
      remoteFamily: s.remoteFamily,
      localAddress: s.localAddress,
      localPort: s.localPort,
    };
    this.out.addJson(FromWorker.OPEN, id, info);
    if (front !== undefined) front.onClientPing(() => this.out.add(FromWorker.PING, id, 0));
    duplex.on('data', (chunk: Buffer) => this.out.add(FromWorker.BYTES, id, 0, chunk));
    duplex.once('end', () => this.out.add(FromWorker.END, id, 0));
    duplex.on('error', () => duplex.destroy());
    // The listener hands a gRPC socket over paused (its first bytes unshifted): a 'data' listener alone
    // would not start it.
    duplex.resume();
    duplex.once('close', () => {
      this.connections.delete(id);
      for (const call of connection.calls.values()) call.closed();
      this.out.addJson(FromWorker.CLOSE, id, {
        bytesRead: socket.bytesRead ?? 0,
        bytesWritten: socket.bytesWritten ?? 0,
      });
    });
  }

  /** A chunk of records from the main thread. */
  receive(chunk: ArrayBuffer): void {
    readRecords(chunk, (type, id, stream, payload) => {
      const connection = this.connections.get(id);
      if (connection === undefined) return; // closed meanwhile: the main thread hears of it
      try {
        this.onRecord(connection, type, stream, payload);
      } catch {
        connection.duplex.destroy(); // a defect costs this connection only
      }
    });
  }

  private onRecord(connection: WorkerConnection, type: number, streamId: number, payload: Buffer): void {
    const { duplex, id } = connection;
    switch (type) {
      case ToWorker.BYTES: {
        const length = payload.length;
        duplex.write(payload, () => this.out.addNumber(FromWorker.WROTE, id, 0, length));
        return;
      }
      case ToWorker.END:
        duplex.end();
        return;
      case ToWorker.CLOSE:
        duplex.destroy();
        return;
      case ToWorker.PAUSE:
        duplex.pause();
        return;
      case ToWorker.RESUME:
        duplex.resume();
        return;
      default:
        this.onAnswer(connection, type, streamId, payload);
    }
  }

  private onAnswer(connection: WorkerConnection, type: number, streamId: number, payload: Buffer): void {
    const call = connection.calls.get(streamId);
    if (call === undefined) return;
    connection.calls.delete(streamId);
    const stream = connection.front?.frontStream(streamId);
    call.answered(type === ToWorker.ANSWER);
    if (stream === undefined) return; // the client reset it meanwhile
    if (type === ToWorker.ANSWER) {
      // The message is a view into the chunk: the answer copies it into its frames.
      stream.answer(payload);
    } else if (type === ToWorker.STATUS) {
      stream.answerStatus(payload.readUInt32BE(0), payload.toString('utf8', 4));
    } else {
      stream.reset();
    }
  }

  // FrontCalls: the front in the worker serves its calls through the main thread.
  serves(path: string): boolean {
    return this.frontPaths.has(path);
  }

  start(path: string, stream: FrontStream, front: GrpcFrontSocket): FrontCall {
    const id = this.ids.get(front);
    const connection = id === undefined ? undefined : this.connections.get(id);
    if (connection === undefined) throw new Error('a call on a connection the bridge does not know');
    const call = new RemoteCall(this.out, connection.id, stream.id, this.maxReceiveBytes);
    connection.calls.set(stream.id, call);
    this.out.add(FromWorker.CALL, connection.id, stream.id, encodeHeaders(stream.allHeaders), true);
    return call;
  }
}

/** A call the front took, served on the main thread: its events cross as records. */
class RemoteCall implements FrontCall {
  answeredOk = false;
  private done = false;
  private received = 0;

  constructor(
    private readonly out: RecordWriter,
    private readonly connection: number,
    private readonly stream: number,
    private readonly maxReceiveBytes: number,
  ) {}

  data(chunk: Buffer): void {
    // Past the bound only counted: the main thread's UnaryCall refuses the message from its 5-octet prefix.
    const room = this.maxReceiveBytes + 5 - this.received;
    this.received += chunk.length;
    if (room <= 0) return;
    this.out.add(
      FromWorker.CALL_DATA,
      this.connection,
      this.stream,
      chunk.length > room ? chunk.subarray(0, room) : chunk,
    );
  }

  end(): void {
    this.out.add(FromWorker.CALL_END, this.connection, this.stream);
  }

  abort(): void {
    if (this.done) return;
    this.done = true;
    this.out.add(FromWorker.CALL_ABORT, this.connection, this.stream);
  }

  /** The main thread answered (ok: with a message). */
  answered(ok: boolean): void {
    this.done = true;
    this.answeredOk = ok;
  }

  /** The connection closed: the main thread hears that from CLOSE. */
  closed(): void {
    this.done = true;
  }
}
