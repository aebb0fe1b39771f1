// What crosses between the I/O worker and the main thread: records packed into one transferred ArrayBuffer per
// chunk. `bench handoff` measured one postMessage per request at 2–5 µs of CPU on each side, packed records at
// 0.2–0.5 µs per request; and a chunk must stay small (≈ 16 calls), else the two threads take turns instead of
// overlapping (docs/architecture.md, "Using more than one core").
//
// A record: type (1 octet), connection (4), stream (4), payload length (4), payload.

/** Records the worker sends. */
export const FromWorker = {
  /** A connection was handed over: payload = JSON ConnectionInfo. */
  OPEN: 1,
  /** Bytes of the connection for the main thread's server (HTTP/1.1 or Node's HTTP/2). */
  BYTES: 2,
  /** The client ended its side. */
  END: 3,
  /** The connection is gone: payload = JSON { bytesRead, bytesWritten } of the socket. */
  CLOSE: 4,
  /** A call the front took: payload = its header fields. */
  CALL: 5,
  /** A piece of a call's request body. */
  CALL_DATA: 6,
  /** The client ended the call's request. */
  CALL_END: 7,
  /** The client went away before the call was answered. */
  CALL_ABORT: 8,
  /** The front answered a client PING (the client ping rule counts them). */
  PING: 9,
  /** The socket took this many bytes the main thread sent (payload: 4-octet count). */
  WROTE: 10,
  /** The worker's edge counters moved: payload = JSON StatsChanges (stats-delta.ts). */
  STATS: 11,
} as const;

/** Records the main thread sends. */
export const ToWorker = {
  BYTES: 2,
  /** The server ended its side. */
  END: 3,
  /** The server closed the connection. */
  CLOSE: 4,
  /** A call's answer: payload = the gRPC-framed message. */
  ANSWER: 5,
  /** A trailers-only answer: payload = 4-octet status code, then the details (UTF-8). */
  STATUS: 6,
  /** Reset the call's stream. */
  RESET: 7,
  /** Stop reading the connection for the main thread (its server is full) / read on. */
  PAUSE: 8,
  RESUME: 9,
} as const;

export const RECORD_HEADER_SIZE = 13;
/**
 * Calls per chunk the worker sends before it sends it at once rather than at the end of the turn: the main
 * thread starts on the first calls while the worker frames the next. The main thread's answers leave once per
 * turn instead: the worker is mostly idle, and waking an idle thread cost ≈ 40 µs of the waker's CPU here (an
 * eventfd write and the wake-up's preemption on a 2-core machine), against ≈ 3 µs to post to a busy one.
 */
export const CALLS_PER_CHUNK = 16;
/** Octets per chunk before it is sent at once. */
const BYTES_PER_CHUNK = 64 * 1024;

/** What the main thread learns of a connection the worker accepted. */
export interface ConnectionInfo {
  kind: 'http' | 'grpc' | 'front';
  remoteAddress?: string;
  remotePort?: number;
  remoteFamily?: string;
  localAddress?: string;
  localPort?: number;
}

/**
 * Collects records and sends them in chunks: at once when a chunk holds CALLS_PER_CHUNK calls (or answers) or
 * BYTES_PER_CHUNK octets, else at the end of the event-loop turn.
 */
export class RecordWriter {
  private buffer = Buffer.allocUnsafeSlow(BYTES_PER_CHUNK);
  private used = 0;
  private calls = 0;
  private scheduled = false;
  private flushing = false;

  /** `beforeFlush` may add records of its own to the chunk about to leave. */
  constructor(
    private readonly send: (chunk: ArrayBuffer) => void,
    private readonly beforeFlush?: () => void,
    private readonly callsPerChunk = CALLS_PER_CHUNK,
  ) {}

