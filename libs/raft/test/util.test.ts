import { describe, expect, it } from 'vitest';
import { encodeConfChange } from '../src/confchange-codec';
import { describeEntry, describeMessage, entrySize } from '../src/describe';
import { noopLogger } from '../src/logger';
import { seededRandom } from '../src/random';
import { ConfChangeType, EntryType, MessageType } from '../src/types';
import { enc, entry, msg } from './support/harness';

describe('seededRandom', () => {
  it('is deterministic per seed and stays in [0, n)', () => {
    const a = seededRandom(42);
    const b = seededRandom(42);
    const c = seededRandom(43);
    const sa = Array.from({ length: 50 }, () => a.int(1000));
    const sb = Array.from({ length: 50 }, () => b.int(1000));
    const sc = Array.from({ length: 50 }, () => c.int(1000));
    expect(sa).toEqual(sb);
    expect(sa).not.toEqual(sc);
    const r = seededRandom(7);
    const seen = new Set<number>();
    for (let i = 0; i < 1000; i++) {
      const v = r.int(10);
      expect(v >= 0 && v < 10 && Number.isInteger(v)).toBe(true);
      seen.add(v);
    }
    expect(seen.size).toBe(10);
    expect(() => r.int(0)).toThrow(RangeError);
    expect(() => r.int(1.5)).toThrow(RangeError);
  });
});

describe('describe', () => {
  it('renders an AppendEntries on one line', () => {
    const m = msg({
      type: MessageType.App,
      from: 1n,
      to: 2n,
      term: 3,
      index: 5,
      logTerm: 2,
      commit: 5,
      entries: [entry(6, 3), entry(7, 3), entry(8, 3)],
    });
    expect(describeMessage(m)).toBe('1->2 App t3 li5/t2 [6..8] c5');
  });

  it('renders rejections, votes, heartbeats and reads', () => {
    expect(
      describeMessage(
        msg({
          type: MessageType.AppResp,
          from: 2n,
          to: 1n,
          term: 3,
          index: 5,
          reject: true,
          rejectHint: 3,
          logTerm: 2,
        }),
      ),
    ).toBe('2->1 AppResp t3 i5 rej hint 3/t2');
    expect(
      describeMessage(msg({ type: MessageType.PreVote, from: 1n, to: 3n, term: 4, index: 9, logTerm: 3 })),
    ).toBe('1->3 PreVote t4 li9/t3');
    expect(
      describeMessage(msg({ type: MessageType.VoteResp, from: 3n, to: 1n, term: 4, reject: true })),
    ).toBe('3->1 VoteResp t4 rej');
    expect(
      describeMessage(
        msg({ type: MessageType.Heartbeat, from: 1n, to: 2n, term: 4, commit: 7, context: enc('ab') }),
      ),
    ).toBe('1->2 Heartbeat t4 c7 ctx=6162');
    expect(
      describeMessage(
        msg({ type: MessageType.ReadIndexResp, from: 1n, to: 2n, term: 4, index: 7, context: enc('a') }),
      ),
    ).toBe('1->2 ReadIndexResp t4 i7 ctx=61');
  });

  it('renders entries, decoding conf changes', () => {
    expect(describeEntry(entry(6, 3, 'abcd'))).toBe('6/t3 4B');
    expect(describeEntry(entry(7, 3))).toBe('7/t3 noop');
    const data = encodeConfChange({ type: ConfChangeType.AddLearnerNode, nodeId: 4n, context: enc('') });
    expect(describeEntry({ index: 1, term: 1, type: EntryType.ConfChange, data })).toBe(
      '1/t1 conf AddLearnerNode 4',
    );
    expect(describeEntry({ index: 1, term: 1, type: EntryType.ConfChange, data: enc('zz') })).toBe(
      '1/t1 conf <undecodable 2B>',
    );
  });

  it('sizes an entry as its data plus a fixed overhead', () => {
    expect(entrySize(entry(1, 1))).toBe(16);
    expect(entrySize(entry(1, 1, 'abc'))).toBe(19);
  });

  it('noopLogger accepts every level', () => {
    expect(() => {
      noopLogger.debug('x');
      noopLogger.info('x', { a: 1 });
      noopLogger.warn('x');
      noopLogger.error('x');
    }).not.toThrow();
  });
});
