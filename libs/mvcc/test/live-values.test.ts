// The key index keeps revisions, not values (as etcd's): live values are read back from LevelDB, with a
// small bounded cache of recent ones, and what the store caches must not pin request buffers. Memory
// itself is measured in docs/benchmarks.md, not here.
import { afterEach, describe, expect, it, vi } from 'vitest';
import { HotValues } from '../src/hot-values';
import { KeyIndex } from '../src/key-index';
import { keepBytes } from '../src/key-value';
import { b, type Harness, openHarness } from './helpers';

describe('live values', () => {
  let h: Harness | undefined;

  afterEach(async () => {
    await h?.close();
    h = undefined;
  });

  const latest = (harness: Harness, key: string) => {
    const result = harness.kv.range({ key: b(key) });
    if (result instanceof Promise) throw new Error('expected sync');
    return result.kvs[0];
  };

  it('a put copies the value out of a large request buffer', async () => {
    h = await openHarness();
    const harness = h;
    const frame = Buffer.alloc(64 * 1024, 0x61);
    frame.write('key-1', 100);
    const key = frame.subarray(100, 105);
    const value = frame.subarray(1000, 1256);
    const events: Buffer[] = [];
    harness.kv.onChanges((result) => events.push(result.events[0].kv.value));
    await harness.commit((batch) => harness.kv.put({ key, value }, batch));
    const kv = latest(harness, 'key-1');
    expect(kv.key.buffer).not.toBe(frame.buffer);
    expect(kv.value.buffer).not.toBe(frame.buffer);
    expect(events[0].buffer).not.toBe(frame.buffer);
    frame.fill(0x7a);
    expect(kv.key.toString()).toBe('key-1');
    expect(kv.value.equals(Buffer.alloc(256, 0x61))).toBe(true);
  });

  it('values evicted from the hot cache are read back from LevelDB, before and after their batch is written', async () => {
    // A budget of two small values: every other key's value is evicted at once.
    h = await openHarness({ hotValueBytes: 2 * (200 + 8) });
    const harness = h;
    const batch = harness.backend.batch();
    for (let n = 0; n < 20; n++) harness.kv.put({ key: b(`k${n}`), value: b(`value-${n}`) }, batch);
    // Not written yet: the values come from the staged batch.
    for (let n = 0; n < 20; n++) expect(latest(harness, `k${n}`).value.toString()).toBe(`value-${n}`);
    await batch.write();
    for (let n = 0; n < 20; n++) expect(latest(harness, `k${n}`).value.toString()).toBe(`value-${n}`);
    // The prevKv of an overwrite and a txn compare on value read the evicted value back too.
    const put = await harness.commit((next) =>
      harness.kv.put({ key: b('k3'), value: b('new'), prevKv: true }, next),
    );
    expect(put.prevKv?.value.toString()).toBe('value-3');
    expect(put.prevKv?.version).toBe(1);
    const txn = await harness.commit((next) =>
      harness.kv.applyTxn(
        {
          compare: [{ key: b('k5'), target: 'VALUE', result: 'EQUAL', value: b('value-5') }],
          success: [{ range: { key: b('k5') } }],
          failure: [],
        },
        next,
      ),
    );
    expect(txn.succeeded).toBe(true);
    await harness.reopen();
    expect(latest(harness, 'k3').value.toString()).toBe('new');
    expect(latest(harness, 'k19').value.toString()).toBe('value-19');
  });

  it('keys_only and count_only ranges read no value', async () => {
    h = await openHarness();
    const harness = h;
    const put = await harness.commit((batch) => harness.kv.put({ key: b('a'), value: b('1') }, batch));
    await harness.reopen();
    const reads = vi.spyOn(harness.backend, 'getSync');
    const keys = harness.kv.range({ key: b('a'), keysOnly: true });
    const count = harness.kv.range({ key: b('a'), countOnly: true });
    if (keys instanceof Promise || count instanceof Promise) throw new Error('expected sync');
    expect(keys.kvs[0].value.length).toBe(0);
    expect(keys.kvs[0].modRevision).toBe(put.revision);
    expect(count.count).toBe(1);
    expect(reads).not.toHaveBeenCalled();
    expect(latest(harness, 'a').value.toString()).toBe('1');
    expect(reads).toHaveBeenCalledTimes(1);
  });

  it('the hot cache stays within its byte budget and clears the slots of the values it drops', () => {
    const hot = new HotValues(10 * (200 + 100));
    const indexes = Array.from({ length: 50 }, (_, n) => new KeyIndex(`k${n}`));
    for (const index of indexes) hot.remember(index, Buffer.alloc(100));
    expect(hot.size).toBeLessThanOrEqual(10 * 300);
    expect(indexes.filter((index) => index.value !== undefined)).toHaveLength(10);
    expect(indexes.slice(40).every((index) => index.value !== undefined)).toBe(true);
    // Rewriting a key leaves its older entry in the ring; dropping that entry keeps the newer value.
    const again = indexes[45];
    const newer = Buffer.alloc(100, 1);
    hot.remember(again, newer);
    for (let n = 0; n < 9; n++) hot.remember(indexes[n], Buffer.alloc(100));
    expect(again.value).toBe(newer);
    // A value too large for the budget is not cached.
    hot.remember(indexes[0], Buffer.alloc(3000));
    expect(indexes[0].value).toBeUndefined();
  });

  it('keepBytes: small copies share a slab, large ones and lone copies get their own buffer', () => {
    const parent = Buffer.alloc(8192, 1);
    const small = keepBytes(parent.subarray(0, 10));
    expect(small.buffer).not.toBe(parent.buffer);
    expect(Buffer.isBuffer(small)).toBe(true);
    const large = keepBytes(parent.subarray(0, 4096));
    expect(large.byteOffset).toBe(0);
    expect(large.buffer.byteLength).toBe(4096);
    expect(large.equals(parent.subarray(0, 4096))).toBe(true);
    expect(keepBytes(parent.subarray(0, 10), true).buffer.byteLength).toBe(10);
  });
});
