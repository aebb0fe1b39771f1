import { EntryType, MessageType, type Entry, type HardState, type Message, type Snapshot } from '@cairn/raft';
import { describe, expect, it } from 'vitest';
import {
  CodecError,
  decodeConfState,
  decodeEntries,
  decodeEntry,
  decodeHardState,
  decodeMessage,
  decodeMessages,
  decodeSnapshot,
  encodeConfState,
  encodeEntries,
  encodeEntry,
  encodeHardState,
  encodeMessage,
  encodeMessages,
  encodeSnapshot,
  entrySize,
  messageSize,
} from '../src/codec';

const MAX_U64 = 0xffff_ffff_ffff_ffffn;
const MAX_SAFE = Number.MAX_SAFE_INTEGER;

function bytes(n: number, seed = 1): Uint8Array {
  const out = new Uint8Array(n);
  let x = seed;
  for (let i = 0; i < n; i++) {
    x = (x * 1103515245 + 12345) >>> 0;
    out[i] = x >>> 24;
  }
  return out;
}

/** Byte fields come back as views, copies, Buffers or Uint8Arrays; compare them as hex strings. */
function plain(v: unknown): unknown {
  if (v instanceof Uint8Array) return `bytes:${Buffer.from(v).toString('hex')}`;
  if (Array.isArray(v)) return v.map(plain);
  if (v && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, plain(x)]));
  return v;
}

function message(over: Partial<Message> = {}): Message {
  return {
    type: MessageType.App,
    to: 2n,
    from: 1n,
    term: 3,
    logTerm: 2,
    index: 10,
    entries: [],
    commit: 9,
    reject: false,
    rejectHint: 0,
    ...over,
  };
}

const snapshot: Snapshot = {
  metadata: {
    index: 1000,
    term: 7,
    confState: { voters: [1n, 2n, MAX_U64], learners: [0xdead_beef_cafe_f00dn] },
  },
  data: bytes(300, 9),
};

describe('entry codec', () => {
  it('round-trips entries with empty, small and 2 MiB data and extreme numbers', () => {
    const cases: Entry[] = [
      { term: 0, index: 0, type: EntryType.Normal, data: new Uint8Array(0) },
      { term: 1, index: 1, type: EntryType.ConfChange, data: bytes(5) },
      { term: 127, index: 128, type: EntryType.Normal, data: bytes(127) },
      { term: 2 ** 32, index: 2 ** 32 + 1, type: EntryType.Normal, data: bytes(1) },
      { term: MAX_SAFE, index: MAX_SAFE, type: EntryType.Normal, data: bytes(2 * 1024 * 1024, 3) },
    ];
    for (const e of cases) {
      const enc = encodeEntry(e);
      expect(enc.length).toBe(entrySize(e));
      expect(plain(decodeEntry(enc))).toEqual(plain(e));
    }
  });

  it('is compact: a small entry costs 3 bytes plus its data and length', () => {
    const enc = encodeEntry({ term: 5, index: 100, type: EntryType.Normal, data: bytes(10) });
    expect(enc.length).toBe(1 + 1 + 1 + 1 + 10);
  });

  it('round-trips a batch of entries in one buffer, deterministically', () => {
    const batch: Entry[] = Array.from({ length: 500 }, (_, i) => ({
      term: 1 + (i >> 7),
      index: 1 + i,
      type: i % 50 === 0 ? EntryType.ConfChange : EntryType.Normal,
      data: bytes(i % 300, i),
    }));
    const a = encodeEntries(batch);
    const b = encodeEntries(batch.map((e) => ({ ...e, data: Buffer.from(e.data) })));
    expect(Buffer.from(a).equals(Buffer.from(b))).toBe(true);
    expect(plain(decodeEntries(a))).toEqual(plain(batch));
    expect(decodeEntries(encodeEntries([]))).toEqual([]);
  });

  it('returns views into the input by default and independent copies with copy: true', () => {
    const enc = encodeEntry({ term: 1, index: 1, type: EntryType.Normal, data: Uint8Array.from([1, 2, 3]) });
    const view = decodeEntry(enc);
    const copy = decodeEntry(enc, { copy: true });
    enc[enc.length - 1] = 99;
    expect(Array.from(view.data)).toEqual([1, 2, 99]);
    expect(Array.from(copy.data)).toEqual([1, 2, 3]);
  });

  it('refuses numbers it cannot represent exactly instead of rounding them', () => {
    const ok: Entry = { term: 1, index: 1, type: EntryType.Normal, data: new Uint8Array(0) };
    for (const bad of [-1, 1.5, MAX_SAFE + 1, Number.NaN, Infinity]) {
      expect(() => encodeEntry({ ...ok, index: bad })).toThrow(CodecError);
      expect(() => encodeEntry({ ...ok, term: bad })).toThrow(CodecError);
    }
    expect(() => encodeEntry({ ...ok, type: 9 as EntryType })).toThrow(/unknown entry type 9/);
  });
});

