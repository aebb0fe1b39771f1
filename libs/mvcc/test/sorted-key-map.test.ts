import { describe, expect, it } from 'vitest';
import { SortedKeyMap } from '../src/sorted-key-map';

/** Small deterministic PRNG so the test is repeatable. */
function mulberry32(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

describe('SortedKeyMap', () => {
  it('matches a naive sorted model through random inserts, deletes and range scans', () => {
    const random = mulberry32(42);
    const map = new SortedKeyMap<number>();
    const model = new Map<string, number>();
    const randomKey = (): string => {
      const length = 1 + Math.floor(random() * 4);
      let key = '';
      for (let i = 0; i < length; i++) key += String.fromCharCode(Math.floor(random() * 256));
      return key;
    };
    for (let step = 0; step < 20_000; step++) {
      const key = randomKey();
      if (random() < 0.65) {
        map.set(key, step);
        model.set(key, step);
      } else {
        expect(map.delete(key)).toBe(model.delete(key));
      }
      if (step % 500 === 0) {
        const start = randomKey();
        const end = random() < 0.2 ? undefined : randomKey();
        const expected = [...model.entries()]
          .filter(([k]) => k >= start && (end === undefined || k < end))
          .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
          .map(([, v]) => v);
        expect([...map.range(start, end)]).toEqual(expected);
      }
    }
    expect(map.size).toBe(model.size);
    const all = [...model.keys()].sort();
    expect([...map.values()]).toEqual(all.map((k) => model.get(k)));
  });

  it('orders latin1 ids bytewise (0xff after 0x7f)', () => {
    const map = new SortedKeyMap<string>();
    for (const bytes of [[0xff], [0x7f], [0x00], [0x7f, 0x00]]) {
      const id = Buffer.from(bytes).toString('latin1');
      map.set(id, Buffer.from(bytes).toString('hex'));
    }
    expect([...map.values()]).toEqual(['00', '7f', '7f00', 'ff']);
  });

  it('returns nothing for an empty or inverted range', () => {
    const map = new SortedKeyMap<number>();
    map.set('b', 1);
    expect([...map.range('c', 'a')]).toEqual([]);
    expect([...map.range('b', 'b')]).toEqual([]);
    expect([...new SortedKeyMap<number>().range('', undefined)]).toEqual([]);
  });
});
