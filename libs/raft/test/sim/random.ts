// The simulation's only source of randomness. Everything in a run (network weather, faults, client
// load, every RaftNode's election jitter) is drawn from streams forked off one seed, so a seed replays
// the same run bit for bit.
import type { RandomSource } from '../../src';

export class SimRandom implements RandomSource {
  private state: number;

  constructor(seed: number) {
    this.state = scramble(seed);
  }

  /** mulberry32: small, fast and good enough for scheduling decisions. */
  nextUint32(): number {
    this.state = (this.state + 0x6d2b79f5) | 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  }

  /** A float in [0, 1). */
  float(): number {
    return this.nextUint32() / 4294967296;
  }

  /** An integer in [0, n). */
  int(n: number): number {
    if (!(n > 0)) throw new RangeError(`SimRandom.int needs n > 0, got ${n}`);
    return Math.floor(this.float() * n);
  }

  /** An integer in [lo, hi], both ends included. */
  between(lo: number, hi: number): number {
    return lo + this.int(hi - lo + 1);
  }

  chance(p: number): boolean {
    return p > 0 && this.float() < p;
  }

  pick<T>(items: readonly T[]): T {
    if (items.length === 0) throw new RangeError('SimRandom.pick from an empty list');
    return items[this.int(items.length)] as T;
  }

  /** Fisher-Yates, in place; returns the same array. */
  shuffle<T>(items: T[]): T[] {
    for (let i = items.length - 1; i > 0; i--) {
      const j = this.int(i + 1);
      const tmp = items[i] as T;
      items[i] = items[j] as T;
      items[j] = tmp;
    }
    return items;
  }

  /** An independent stream, so one consumer drawing more numbers does not shift another's. */
  fork(): SimRandom {
    return new SimRandom(this.nextUint32());
  }
}

/** splitmix32 finaliser: neighbouring seeds (1, 2, 3...) start from unrelated states. */
function scramble(seed: number): number {
  let z = (Math.trunc(seed) ^ 0x9e3779b9) >>> 0;
  z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
  z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
  return (z ^ (z >>> 16)) >>> 0;
}