describe('hard state, conf state and snapshot codec', () => {
  it('round-trips hard states including a vote of 2^64-1', () => {
    const cases: HardState[] = [
      { term: 0, vote: 0n, commit: 0 },
      { term: 5, vote: 3n, commit: 17 },
      { term: MAX_SAFE, vote: MAX_U64, commit: MAX_SAFE },
    ];
    for (const hs of cases) expect(decodeHardState(encodeHardState(hs))).toEqual(hs);
  });

  it('refuses node IDs outside uint64', () => {
    expect(() => encodeHardState({ term: 1, vote: -1n, commit: 0 })).toThrow(CodecError);
    expect(() => encodeHardState({ term: 1, vote: MAX_U64 + 1n, commit: 0 })).toThrow(CodecError);
    expect(() => encodeConfState({ voters: [1n, 1n << 64n], learners: [] })).toThrow(CodecError);
  });

  it('round-trips conf states, empty and full', () => {
    for (const cs of [
      { voters: [], learners: [] },
      { voters: [1n, 2n, 3n, 4n, 5n], learners: [MAX_U64, 6n] },
    ]) {
      expect(decodeConfState(encodeConfState(cs))).toEqual(cs);
    }
  });

  it('round-trips snapshots with empty and 4 MiB data', () => {
    for (const s of [
      snapshot,
      { ...snapshot, data: new Uint8Array(0) },
      { ...snapshot, data: bytes(4 * 1024 * 1024, 4) },
    ]) {
      expect(plain(decodeSnapshot(encodeSnapshot(s)))).toEqual(plain(s));
    }
  });
});

describe('message codec', () => {
  it('round-trips every message type', () => {
    const types = Object.values(MessageType).filter((v): v is MessageType => typeof v === 'number');
    expect(types).toContain(MessageType.PreVoteResp);
    for (const type of types) {
      const m = message({
        type,
        to: BigInt(type) * 7919n,
        from: MAX_U64 - BigInt(type),
        term: type * 1000,
        reject: type % 2 === 0,
        rejectHint: type,
      });
      expect(plain(decodeMessage(encodeMessage(m)))).toEqual(plain(m));
    }
  });

  it('round-trips all fields at once: entries, snapshot, context', () => {
    const m = message({
      type: MessageType.Snap,
      entries: [
        { term: 3, index: 11, type: EntryType.Normal, data: bytes(64) },
        { term: 3, index: 12, type: EntryType.ConfChange, data: bytes(0) },
      ],
      snapshot,
      context: bytes(16),
      reject: true,
      rejectHint: 2 ** 40,
      commit: MAX_SAFE,
    });
    const enc = encodeMessage(m);
    expect(enc.length).toBe(messageSize(m));
    expect(plain(decodeMessage(enc))).toEqual(plain(m));
  });

  it('keeps an absent context apart from an empty one', () => {
    const absent = decodeMessage(encodeMessage(message()));
    const empty = decodeMessage(encodeMessage(message({ context: new Uint8Array(0) })));
    expect('context' in absent).toBe(false);
    expect('snapshot' in absent).toBe(false);
    expect(empty.context).toBeInstanceOf(Uint8Array);
    expect(empty.context?.length).toBe(0);
  });

  it('round-trips a batch of messages with big entries in one buffer', () => {
    const msgs: Message[] = [];
    for (let i = 0; i < 50; i++) {
      msgs.push(
        message({
          to: BigInt(i + 2),
          index: i * 10,
          entries: Array.from({ length: i % 5 }, (_, k) => ({
            term: 3,
            index: i * 10 + k + 1,
            type: EntryType.Normal,
            data: bytes(k * 20000, i),
          })),
          context: i % 3 === 0 ? bytes(8, i) : undefined,
        }),
      );
    }
    // undefined-valued keys are not part of a decoded message
    const expected = msgs.map((m) => {
      const { context, ...rest } = m;
      return context === undefined ? rest : m;
    });
    expect(plain(decodeMessages(encodeMessages(msgs)))).toEqual(plain(expected));
  });

  it('refuses unknown message types on encode and decode', () => {
    expect(() => encodeMessage(message({ type: 42 as MessageType }))).toThrow(/unknown message type 42/);
    const enc = encodeMessage(message());
    enc[0] = 42;
    expect(() => decodeMessage(enc)).toThrow(/unknown message type 42/);
  });
});

describe('malformed input', () => {
  const full = encodeMessage(
    message({
      entries: [{ term: 3, index: 11, type: EntryType.Normal, data: bytes(40) }],
      snapshot,
      context: bytes(4),
    }),
  );

  it('throws CodecError for every truncation of a message, never a wrong value', () => {
    for (let len = 0; len < full.length; len++) {
      expect(() => decodeMessage(full.subarray(0, len)), `prefix of ${len} bytes`).toThrow(CodecError);
    }
  });

  it('throws on trailing bytes', () => {
    const longer = new Uint8Array(full.length + 1);
    longer.set(full);
    expect(() => decodeMessage(longer)).toThrow(/1 trailing bytes after message/);
  });

  it('throws on varints that are not in shortest form or exceed 2^53', () => {
    // hard state: term as a 2-byte varint of 1 (0x81 0x00) is not canonical
    expect(() => decodeHardState(Uint8Array.from([0x81, 0x00, ...new Uint8Array(8), 0]))).toThrow(
      /non-canonical/,
    );
    // 2^53 = 8 varint bytes: 0x80 x7, 0x10
    expect(() =>
      decodeHardState(
        Uint8Array.from([0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x10, ...new Uint8Array(8), 0]),
      ),
    ).toThrow(/exceeds 2\^53/);
    expect(() =>
      decodeHardState(Uint8Array.from([0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01])),
    ).toThrow(/longer than 8 bytes/);
  });

  it('throws on counts larger than the input could hold, before allocating', () => {
    // entries batch claiming 2^40 entries
    const w = Uint8Array.from([0x80, 0x80, 0x80, 0x80, 0x80, 0x20]);
    expect(() => decodeEntries(w)).toThrow(/exceeds the remaining input/);
  });

  it('throws on unknown flag bits', () => {
    const enc = encodeMessage(message());
    const flagsAt = 1 + 8 + 8 + 5; // type, to, from, five one-byte varints
    enc[flagsAt] |= 0x80;
    expect(() => decodeMessage(enc)).toThrow(/unknown message flags/);
  });
});
