import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { MvccError, type RangeRequest, type RangeResult } from '../src/index';
import { b, type Harness, keysOf, openHarness, plain, s } from './helpers';

describe('KvStore range', () => {
  let h: Harness;

  beforeEach(async () => {
    h = await openHarness();
  });
  afterEach(async () => {
    await h.close();
  });

  const put = (key: string, value: string) =>
    h.commit((batch) => h.kv.put({ key: b(key), value: b(value) }, batch));
  const del = (key: string, rangeEnd?: string) =>
    h.commit((batch) =>
      h.kv.deleteRange({ key: b(key), rangeEnd: rangeEnd === undefined ? undefined : b(rangeEnd) }, batch),
    );
  const syncRange = (req: RangeRequest): RangeResult => {
    const result = h.kv.range(req);
    if (result instanceof Promise) throw new Error('expected a synchronous read');
    return result;
  };

  it('reads a single key at the current revision synchronously, with etcd revision fields', async () => {
    await put('foo', 'v1'); // rev 1
    await put('bar', 'x'); // rev 2
    await put('foo', 'v2'); // rev 3
    const result = syncRange({ key: b('foo') });
    expect(result.kvs.map(plain)).toEqual([
      { key: 'foo', value: 'v2', create: 1, mod: 3, version: 2, lease: 0n },
    ]);
    expect(result).toMatchObject({ count: 1, more: false, revision: 3 });
    expect(syncRange({ key: b('missing') })).toEqual({ kvs: [], count: 0, more: false, revision: 3 });
  });

  it('follows etcd range-end rules: empty = one key, "\\0" = from key, prefix end = prefix', async () => {
    for (const key of ['a', 'ab', 'abc', 'b', 'c']) await put(key, key);
    expect(keysOf(syncRange({ key: b('ab'), rangeEnd: new Uint8Array() }).kvs)).toEqual(['ab']);
    expect(keysOf(syncRange({ key: b('ab'), rangeEnd: Buffer.of(0) }).kvs)).toEqual(['ab', 'abc', 'b', 'c']);
    expect(keysOf(syncRange({ key: Buffer.of(0), rangeEnd: Buffer.of(0) }).kvs)).toEqual([
      'a',
      'ab',
      'abc',
      'b',
      'c',
    ]);
    expect(keysOf(syncRange({ key: b('a'), rangeEnd: b('b') }).kvs)).toEqual(['a', 'ab', 'abc']);
    expect(keysOf(syncRange({ key: b('ab'), rangeEnd: b('ac') }).kvs)).toEqual(['ab', 'abc']);
    expect(keysOf(syncRange({ key: b('c'), rangeEnd: b('a') }).kvs)).toEqual([]);
  });

  it('limit truncates and sets more, while count is the full range count', async () => {
    for (const key of ['k1', 'k2', 'k3', 'k4']) await put(key, key);
    const limited = syncRange({ key: b('k'), rangeEnd: b('l'), limit: 2 });
    expect(keysOf(limited.kvs)).toEqual(['k1', 'k2']);
    expect(limited).toMatchObject({ more: true, count: 4 });
    const exact = syncRange({ key: b('k'), rangeEnd: b('l'), limit: 4 });
    expect(exact).toMatchObject({ more: false, count: 4 });
    expect(exact.kvs).toHaveLength(4);
  });

  it('countOnly returns the count and no kvs; keysOnly drops values', async () => {
    for (const key of ['k1', 'k2', 'k3']) await put(key, `value-${key}`);
    expect(syncRange({ key: b('k'), rangeEnd: b('l'), countOnly: true, limit: 1 })).toEqual({
      kvs: [],
      count: 3,
      more: false,
      revision: 3,
    });
    const keysOnly = syncRange({ key: b('k'), rangeEnd: b('l'), keysOnly: true });
    expect(keysOnly.kvs.map((kv) => [s(kv.key), kv.value.length, kv.version])).toEqual([
      ['k1', 0, 1],
      ['k2', 0, 1],
      ['k3', 0, 1],
    ]);
    // The stored value is untouched.
    expect(s(syncRange({ key: b('k1') }).kvs[0].value)).toBe('value-k1');
  });

  it('sorts by every target; target other than KEY with order NONE sorts ascending, as etcd', async () => {
    await put('c', '1'); // rev 1
    await put('a', '3'); // rev 2
    await put('b', '2'); // rev 3
    await put('a', '4'); // rev 4: a version 2
    await put('a', '0'); // rev 5: a version 3
    const range = { key: b('a'), rangeEnd: b('d') };
    expect(keysOf(syncRange({ ...range, sortTarget: 'KEY', sortOrder: 'DESCEND' }).kvs)).toEqual([
      'c',
      'b',
      'a',
    ]);
    expect(keysOf(syncRange({ ...range, sortTarget: 'KEY', sortOrder: 'ASCEND' }).kvs)).toEqual([
      'a',
      'b',
      'c',
    ]);
    expect(keysOf(syncRange({ ...range, sortTarget: 'MOD' }).kvs)).toEqual(['c', 'b', 'a']);
    expect(keysOf(syncRange({ ...range, sortTarget: 'MOD', sortOrder: 'DESCEND' }).kvs)).toEqual([
      'a',
      'b',
      'c',
    ]);
    expect(keysOf(syncRange({ ...range, sortTarget: 'CREATE', sortOrder: 'ASCEND' }).kvs)).toEqual([
      'c',
      'a',
      'b',
    ]);
    expect(keysOf(syncRange({ ...range, sortTarget: 'VERSION', sortOrder: 'DESCEND' }).kvs)[0]).toBe('a');
    expect(keysOf(syncRange({ ...range, sortTarget: 'VALUE', sortOrder: 'ASCEND' }).kvs)).toEqual([
      'a',
      'c',
      'b',
    ]);
  });

  it('sorting happens before limit: DESCEND + limit returns the last keys', async () => {
    for (const key of ['k1', 'k2', 'k3', 'k4']) await put(key, key);
    const result = syncRange({ key: b('k'), rangeEnd: b('l'), sortOrder: 'DESCEND', limit: 2 });
    expect(keysOf(result.kvs)).toEqual(['k4', 'k3']);
    expect(result).toMatchObject({ more: true, count: 4 });
  });

  it('min/max mod and create revision filters prune kvs but not count', async () => {
    await put('a', '1'); // 1
    await put('b', '1'); // 2
    await put('c', '1'); // 3
    await put('a', '2'); // 4 (a created 1)
    const range = { key: b('a'), rangeEnd: b('z') };
    expect(keysOf(syncRange({ ...range, minModRevision: 3 }).kvs)).toEqual(['a', 'c']);
    expect(keysOf(syncRange({ ...range, maxModRevision: 3 }).kvs)).toEqual(['b', 'c']);
    expect(keysOf(syncRange({ ...range, minCreateRevision: 2 }).kvs)).toEqual(['b', 'c']);
    const filtered = syncRange({ ...range, maxCreateRevision: 1, limit: 1 });
    expect(keysOf(filtered.kvs)).toEqual(['a']);
    expect(filtered).toMatchObject({ count: 3, more: false });
  });

  it('reads history at a past revision from disk, asynchronously, with the header at current', async () => {
    await put('foo', 'v1'); // 1
    await put('foo', 'v2'); // 2
    await del('foo'); // 3
    await put('foo', 'v3'); // 4
    await put('other', 'o'); // 5
    const at = async (revision: number) => {
      const result = await h.kv.range({ key: b('foo'), revision });
      return { kvs: result.kvs.map(plain), revision: result.revision };
    };
    expect(await at(1)).toEqual({
      kvs: [{ key: 'foo', value: 'v1', create: 1, mod: 1, version: 1, lease: 0n }],
      revision: 5,
    });
    expect((await at(2)).kvs[0]).toMatchObject({ value: 'v2', version: 2, create: 1 });
    expect((await at(3)).kvs).toEqual([]);
    expect((await at(4)).kvs[0]).toMatchObject({ value: 'v3', version: 1, create: 4 });
    expect(h.kv.range({ key: b('foo'), revision: 1 })).toBeInstanceOf(Promise);
    // Unchanged since the asked revision: answered from memory, synchronously.
    expect(h.kv.range({ key: b('other'), revision: 5 })).not.toBeInstanceOf(Promise);
  });

  it('a history range applies count, limit and sort over the keys live then', async () => {
    await put('k1', 'a'); // 1
    await put('k2', 'b'); // 2
    await put('k3', 'c'); // 3
    await del('k2'); // 4
    await put('k1', 'a2'); // 5
    const then = await h.kv.range({ key: b('k'), rangeEnd: b('l'), revision: 3, limit: 2 });
    expect(keysOf(then.kvs)).toEqual(['k1', 'k2']);
    expect(then.kvs.map((kv) => s(kv.value))).toEqual(['a', 'b']);
    expect(then).toMatchObject({ count: 3, more: true, revision: 5 });
    const counted = await h.kv.range({ key: b('k'), rangeEnd: b('l'), revision: 4, countOnly: true });
    expect(counted.count).toBe(2);
  });

  it('history reads see writes whose batch has not reached LevelDB yet', async () => {
    await put('foo', 'v1'); // 1, written
    const batch = h.backend.batch();
    h.kv.put({ key: b('foo'), value: b('v2') }, batch); // 2, staged only
    h.kv.put({ key: b('foo'), value: b('v3') }, batch); // 3, staged only
    const result = await h.kv.range({ key: b('foo'), revision: 2 });
    expect(s(result.kvs[0].value)).toBe('v2');
    await batch.write();
    expect(s((await h.kv.range({ key: b('foo'), revision: 2 })).kvs[0].value)).toBe('v2');
  });

  it('rejects future revisions and compacted ones with MvccError codes', async () => {
    await put('a', '1');
    await put('a', '2');
    await put('a', '3');
    expect(() => h.kv.range({ key: b('a'), revision: 4 })).toThrow(MvccError);
    expect(() => h.kv.range({ key: b('a'), revision: 4 })).toThrow(
      expect.objectContaining({ code: 'future-revision' }),
    );
    const { done } = await h.commit((batch) => h.kv.compact(2, batch));
    await done;
    expect(() => h.kv.range({ key: b('a'), revision: 1 })).toThrow(
      expect.objectContaining({ code: 'compacted' }),
    );
    // The compact revision itself is still readable.
    expect(s((await h.kv.range({ key: b('a'), revision: 2 })).kvs[0].value)).toBe('2');
    // revision <= 0 means latest.
    expect(s((await h.kv.range({ key: b('a'), revision: 0 })).kvs[0].value)).toBe('3');
    expect(s((await h.kv.range({ key: b('a'), revision: -1 })).kvs[0].value)).toBe('3');
  });
});
