// The store keeps every key's latest value in memory: those copies must not pin the (often large)
// buffers the request bytes came from. Memory itself is measured in docs/benchmarks.md, not here.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { keepBytes } from '../src/key-value';
import { b, type Harness, openHarness } from './helpers';

describe('kept keys and values', () => {
  let h: Harness;

  beforeEach(async () => {
    h = await openHarness();
  });
  afterEach(async () => {
    await h.close();
  });

  const latest = (key: string) => {
    const result = h.kv.range({ key: b(key) });
    if (result instanceof Promise) throw new Error('expected sync');
    return result.kvs[0];
  };

  it('a put copies key and value out of a large request buffer', async () => {
    const frame = Buffer.alloc(64 * 1024, 0x61);
    frame.write('key-1', 100);
    const key = frame.subarray(100, 105);
    const value = frame.subarray(1000, 1256);
    await h.commit((batch) => h.kv.put({ key, value }, batch));
    const kv = latest('key-1');
    expect(kv.key.buffer).not.toBe(frame.buffer);
    expect(kv.value.buffer).not.toBe(frame.buffer);
    expect(kv.value.buffer.byteLength).toBeLessThan(frame.length);
    frame.fill(0x7a);
    expect(kv.key.toString()).toBe('key-1');
    expect(kv.value.equals(Buffer.alloc(256, 0x61))).toBe(true);
  });

  it('an overwrite keeps the key copy it already has', async () => {
    await h.commit((batch) => h.kv.put({ key: b('k'), value: b('1') }, batch));
    const first = latest('k').key;
    await h.commit((batch) => h.kv.put({ key: b('k'), value: b('2') }, batch));
    expect(latest('k').key).toBe(first);
    expect(latest('k').value.toString()).toBe('2');
    // The value of a key written again has a buffer of its own (it pins no slab of first writes).
    expect(latest('k').value.buffer.byteLength).toBe(1);
  });

  it('values read back at open are kept copies with the same bytes', async () => {
    await h.commit((batch) => h.kv.put({ key: b('k'), value: Buffer.alloc(300, 0x62) }, batch));
    await h.commit((batch) => h.kv.put({ key: b('big'), value: Buffer.alloc(5000, 0x63) }, batch));
    await h.reopen();
    expect(latest('k').value.equals(Buffer.alloc(300, 0x62))).toBe(true);
    expect(latest('big').value.equals(Buffer.alloc(5000, 0x63))).toBe(true);
  });

  it('keepBytes: small copies share a slab, large ones get their own buffer', () => {
    const parent = Buffer.alloc(8192, 1);
    const small = keepBytes(parent.subarray(0, 10));
    expect(small.buffer).not.toBe(parent.buffer);
    expect(Buffer.isBuffer(small)).toBe(true);
    const large = keepBytes(parent.subarray(0, 4096));
    expect(large.byteOffset).toBe(0);
    expect(large.buffer.byteLength).toBe(4096);
    expect(large.equals(parent.subarray(0, 4096))).toBe(true);
  });
});
