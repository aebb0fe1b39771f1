// Seeded randomness for fault schedules: a failing run is replayed by setting the same seed.

/** mulberry32: a small, fast 32-bit PRNG; returns floats in [0, 1). */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** The seed from `envVar` if set (to replay a failure), else `fallback`. */
export function seedFromEnv(envVar: string, fallback: number): number {
  const text = process.env[envVar];
  if (text === undefined || text === '') return fallback;
  const seed = Number(text);
  if (!Number.isInteger(seed)) throw new Error(`${envVar} must be an integer, got "${text}"`);
  return seed;
}
