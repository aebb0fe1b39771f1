// A single-producer single-consumer byte ring in a SharedArrayBuffer: the producer appends packed batches and
// wakes the consumer through Atomics.notify; the consumer, on either thread's event loop, waits with
// Atomics.waitAsync (the main thread may not block in Atomics.wait). One ring per direction.

const WRITE = 0; // byte offset the producer writes next
const READ = 1; // byte offset the consumer reads next
const SEQ = 2; // bumped on every publish: what a waiting consumer waits on
const HEADER_BYTES = 16;
const WRAP = 0xffffffff; // length marker: the rest of the ring is unused, the next record starts at 0

// Atomics.waitAsync is in Node since 16, but in TypeScript's lib only from es2024 (this project targets es2022).
type WaitAsync = (
  array: Int32Array,
  index: number,
  value: number,
  timeoutMs: number,
) => { async: false; value: string } | { async: true; value: Promise<string> };
const waitAsync = (Atomics as unknown as { waitAsync: WaitAsync }).waitAsync;

export function createRingBuffer(capacity: number): SharedArrayBuffer {
  return new SharedArrayBuffer(HEADER_BYTES + capacity);
}

export class RingProducer {
  private readonly header: Int32Array;
  private readonly data: Uint8Array;
  private readonly view: DataView;

  constructor(buffer: SharedArrayBuffer) {
    this.header = new Int32Array(buffer, 0, HEADER_BYTES / 4);
    this.data = new Uint8Array(buffer, HEADER_BYTES);
    this.view = new DataView(buffer, HEADER_BYTES);
  }

  /** Append one record and wake the consumer. False when it does not fit now (the caller keeps it). */
  publish(record: Uint8Array): boolean {
    const capacity = this.data.length;
    let write = Atomics.load(this.header, WRITE);
    const read = Atomics.load(this.header, READ);
    const needed = 4 + record.length;
    if (write + needed > capacity) {
      // Not enough room before the end: mark the tail unused and start over at 0, if the reader has left it.
      if (read > write || needed >= read) return false;
      if (write + 4 <= capacity) this.view.setUint32(write, WRAP, true);
      write = 0;
    } else if (read > write && write + needed >= read) {
      return false;
    }
    this.view.setUint32(write, record.length, true);
    this.data.set(record, write + 4);
    Atomics.store(this.header, WRITE, write + needed);
    Atomics.add(this.header, SEQ, 1);
    Atomics.notify(this.header, SEQ);
    return true;
  }
}

export class RingConsumer {
  private readonly header: Int32Array;
  private readonly data: Uint8Array;
  private readonly view: DataView;
  private stopped = false;

  constructor(buffer: SharedArrayBuffer) {
    this.header = new Int32Array(buffer, 0, HEADER_BYTES / 4);
    this.data = new Uint8Array(buffer, HEADER_BYTES);
    this.view = new DataView(buffer, HEADER_BYTES);
  }

  /** Hand every record published from now on to `onRecord` (a copy: the ring space is reused). */
  async consume(onRecord: (record: Uint8Array) => void): Promise<void> {
    while (!this.stopped) {
      const seen = Atomics.load(this.header, SEQ);
      this.drain(onRecord);
      const wait = waitAsync(this.header, SEQ, seen, 200);
      if (wait.async) await wait.value;
    }
  }

  stop(): void {
    this.stopped = true;
  }

  private drain(onRecord: (record: Uint8Array) => void): void {
    const capacity = this.data.length;
    let read = Atomics.load(this.header, READ);
    const write = Atomics.load(this.header, WRITE);
    while (read !== write) {
      const length = read + 4 <= capacity ? this.view.getUint32(read, true) : WRAP;
      if (length === WRAP) {
        read = 0;
        continue;
      }
      onRecord(this.data.slice(read + 4, read + 4 + length));
      read += 4 + length;
    }
    Atomics.store(this.header, READ, read);
  }
}
