// Bounded streaming answers over HTTP/1.1: the one Server-Sent Events writer (registry, config and console
// watches) and the newline-delimited JSON stream of the gateway's /v3/watch.
//
// Why: Node buffers whatever is written to a response whose reader does not read, so a stalled reader of a
// watch grows the member's memory without bound. These writers do what the gRPC watch does (etcd's victims):
// they know the bytes the response still holds (res.writableLength: what Node buffers for the socket, not
// yet taken by the kernel) and refuse an event once that passes a bound. The producer then PARKS — a watch
// sink returns false, the store keeps the response and offers it again — and resumes when the socket
// drains. Memory per stream stays at about the bound plus the one response in hand, whatever the reader does.
//
// Contract:
// - `write`/`send` refuse (return false, write nothing) while `buffered >= maxBufferedBytes`. Below the
//   bound a chunk is always written, so one event bigger than the bound still goes out (and a reader that
//   reads gets everything).
// - `{ always: true }` writes past the bound: for what a producer has already taken and must not lose (the
//   rest of a response it accepted whole, a final error). The caller checked `writable` before taking it.
// - `onDrain` listeners run each time the stream has room again after it was full; `drained()` resolves
//   then (or on close). Room is noticed on the response's 'drain' and, as a fallback, by a slow poll.
// - Heartbeats (SSE comments) are skipped while the stream is full: a stalled reader needs no keep-alive.
import type { ServerResponse } from 'node:http';

/**
 * Default bound of every streaming HTTP answer (SSE and the gateway's /v3/watch): 1 MiB held by Node per
 * stream. The kernel's socket buffers hold more on top (not the member's heap); a reader that reads never
 * meets the bound, a stalled one costs about this much (plus the one response its watcher holds).
 */
export const STREAM_MAX_BUFFERED_BYTES = 1024 * 1024;

/** While full, how often the stream checks for room when no 'drain' comes (a fallback only). */
const ROOM_POLL_MS = 200;

export interface BoundedStreamOptions {
  /** Bytes buffered for the socket at or past which the stream refuses writes. */
  maxBufferedBytes?: number;
}

export interface WriteOptions {
  /** Write even when full (the caller already took this data from its producer). */
  always?: boolean;
}

/** A response written as a stream, bounded by the bytes it holds for its socket (see the file's header). */
export class BoundedStream {
  readonly maxBufferedBytes: number;
  private readonly drainListeners = new Set<() => void>();
  private readonly closeListeners = new Set<() => void>();
  private full = false;
  private roomPoll: NodeJS.Timeout | undefined;
  private ended = false;

  constructor(
    protected readonly res: ServerResponse,
    options: BoundedStreamOptions = {},
  ) {
    // At least the response's high-water mark, so a write that fills it also arms Node's 'drain'.
    this.maxBufferedBytes = Math.max(
      options.maxBufferedBytes ?? STREAM_MAX_BUFFERED_BYTES,
      res.writableHighWaterMark,
    );
    res.on('drain', this.checkRoom);
    res.once('close', this.onResponseClose);
  }

  /** Bytes written and not yet handed to the kernel (Node's buffer for this response and its socket). */
  get buffered(): number {
    return this.res.writableLength;
  }

  /** The reader is gone or the stream was ended. */
  get closed(): boolean {
    return this.ended || this.res.destroyed || this.res.writableEnded;
  }

  /** True when a write would be taken now (open and below the bound). */
  get writable(): boolean {
    return !this.closed && this.buffered < this.maxBufferedBytes;
  }

  /** Writes a chunk; false = refused (full or closed), nothing written. */
  write(chunk: string | Uint8Array, options: WriteOptions = {}): boolean {
    if (this.closed) return false;
    if (!options.always && !this.writable) {
      this.markFull();
      return false;
    }
    this.res.write(chunk);
    if (!this.writable) this.markFull();
    return true;
  }

  /** Runs `listener` each time the stream has room again after being full; returns an unsubscribe. */
  onDrain(listener: () => void): () => void {
    this.drainListeners.add(listener);
    return () => this.drainListeners.delete(listener);
  }

  /** Runs `listener` once when the reader goes away or the stream ends; returns an unsubscribe. */
  onClose(listener: () => void): () => void {
    if (this.closed) {
      listener();
      return () => undefined;
    }
    this.closeListeners.add(listener);
    return () => this.closeListeners.delete(listener);
  }

  /** Resolves when the stream can take a write again, or is closed. */
  drained(): Promise<void> {
    if (this.writable || this.closed) return Promise.resolve();
    this.markFull();
    return new Promise((resolve) => {
      const done = (): void => {
        offDrain();
        offClose();
        resolve();
      };
      const offDrain = this.onDrain(done);
      const offClose = this.onClose(done);
    });
  }

