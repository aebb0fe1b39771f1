// A connection the I/O worker accepted, as the main thread's servers see it: a Duplex whose bytes come from and
// go to the worker, with the socket's addresses, a socket timeout (Node's HTTP/1.1 keep-alive timeout is one),
// and what the client ping rule reads of a connection whose front serves some calls itself (ownStreams,
// onClientPing), as SocketProxy has.
import { Duplex } from 'node:stream';
import type { ConnectionInfo } from './bridge-records';

/** Bytes sent to the worker and not yet taken by its socket, past which the server's writes wait. */
const MAX_UNACKNOWLEDGED = 1024 * 1024;

export interface BridgeSink {
  bytes(connection: number, data: Buffer): void;
  end(connection: number): void;
  closeConnection(connection: number): void;
  pause(connection: number): void;
  resume(connection: number): void;
}

export class BridgedSocket extends Duplex {
  /** The socket's own counts, once the worker reports them at close; meanwhile what crossed the bridge. */
  bytesRead = 0;
  bytesWritten = 0;
  /** Calls the worker's front took: opened so far and open now (the ping rule counts them as streams). */
  readonly ownStreams = { opened: 0, open: 0 };
  private readonly pingListeners: Array<() => void> = [];
  private paused = false;
  private unacknowledged = 0;
  private waitingWrite: (() => void) | undefined;
  private closedByWorker = false;
  private timeoutMs = 0;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    readonly id: number,
    readonly info: ConnectionInfo,
    private readonly sink: BridgeSink,
  ) {
    super({ allowHalfOpen: true });
  }

  get remoteAddress(): string | undefined {
    return this.info.remoteAddress;
  }
  get remotePort(): number | undefined {
    return this.info.remotePort;
  }
  get remoteFamily(): string | undefined {
    return this.info.remoteFamily;
  }
  get localAddress(): string | undefined {
    return this.info.localAddress;
  }
  get localPort(): number | undefined {
    return this.info.localPort;
  }

  onClientPing(listener: () => void): boolean {
    if (this.info.kind !== 'front') return false;
    this.pingListeners.push(listener);
    return true;
  }

  // As net.Socket's: the server's idle timeout ('timeout' once nothing moved for `ms`).
  setTimeout(ms: number, callback?: () => void): this {
    this.timeoutMs = ms;
    if (callback) this.once('timeout', callback);
    this.touch();
    return this;
  }
  setNoDelay(): this {
    return this;
  }
  setKeepAlive(): this {
    return this;
  }
  ref(): this {
    return this;
  }
  unref(): this {
    return this;
  }

  // From the worker.
  fromClient(data: Buffer): void {
    this.bytesRead += data.length;
    this.touch();
    if (!this.push(data) && !this.paused) {
      this.paused = true;
      this.sink.pause(this.id);
    }
  }
  clientEnded(): void {
    this.push(null);
  }
  clientPinged(): void {
    for (const listener of this.pingListeners) listener();
  }
  /** The worker's socket took `n` of the bytes sent. */
  written(n: number): void {
    this.unacknowledged -= n;
    if (this.unacknowledged <= MAX_UNACKNOWLEDGED && this.waitingWrite) {
      const callback = this.waitingWrite;
      this.waitingWrite = undefined;
      callback();
    }
  }
  closedFromWorker(totals: { bytesRead: number; bytesWritten: number }): void {
    this.closedByWorker = true;
    this.bytesRead = totals.bytesRead;
    this.bytesWritten = totals.bytesWritten;
    this.destroy();
  }

  override _read(): void {
    if (this.paused) {
      this.paused = false;
      this.sink.resume(this.id);
    }
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    this.send(chunk, callback);
  }

  // A server's flush (HTTP/2 hands over all its frames at once) crosses as one record.
  override _writev(
    chunks: Array<{ chunk: Buffer; encoding: BufferEncoding }>,
    callback: (error?: Error | null) => void,
  ): void {
    this.send(chunks.length === 1 ? chunks[0].chunk : Buffer.concat(chunks.map((c) => c.chunk)), callback);
  }

  private send(data: Buffer, callback: (error?: Error | null) => void): void {
    this.bytesWritten += data.length;
    this.unacknowledged += data.length;
    this.touch();
    this.sink.bytes(this.id, data);
    if (this.unacknowledged <= MAX_UNACKNOWLEDGED) callback();
    else this.waitingWrite = () => callback();
  }

  override _final(callback: (error?: Error | null) => void): void {
    this.sink.end(this.id);
    callback();
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    if (this.timer) clearTimeout(this.timer);
    if (!this.closedByWorker) this.sink.closeConnection(this.id);
    const waiting = this.waitingWrite;
    this.waitingWrite = undefined;
    waiting?.();
    callback(error);
  }

  private touch(): void {
    if (this.timeoutMs <= 0) {
      if (this.timer) clearTimeout(this.timer);
      this.timer = undefined;
      return;
    }
    if (this.timer) this.timer.refresh();
    else this.timer = setTimeout(() => this.emit('timeout'), this.timeoutMs);
  }
}