  add(type: number, connection: number, stream: number, payload?: Uint8Array, countsAsCall = false): void {
    const length = payload?.length ?? 0;
    this.reserve(RECORD_HEADER_SIZE + length);
    const b = this.buffer;
    let at = this.used;
    b[at] = type;
    b.writeUInt32BE(connection, at + 1);
    b.writeUInt32BE(stream, at + 5);
    b.writeUInt32BE(length, at + 9);
    at += RECORD_HEADER_SIZE;
    if (payload !== undefined && length > 0) b.set(payload, at);
    this.used = at + length;
    if (countsAsCall) this.calls++;
    if (this.flushing) return;
    if (this.calls >= this.callsPerChunk || this.used >= BYTES_PER_CHUNK) this.flush();
    else this.poke();
  }

  /** Makes sure a flush comes at the end of this turn (beforeFlush may have something to add). */
  poke(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    setImmediate(() => this.flush());
  }

  /** A record whose payload is a 4-octet number. */
  addNumber(type: number, connection: number, stream: number, value: number): void {
    const payload = Buffer.allocUnsafe(4);
    payload.writeUInt32BE(value >>> 0, 0);
    this.add(type, connection, stream, payload);
  }

  addJson(type: number, connection: number, value: unknown): void {
    this.add(type, connection, 0, Buffer.from(JSON.stringify(value)));
  }

  flush(): void {
    this.scheduled = false;
    if (this.beforeFlush !== undefined) {
      this.flushing = true;
      try {
        this.beforeFlush();
      } finally {
        this.flushing = false;
      }
    }
    if (this.used === 0) return;
    const chunk = new ArrayBuffer(this.used);
    new Uint8Array(chunk).set(this.buffer.subarray(0, this.used));
    this.used = 0;
    this.calls = 0;
    this.send(chunk);
  }

  private reserve(size: number): void {
    if (this.used + size <= this.buffer.length) return;
    const bigger = Buffer.allocUnsafeSlow(Math.max(this.buffer.length * 2, this.used + size));
    this.buffer.copy(bigger, 0, 0, this.used);
    this.buffer = bigger;
  }
}

/** Calls `each` for every record of a chunk; payloads are views into it. */
export function readRecords(
  chunk: ArrayBuffer,
  each: (type: number, connection: number, stream: number, payload: Buffer) => void,
): void {
  const b = Buffer.from(chunk);
  let at = 0;
  while (at + RECORD_HEADER_SIZE <= b.length) {
    const length = b.readUInt32BE(at + 9);
    const start = at + RECORD_HEADER_SIZE;
    each(b[at], b.readUInt32BE(at + 1), b.readUInt32BE(at + 5), b.subarray(start, start + length));
    at = start + length;
  }
}

/** A call's header fields as a payload: count, then per field name and value with their lengths. */
export function encodeHeaders(headers: ReadonlyMap<string, string>): Buffer {
  let size = 2;
  for (const [name, value] of headers) size += 6 + Buffer.byteLength(name) + Buffer.byteLength(value);
  const out = Buffer.allocUnsafe(size);
  out.writeUInt16BE(headers.size, 0);
  let at = 2;
  for (const [name, value] of headers) {
    const n = out.write(name, at + 2, 'latin1');
    out.writeUInt16BE(n, at);
    at += 2 + n;
    const v = out.write(value, at + 4, 'latin1');
    out.writeUInt32BE(v, at);
    at += 4 + v;
  }
  return out.subarray(0, at);
}

export function decodeHeaders(payload: Buffer): Map<string, string> {
  const headers = new Map<string, string>();
  const count = payload.readUInt16BE(0);
  let at = 2;
  for (let i = 0; i < count; i++) {
    const n = payload.readUInt16BE(at);
    const name = payload.toString('latin1', at + 2, at + 2 + n);
    at += 2 + n;
    const v = payload.readUInt32BE(at);
    headers.set(name, payload.toString('latin1', at + 4, at + 4 + v));
    at += 4 + v;
  }
  return headers;
}
