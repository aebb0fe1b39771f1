import { describe, expect, it } from 'vitest';
import { exactPercentile, LatencyHistogram, median } from '../src/stats/latency-histogram';

/** A deterministic pseudo-random generator, so a failure can be replayed. */
function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state * 1664525 + 1013904223) >>> 0;
    return state / 2 ** 32;
  };
}

describe('LatencyHistogram', () => {
  it('reports 0 for every percentile when nothing was recorded', () => {
    const histogram = new LatencyHistogram();
    expect([histogram.percentile(50), histogram.percentile(99), histogram.max, histogram.mean]).toEqual([
      0, 0, 0, 0,
    ]);
  });

  it('is exact for latencies under 128 µs (one bucket per microsecond)', () => {
    const histogram = new LatencyHistogram();
    const samples = [0.005, 0.017, 0.042, 0.1, 0.127];
    samples.forEach((ms) => histogram.record(ms));
    for (const p of [1, 20, 40, 60, 80, 100])
      expect(histogram.percentile(p)).toBeCloseTo(exactPercentile(samples, p), 6);
  });

  it('uses nearest rank: p50 of 1..100 ms is 50 ms and p99 is 99 ms, within the bucket error', () => {
    const histogram = new LatencyHistogram();
    for (let ms = 1; ms <= 100; ms++) histogram.record(ms);
    expect(histogram.percentile(50)).toBeGreaterThan(50 * (1 - 1 / 128));
    expect(histogram.percentile(50)).toBeLessThan(50 * (1 + 1 / 128));
    expect(histogram.percentile(99)).toBeGreaterThan(99 * (1 - 1 / 128));
    expect(histogram.percentile(99)).toBeLessThan(99 * (1 + 1 / 128));
    expect(histogram.percentile(100)).toBe(100);
  });

  it('stays within 1/128 of the exact percentile over latencies spanning 0.05 ms to 5 s', () => {
    const random = seededRandom(42);
    const histogram = new LatencyHistogram();
    const samples: number[] = [];
    for (let i = 0; i < 50_000; i++) {
      const ms = 0.05 * Math.exp(random() * Math.log(100_000)); // log-uniform
      samples.push(Math.round(ms * 1000) / 1000); // the histogram keeps whole microseconds
      histogram.record(ms);
    }
    for (const p of [1, 10, 50, 90, 99, 99.9]) {
      const exact = exactPercentile(samples, p);
      const reported = histogram.percentile(p);
      expect(
        Math.abs(reported - exact) / exact,
        `p${p}: exact ${exact} ms, reported ${reported} ms`,
      ).toBeLessThanOrEqual(1 / 128);
    }
  });

  it('keeps the exact max, min, count and mean', () => {
    const histogram = new LatencyHistogram();
    [3.5, 1.25, 1000.123].forEach((ms) => histogram.record(ms));
    expect(histogram.count).toBe(3);
    expect(histogram.max).toBe(1000.123);
    expect(histogram.min).toBe(1.25);
    expect(histogram.mean).toBeCloseTo((3.5 + 1.25 + 1000.123) / 3, 6);
  });

  it('merges two histograms into the same result as recording everything in one', () => {
    const a = new LatencyHistogram();
    const b = new LatencyHistogram();
    const both = new LatencyHistogram();
    for (let i = 1; i <= 1000; i++) {
      (i % 2 ? a : b).record(i / 10);
      both.record(i / 10);
    }
    a.merge(b);
    for (const p of [50, 90, 99]) expect(a.percentile(p)).toBe(both.percentile(p));
    expect(a.count).toBe(1000);
    expect(a.max).toBe(100);
  });

  it('rejects a percentile outside 0..100', () => {
    expect(() => new LatencyHistogram().percentile(101)).toThrow(RangeError);
  });
});

describe('median', () => {
  it('takes the middle of an odd count and the mean of the two middles of an even count', () => {
    expect(median([3, 1, 2])).toBe(2);
    expect(median([4, 1, 3, 2])).toBe(2.5);
  });
});
