// Micro benchmark: puts applied in batches of 64 into one BackendBatch, written as one LevelDB batch
// (sync off, as the server does: the WAL is the durability source). Prints figures; asserts nothing
// about speed.
import { describe, it } from 'vitest';
import { prefixEnd } from '@cairn/api';
import { WatchableStore } from '../../src/index';
import { b, openHarness } from '../helpers';

const BATCH = 64;
const KEYS = 10_000;
const DURATION_MS = 3000;
const value = Buffer.alloc(256, 7);
const keyFor = (i: number) => b(`key/${(i * 7919) % KEYS}`);

async function measure(label: string, watchers: number): Promise<void> {
  const h = await openHarness();
  const watchable = new WatchableStore(h.kv);
  for (let i = 0; i < watchers; i++) {
    const prefix = b(`key/${i}`);
    watchable.watch({ key: prefix, rangeEnd: prefixEnd(prefix) }, () => true);
  }
  try {
    let n = 0;
    // Warm-up: fill the key space once.
    while (n < KEYS) {
      const batch = h.backend.batch();
      for (let i = 0; i < BATCH; i++) h.kv.put({ key: keyFor(n++), value }, batch);
      await batch.write();
    }
    const started = performance.now();
    let puts = 0;
    let applyMs = 0;
    let writeMs = 0;
    while (performance.now() - started < DURATION_MS) {
      const batch = h.backend.batch();
      const applyStart = performance.now();
      for (let i = 0; i < BATCH; i++) h.kv.put({ key: keyFor(n++), value }, batch);
      applyMs += performance.now() - applyStart;
      const writeStart = performance.now();
      await batch.write();
      writeMs += performance.now() - writeStart;
      puts += BATCH;
    }
    const seconds = (performance.now() - started) / 1000;
    console.log(
      `${label}: ${Math.round(puts / seconds).toLocaleString('en')} puts/s end to end; ` +
        `in-memory apply alone ${Math.round(puts / (applyMs / 1000)).toLocaleString('en')} puts/s ` +
        `(${puts} puts, ${seconds.toFixed(1)} s; ${((writeMs / puts) * BATCH).toFixed(2)} ms per LevelDB batch write)`,
    );
  } finally {
    await watchable.close();
    await h.close();
  }
}

describe('put throughput', () => {
  it('batches of 64, 256 B values, 10k keys', async () => {
    await measure('no watchers', 0);
    await measure('100 prefix watchers', 100);
  });
});
