// Latencies go into a log-linear histogram (the HdrHistogram idea): fixed memory and O(1) per
// sample however long the run, with a bounded relative error. Values are kept in whole
// microseconds; below 2^SUB_BUCKET_BITS µs every value has its own bucket, above it each power of
// two is split into 2^(SUB_BUCKET_BITS-1) = 64 equal buckets and a percentile is reported as its
// bucket's midpoint, so it is within 1/128 (< 0.8 %) of the true sample.

const SUB_BUCKET_BITS = 7;
const SUB_BUCKETS = 1 << SUB_BUCKET_BITS;
const MAX_EXPONENT = 40; // 2^40 µs ≈ 12.7 days: nothing a benchmark can reach
const BUCKET_COUNT = SUB_BUCKETS + (MAX_EXPONENT - SUB_BUCKET_BITS + 1) * (SUB_BUCKETS / 2);

export class LatencyHistogram {
  private readonly counts = new Float64Array(BUCKET_COUNT);
  private samples = 0;
  private sumMicros = 0;
  private minMicros = Number.POSITIVE_INFINITY;
  private maxMicros = 0;

  /** Records one latency in milliseconds. */
  record(milliseconds: number): void {
    const micros = Math.max(0, Math.round(milliseconds * 1000));
    this.counts[bucketOf(micros)]++;
    this.samples++;
    this.sumMicros += micros;
    if (micros < this.minMicros) this.minMicros = micros;
    if (micros > this.maxMicros) this.maxMicros = micros;
  }

  get count(): number {
    return this.samples;
  }

  /** Largest recorded latency, exact, in ms. */
  get max(): number {
    return this.maxMicros / 1000;
  }

  get min(): number {
    return this.samples === 0 ? 0 : this.minMicros / 1000;
  }

  get mean(): number {
    return this.samples === 0 ? 0 : this.sumMicros / this.samples / 1000;
  }

  /**
   * The nearest-rank percentile (the smallest sample with at least p % of samples at or below it),
   * in ms; 0 when nothing was recorded.
   */
  percentile(p: number): number {
    if (p < 0 || p > 100) throw new RangeError(`percentile ${p} is outside 0..100`);
    if (this.samples === 0) return 0;
    const rank = Math.max(1, Math.ceil((p / 100) * this.samples));
    if (rank >= this.samples) return this.max; // the top sample is known exactly
    let seen = 0;
    for (let bucket = 0; bucket < BUCKET_COUNT; bucket++) {
      seen += this.counts[bucket];
      if (seen >= rank) {
        const estimate = bucketMidpoint(bucket);
        return Math.min(Math.max(estimate, this.minMicros), this.maxMicros) / 1000;
      }
    }
    return this.max;
  }

  /** Adds another histogram's samples to this one. */
  merge(other: LatencyHistogram): void {
    for (let bucket = 0; bucket < BUCKET_COUNT; bucket++) this.counts[bucket] += other.counts[bucket];
    this.samples += other.samples;
    this.sumMicros += other.sumMicros;
    this.minMicros = Math.min(this.minMicros, other.minMicros);
    this.maxMicros = Math.max(this.maxMicros, other.maxMicros);
  }
}

function bucketOf(micros: number): number {
  if (micros < SUB_BUCKETS) return micros;
  const exponent = Math.min(floorLog2(micros), MAX_EXPONENT);
  const shift = exponent - SUB_BUCKET_BITS + 1;
  // Within [2^exponent, 2^(exponent+1)) the top SUB_BUCKET_BITS bits pick one of 64 buckets.
  const subBucket = Math.min(Math.floor(micros / 2 ** shift), SUB_BUCKETS - 1) - SUB_BUCKETS / 2;
  return SUB_BUCKETS + (exponent - SUB_BUCKET_BITS) * (SUB_BUCKETS / 2) + subBucket;
}

function floorLog2(value: number): number {
  if (value < 2 ** 31) return 31 - Math.clz32(value);
  let exponent = Math.floor(Math.log2(value));
  // Math.log2 may round across a power of two for huge values; nudge it back.
  if (2 ** exponent > value) exponent--;
  if (2 ** (exponent + 1) <= value) exponent++;
  return exponent;
}

function bucketMidpoint(bucket: number): number {
  if (bucket < SUB_BUCKETS) return bucket;
  const offset = bucket - SUB_BUCKETS;
  const exponent = Math.floor(offset / (SUB_BUCKETS / 2)) + SUB_BUCKET_BITS;
  const subBucket = (offset % (SUB_BUCKETS / 2)) + SUB_BUCKETS / 2;
  const shift = exponent - SUB_BUCKET_BITS + 1;
  const low = subBucket * 2 ** shift;
  return low + (2 ** shift - 1) / 2;
}

/** Exact nearest-rank percentile of a list of samples (used to check the histogram). */
export function exactPercentile(samples: readonly number[], p: number): number {
  if (samples.length === 0) return 0;
  const sorted = [...samples].sort((a, b) => a - b);
  const rank = Math.max(1, Math.ceil((p / 100) * sorted.length));
  return sorted[rank - 1];
}

/** Median of a list (mean of the two middle values for an even count). */
export function median(values: readonly number[]): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
}
