// Seeded randomness for Raft (the only decision Raft randomizes is the election timeout).
// mulberry32: tiny, fast, good enough for timeouts, and identical on every platform for a given seed.
import type { RandomSource } from './contracts';

export function seededRandom(seed: number): RandomSource {
  let state = seed >>> 0;
  const nextUint32 = (): number => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  };
  return {
    int(n: number): number {
      if (!Number.isInteger(n) || n <= 0) {
        throw new RangeError(`seededRandom.int: n must be a positive integer, got ${n}`);
      }
      return Math.floor((nextUint32() / 4294967296) * n);
    },
  };
}
