// HTTP/2 frame sequences for the client URL, written on a raw TCP socket: a valid connection (preface,
// SETTINGS, a few gRPC and non-gRPC requests) that is then bent: truncated, reordered, reset at a random
// point (RST_STREAM anywhere, in the same write), bad lengths/flags/stream ids, HPACK garbage, huge header
// blocks, CONTINUATION floods, WINDOW_UPDATE/PING/GOAWAY/PRIORITY/unknown frames, bad SETTINGS.
import { etcdRoot } from '@cairn/api';
import { encodeObject, grpcFrame, randomObject } from './grpc-messages';
import { mutateBytes, type Rng } from './rng';

export const PREFACE = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 'latin1');

export const FrameType = {
  DATA: 0,
  HEADERS: 1,
  PRIORITY: 2,
  RST_STREAM: 3,
  SETTINGS: 4,
  PUSH_PROMISE: 5,
  PING: 6,
  GOAWAY: 7,
  WINDOW_UPDATE: 8,
  CONTINUATION: 9,
} as const;

const END_STREAM = 0x1;
const ACK = 0x1;
const END_HEADERS = 0x4;
const PADDED = 0x8;
const PRIORITY_FLAG = 0x20;

export interface H2Input {
  readonly kind: 'h2';
  readonly how: string;
  /** The bytes, in the writes they are sent in. */
  readonly writes: readonly Buffer[];
  /** After the last write: keep reading until the server closes (bounded), half-close, or destroy. */
  readonly ending: 'wait' | 'end' | 'destroy';
}

export function frame(
  type: number,
  flags: number,
  streamId: number,
  payload: Buffer,
  length = payload.length,
): Buffer {
  const header = Buffer.alloc(9);
  header.writeUIntBE(length & 0xffffff, 0, 3);
  header[3] = type & 0xff;
  header[4] = flags & 0xff;
  header.writeUInt32BE(streamId >>> 0, 5);
  return Buffer.concat([header, payload]);
}

/** HPACK integer with an N-bit prefix (RFC 7541 §5.1). */
export function hpackInt(value: number, prefixBits: number, firstByteFlags = 0): Buffer {
  const max = (1 << prefixBits) - 1;
  if (value < max) return Buffer.from([firstByteFlags | value]);
  const out = [firstByteFlags | max];
  let rest = value - max;
  while (rest >= 128) {
    out.push((rest % 128) + 128);
    rest = Math.floor(rest / 128);
  }
  out.push(rest);
  return Buffer.from(out);
}

function hpackString(text: string | Buffer): Buffer {
  const bytes = typeof text === 'string' ? Buffer.from(text, 'latin1') : text;
  return Buffer.concat([hpackInt(bytes.length, 7), bytes]);
}

/** Literal header field without indexing, new name (RFC 7541 §6.2.2). */
export function hpackLiteral(name: string, value: string | Buffer): Buffer {
  return Buffer.concat([Buffer.from([0x00]), hpackString(name), hpackString(value)]);
}

export function headerBlock(headers: readonly (readonly [string, string | Buffer])[]): Buffer {
  return Buffer.concat(headers.map(([n, v]) => hpackLiteral(n, v)));
}

interface Target {
  path: string;
  requestType?: string;
}

/** Methods and paths a frame sequence calls: read-only or writing under /fuzz/ only, plus unknown ones. */
const TARGETS: readonly Target[] = [
  { path: '/etcdserverpb.KV/Range', requestType: 'etcdserverpb.RangeRequest' },
  { path: '/etcdserverpb.KV/Put', requestType: 'etcdserverpb.PutRequest' },
  { path: '/etcdserverpb.Watch/Watch', requestType: 'etcdserverpb.WatchRequest' },
  { path: '/etcdserverpb.Lease/LeaseGrant', requestType: 'etcdserverpb.LeaseGrantRequest' },
  { path: '/etcdserverpb.Lease/LeaseKeepAlive', requestType: 'etcdserverpb.LeaseKeepAliveRequest' },
  { path: '/etcdserverpb.Maintenance/Status', requestType: 'etcdserverpb.StatusRequest' },
  { path: '/etcdserverpb.Cluster/MemberList', requestType: 'etcdserverpb.MemberListRequest' },
  { path: '/grpc.health.v1.Health/Check', requestType: 'grpc.health.v1.HealthCheckRequest' },
  {
    path: '/cairn.registry.v1.Registry/ListNamespaces',
    requestType: 'cairn.registry.v1.RegistryListNamespacesRequest',
  },
  { path: '/cairn.config.v1.Config/GetItem', requestType: 'cairn.config.v1.ConfigGetItemRequest' },
  { path: '/etcdserverpb.KV/NoSuchMethod' },
  { path: '/no.such.Service/Call' },
  { path: '/health' },
  { path: '/v3/kv/range' },
  { path: '' },
  { path: '*' },
];

const CONTENT_TYPES = [
  'application/grpc',
  'application/grpc+proto',
  'application/grpc',
  'application/grpc',
  'application/json',
  'text/plain',
  'application/grpc-web',
  'application/grpcx',
  '',
  undefined,
];

interface Planned {
  frame: Buffer;
  streamId: number;
  type: number;
}

