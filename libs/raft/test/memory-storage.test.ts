import { describe, expect, it } from 'vitest';
import { RaftErrorCode } from '../src/errors';
import { MemoryStorage } from '../src/memory-storage';
import { NONE, type ConfState, type Entry } from '../src/types';
import { enc, entry, termsOf } from './support/harness';

const code = (c: RaftErrorCode) => expect.objectContaining({ code: c }) as Error;
const cs: ConfState = { voters: [1n, 2n, 3n], learners: [] };

/** Storage whose log is compacted at index 3 (term 3) and holds entries 4/t4 and 5/t5. */
function storage345(): MemoryStorage {
  const s = new MemoryStorage();
  s.append([entry(1, 1), entry(2, 2), entry(3, 3), entry(4, 4), entry(5, 5)]);
  s.compact(3);
  return s;
}

describe('MemoryStorage', () => {
  it('starts empty: first index 1, last index 0, term(0) = 0, zero hard state', () => {
    const s = new MemoryStorage();
    expect([s.firstIndex(), s.lastIndex(), s.term(0)]).toEqual([1, 0, 0]);
    expect(s.initialState()).toEqual({
      hardState: { term: 0, vote: NONE, commit: 0 },
      confState: { voters: [], learners: [] },
    });
    expect(() => s.entries(1, 2, 100)).toThrow(code(RaftErrorCode.Unavailable));
  });

  it('answers term() from the compaction point to the last index, Compacted below, Unavailable above', () => {
    const s = storage345();
    expect(() => s.term(2)).toThrow(code(RaftErrorCode.Compacted));
    expect([s.term(3), s.term(4), s.term(5)]).toEqual([3, 4, 5]);
    expect(() => s.term(6)).toThrow(code(RaftErrorCode.Unavailable));
    expect([s.firstIndex(), s.lastIndex()]).toEqual([4, 5]);
  });

  it('returns entries in [lo, hi) limited by size but always at least one', () => {
    const s = new MemoryStorage();
    s.append([entry(1, 1, 'aaaa'), entry(2, 1, 'bbbb'), entry(3, 1, 'cccc')]);
    // entrySize = 4 + 16 = 20 bytes each
    expect(s.entries(1, 4, 1e9).map((e) => e.index)).toEqual([1, 2, 3]);
    expect(s.entries(1, 4, 40).map((e) => e.index)).toEqual([1, 2]);
    expect(s.entries(1, 4, 39).map((e) => e.index)).toEqual([1]);
    expect(s.entries(1, 4, 0).map((e) => e.index)).toEqual([1]);
    expect(s.entries(2, 3, 0).map((e) => e.index)).toEqual([2]);
    expect(() => s.entries(2, 5, 100)).toThrow(code(RaftErrorCode.Unavailable));
    s.compact(1);
    expect(() => s.entries(1, 3, 100)).toThrow(code(RaftErrorCode.Compacted));
  });

  it('append truncates a conflicting suffix, skips compacted entries and refuses gaps', () => {
    const cases: { append: Entry[]; want: number[] | 'gap' }[] = [
      { append: [entry(3, 3), entry(4, 4), entry(5, 5)], want: [4, 5] },
      { append: [entry(3, 3), entry(4, 6), entry(5, 6)], want: [6, 6] },
      { append: [entry(3, 3), entry(4, 4), entry(5, 5), entry(6, 5)], want: [4, 5, 5] },
      // entries at or below the compaction point are ignored
      { append: [entry(2, 3), entry(3, 3), entry(4, 5)], want: [5] },
      // truncate the tail and append
      { append: [entry(4, 5)], want: [5] },
      // plain append
      { append: [entry(6, 5)], want: [4, 5, 5] },
      // a gap
      { append: [entry(7, 5)], want: 'gap' },
    ];
    for (const c of cases) {
      const s = storage345();
      if (c.want === 'gap') {
        expect(() => s.append(c.append)).toThrow(code(RaftErrorCode.Unavailable));
        continue;
      }
      s.append(c.append);
      expect(termsOf(s.entries(s.firstIndex(), s.lastIndex() + 1, 1e9))).toEqual(c.want);
    }
  });

  it('compact keeps the term of the compaction point and refuses to go backwards or past the end', () => {
    const s = storage345();
    expect(() => s.compact(2)).toThrow(code(RaftErrorCode.Compacted));
    expect(() => s.compact(3)).toThrow(code(RaftErrorCode.Compacted));
    expect(() => s.compact(6)).toThrow(code(RaftErrorCode.Unavailable));
    s.compact(4);
    expect([s.firstIndex(), s.lastIndex(), s.term(4), s.term(5)]).toEqual([5, 5, 4, 5]);
  });

  it('createSnapshot records index, term and membership; older snapshots are SnapOutOfDate', () => {
    const s = storage345();
    const snap = s.createSnapshot(4, cs, enc('data'));
    expect(snap.metadata).toEqual({ index: 4, term: 4, confState: cs });
    expect(s.snapshot()).toBe(snap);
    expect(s.initialState().confState).toEqual(cs);
    expect(() => s.createSnapshot(4, cs, enc('x'))).toThrow(code(RaftErrorCode.SnapOutOfDate));
    expect(() => s.createSnapshot(9, cs, enc('x'))).toThrow(code(RaftErrorCode.Unavailable));
    // The log is not compacted by a snapshot alone.
    expect(s.firstIndex()).toBe(4);
  });

  it('applySnapshot replaces the log; an older snapshot is SnapOutOfDate', () => {
    const s = storage345();
    s.applySnapshot({ metadata: { index: 10, term: 7, confState: cs }, data: enc('s') });
    expect([s.firstIndex(), s.lastIndex(), s.term(10)]).toEqual([11, 10, 7]);
    expect(s.initialState().confState).toEqual(cs);
    expect(() =>
      s.applySnapshot({ metadata: { index: 10, term: 7, confState: cs }, data: enc('s') }),
    ).toThrow(code(RaftErrorCode.SnapOutOfDate));
    s.append([entry(11, 7)]);
    expect(s.lastIndex()).toBe(11);
  });

  it('keeps copies of the hard state and membership it is given', () => {
    const s = new MemoryStorage();
    const hs = { term: 3, vote: 2n, commit: 0 };
    s.setHardState(hs);
    hs.term = 99;
    expect(s.getHardState()).toEqual({ term: 3, vote: 2n, commit: 0 });
    const conf = { voters: [1n], learners: [] as bigint[] };
    s.setConfState(conf);
    conf.voters.push(5n);
    expect(s.getConfState()).toEqual({ voters: [1n], learners: [] });
  });

  it('keeps copies of entry data, not views that pin the buffer they came from', () => {
    const s = new MemoryStorage();
    const frame = Buffer.alloc(64 * 1024, 0x61);
    const small = frame.subarray(10, 310);
    const plain = new Uint8Array(frame.buffer, 400, 20);
    const large = frame.subarray(1000, 9000);
    s.append([
      { ...entry(1, 1), data: small },
      { ...entry(2, 1), data: plain },
      { ...entry(3, 1), data: large },
    ]);
    frame.fill(0x7a);
    const [e1, e2, e3] = s.entries(1, 4, Number.MAX_SAFE_INTEGER);
    expect(e1.data.buffer).not.toBe(frame.buffer);
    expect(Buffer.isBuffer(e1.data)).toBe(true);
    expect(Buffer.from(e1.data).equals(Buffer.alloc(300, 0x61))).toBe(true);
    expect(Buffer.isBuffer(e2.data)).toBe(false);
    expect(Buffer.from(e2.data).equals(Buffer.alloc(20, 0x61))).toBe(true);
    expect(e3.data.buffer.byteLength).toBe(8000);
    expect(Buffer.from(e3.data).equals(Buffer.alloc(8000, 0x61))).toBe(true);
  });
});
