import { describe, expect, it } from 'vitest';
import { DeadlineQueue } from '../src/lease/deadline-queue';
import {
  decodeLeaseKey,
  decodeLeaseRecord,
  encodeLeaseKey,
  encodeLeaseRecord,
} from '../src/lease/lease-record-codec';

/** mulberry32: a small seeded PRNG so the randomized run is the same every time. */
function random(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

describe('DeadlineQueue', () => {
  it('pops in time order, ties by ID', () => {
    const queue = new DeadlineQueue();
    queue.schedule(5n, 300);
    queue.schedule(2n, 100);
    queue.schedule(9n, 100);
    queue.schedule(1n, 200);
    const order: bigint[] = [];
    for (let next = queue.pop(); next !== undefined; next = queue.pop()) order.push(next.id);
    expect(order).toEqual([2n, 9n, 1n, 5n]);
  });

  it('moves an ID in place instead of adding a second entry', () => {
    const queue = new DeadlineQueue();
    queue.schedule(1n, 100);
    queue.schedule(2n, 200);
    queue.schedule(1n, 500);
    expect(queue.size).toBe(2);
    expect(queue.peek()).toEqual({ id: 2n, time: 200 });
    queue.schedule(1n, 50);
    expect(queue.peek()).toEqual({ id: 1n, time: 50 });
    expect(queue.timeOf(2n)).toBe(200);
  });

  it('matches a sorted-list model over 20,000 random schedules, removals and pops', () => {
    const next = random(42);
    const queue = new DeadlineQueue();
    const model = new Map<bigint, number>();
    const modelMin = (): { id: bigint; time: number } | undefined => {
      let best: { id: bigint; time: number } | undefined;
      for (const [id, time] of model) {
        if (best === undefined || time < best.time || (time === best.time && id < best.id))
          best = { id, time };
      }
      return best;
    };
    for (let step = 0; step < 20_000; step++) {
      const id = BigInt(Math.floor(next() * 200));
      const roll = next();
      if (roll < 0.6) {
        const time = Math.floor(next() * 1_000);
        queue.schedule(id, time);
        model.set(id, time);
      } else if (roll < 0.8) {
        expect(queue.remove(id)).toBe(model.delete(id));
      } else {
        const expected = modelMin();
        if (expected !== undefined) model.delete(expected.id);
        expect(queue.pop(), `step ${step}`).toEqual(expected);
      }
      expect(queue.size).toBe(model.size);
    }
  });
});

describe('lease record codec', () => {
  it('encodes IDs as 8-byte big-endian int64 and back', () => {
    for (const id of [1n, 255n, -1n, (1n << 63n) - 1n, -(1n << 63n)]) {
      const key = encodeLeaseKey(id);
      expect(key.length).toBe(8);
      expect(decodeLeaseKey(key)).toBe(id);
    }
    expect(encodeLeaseKey(0x0102030405060708n).toString('hex')).toBe('0102030405060708');
  });

  it('round-trips TTL and remaining TTL up to the maximum TTL', () => {
    const record = { ttl: 9_000_000_000, remainingTtl: 8_999_999_999 };
    expect(decodeLeaseRecord(1n, encodeLeaseRecord(record))).toEqual(record);
  });

  it('rejects a record of the wrong size or version', () => {
    const good = encodeLeaseRecord({ ttl: 10, remainingTtl: 0 });
    expect(() => decodeLeaseRecord(4n, good.subarray(1))).toThrow(/lease 4/);
    const future = Buffer.from(good);
    future[0] = 2;
    expect(() => decodeLeaseRecord(4n, future)).toThrow(/version 2/);
    expect(() => decodeLeaseKey(Buffer.alloc(7))).toThrow(/7 bytes/);
  });
});
