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

/** A value of the map: it carries its own id. */
interface Item {
  id: string;
  n: number;
}

describe('SortedKeyMap', () => {
  it('matches a naive sorted model through random inserts, deletes and range scans', () => {
    const random = mulberry32(42);
    const map = new SortedKeyMap<Item>();
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
        map.set({ id: key, n: step });
        model.set(key, step);
        expect(map.get(key)?.n).toBe(step);
      } else {
        expect(map.delete(key)).toBe(model.delete(key));
        expect(map.has(key)).toBe(false);
      }
      if (step % 500 === 0) {
        const start = randomKey();
        const end = random() < 0.2 ? undefined : randomKey();
        const expected = [...model.entries()]
          .filter(([k]) => k >= start && (end === undefined || k < end))
          .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
          .map(([, v]) => v);
        expect([...map.range(start, end)].map((item) => item.n)).toEqual(expected);
      }
    }
    expect(map.size).toBe(model.size);
    const all = [...model.keys()].sort();
    expect([...map.values()].map((item) => item.n)).toEqual(all.map((k) => model.get(k)));
    for (const key of all) expect(map.get(key)?.n).toBe(model.get(key));
  });

  it('orders latin1 ids bytewise (0xff after 0x7f)', () => {
    const map = new SortedKeyMap<Item>();
    for (const bytes of [[0xff], [0x7f], [0x00], [0x7f, 0x00]]) {
      map.set({ id: Buffer.from(bytes).toString('latin1'), n: 0 });
    }
    expect([...map.values()].map((item) => Buffer.from(item.id, 'latin1').toString('hex'))).toEqual([
      '00',
      '7f',
      '7f00',
      'ff',
    ]);
  });

  it('returns nothing for an empty or inverted range', () => {
    const map = new SortedKeyMap<Item>();
    map.set({ id: 'b', n: 1 });
    expect([...map.range('c', 'a')]).toEqual([]);
    expect([...map.range('b', 'b')]).toEqual([]);
    expect([...new SortedKeyMap<Item>().range('', undefined)]).toEqual([]);
  });

  it('keeps blocks full under keys inserted in order, and finds every key', () => {
    const map = new SortedKeyMap<Item>();
    const ids = Array.from({ length: 5000 }, (_, n) => `/k/${String(n).padStart(6, '0')}`);
    for (const [n, id] of ids.entries()) map.set({ id, n });
    const blocks = (map as unknown as { blocks: Item[][] }).blocks;
    expect(blocks.slice(0, -1).every((block) => block.length === 512)).toBe(true);
    expect(map.size).toBe(5000);
    for (const [n, id] of ids.entries()) expect(map.get(id)?.n).toBe(n);
    expect(map.get('/k/')).toBeUndefined();
    expect(map.get('/k/999999')).toBeUndefined();
    expect([...map.range('/k/001000', '/k/001003')].map((item) => item.n)).toEqual([1000, 1001, 1002]);
  });
});