function requestFrames(
  rng: Rng,
  streamId: number,
  authority: string,
  opts: H2Options,
): { frames: Planned[]; how: string } {
  const target = rng.pick(
    opts.quarantine === true ? TARGETS.filter((t) => t.requestType !== undefined) : TARGETS,
  );
  const contentType =
    opts.quarantine === true
      ? rng.pick(['application/grpc', 'application/grpc+proto'])
      : rng.pick(CONTENT_TYPES);
  const headers: [string, string | Buffer][] = [
    [':method', rng.chance(0.9) ? 'POST' : rng.pick(['GET', 'PRI', 'CONNECT', 'post', ''])],
    [':scheme', rng.chance(0.9) ? 'http' : rng.pick(['https', '', 'ftp'])],
    [':path', target.path],
    [
      ':authority',
      rng.chance(0.8) ? authority : rng.pick(['', 'localhost', 'evil.example:80', rng.text(30)]),
    ],
  ];
  if (contentType !== undefined) headers.push(['content-type', contentType]);
  if (rng.chance(0.8)) headers.push(['te', 'trailers']);
  if (rng.chance(0.2)) headers.push(['grpc-timeout', rng.pick(['1m', '0n', '99999999H', 'x', '5S'])]);
  if (rng.chance(0.1)) headers.push(['grpc-encoding', rng.pick(['gzip', 'nope'])]);
  if (rng.chance(0.1)) headers.push(['connection', 'keep-alive']); // connection-specific: a protocol error
  if (rng.chance(0.1)) headers.push(['Upper-Case', 'x']); // uppercase names are malformed in HTTP/2
  if (rng.chance(0.05)) headers.push([':path', '/duplicate']);
  if (rng.chance(0.05)) headers.reverse(); // pseudo-headers after regular ones
  const block = headerBlock(headers);
  const frames: Planned[] = [];
  const withData = rng.chance(0.85);
  const split = rng.chance(0.15) && block.length > 2;
  if (split) {
    const at = 1 + rng.int(block.length - 1);
    frames.push({
      frame: frame(FrameType.HEADERS, withData ? 0 : END_STREAM, streamId, block.subarray(0, at)),
      streamId,
      type: 1,
    });
    frames.push({
      frame: frame(FrameType.CONTINUATION, END_HEADERS, streamId, block.subarray(at)),
      streamId,
      type: 9,
    });
  } else {
    frames.push({
      frame: frame(FrameType.HEADERS, END_HEADERS | (withData ? 0 : END_STREAM), streamId, block),
      streamId,
      type: 1,
    });
  }
  if (withData) {
    let payload: Buffer;
    if (target.requestType !== undefined && rng.chance(0.85)) {
      const type = etcdRoot().lookupType(target.requestType);
      payload = grpcFrame(encodeObject(target.requestType, randomObject(rng, type)));
    } else {
      payload = rng.bytes(rng.size(300));
    }
    const pieces = rng.chance(0.2) ? 2 + rng.int(3) : 1;
    for (let i = 0; i < pieces; i++) {
      const from = Math.floor((payload.length * i) / pieces);
      const to = Math.floor((payload.length * (i + 1)) / pieces);
      const last = i === pieces - 1;
      const endStream = last && rng.chance(0.85) ? END_STREAM : 0;
      frames.push({
        frame: frame(FrameType.DATA, endStream, streamId, payload.subarray(from, to)),
        streamId,
        type: 0,
      });
    }
  }
  return { frames, how: `${target.path || '(empty path)'} ct=${contentType ?? '(none)'}` };
}

function settingsPayload(rng: Rng): Buffer {
  const out: Buffer[] = [];
  for (let i = rng.int(4); i > 0; i--) {
    const entry = Buffer.alloc(6);
    entry.writeUInt16BE(rng.pick([1, 2, 3, 4, 5, 6, 8, 0, 0x99]), 0);
    entry.writeUInt32BE(
      rng.pick([0, 1, 100, 16384, 16383, 16777216, 0x7fffffff, 0x80000000, 0xffffffff, rng.u32()]),
      2,
    );
    out.push(entry);
  }
  return Buffer.concat(out);
}

