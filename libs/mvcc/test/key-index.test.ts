import { describe, expect, it } from 'vitest';
import { KeyIndex } from '../src/index';

/** put 2, put 4, del 6 | put 8, put 10, del 12 | put 14.0, put 14.1, del 16 | (empty) */
function fixture(): KeyIndex {
  const index = new KeyIndex('foo');
  index.put({ main: 2, sub: 0 });
  index.put({ main: 4, sub: 0 });
  index.tombstone({ main: 6, sub: 0 });
  index.put({ main: 8, sub: 0 });
  index.put({ main: 10, sub: 0 });
  index.tombstone({ main: 12, sub: 0 });
  index.put({ main: 14, sub: 0 });
  index.put({ main: 14, sub: 1 });
  index.tombstone({ main: 16, sub: 0 });
  return index;
}

const revs = (index: KeyIndex): string[][] =>
  index.generations.map((g) => g.revs.map((r) => (r.sub === 0 ? `${r.main}` : `${r.main}.${r.sub}`)));

describe('KeyIndex generations', () => {
  it('split at every tombstone and end with an empty live generation after a delete', () => {
    const index = fixture();
    expect(revs(index)).toEqual([['2', '4', '6'], ['8', '10', '12'], ['14', '14.1', '16'], []]);
    expect(index.generations.map((g) => [g.created, g.version])).toEqual([
      [2, 3],
      [8, 3],
      [14, 3],
      [0, 0],
    ]);
  });

  it.each([
    [1, undefined],
    [2, { main: 2, created: 2, version: 1 }],
    [3, { main: 2, created: 2, version: 1 }],
    [4, { main: 4, created: 2, version: 2 }],
    [5, { main: 4, created: 2, version: 2 }],
    [6, undefined],
    [7, undefined],
    [8, { main: 8, created: 8, version: 1 }],
    [9, { main: 8, created: 8, version: 1 }],
    [10, { main: 10, created: 8, version: 2 }],
    [11, { main: 10, created: 8, version: 2 }],
    [12, undefined],
    [13, undefined],
    [14, { main: 14, created: 14, version: 2 }],
    [15, { main: 14, created: 14, version: 2 }],
    [16, undefined],
    [17, undefined],
  ])('get(%i) sees the live revision of that time', (atRev, expected) => {
    const found = fixture().get(atRev);
    expect(found && { main: found.modified.main, created: found.created, version: found.version }).toEqual(
      expected,
    );
  });

  it('get at a revision with two subs returns the later sub', () => {
    expect(fixture().get(15)?.modified).toEqual({ main: 14, sub: 1 });
  });

  it('refuses puts that do not move forward and tombstones of a deleted key', () => {
    const index = fixture();
    expect(() => index.put({ main: 16, sub: 0 })).toThrow();
    expect(() => index.tombstone({ main: 20, sub: 0 })).toThrow(/not live/);
  });

  it.each([
    [1, [['2', '4', '6'], ['8', '10', '12'], ['14', '14.1', '16'], []], []],
    [2, [['2', '4', '6'], ['8', '10', '12'], ['14', '14.1', '16'], []], ['2_0']],
    [3, [['2', '4', '6'], ['8', '10', '12'], ['14', '14.1', '16'], []], ['2_0']],
    [4, [['4', '6'], ['8', '10', '12'], ['14', '14.1', '16'], []], ['4_0']],
    [5, [['4', '6'], ['8', '10', '12'], ['14', '14.1', '16'], []], ['4_0']],
    [6, [['8', '10', '12'], ['14', '14.1', '16'], []], []],
    [7, [['8', '10', '12'], ['14', '14.1', '16'], []], []],
    [8, [['8', '10', '12'], ['14', '14.1', '16'], []], ['8_0']],
    [10, [['10', '12'], ['14', '14.1', '16'], []], ['10_0']],
    [12, [['14', '14.1', '16'], []], []],
    [14, [['14.1', '16'], []], ['14_1']],
    [15, [['14.1', '16'], []], ['14_1']],
    [16, [[]], []],
    [17, [[]], []],
  ])(
    'compact(%i) keeps the right revisions and reports the kept ones <= it',
    (atRev, expectedRevs, expectedKept) => {
      const index = fixture();
      const kept = new Set<string>();
      index.keep(atRev, kept);
      const available = new Set<string>();
      index.compact(atRev, available);
      expect(revs(index)).toEqual(expectedRevs);
      expect([...available].sort()).toEqual([...expectedKept].sort());
      // keep() predicts exactly what compact() keeps.
      expect([...kept].sort()).toEqual([...available].sort());
    },
  );

  it('is empty once a deleted key is compacted past its tombstone, never while live', () => {
    const index = fixture();
    index.compact(16, new Set());
    expect(index.isEmpty()).toBe(true);

    const live = new KeyIndex('a');
    live.put({ main: 1, sub: 0 });
    live.put({ main: 3, sub: 0 });
    const available = new Set<string>();
    live.compact(10, available);
    expect(live.isEmpty()).toBe(false);
    expect(revs(live)).toEqual([['3']]);
    expect([...available]).toEqual(['3_0']);
    expect(live.get(10)?.version).toBe(2);
  });

  it('compacting repeatedly at increasing revisions is the same as compacting once', () => {
    const once = fixture();
    once.compact(14, new Set());
    const stepwise = fixture();
    for (const atRev of [3, 5, 9, 11, 14]) stepwise.compact(atRev, new Set());
    expect(revs(stepwise)).toEqual(revs(once));
  });
});
