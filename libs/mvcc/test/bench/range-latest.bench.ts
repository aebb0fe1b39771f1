// Micro benchmark: single-key reads at the current revision of random keys among 100,000 (256-byte values),
// with no hot-value cache (every value read from LevelDB through getSync and its block cache), the default
// one (4 MiB) and one that holds every value (as when the index kept values). Prints µs per read; asserts
// nothing about speed.
import { describe, it } from 'vitest';
import { b, openHarness } from '../helpers';

const KEYS = 100_000;
const DURATION_MS = 2000;
const value = Buffer.alloc(256, 7);

async function measure(label: string, hotValueBytes?: number): Promise<void> {
  const h = await openHarness(hotValueBytes === undefined ? {} : { hotValueBytes });
  try {
    for (let n = 0; n < KEYS;) {
      const batch = h.backend.batch();
      for (let i = 0; i < 1000; i++, n++) h.kv.put({ key: b(`key/${n}`), value }, batch);
      await batch.write();
    }
    const keys = Array.from({ length: 400_000 }, () => b(`key/${Math.floor(Math.random() * KEYS)}`));
    let reads = 0;
    const started = performance.now();
    while (performance.now() - started < DURATION_MS) {
      for (let i = 0; i < 256; i++, reads++) {
        const result = h.kv.range({ key: keys[reads % keys.length] });
        if (result instanceof Promise || result.kvs.length !== 1) throw new Error('unexpected read');
      }
    }
    const us = ((performance.now() - started) * 1000) / reads;
    console.log(`${label}: ${reads} reads, ${us.toFixed(2)} µs per read`);
  } finally {
    await h.close();
  }
}

describe('range of one random key at the current revision', () => {
  it('reads', async () => {
    for (let round = 0; round < 2; round++) {
      await measure('no hot cache: every value from LevelDB', 1);
      await measure('default hot cache (4 MiB)');
      await measure('hot cache holding every value', 256 * 1024 * 1024);
    }
  });
});