function controlFrame(
  rng: Rng,
  streams: readonly number[],
  opts: H2Options,
): { frame: Buffer; what: string } {
  const sid = (): number =>
    streams.length > 0 && rng.chance(0.8) ? rng.pick(streams) : rng.pick([0, 2, 0x7fffffff, rng.u32()]);
  let kind = rng.int(9);
  if (kind === 0 && opts.quarantine === true) kind = 1;
  switch (kind) {
    case 0: {
      const code = Buffer.alloc(4);
      code.writeUInt32BE(rng.pick([0, 1, 2, 7, 8, 0xffffffff]));
      const s = sid();
      return { frame: frame(FrameType.RST_STREAM, 0, s, code), what: `RST_STREAM(${s})` };
    }
    case 1:
      return {
        frame: frame(
          FrameType.PING,
          rng.chance(0.2) ? ACK : 0,
          rng.chance(0.9) ? 0 : 1,
          rng.bytes(rng.chance(0.9) ? 8 : rng.int(16)),
        ),
        what: 'PING',
      };
    case 2: {
      const inc = Buffer.alloc(4);
      inc.writeUInt32BE(rng.pick([0, 1, 65535, 0x7fffffff, 0x80000000, rng.u32()]));
      return {
        frame: frame(FrameType.WINDOW_UPDATE, 0, rng.chance(0.5) ? 0 : sid(), inc),
        what: 'WINDOW_UPDATE',
      };
    }
    case 3: {
      const p = Buffer.alloc(8 + rng.int(16));
      p.writeUInt32BE(rng.pick([0, 1, 0x7fffffff, rng.u32()]), 0);
      p.writeUInt32BE(rng.pick([0, 1, 2, 11, rng.u32()]), 4);
      return { frame: frame(FrameType.GOAWAY, 0, rng.chance(0.9) ? 0 : 1, p), what: 'GOAWAY' };
    }
    case 4: {
      const s = sid();
      const p = Buffer.alloc(rng.chance(0.9) ? 5 : rng.int(10));
      if (p.length >= 5) {
        p.writeUInt32BE(rng.chance(0.3) ? s : rng.u32(), 0); // self-dependency sometimes
        p[4] = rng.int(256);
      }
      return { frame: frame(FrameType.PRIORITY, 0, s, p), what: 'PRIORITY' };
    }
    case 5:
      return {
        frame: frame(
          FrameType.SETTINGS,
          rng.chance(0.3) ? ACK : 0,
          rng.chance(0.9) ? 0 : 1,
          settingsPayload(rng),
        ),
        what: 'SETTINGS',
      };
    case 6:
      return {
        frame: frame(FrameType.PUSH_PROMISE, END_HEADERS, sid(), rng.bytes(4 + rng.int(20))),
        what: 'PUSH_PROMISE',
      };
    case 7:
      return {
        frame: frame(0x0a + rng.int(0xf5), rng.int(256), sid(), rng.bytes(rng.size(64))),
        what: 'unknown-type',
      };
    default:
      return { frame: frame(FrameType.SETTINGS, 0, 0, rng.bytes(rng.int(13))), what: 'SETTINGS-bad-length' };
  }
}

