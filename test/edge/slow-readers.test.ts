// Backpressure on every streaming HTTP surface (issue 14): readers that stop reading must not grow the
// member's memory, and once they read again they get every event in order (or the compaction).
//
// Each test opens READERS raw sockets that send the streaming request and then never read (the kernel's
// buffers fill, then Node's), writes far more than a stream's bound (WRITE_MIB to every reader) through
// another client while sampling the member's VmRSS, and asserts the growth it holds stays under
// READERS × PER_READER_BOUNDS × the stream's bound + SLACK_MIB (the write path's own memory). Then the readers
// read again and must receive each written revision exactly once, in order: the member parked their
// watchers (the store kept the refused response) and resumed them from the parked revision on drain.
//
// Measured (2 cores, loopback; 20 readers, 12 MiB to each; a fresh member per test), growth held while the
// readers stall: after the fix +54..+72 (gateway), +66..+73 (registry), +103..+112 (config), +67..+71
// (console); before it (Node buffering everything for a stalled reader) +291/+283, +217, +528, and +120 for
// the console feed, which already stopped at 4 MiB per stream. The limit, 20 × 4 × 1 MiB + 80 = 160 MiB, lies
// between. CAIRN_E2E_SLOW_READERS=0 runs the writes alone (the write path's own growth: +21..+70 MiB).
import { readFileSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import * as grpc from '@grpc/grpc-js';
import { etcdRoot, loadEtcdServices } from '@cairn/api';
import { cleanupAll, sleep, startMember, stopMember, waitFor, type Member } from '../support';

const READERS = Number(process.env.CAIRN_E2E_SLOW_READERS ?? 20);
/**
 * What every reader is sent, at least: several times the kernel's socket buffers plus the stream's bound.
 * Events stay below V8's large-object size (128 KiB; the console feed sends a value three times, the config
 * stream twice): the garbage of the events converted before a stream filled then goes with the collections
 * the writes themselves cause, while large-object garbage waits for a major GC that nothing triggers once the
 * writes stop, and RSS would show it instead of what the stalled streams hold.
 */
const WRITE_MIB = 12;
/**
 * Memory the write path itself takes and V8's garbage before a collection: the same writes with no reader
 * at all (CAIRN_E2E_SLOW_READERS=0) grew a fresh member by 21–70 MiB (config's publishes the most), after a
 * warm-up round that runs first so the heap is already grown.
 */
const SLACK_MIB = 80;
/** The per-stream bound (libs/edge/src/sse-stream.ts STREAM_MAX_BUFFERED_BYTES): 1 MiB for SSE and /v3/watch. */
const BOUND_MIB = 1;
/**
 * What a stalled stream may cost in all, in bounds: the buffered chunks (held as strings, and again as the
 * native copy a vectored write makes of them), the one response its parked watcher holds, and what the
 * registry's conversion queue had taken before the stream filled.
 */
const PER_READER_BOUNDS = 4;

let member: Member;
const sockets: Socket[] = [];

// A member per test: one surface's garbage (a resumed catch-up is megabytes per reader) must not count as
// the next one's baseline or growth.
beforeEach(async () => {
  member = await startMember();
});

afterEach(async () => {
  for (const socket of sockets.splice(0)) socket.destroy();
  await stopMember(member);
});

afterAll(async () => {
  await cleanupAll();
});

function rssMiB(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = /^VmRSS:\s+(\d+) kB$/m.exec(status);
  if (!kb) throw new Error(`no VmRSS in /proc/${pid}/status`);
  return Number(kb[1]) / 1024;
}

/** Samples the member's RSS until stopped; returns the highest seen. */
function sampleRss(pid: number): { stop: () => number } {
  let peak = rssMiB(pid);
  const sample = (): void => {
    try {
      peak = Math.max(peak, rssMiB(pid));
    } catch {
      // the process went away: the test fails elsewhere
    }
  };
  const timer = setInterval(sample, 50);
  return {
    stop: () => {
      clearInterval(timer);
      sample();
      return peak;
    },
  };
}

/** What a reader keeps of each SSE event or JSON line (not the payloads: 12 MiB per reader). */
interface Received {
  /** SSE event name, or 'result' for a JSON line. */
  event: string;
  /** The SSE id, or the events' mod_revisions of a JSON line. */
  revisions: number[];
  /** A JSON line's compact_revision. */
  compactRevision?: number;
}

/**
 * A raw HTTP/1.1 client that sends one streaming request and reads nothing until `resume()`: the server's
 * writes fill the kernel's buffers and then whatever the server keeps. After resume it decodes the chunked
 * body into lines (SSE and newline-delimited JSON are both line-based) and keeps what each event says.
 */
class StalledReader {
  readonly received: Received[] = [];
  private sse: Received | undefined;
  private raw: Buffer = Buffer.alloc(0);
  private headersDone = false;
  private chunkLeft = 0;
  private partial: Buffer[] = [];
  status = 0;
  /** The response's status line and headers, once received. */
  head = '';

  private constructor(
    private readonly socket: Socket,
    private readonly format: 'sse' | 'json',
  ) {}

  static async open(
    path: string,
    init: { method?: string; body?: string; format?: 'sse' | 'json' } = {},
  ): Promise<StalledReader> {
    const socket = connect(member.plan.clientPort, '127.0.0.1');
    sockets.push(socket);
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', resolve);
      socket.once('error', reject);
    });
    socket.on('error', () => undefined);
    const body = init.body ?? '';
    socket.write(
      `${init.method ?? 'GET'} ${path} HTTP/1.1\r\nHost: 127.0.0.1:${member.plan.clientPort}\r\n` +
        (body ? `Content-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n` : '') +
        `\r\n${body}`,
    );
    return new StalledReader(socket, init.format ?? 'sse');
  }

  /** Starts reading (and keeps reading). */
  resume(): void {
    this.socket.on('data', (chunk: Buffer) => this.take(chunk));
  }

  close(): void {
    this.socket.destroy();
  }

  private take(chunk: Buffer): void {
    this.raw = this.raw.length === 0 ? chunk : Buffer.concat([this.raw, chunk]);
    if (!this.headersDone) {
      const end = this.raw.indexOf('\r\n\r\n');
      if (end < 0) return;
      const head = this.raw.subarray(0, end).toString('latin1');
      this.status = Number(/^HTTP\/1\.1 (\d+)/.exec(head)?.[1] ?? 0);
      this.head = head;
      if (!/transfer-encoding: chunked/i.test(head)) {
        this.socket.destroy();
        return;
      }
      this.headersDone = true;
      this.raw = this.raw.subarray(end + 4);
    }
    // Chunked transfer coding: "<hex size>\r\n<data>\r\n" ...
    for (;;) {
      if (this.chunkLeft > 0) {
        const n = Math.min(this.chunkLeft, this.raw.length);
        if (n === 0) return;
        this.body(this.raw.subarray(0, n));
        this.raw = this.raw.subarray(n);
        this.chunkLeft -= n;
        if (this.chunkLeft > 0) return;
        this.chunkLeft = -2; // the CRLF after the data
      }
      if (this.chunkLeft === -2) {
        if (this.raw.length < 2) return;
        this.raw = this.raw.subarray(2);
        this.chunkLeft = 0;
      }
      const eol = this.raw.indexOf('\r\n');
      if (eol < 0) return;
      const size = parseInt(this.raw.subarray(0, eol).toString('latin1'), 16);
      this.raw = this.raw.subarray(eol + 2);
      if (size === 0) return; // the end of the body
      this.chunkLeft = size;
    }
  }

  private body(data: Buffer): void {
    // A catch-up answer can be one line of many MiB: keep its pieces, join them once at its end.
    let from = 0;
    for (let eol = data.indexOf(10); eol >= 0; eol = data.indexOf(10, from)) {
      this.partial.push(data.subarray(from, eol));
      this.line(Buffer.concat(this.partial).toString('utf8'));
      this.partial = [];
      from = eol + 1;
    }
    if (from < data.length) this.partial.push(Buffer.from(data.subarray(from)));
  }

  /** The revisions of the events named `event`, in the order received. */
  revisions(event: string): number[] {
    return this.received.filter((r) => r.event === event).flatMap((r) => r.revisions);
  }

  private line(line: string): void {
    if (this.format === 'json') {
      const parsed = JSON.parse(line) as {
        result?: { events?: { kv: { mod_revision: string } }[]; compact_revision?: string };
      };
      if (!parsed.result) throw new Error(`not a watch result: ${line.slice(0, 300)}`);
      const { events, compact_revision: compact } = parsed.result;
      this.received.push({
        event: 'result',
        revisions: (events ?? []).map((e) => Number(e.kv.mod_revision)),
        ...(compact === undefined ? {} : { compactRevision: Number(compact) }),
      });
      return;
    }
    if (line === '') {
      if (this.sse) this.received.push(this.sse);
      this.sse = undefined;
      return;
    }
    if (line.startsWith(':') || line.startsWith('retry:')) return;
    this.sse ??= { event: 'message', revisions: [] };
    if (line.startsWith('event: ')) this.sse.event = line.slice(7);
    else if (line.startsWith('id: ')) this.sse.revisions = [Number(line.slice(4))];
  }
}