  /** Ends the response (idempotent). */
  end(chunk?: string): void {
    if (this.ended) return;
    if (!this.res.writableEnded && !this.res.destroyed) {
      if (chunk === undefined) this.res.end();
      else this.res.end(chunk);
    }
    this.finish();
  }

  private markFull(): void {
    this.full = true;
    if (this.roomPoll || this.closed) return;
    this.roomPoll = setInterval(this.checkRoom, ROOM_POLL_MS);
    this.roomPoll.unref();
  }

  private readonly checkRoom = (): void => {
    if (!this.full || this.closed || !this.writable) return;
    this.full = false;
    clearInterval(this.roomPoll);
    this.roomPoll = undefined;
    for (const listener of [...this.drainListeners]) listener();
  };

  private readonly onResponseClose = (): void => this.finish();

  private finish(): void {
    if (this.ended) return;
    this.ended = true;
    clearInterval(this.roomPoll);
    this.roomPoll = undefined;
    this.res.off('drain', this.checkRoom);
    this.res.off('close', this.onResponseClose);
    const listeners = [...this.closeListeners];
    this.closeListeners.clear();
    this.drainListeners.clear();
    for (const listener of listeners) listener();
  }
}

export interface SseEvent {
  /** SSE `event:` (omitted: the client's "message"). */
  event?: string;
  /** SSE `id:` (a revision: what Last-Event-ID sends back on reconnect). */
  id?: string | number;
  /** A string is sent as is (split on newlines), anything else as JSON. */
  data: unknown;
}

export interface SseOpenOptions {
  /** A comment written first (a line for humans and proxies; also flushes the headers through). */
  comment?: string;
  /** SSE `retry:` — the client's reconnect delay in ms. */
  retryMs?: number;
  /** Interval of `: <heartbeatText>` comments that keep proxies from closing a quiet stream. */
  heartbeatMs?: number;
  heartbeatText?: string;
}

/** One Server-Sent Events stream over a response, bounded (see BoundedStream). */
export class SseStream extends BoundedStream {
  private heartbeat: NodeJS.Timeout | undefined;
  private opened = false;

  constructor(res: ServerResponse, options: BoundedStreamOptions = {}) {
    super(res, options);
    this.onClose(() => clearInterval(this.heartbeat));
  }

  /** Formats one event as SSE text. */
  static format(event: SseEvent): string {
    let text = '';
    if (event.id !== undefined) text += `id: ${event.id}\n`;
    if (event.event !== undefined) text += `event: ${event.event}\n`;
    const data = typeof event.data === 'string' ? event.data : JSON.stringify(event.data);
    for (const line of data.split(/\r\n|\r|\n/)) text += `data: ${line}\n`;
    return text + '\n';
  }

  /** Sends the 200 and SSE headers, then the opening comment/retry and starts the heartbeat (once). */
  open(options: SseOpenOptions = {}): void {
    if (this.opened) return;
    this.opened = true;
    const res = this.res;
    if (!res.headersSent) {
      res.statusCode = 200;
      res.setHeader('Content-Type', 'text/event-stream; charset=utf-8');
      res.setHeader('Cache-Control', 'no-cache, no-transform');
      res.setHeader('Connection', 'keep-alive');
      // nginx: do not buffer the stream.
      res.setHeader('X-Accel-Buffering', 'no');
      res.flushHeaders();
    }
    let head = '';
    if (options.comment !== undefined) head += `: ${options.comment}\n`;
    if (options.retryMs !== undefined) head += `retry: ${options.retryMs}\n`;
    if (head !== '') this.write(head + '\n', { always: true });
    if (options.heartbeatMs !== undefined && options.heartbeatMs > 0 && !this.closed) {
      const text = `: ${options.heartbeatText ?? 'keep-alive'}\n\n`;
      this.heartbeat = setInterval(() => this.write(text), options.heartbeatMs);
      this.heartbeat.unref();
    }
  }

  get isOpen(): boolean {
    return this.opened;
  }

  /** Sends one event; false = refused (full or closed) unless `always`. */
  send(event: SseEvent, options: WriteOptions = {}): boolean {
    return this.write(SseStream.format(event), options);
  }

  /** Sends a comment line (`: text`); false = refused. */
  comment(text: string, options: WriteOptions = {}): boolean {
    return this.write(`: ${text}\n\n`, options);
  }
}

/** Newline-delimited JSON over a response (the gateway's streaming calls), bounded (see BoundedStream). */
export class JsonLinesStream extends BoundedStream {
  /** Writes `value` as one JSON line; false = refused (full or closed) unless `always`. */
  sendJson(value: unknown, options: WriteOptions = {}): boolean {
    return this.write(JSON.stringify(value) + '\n', options);
  }
}