/** Abuses applied to a planned sequence (each names itself in `how`). */
function abuse(rng: Rng, planned: Planned[], streams: number[], opts: H2Options): string {
  // Frames a byte-level mutation left shorter than a frame header are not picked for header abuses.
  const whole = planned.filter((p) => p.frame.length >= 9);
  const pick = (): Planned | undefined => (whole.length > 0 ? rng.pick(whole) : undefined);
  const op = rng.int(12);
  switch (op) {
    case 0: {
      if (opts.quarantine === true) return 'noop(reset quarantined)';
      // Reset at every point: an RST_STREAM for a live stream right after frame i (same write).
      const at = rng.int(planned.length + 1);
      const s = streams.length > 0 ? rng.pick(streams) : 1;
      const code = Buffer.alloc(4);
      code.writeUInt32BE(rng.pick([0, 8, 2]));
      planned.splice(at, 0, { frame: frame(FrameType.RST_STREAM, 0, s, code), streamId: s, type: 3 });
      return `rst(${s})@${at}`;
    }
    case 1: {
      if (planned.length < 2) return 'noop';
      const a = rng.int(planned.length);
      const b = rng.int(planned.length);
      [planned[a], planned[b]] = [planned[b]!, planned[a]!];
      return `swap(${a},${b})`;
    }
    case 2: {
      const p = pick();
      if (!p) return 'noop';
      p.frame = Buffer.from(p.frame);
      p.frame.writeUIntBE(rng.pick([0, 1, p.frame.length, 16385, 0xffffff, rng.int(0x1000000)]), 0, 3);
      return 'bad-length';
    }
    case 3: {
      const p = pick();
      if (!p) return 'noop';
      p.frame = Buffer.from(p.frame);
      p.frame[4] = rng.pick([0xff, PADDED, PRIORITY_FLAG, PADDED | END_HEADERS, rng.int(256)]);
      return 'bad-flags';
    }
    case 4: {
      const p = pick();
      if (!p) return 'noop';
      p.frame = Buffer.from(p.frame);
      p.frame.writeUInt32BE(rng.pick([0, 2, 4, 0x80000001, 0xffffffff, 1]), 5);
      return 'bad-stream-id';
    }
    case 5: {
      const sid = 1 + 2 * (streams.length + rng.int(3));
      const garbage = rng.chance(0.5)
        ? rng.bytes(rng.size(200))
        : Buffer.concat([
            hpackInt(62 + rng.int(1000), 7, 0x80),
            hpackInt(rng.pick([4096, 1 << 30]), 5, 0x20),
          ]);
      planned.splice(rng.int(planned.length + 1), 0, {
        frame: frame(FrameType.HEADERS, END_HEADERS | END_STREAM, sid, garbage),
        streamId: sid,
        type: 1,
      });
      return 'hpack-garbage';
    }
    case 6: {
      // A huge header block: one big value, split over CONTINUATION frames.
      const sid = 1 + 2 * (streams.length + 1);
      const size = rng.pick([20_000, 70_000, 300_000, 1_100_000]);
      const block = headerBlock([
        [':method', 'POST'],
        [':scheme', 'http'],
        [':path', '/etcdserverpb.KV/Range'],
        ['content-type', 'application/grpc'],
        ['x-big', Buffer.alloc(size, 0x61)],
      ]);
      const frames: Planned[] = [];
      for (let off = 0; off < block.length; off += 16384) {
        const chunk = block.subarray(off, off + 16384);
        const last = off + 16384 >= block.length;
        const type = off === 0 ? FrameType.HEADERS : FrameType.CONTINUATION;
        frames.push({
          frame: frame(type, (last ? END_HEADERS : 0) | (off === 0 ? END_STREAM : 0), sid, chunk),
          streamId: sid,
          type,
        });
      }
      planned.push(...frames);
      return `huge-headers(${size})`;
    }
    case 7: {
      // CONTINUATION flood: never END_HEADERS.
      const sid = 1 + 2 * (streams.length + 1);
      const count = rng.pick([100, 1000, 10_000]);
      const frames: Planned[] = [
        {
          frame: frame(FrameType.HEADERS, 0, sid, headerBlock([[':method', 'POST']])),
          streamId: sid,
          type: 1,
        },
      ];
      const piece = hpackLiteral('x-flood', 'y');
      for (let i = 0; i < count; i++) {
        frames.push({
          frame: frame(FrameType.CONTINUATION, 0, sid, rng.chance(0.5) ? piece : Buffer.alloc(0)),
          streamId: sid,
          type: 9,
        });
      }
      planned.push(...frames);
      return `continuation-flood(${count})`;
    }
    case 8: {
      const n = 1 + rng.int(20);
      for (let i = 0; i < n; i++) {
        const c = controlFrame(rng, streams, opts);
        planned.splice(rng.int(planned.length + 1), 0, { frame: c.frame, streamId: 0, type: -1 });
      }
      return `control×${n}`;
    }
    case 9: {
      const p = pick();
      if (!p) return 'noop';
      p.frame = mutateBytes(rng, p.frame);
      return 'mutate-frame';
    }
    case 10: {
      // Many streams opened at once, with ids going down (a protocol error) or far apart.
      const n = 5 + rng.int(200);
      for (let i = 0; i < n; i++) {
        const sid = rng.chance(0.9) ? 101 + 2 * i : rng.pick([3, 1, 99]);
        const block = headerBlock([
          [':method', 'POST'],
          [':scheme', 'http'],
          [':path', '/grpc.health.v1.Health/Check'],
          [
            'content-type',
            opts.quarantine === true ? 'application/grpc' : rng.pick(['application/grpc', 'text/plain']),
          ],
        ]);
        planned.push({
          frame: frame(FrameType.HEADERS, END_HEADERS | END_STREAM, sid, block),
          streamId: sid,
          type: 1,
        });
        if (rng.chance(0.3) && opts.quarantine !== true) {
          planned.push({
            frame: frame(FrameType.RST_STREAM, 0, sid, Buffer.from([0, 0, 0, 8])),
            streamId: sid,
            type: 3,
          });
        }
      }
      return `stream-storm(${n})`;
    }
    default: {
      // Padding longer than the frame.
      const p = whole.find((f) => f.type === 0 || f.type === 1);
      if (!p) return 'noop';
      const header = p.frame.subarray(0, 9);
      const payload = Buffer.concat([Buffer.from([rng.pick([255, p.frame.length, 1])]), p.frame.subarray(9)]);
      p.frame = frame(header[3]!, header[4]! | PADDED, header.readUInt32BE(5), payload);
      return 'bad-padding';
    }
  }
}

export interface H2Options {
  /**
   * Quarantine of the known issue-14 crash (a stream torn down — RST_STREAM or a connection error — before
   * grpc-js answers a request with a non-gRPC content-type or an unknown method kills the member): no
   * RST_STREAM frames, only gRPC content-types, only served methods. For the default suite only while the
   * fix is in flight (see fuzz.test.ts); the long run and replays use the full generator.
   */
  quarantine?: boolean;
}

export function genH2Input(rng: Rng, authority: string, opts: H2Options = {}): H2Input {
  const planned: Planned[] = [];
  const hows: string[] = [];
  const settings = rng.chance(0.9)
    ? frame(FrameType.SETTINGS, 0, 0, rng.chance(0.8) ? Buffer.alloc(0) : settingsPayload(rng))
    : Buffer.alloc(0);
  if (settings.length > 0) planned.push({ frame: settings, streamId: 0, type: 4 });
  if (rng.chance(0.5))
    planned.push({ frame: frame(FrameType.SETTINGS, ACK, 0, Buffer.alloc(0)), streamId: 0, type: 4 });
  const streams: number[] = [];
  const requests = rng.int(4) + (rng.chance(0.9) ? 1 : 0);
  for (let i = 0; i < requests; i++) {
    const sid = 1 + 2 * i;
    streams.push(sid);
    const r = requestFrames(rng, sid, authority, opts);
    planned.push(...r.frames);
    hows.push(`s${sid}:${r.how}`);
  }
  const abuses = rng.weighted([
    [2, 0],
    [5, 1],
    [3, 2],
    [1, 3],
  ] as const);
  for (let i = 0; i < abuses; i++) hows.push(abuse(rng, planned, streams, opts));
  let bytes: Buffer = Buffer.concat([
    rng.chance(0.95) ? PREFACE : mutateBytes(rng, PREFACE),
    ...planned.map((p) => p.frame),
  ]);
  if (rng.chance(0.15)) {
    const cut = rng.int(bytes.length + 1);
    bytes = bytes.subarray(0, cut);
    hows.push(`truncate@${cut}`);
  }
  if (rng.chance(0.05)) {
    bytes = mutateBytes(rng, bytes);
    hows.push('mutate-all');
  }
  const writes: Buffer[] = [];
  if (rng.chance(0.75) || bytes.length < 2) {
    writes.push(bytes);
  } else {
    // Split at random points (the server sees partial frames between reads).
    const cuts = Array.from({ length: 1 + rng.int(4) }, () => rng.int(bytes.length)).sort((a, b) => a - b);
    let from = 0;
    for (const cut of [...cuts, bytes.length]) {
      if (cut > from) writes.push(bytes.subarray(from, cut));
      from = Math.max(from, cut);
    }
    hows.push(`writes×${writes.length}`);
  }
  const ending = rng.weighted([
    [6, 'wait'],
    [2, 'end'],
    [2, 'destroy'],
  ] as const);
  return { kind: 'h2', how: hows.join(' '), writes, ending };
}