async function gateway<T>(path: string, body: object): Promise<T> {
  const res = await fetch(`${member.clientUrl}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  const text = await res.text();
  if (res.status !== 200) throw new Error(`${path}: ${res.status} ${text}`);
  return JSON.parse(text) as T;
}

async function currentRevision(): Promise<number> {
  const res = await gateway<{ header: { revision?: string } }>('/v3/kv/range', { key: b64('\0') });
  // The protobuf JSON mapping leaves out a revision of 0 (a fresh member).
  return Number(res.header.revision ?? 0);
}

function b64(text: string): string {
  return Buffer.from(text, 'utf8').toString('base64');
}

/** Runs `count` writes, `concurrency` at a time; returns their revisions, sorted. */
async function writeAll(count: number, concurrency: number, write: (i: number) => Promise<number>) {
  const revisions: number[] = [];
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < count) revisions.push(await write(next++));
    }),
  );
  return revisions.sort((a, b) => a - b);
}

/**
 * A gRPC server-streaming Watch (registry or config) whose client stops reading at once: grpc-js then stops
 * granting HTTP/2 flow-control window, the member's writes back up in its stream, and its flow (GrpcStreamFlow)
 * parks the watch. After resume() it keeps each event's type and revision.
 */
class GrpcStalledReader implements Stallable {
  readonly received: Received[] = [];
  readonly head = 'grpc';
  private readonly client: grpc.Client;
  private readonly call: grpc.ClientReadableStream<{ type?: string; kind?: string; revision?: string }>;

  constructor(service: 'registry' | 'config', request: object) {
    const pkg = loadEtcdServices().cairn;
    const Ctor = service === 'registry' ? pkg.registry.v1.Registry : pkg.config.v1.Config;
    this.client = new Ctor(`127.0.0.1:${member.plan.clientPort}`, grpc.credentials.createInsecure());
    const watch = (this.client as unknown as Record<string, (req: object) => typeof this.call>).Watch!;
    this.call = watch.call(this.client, request);
    this.call.on('data', (event) => {
      this.received.push({ event: event.type ?? event.kind ?? '', revisions: [Number(event.revision ?? 0)] });
    });
    this.call.on('error', () => undefined);
    this.call.pause();
  }

  resume(): void {
    this.call.resume();
  }

  close(): void {
    this.call.cancel();
    this.client.close();
  }

  revisions(event: string): number[] {
    return this.received.filter((r) => r.event === event).flatMap((r) => r.revisions);
  }
}

/**
 * An etcd Watch on a connection the gRPC front takes (it opens with a KV Range), from a client that opens its
 * HTTP/2 windows as far as they go and reads nothing until resume(): flow control bounds nothing, so only the
 * front's own bound on what waits in the socket (libs/edge grpc-front, MAX_QUEUED_OUTPUT) keeps the member's
 * memory. After resume it reads the watch's responses and keeps each PUT's mod_revision.
 */
class FrontWindowOpenReader implements Stallable {
  readonly received: Received[] = [];
  readonly head = 'h2 front';
  private rest: Buffer = Buffer.alloc(0);
  private message: Buffer = Buffer.alloc(0);

  private constructor(private readonly socket: Socket) {}

  static async open(prefix: string, fromRevision: number): Promise<FrontWindowOpenReader> {
    const socket = connect(member.plan.clientPort, '127.0.0.1');
    sockets.push(socket);
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', resolve);
      socket.once('error', reject);
    });
    socket.on('error', () => undefined);
    socket.pause();
    const frame = (type: number, flags: number, id: number, payload: Buffer): Buffer => {
      const header = Buffer.alloc(9);
      header.writeUIntBE(payload.length, 0, 3);
      header[3] = type;
      header[4] = flags;
      header.writeUInt32BE(id, 5);
      return Buffer.concat([header, payload]);
    };
    const literal = (name: string, value: string): Buffer =>
      Buffer.concat([
        Buffer.from([0, name.length]),
        Buffer.from(name),
        Buffer.from([value.length]),
        Buffer.from(value),
      ]);
    const call = (id: number, path: string, typeName: string, request: object, end: boolean): Buffer => {
      const type = etcdRoot().lookupType(typeName);
      const body = Buffer.from(type.encode(type.fromObject(request)).finish());
      const message = Buffer.concat([Buffer.from([0, 0, 0, 0, 0]), body]);
      message.writeUInt32BE(body.length, 1);
      const block = Buffer.concat(
        [
          ':method',
          'POST',
          ':scheme',
          'http',
          ':path',
          path,
          ':authority',
          `127.0.0.1:${member.plan.clientPort}`,
          'content-type',
          'application/grpc',
          'te',
          'trailers',
        ].reduce<Buffer[]>(
          (out, _, i, all) => (i % 2 === 0 ? [...out, literal(all[i]!, all[i + 1]!)] : out),
          [],
        ),
      );
      return Buffer.concat([frame(1, 4, id, block), frame(0, end ? 1 : 0, id, message)]);
    };
    const settings = Buffer.alloc(6);
    settings.writeUInt16BE(4, 0); // SETTINGS_INITIAL_WINDOW_SIZE
    settings.writeUInt32BE(0x7fffffff, 2);
    const increment = Buffer.alloc(4);
    increment.writeUInt32BE(0x7fffffff - 65_535);
    const key = Buffer.from(prefix);
    socket.write(
      Buffer.concat([
        Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n'),
        frame(4, 0, 0, settings),
        frame(8, 0, 0, increment),
        call(1, '/etcdserverpb.KV/Range', 'etcdserverpb.RangeRequest', { key }, true),
        call(
          3,
          '/etcdserverpb.Watch/Watch',
          'etcdserverpb.WatchRequest',
          {
            create_request: {
              key,
              range_end: Buffer.from(prefix.slice(0, -1) + '0'),
              start_revision: fromRevision + 1,
            },
          },
          false,
        ),
      ]),
    );
    return new FrontWindowOpenReader(socket);
  }

  resume(): void {
    this.socket.on('data', (chunk: Buffer) => this.take(chunk));
    this.socket.resume();
  }

  private take(chunk: Buffer): void {
    this.rest = this.rest.length === 0 ? chunk : Buffer.concat([this.rest, chunk]);
    let at = 0;
    while (at + 9 <= this.rest.length) {
      const length = this.rest.readUIntBE(at, 3);
      if (at + 9 + length > this.rest.length) break;
      const id = this.rest.readUInt32BE(at + 5) & 0x7fffffff;
      if (this.rest[at + 3] === 0 && id === 3) this.onData(this.rest.subarray(at + 9, at + 9 + length));
      at += 9 + length;
    }
    this.rest = Buffer.from(this.rest.subarray(at));
  }

  private onData(data: Buffer): void {
    this.message = Buffer.concat([this.message, data]);
    const type = etcdRoot().lookupType('etcdserverpb.WatchResponse');
    while (this.message.length >= 5 && this.message.length >= 5 + this.message.readUInt32BE(1)) {
      const length = this.message.readUInt32BE(1);
      const response = type.toObject(type.decode(this.message.subarray(5, 5 + length)), { longs: Number });
      for (const event of (response.events ?? []) as { type?: number; kv?: { mod_revision?: number } }[]) {
        this.received.push({
          event: event.type ? 'DELETE' : 'PUT',
          revisions: [event.kv?.mod_revision ?? 0],
        });
      }
      this.message = this.message.subarray(5 + length);
    }
  }

  close(): void {
    this.socket.destroy();
  }

  revisions(event: string): number[] {
    return this.received.filter((r) => r.event === event).flatMap((r) => r.revisions);
  }
}

/** A reader that stalls until resumed: a raw HTTP/1.1 one, or a gRPC client stream (GrpcStalledReader). */
interface Stallable {
  readonly received: Received[];
  readonly head: string;
  resume(): void;
  close(): void;
  revisions(event: string): number[];
}

interface Run<R extends Stallable = StalledReader> {
  readers: R[];
  revisions: number[];
  baselineMiB: number;
  peakMiB: number;
}

/**
 * Opens the readers, writes `count` changes while they stall, and checks the RSS bound; the caller then
 * checks what the readers got after `resumeAll`.
 */
async function stallAndWrite<R extends Stallable = StalledReader>(
  surface: string,
  boundMiB: number,
  open: (fromRevision: number) => Promise<R>,
  count: number,
  write: (i: number) => Promise<number>,
): Promise<Run<R>> {
  const pid = member.pid!;
  // Warm-up: the same writes once without readers, so the write path's own memory (raft log, LevelDB,
  // request parsing, V8 heap) is already taken and the measured growth is the readers'.
  await writeAll(count, 8, (i) => write(count + i));
  const from = await currentRevision();
  const readers: R[] = [];
  for (let i = 0; i < READERS; i++) readers.push(await open(from));
  await sleep(300); // the member has opened their watches
  const baselineMiB = rssMiB(pid);
  const sampler = sampleRss(pid);
  const revisions = await writeAll(count, 8, write);
  await sleep(1000); // the member pushes what it can to the stalled readers
  const peakMiB = sampler.stop();
  // What the stalled readers hold: the lowest RSS over a while with them still stalled. The peak also holds
  // the garbage of the events converted before the streams filled (big strings, freed by the next major
  // GC — which a busy machine delays), so it is printed, not asserted.
  let heldMiB = rssMiB(pid);
  for (let i = 0; i < 30; i++) {
    await sleep(50);
    heldMiB = Math.min(heldMiB, rssMiB(pid));
  }
  const limitMiB = READERS * boundMiB * PER_READER_BOUNDS + SLACK_MIB;
  const growth = heldMiB - baselineMiB;
  console.log(
    `${surface}: ${READERS} stalled readers, ${count} writes: RSS ${baselineMiB.toFixed(0)} → held ` +
      `${heldMiB.toFixed(0)} MiB (+${growth.toFixed(0)}; limit +${limitMiB}; peak ${peakMiB.toFixed(0)})`,
  );
  expect(growth, `${surface}: RSS growth in MiB held with ${READERS} stalled readers`).toBeLessThan(limitMiB);
  return { readers, revisions, baselineMiB, peakMiB };
}

/** Waits until a resumed reader has seen `last`; a timeout says what it did see. */
async function reachRevision(
  surface: string,
  index: number,
  reader: Stallable,
  lastSeen: () => number | undefined,
  last: number,
): Promise<void> {
  const deadline = Date.now() + 20_000;
  while (lastSeen() !== last) {
    if (Date.now() > deadline) {
      throw new Error(
        `${surface} reader ${index}: expected to reach revision ${last}, saw up to ${lastSeen()} ` +
          `(${reader.received.length} events; response head: ${JSON.stringify(reader.head)})`,
      );
    }
    await sleep(50);
  }
}

function resumeAll(readers: Stallable[]): void {
  for (const reader of readers) reader.resume();
}

function sameRevisions(surface: string, reader: number, seen: number[], expected: number[]): void {
  // Compare compactly: the first difference is what a failure needs.
  const firstDiff = expected.findIndex((revision, i) => seen[i] !== revision);
  expect(
    { count: seen.length, firstDiff: firstDiff < 0 && seen.length === expected.length ? -1 : firstDiff },
    `${surface} reader ${reader}: revisions seen vs written (first difference at index ${firstDiff}: ` +
      `saw ${seen[firstDiff]}, wrote ${expected[firstDiff]})`,
  ).toEqual({ count: expected.length, firstDiff: -1 });
}

const payload = (bytes: number, i: number): string => `${i}:`.padEnd(bytes, 'abcdefghij');

/**
 * The readers read again: each must reach the last written revision and have seen every written revision of
 * `event` exactly once, in order (an HTTP reader with status 200).
 */
async function expectEveryRevision(surface: string, run: Run<Stallable>, event: string): Promise<void> {
  resumeAll(run.readers);
  const last = run.revisions[run.revisions.length - 1];
  for (const [i, reader] of run.readers.entries()) {
    await reachRevision(surface, i, reader, () => reader.revisions(event).at(-1), last);
    if (reader instanceof StalledReader) expect(reader.status).toBe(200);
    sameRevisions(surface, i, reader.revisions(event), run.revisions);
    reader.close();
  }
}

/** Stalled readers on the JSON gateway's /v3/watch of `prefix`, while 64 KiB values are written under it. */
function stallGatewayWatch(prefix: string, label: string): Promise<Run> {
  const end = prefix.slice(0, -1) + '0';
  const body = (from: number): string =>
    JSON.stringify({
      create_request: { key: b64(prefix), range_end: b64(end), start_revision: String(from + 1) },
    });
  const valueBytes = 64 * 1024;
  const count = Math.ceil((WRITE_MIB * 1024 * 1024) / valueBytes);
  return stallAndWrite(
    label,
    BOUND_MIB,
    (from) => StalledReader.open('/v3/watch', { method: 'POST', body: body(from), format: 'json' }),
    count,
    async (i) => {
      const res = await gateway<{ header: { revision: string } }>('/v3/kv/put', {
        key: b64(`${prefix}k${i % 16}`),
        value: b64(payload(valueBytes, i)),
      });
      return Number(res.header.revision);
    },
  );
}

describe('slow readers: memory stays bounded and nothing is lost', () => {
  it('JSON gateway /v3/watch', async () => {
    const run = await stallGatewayWatch('/slow/gateway/', 'gateway /v3/watch');
    await expectEveryRevision('gateway', run, 'result');
  });

  it('JSON gateway /v3/watch: a parked watcher whose revision is compacted gets the compaction', async () => {
    const run = await stallGatewayWatch('/slow/compacted/', 'gateway /v3/watch (compacted)');
    const last = run.revisions[run.revisions.length - 1];
    await gateway('/v3/kv/compaction', { revision: String(last) });
    resumeAll(run.readers);
    for (const [i, reader] of run.readers.entries()) {
      await waitFor(() => (reader.received.some((r) => r.compactRevision !== undefined) ? true : undefined), {
        timeoutMs: 20_000,
        what: `gateway reader ${i} getting the compaction`,
      });
      const notice = reader.received.findIndex((r) => r.compactRevision !== undefined);
      expect(reader.received[notice].compactRevision).toBe(last);
      // Before the notice: the written revisions from the first on, in order, without a gap; it parked
      // before the end.
      const seen = reader.received.slice(0, notice).flatMap((r) => r.revisions);
      expect(seen.length, `gateway reader ${i}: events before the compaction`).toBeGreaterThan(0);
      expect(seen.length).toBeLessThan(run.revisions.length);
      sameRevisions('gateway (compacted)', i, seen, run.revisions.slice(0, seen.length));
      reader.close();
    }
  });

  for (const transport of ['SSE', 'gRPC'] as const)
    it(`registry ${transport} watch`, async () => {
      const base = `${member.clientUrl}/api/registry/v1/namespaces/slow/services/orders`;
      const instances = 8;
      for (let n = 0; n < instances; n++) {
        const res = await fetch(`${base}/instances/o${n}`, {
          method: 'PUT',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ address: { host: '10.0.0.1', port: 8000 + n }, ttl: 600 }),
        });
        expect(res.status, await res.text()).toBe(200);
      }
      const metadataBytes = 32 * 1024;
      const count = Math.ceil((WRITE_MIB * 1024 * 1024) / metadataBytes);
      const run = await stallAndWrite<Stallable>(
        `registry ${transport}`,
        BOUND_MIB,
        async (from) =>
          transport === 'SSE'
            ? StalledReader.open(`/api/registry/v1/namespaces/slow/services/orders/watch?revision=${from}`)
            : new GrpcStalledReader('registry', {
                namespace: 'slow',
                service: 'orders',
                start_revision: String(from + 1),
              }),
        count,
        async (i) => {
          // One writer per instance at a time (8 writers, 8 instances): PATCHes never race on one record.
          const res = await fetch(`${base}/instances/o${i % instances}`, {
            method: 'PATCH',
            headers: { 'content-type': 'application/json' },
            body: JSON.stringify({ metadata: { blob: payload(metadataBytes, i) } }),
          });
          const text = await res.text();
          if (res.status !== 200) throw new Error(`PATCH: ${res.status} ${text}`);
          return Number((JSON.parse(text) as { mod_revision: string }).mod_revision);
        },
      );
      await expectEveryRevision(`registry ${transport}`, run, 'updated');
    });

  for (const transport of ['SSE', 'gRPC'] as const)
    it(`config ${transport} watch`, async () => {
      const base = `${member.clientUrl}/api/config/v1/namespaces/slow/apps/billing`;
      const items = 8;
      for (let n = 0; n < items; n++) {
        const res = await fetch(`${base}/items/item${n}.txt`, {
          method: 'PUT',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ format: 'text' }),
        });
        expect(res.status, await res.text()).toBe(200);
      }
      const contentBytes = 32 * 1024;
      const count = Math.ceil((WRITE_MIB * 1024 * 1024) / contentBytes);
      const run = await stallAndWrite<Stallable>(
        `config ${transport}`,
        BOUND_MIB,
        async (from) =>
          transport === 'SSE'
            ? StalledReader.open(`/api/config/v1/namespaces/slow/apps/billing/watch?revision=${from}`)
            : new GrpcStalledReader('config', { namespace: 'slow', app: 'billing', revision: String(from) }),
        count,
        async (i) => {
          // One writer per item at a time: publishes never conflict.
          const res = await fetch(`${base}/items/item${i % items}.txt/publish`, {
            method: 'POST',
            headers: { 'content-type': 'application/json' },
            body: JSON.stringify({ content: payload(contentBytes, i), author: 'slow-readers' }),
          });
          const text = await res.text();
          if (res.status !== 201) throw new Error(`publish: ${res.status} ${text}`);
          return Number((JSON.parse(text) as { revision: number }).revision);
        },
      );
      await expectEveryRevision(`config ${transport}`, run, 'change');
    });

  it('etcd Watch on a gRPC front connection whose client opens its windows and does not read', async () => {
    const prefix = '/slow-front/';
    const valueBytes = 32 * 1024;
    const count = Math.ceil((WRITE_MIB * 1024 * 1024) / valueBytes);
    const run = await stallAndWrite<Stallable>(
      'etcd Watch (gRPC front, windows open)',
      BOUND_MIB,
      (from) => FrontWindowOpenReader.open(prefix, from),
      count,
      async (i) => {
        const res = await gateway<{ header: { revision: string } }>('/v3/kv/put', {
          key: b64(`${prefix}k${i % 16}`),
          value: b64(payload(valueBytes, i)),
        });
        return Number(res.header.revision);
      },
    );
    await expectEveryRevision('etcd Watch (gRPC front)', run, 'PUT');
  });

  it('console SSE watch feed', async () => {
    const prefix = '/slow/console/';
    const valueBytes = 32 * 1024;
    const count = Math.ceil((WRITE_MIB * 1024 * 1024) / valueBytes);
    const run = await stallAndWrite(
      'console SSE',
      BOUND_MIB,
      (from) =>
        StalledReader.open(`/api/console/v1/watch?prefix=${encodeURIComponent(prefix)}&start=${from + 1}`),
      count,
      async (i) => {
        const res = await gateway<{ header: { revision: string } }>('/v3/kv/put', {
          key: b64(`${prefix}k${i % 16}`),
          value: b64(payload(valueBytes, i)),
        });
        return Number(res.header.revision);
      },
    );
    await expectEveryRevision('console', run, 'change');
  });
});
