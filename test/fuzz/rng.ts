// A seeded random source for the fuzz generators: one seed gives the same inputs, byte for byte.
import { seededRandom } from '../support';

export class Rng {
  private readonly next: () => number;

  constructor(readonly seed: number) {
    this.next = seededRandom(seed);
  }

  /** A float in [0, 1). */
  float(): number {
    return this.next();
  }

  /** An integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.next() * n);
  }

  /** An integer in [lo, hi]. */
  range(lo: number, hi: number): number {
    return lo + this.int(hi - lo + 1);
  }

  chance(p: number): boolean {
    return this.next() < p;
  }

  pick<T>(items: readonly T[]): T {
    if (items.length === 0) throw new Error('pick from an empty list');
    return items[this.int(items.length)]!;
  }

  /** A weighted choice: [[weight, value], ...]. */
  weighted<T>(choices: readonly (readonly [number, T])[]): T {
    const total = choices.reduce((sum, [w]) => sum + w, 0);
    let roll = this.next() * total;
    for (const [w, value] of choices) {
      roll -= w;
      if (roll < 0) return value;
    }
    return choices[choices.length - 1]![1];
  }

  bytes(n: number): Buffer {
    const out = Buffer.alloc(n);
    for (let i = 0; i < n; i++) out[i] = this.int(256);
    return out;
  }

  /** A length that is usually small and sometimes large (log-uniform up to `max`). */
  size(max: number): number {
    return Math.floor(Math.exp(this.next() * Math.log(max + 1)));
  }

  u32(): number {
    return (this.int(0x10000) * 0x10000 + this.int(0x10000)) >>> 0;
  }

  /** Printable ASCII, sometimes with control and non-ASCII characters. */
  text(n: number): string {
    let out = '';
    for (let i = 0; i < n; i++) {
      const roll = this.next();
      if (roll < 0.85) out += String.fromCharCode(this.range(0x20, 0x7e));
      else if (roll < 0.93) out += String.fromCharCode(this.int(0x20));
      else out += String.fromCodePoint(this.range(0x80, 0x2fff));
    }
    return out;
  }

  /** A child generator for one input, so each input can be replayed from (seed, index) alone. */
  fork(index: number): Rng {
    return new Rng((Math.imul(this.seed ^ 0x9e3779b9, 0x85ebca6b) + Math.imul(index + 1, 0xc2b2ae35)) >>> 0);
  }
}

/** Mutations every byte-level generator shares: flip bits, truncate, splice, insert, duplicate. */
export function mutateBytes(rng: Rng, input: Buffer, rounds = 1 + rng.int(3)): Buffer {
  let out: Buffer = Buffer.from(input);
  for (let r = 0; r < rounds; r++) {
    const op = rng.int(7);
    if (out.length === 0 && op !== 3) {
      out = rng.bytes(1 + rng.int(8));
      continue;
    }
    switch (op) {
      case 0: {
        const flips = 1 + rng.int(4);
        for (let i = 0; i < flips; i++) {
          const at = rng.int(out.length);
          out[at] = out[at]! ^ (1 << rng.int(8));
        }
        break;
      }
      case 1:
        out = out.subarray(0, rng.int(out.length));
        break;
      case 2: {
        const at = rng.int(out.length);
        out[at] = rng.pick([0x00, 0xff, 0x7f, 0x80, rng.int(256)]);
        break;
      }
      case 3: {
        const at = rng.int(out.length + 1);
        out = Buffer.concat([out.subarray(0, at), rng.bytes(1 + rng.int(16)), out.subarray(at)]);
        break;
      }
      case 4: {
        const from = rng.int(out.length);
        const len = 1 + rng.int(Math.min(64, out.length - from));
        const at = rng.int(out.length + 1);
        out = Buffer.concat([out.subarray(0, at), out.subarray(from, from + len), out.subarray(at)]);
        break;
      }
      case 5: {
        const from = rng.int(out.length);
        const len = 1 + rng.int(Math.min(32, out.length - from));
        out = Buffer.concat([out.subarray(0, from), out.subarray(from + len)]);
        break;
      }
      default: {
        // Varint-shaped garbage: a long run of continuation bytes.
        const at = rng.int(out.length + 1);
        out = Buffer.concat([out.subarray(0, at), Buffer.alloc(1 + rng.int(12), 0xff), out.subarray(at)]);
        break;
      }
    }
  }
  return out;
}