// ---------------------------------------------------------------------------------------------------------
// h2front: connections the gRPC front takes (libs/edge/src/grpc-front). The front takes a connection whose
// FIRST request is an etcd KV call, so every input opens with preface, SETTINGS and a valid KV call in its first
// write (never bent), and only what follows is: more KV calls (the front's streams) mixed with the h2
// generator's requests (nghttp2's), then the front's own edges — DATA after END_STREAM or on idle/closed
// streams, HEADERS reusing a lower id, WINDOW_UPDATE with 0/huge increments on 0/own/unknown streams, odd
// INITIAL_WINDOW_SIZE/MAX_FRAME_SIZE, CONTINUATION floods, bad padding, client GOAWAY, calls answered before
// their body ends, answers waiting for window, HPACK references that decode large, stream storms.

const KV_PREFIX = '/fuzz/';
const SENTINELS = '/fuzz-sentinel/';

function prefixEndOf(key: string): Buffer {
  const end = Buffer.from(key, 'latin1');
  end[end.length - 1] = end[end.length - 1]! + 1;
  return end;
}

/** A KV call the front serves: Put/DeleteRange under /fuzz/, Range (also over the sentinels), Txn. */
function kvMessage(rng: Rng): { path: string; body: Buffer } {
  const key = (): Buffer => Buffer.from(`${KV_PREFIX}${rng.text(1 + rng.int(12))}`, 'latin1');
  switch (rng.int(6)) {
    case 0:
    case 1:
      return {
        path: '/etcdserverpb.KV/Put',
        body: encodeObject('etcdserverpb.PutRequest', {
          key: key(),
          value: rng.bytes(rng.chance(0.9) ? rng.size(300) : 70_000),
          prev_kv: rng.chance(0.3),
        }),
      };
    case 2:
    case 3: {
      const prefix = rng.chance(0.5) ? SENTINELS : KV_PREFIX;
      return {
        path: '/etcdserverpb.KV/Range',
        body: encodeObject('etcdserverpb.RangeRequest', {
          key: Buffer.from(prefix, 'latin1'),
          range_end: prefixEndOf(prefix),
          limit: rng.chance(0.3) ? 1 + rng.int(5) : 0,
          serializable: rng.chance(0.5),
        }),
      };
    }
    case 4:
      return {
        path: '/etcdserverpb.KV/DeleteRange',
        body: encodeObject('etcdserverpb.DeleteRangeRequest', { key: key(), prev_kv: rng.chance(0.5) }),
      };
    default:
      return {
        path: '/etcdserverpb.KV/Txn',
        body: encodeObject('etcdserverpb.TxnRequest', {
          compare: [{ key: key(), target: 'VERSION', result: 'EQUAL', version: 0 }],
          success: [{ request_put: { key: key(), value: rng.bytes(rng.size(64)) } }],
          failure: [{ request_range: { key: Buffer.from(KV_PREFIX), range_end: prefixEndOf(KV_PREFIX) } }],
        }),
      };
  }
}

interface KvCallOptions {
  /** The body stays open (no END_STREAM): DATA after it is the caller's. */
  open?: boolean;
  timeout?: string;
  /** Body pieces (DATA frames). */
  pieces?: number;
}

function kvCall(rng: Rng, sid: number, authority: string, o: KvCallOptions = {}): Planned[] {
  const m = kvMessage(rng);
  const headers: [string, string][] = [
    [':method', 'POST'],
    [':scheme', 'http'],
    [':path', m.path],
    [':authority', rng.chance(0.9) ? authority : `http://${authority}`],
    ['content-type', rng.pick(['application/grpc', 'application/grpc+proto'])],
    ['te', 'trailers'],
  ];
  if (o.timeout !== undefined) headers.push(['grpc-timeout', o.timeout]);
  const out: Planned[] = [
    { frame: frame(FrameType.HEADERS, END_HEADERS, sid, headerBlock(headers)), streamId: sid, type: 1 },
  ];
  const payload = grpcFrame(m.body);
  const pieces = Math.max(1, Math.min(o.pieces ?? 1, payload.length));
  for (let i = 0; i < pieces; i++) {
    const from = Math.floor((payload.length * i) / pieces);
    const to = Math.floor((payload.length * (i + 1)) / pieces);
    const last = i === pieces - 1 && o.open !== true;
    for (let at = from; at < to || (at === from && from === to); at += 16384) {
      const end = Math.min(to, at + 16384);
      const flags = last && end === to ? END_STREAM : 0;
      out.push({
        frame: frame(FrameType.DATA, flags, sid, payload.subarray(at, end)),
        streamId: sid,
        type: 0,
      });
      if (end >= to) break;
    }
  }
  return out;
}

function u32(value: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(value >>> 0);
  return b;
}

function settingsOf(entries: readonly (readonly [number, number])[]): Buffer {
  const out = Buffer.alloc(6 * entries.length);
  entries.forEach(([id, value], i) => {
    out.writeUInt16BE(id, 6 * i);
    out.writeUInt32BE(value >>> 0, 6 * i + 2);
  });
  return frame(FrameType.SETTINGS, 0, 0, out);
}

const ODD_WINDOWS = [0, 1, 7, 100, 65_535, 1 << 20, 0x7fffffff, 0x80000000];
const ODD_FRAME_SIZES = [16_383, 16_384, 16_385, 65_536, 0xffffff, 0x1000000];

/** The front's own edges, planned after the opening call. */
function frontAbuse(rng: Rng, planned: Planned[], streams: number[], authority: string): string {
  const nextSid = (): number => {
    const sid = (streams.length > 0 ? Math.max(...streams) : 1) + 2;
    streams.push(sid);
    return sid;
  };
  const anywhere = (p: Planned): void => {
    planned.splice(rng.int(planned.length + 1), 0, p);
  };
  const op = rng.int(14);
  switch (op) {
    case 0: {
      // DATA after END_STREAM on a stream of the front (or on one it closed long ago).
      const sid = rng.pick(streams);
      const n = 1 + rng.int(4);
      for (let i = 0; i < n; i++) {
        const flags = rng.chance(0.5) ? END_STREAM : 0;
        planned.push({
          frame: frame(FrameType.DATA, flags, sid, rng.bytes(rng.size(2000))),
          streamId: sid,
          type: 0,
        });
      }
      return `data-after-end(${sid}×${n})`;
    }
    case 1: {
      // DATA on an idle stream (never opened), or on stream 0 / an even id.
      const sid = rng.pick([Math.max(...streams) + 2, Math.max(...streams) + 200, 0, 2, 0x7fffffff]);
      anywhere({
        frame: frame(FrameType.DATA, rng.chance(0.5) ? END_STREAM : 0, sid, rng.bytes(rng.size(500))),
        streamId: sid,
        type: 0,
      });
      return `data-idle(${sid})`;
    }
    case 2: {
      // A KV call reusing a lower stream id (a stream the front served or is serving).
      const sid = rng.pick(streams);
      planned.push(...kvCall(rng, sid, authority));
      return `headers-reused-id(${sid})`;
    }
    case 3: {
      const n = 1 + rng.int(6);
      for (let i = 0; i < n; i++) {
        const sid = rng.pick([
          0,
          0,
          rng.pick(streams),
          rng.pick(streams),
          Math.max(...streams) + 2,
          0x7fffffff,
        ]);
        const inc = rng.pick([0, 1, 1000, 65_535, 0x7fffffff, 0x7fffffff, 0x80000000, 0xffffffff, rng.u32()]);
        const payload = rng.chance(0.9) ? u32(inc) : rng.bytes(rng.pick([0, 3, 5, 8]));
        anywhere({ frame: frame(FrameType.WINDOW_UPDATE, 0, sid, payload), streamId: sid, type: 8 });
      }
      return `window-updates×${n}`;
    }
    case 4: {
      const entries: [number, number][] = [];
      if (rng.chance(0.8)) entries.push([4, rng.pick(ODD_WINDOWS)]);
      if (rng.chance(0.5)) entries.push([5, rng.pick(ODD_FRAME_SIZES)]);
      if (rng.chance(0.2)) entries.push([1, rng.pick([0, 1, 1 << 20])]);
      anywhere({ frame: settingsOf(entries), streamId: 0, type: 4 });
      return `settings(${entries.map(([i, v]) => `${i}=${v}`).join(',')})`;
    }
    case 5: {
      // CONTINUATION flood on a KV call's header block: empty or small fragments, never END_HEADERS (or late).
      const sid = nextSid();
      const count = rng.pick([100, 1000, 10_000, 60_000]);
      const block = headerBlock([
        [':method', 'POST'],
        [':path', '/etcdserverpb.KV/Range'],
      ]);
      planned.push({ frame: frame(FrameType.HEADERS, END_STREAM, sid, block), streamId: sid, type: 1 });
      const piece = hpackLiteral('x-flood', 'y');
      const empty = rng.chance(0.6);
      const frames: Buffer[] = [];
      for (let i = 0; i < count; i++)
        frames.push(frame(FrameType.CONTINUATION, 0, sid, empty ? Buffer.alloc(0) : piece));
      if (rng.chance(0.3)) frames.push(frame(FrameType.CONTINUATION, END_HEADERS, sid, Buffer.alloc(0)));
      planned.push({ frame: Buffer.concat(frames), streamId: sid, type: 9 });
      return `continuation-flood(${count}${empty ? ', empty' : ''})`;
    }
    case 6: {
      // PADDED DATA on a front stream: pad length 0, the body's length, past it, 255; or an empty frame.
      const sid = nextSid();
      const call = kvCall(rng, sid, authority, { open: true });
      planned.push(...call);
      const body = rng.bytes(rng.size(100));
      const pad = rng.pick([0, body.length, body.length + 1, 255, 1]);
      const payload = rng.chance(0.9)
        ? Buffer.concat([Buffer.from([pad & 0xff]), body, Buffer.alloc(Math.min(pad, body.length))])
        : Buffer.alloc(0);
      planned.push({
        frame: frame(FrameType.DATA, PADDED | (rng.chance(0.7) ? END_STREAM : 0), sid, payload),
        streamId: sid,
        type: 0,
      });
      return `padded-data(${sid}, pad ${pad})`;
    }
    case 7: {
      // RST_STREAM on a front stream before its body ends, after, on an idle stream; bad lengths.
      const sid = rng.chance(0.3) ? nextSid() : rng.pick(streams);
      if (!streams.includes(sid) || sid === Math.max(...streams))
        planned.push(...kvCall(rng, sid, authority, { open: true }).slice(0, 1));
      const payload = rng.chance(0.9)
        ? u32(rng.pick([0, 1, 2, 8, 0xffffffff]))
        : rng.bytes(rng.pick([0, 3, 5]));
      planned.push({
        frame: frame(FrameType.RST_STREAM, 0, rng.chance(0.9) ? sid : sid + 200, payload),
        streamId: sid,
        type: 3,
      });
      if (rng.chance(0.5))
        planned.push({
          frame: frame(FrameType.DATA, END_STREAM, sid, rng.bytes(20)),
          streamId: sid,
          type: 0,
        });
      return `rst(${sid})`;
    }
    case 8: {
      // The client's GOAWAY, then more calls.
      const p = Buffer.alloc(8);
      p.writeUInt32BE(rng.pick([0, 1, 0x7fffffff]), 0);
      p.writeUInt32BE(rng.pick([0, 1, 2, 11]), 4);
      planned.push({ frame: frame(FrameType.GOAWAY, 0, 0, p), streamId: 0, type: 7 });
      const n = rng.int(4);
      for (let i = 0; i < n; i++) planned.push(...kvCall(rng, nextSid(), authority));
      return `client-goaway+${n}`;
    }
    case 9: {
      // Many calls at once, the window sometimes too small for their answers (they wait for WINDOW_UPDATEs).
      if (rng.chance(0.4))
        planned.push({ frame: settingsOf([[4, rng.pick([0, 1, 16, 1000])]]), streamId: 0, type: 4 });
      const n = rng.pick([20, 100, 150, 300]);
      for (let i = 0; i < n; i++) planned.push(...kvCall(rng, nextSid(), authority));
      if (rng.chance(0.5)) {
        for (let i = rng.int(5); i > 0; i--) {
          const sid = rng.chance(0.5) ? 0 : rng.pick(streams);
          planned.push({
            frame: frame(FrameType.WINDOW_UPDATE, 0, sid, u32(rng.pick([1, 100, 65_535, 1 << 20]))),
            streamId: sid,
            type: 8,
          });
        }
      }
      return `kv-storm(${n})`;
    }
    case 10: {
      // HPACK: a large value put in the client's table, then a block of one-octet references to it.
      const sid = nextSid();
      const big = Buffer.alloc(rng.pick([100, 1000, 4000]), 0x62);
      const add = Buffer.concat([Buffer.from([0x40]), hpackStr('x-big'), hpackStr(big)]);
      const refs = rng.pick([10, 1000, 30_000, 250_000]);
      const first = headerBlock([
        [':method', 'POST'],
        [':scheme', 'http'],
        [':path', rng.pick(['/etcdserverpb.KV/Range', '/grpc.health.v1.Health/Check'])],
        ['content-type', 'application/grpc'],
      ]);
      const block = Buffer.concat([first, add, Buffer.alloc(refs, 0x80 | 62)]);
      for (let off = 0; off < block.length; off += 16384) {
        const last = off + 16384 >= block.length;
        const type = off === 0 ? FrameType.HEADERS : FrameType.CONTINUATION;
        planned.push({
          frame: frame(
            type,
            (last ? END_HEADERS : 0) | (off === 0 ? END_STREAM : 0),
            sid,
            block.subarray(off, off + 16384),
          ),
          streamId: sid,
          type,
        });
      }
      return `hpack-refs(${big.length}×${refs})`;
    }
    case 11: {
      // A call answered before its body ends (its deadline passes first), the client sending on.
      const sid = nextSid();
      const call = kvCall(rng, sid, authority, { open: true, timeout: rng.pick(['1n', '1u', '1m']) });
      planned.push(...call);
      const n = 1 + rng.int(5);
      for (let i = 0; i < n; i++) {
        planned.push({
          frame: frame(
            FrameType.DATA,
            i === n - 1 && rng.chance(0.5) ? END_STREAM : 0,
            sid,
            rng.bytes(rng.size(3000)),
          ),
          streamId: sid,
          type: 0,
        });
      }
      return `answered-early(${sid})`;
    }
    case 12: {
      // A body larger than the stream window, in frames past the frame size or the declared message length.
      const sid = nextSid();
      const call = kvCall(rng, sid, authority, { open: true });
      planned.push(...call);
      const size = rng.pick([16_384, 16_385, 70_000, 200_000]);
      const body = rng.bytes(size);
      const step = rng.chance(0.5) ? 16_384 : 16_385;
      for (let at = 0; at < body.length; at += step) {
        planned.push({
          frame: frame(
            FrameType.DATA,
            at + step >= body.length ? END_STREAM : 0,
            sid,
            body.subarray(at, at + step),
          ),
          streamId: sid,
          type: 0,
        });
      }
      return `big-body(${size}/${step})`;
    }
    default: {
      // nghttp2's streams interleaved with the front's: a Watch, a Health check, an unknown method.
      const sid = nextSid();
      const block = headerBlock([
        [':method', 'POST'],
        [':scheme', 'http'],
        [
          ':path',
          rng.pick(['/etcdserverpb.Watch/Watch', '/grpc.health.v1.Health/Check', '/no.such.Service/Call']),
        ],
        ['content-type', rng.pick(['application/grpc', 'text/plain'])],
        ['te', 'trailers'],
      ]);
      planned.push({
        frame: frame(FrameType.HEADERS, END_HEADERS | (rng.chance(0.5) ? END_STREAM : 0), sid, block),
        streamId: sid,
        type: 1,
      });
      if (rng.chance(0.5))
        planned.push({
          frame: frame(FrameType.DATA, 0, sid, grpcFrame(Buffer.alloc(0))),
          streamId: sid,
          type: 0,
        });
      return `nghttp2-stream(${sid})`;
    }
  }
}

function hpackStr(value: string | Buffer): Buffer {
  const bytes = typeof value === 'string' ? Buffer.from(value, 'latin1') : value;
  return Buffer.concat([hpackInt(bytes.length, 7), bytes]);
}

export function genH2FrontInput(rng: Rng, authority: string): H2Input {
  const hows: string[] = [];
  // The opening: what the first-request sniffer reads to hand the connection to the front.
  const settingsEntries: [number, number][] = [];
  if (rng.chance(0.3)) settingsEntries.push([4, rng.pick([0, 1, 100, 65_535, 1 << 20, 0x7fffffff])]);
  if (rng.chance(0.2)) settingsEntries.push([5, rng.pick([16_384, 65_536, 0xffffff])]);
  const opening = [PREFACE, settingsOf(settingsEntries)];
  if (settingsEntries.length > 0)
    hows.push(`open-settings(${settingsEntries.map(([i, v]) => `${i}=${v}`).join(',')})`);
  if (rng.chance(0.5)) opening.push(frame(FrameType.SETTINGS, ACK, 0, Buffer.alloc(0)));
  const first = kvCall(rng, 1, authority, { pieces: rng.chance(0.2) ? 2 : 1 });
  opening.push(...first.map((p) => p.frame));
  hows.push('s1:kv');
  const streams = [1];
  const planned: Planned[] = [];
  const more = rng.int(5);
  for (let i = 0; i < more; i++) {
    const sid = 3 + 2 * i;
    streams.push(sid);
    if (rng.chance(0.6)) {
      planned.push(...kvCall(rng, sid, authority, { pieces: 1 + rng.int(3) }));
      hows.push(`s${sid}:kv`);
    } else {
      const r = requestFrames(rng, sid, authority, {});
      planned.push(...r.frames);
      hows.push(`s${sid}:${r.how}`);
    }
  }
  const abuses = rng.weighted([
    [1, 0],
    [5, 1],
    [3, 2],
    [1, 3],
  ] as const);
  for (let i = 0; i < abuses; i++) {
    hows.push(
      rng.chance(0.75) ? frontAbuse(rng, planned, streams, authority) : abuse(rng, planned, streams, {}),
    );
  }
  let rest: Buffer = Buffer.concat(planned.map((p) => p.frame));
  if (rng.chance(0.1)) {
    const cut = rng.int(rest.length + 1);
    rest = rest.subarray(0, cut);
    hows.push(`truncate@${cut}`);
  }
  if (rng.chance(0.03) && rest.length > 0) {
    rest = mutateBytes(rng, rest);
    hows.push('mutate-rest');
  }
  const head = Buffer.concat(opening);
  const writes: Buffer[] = [];
  if (rng.chance(0.6) || rest.length < 2) {
    writes.push(Buffer.concat([head, rest]));
  } else {
    // The opening first, then the rest in pieces cut anywhere (the front sees partial frames between reads,
    // and its answers go out between them).
    writes.push(head);
    const cuts = Array.from({ length: 1 + rng.int(4) }, () => rng.int(rest.length)).sort((a, b) => a - b);
    let from = 0;
    for (const cut of [...cuts, rest.length]) {
      if (cut > from) writes.push(rest.subarray(from, cut));
      from = Math.max(from, cut);
    }
    hows.push(`writes×${writes.length}`);
  }
  const ending = rng.weighted([
    [6, 'wait'],
    [2, 'end'],
    [2, 'destroy'],
  ] as const);
  return { kind: 'h2', how: hows.join(' '), writes, ending };
}
