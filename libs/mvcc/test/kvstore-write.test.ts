import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type WriteResult } from '../src/index';
import { b, type Harness, keysOf, openHarness, plain, s } from './helpers';

describe('KvStore writes', () => {
  let h: Harness;

  beforeEach(async () => {
    h = await openHarness();
  });
  afterEach(async () => {
    await h.close();
  });

  const get = (key: string) => {
    const result = h.kv.range({ key: b(key) });
    if (result instanceof Promise) throw new Error('expected sync');
    return result.kvs[0];
  };

  it('put creates at version 1, bumps version and keeps create revision on update', async () => {
    expect(h.kv.currentRevision).toBe(0);
    const first = await h.commit((batch) => h.kv.put({ key: b('k'), value: b('1') }, batch));
    expect(first).toEqual({ revision: 1 });
    await h.commit((batch) => h.kv.put({ key: b('other'), value: b('x') }, batch));
    const third = await h.commit((batch) => h.kv.put({ key: b('k'), value: b('2'), lease: 7n }, batch));
    expect(third.revision).toBe(3);
    expect(plain(get('k'))).toEqual({ key: 'k', value: '2', create: 1, mod: 3, version: 2, lease: 7n });
  });

  it('put with prevKv returns the previous version, none for a new key', async () => {
    const created = await h.commit((batch) => h.kv.put({ key: b('k'), value: b('1'), prevKv: true }, batch));
    expect(created.prevKv).toBeUndefined();
    const updated = await h.commit((batch) => h.kv.put({ key: b('k'), value: b('2'), prevKv: true }, batch));
    expect(plain(updated.prevKv)).toMatchObject({ value: '1', version: 1, mod: 1 });
  });

  it('ignoreValue keeps the value, ignoreLease keeps the lease; both need the key', async () => {
    await h.commit((batch) => h.kv.put({ key: b('k'), value: b('keep-me'), lease: 5n }, batch));
    await h.commit((batch) => h.kv.put({ key: b('k'), ignoreValue: true, lease: 6n }, batch));
    expect(plain(get('k'))).toMatchObject({ value: 'keep-me', lease: 6n, version: 2 });
    await h.commit((batch) => h.kv.put({ key: b('k'), value: b('new'), ignoreLease: true }, batch));
    expect(plain(get('k'))).toMatchObject({ value: 'new', lease: 6n, version: 3 });

    const batch = h.backend.batch();
    expect(() => h.kv.put({ key: b('missing'), ignoreValue: true }, batch)).toThrow(
      expect.objectContaining({ code: 'key-not-found' }),
    );
    expect(() => h.kv.put({ key: b('missing'), value: b('v'), ignoreLease: true }, batch)).toThrow(
      expect.objectContaining({ code: 'key-not-found' }),
    );
    expect(() => h.kv.put({ key: b('k'), value: b('v'), ignoreValue: true }, batch)).toThrow(
      expect.objectContaining({ code: 'value-provided' }),
    );
    expect(() => h.kv.put({ key: b('k'), value: b('v'), lease: 1n, ignoreLease: true }, batch)).toThrow(
      expect.objectContaining({ code: 'lease-provided' }),
    );
    // Failed puts changed nothing.
    expect(batch.length).toBe(0);
    expect(h.kv.currentRevision).toBe(3);
  });

  it('a put naming a lease the checker does not know fails with lease-not-found', async () => {
    h.kv.setLeaseChecker((lease) => lease === 1n);
    await h.commit((batch) => h.kv.put({ key: b('k'), value: b('v'), lease: 1n }, batch));
    const batch = h.backend.batch();
    expect(() => h.kv.put({ key: b('k'), value: b('v'), lease: 2n }, batch)).toThrow(
      expect.objectContaining({ code: 'lease-not-found' }),
    );
    expect(h.kv.currentRevision).toBe(1);
  });

  it('copies the caller bytes: mutating the input afterwards changes nothing stored', async () => {
    const key = b('key');
    const value = b('value');
    await h.commit((batch) => h.kv.put({ key, value }, batch));
    key[0] = 0x41;
    value[0] = 0x41;
    expect(s(get('key')?.value)).toBe('value');
  });

  it('deleteRange deletes every key in range in one revision and reports prevKvs', async () => {
    for (const key of ['a', 'b1', 'b2', 'c'])
      await h.commit((batch) => h.kv.put({ key: b(key), value: b(key) }, batch));
    const result = await h.commit((batch) =>
      h.kv.deleteRange({ key: b('b'), rangeEnd: b('c'), prevKv: true }, batch),
    );
    expect(result.revision).toBe(5);
    expect(result.deleted).toBe(2);
    expect(keysOf(result.prevKvs)).toEqual(['b1', 'b2']);
    expect(get('b1')).toBeUndefined();
    expect(h.kv.currentRevision).toBe(5);
    const withoutPrev = await h.commit((batch) => h.kv.deleteRange({ key: b('a') }, batch));
    expect(withoutPrev).toEqual({ revision: 6, deleted: 1, prevKvs: [] });
  });

  it('deleting nothing moves no revision', async () => {
    await h.commit((batch) => h.kv.put({ key: b('a'), value: b('1') }, batch));
    const result = await h.commit((batch) => h.kv.deleteRange({ key: b('zzz') }, batch));
    expect(result).toEqual({ revision: 1, deleted: 0, prevKvs: [] });
    expect(h.kv.currentRevision).toBe(1);
  });

  it('a key deleted and put again starts a new generation (version 1, new create revision)', async () => {
    await h.commit((batch) => h.kv.put({ key: b('k'), value: b('1') }, batch)); // 1
    await h.commit((batch) => h.kv.put({ key: b('k'), value: b('2') }, batch)); // 2
    await h.commit((batch) => h.kv.deleteRange({ key: b('k') }, batch)); // 3
    await h.commit((batch) => h.kv.put({ key: b('k'), value: b('3') }, batch)); // 4
    expect(plain(get('k'))).toMatchObject({ create: 4, mod: 4, version: 1 });
  });

  it('one write txn = one revision: sub-revisions order the changes, own writes are visible', async () => {
    const batch = h.backend.batch();
    const txn = h.kv.beginWrite(batch);
    expect(txn.put(b('x'), b('1'))).toBe(1);
    expect(txn.put(b('y'), b('1'))).toBe(1);
    const seen = txn.range({ key: b('x'), rangeEnd: b('z') });
    if (seen instanceof Promise) throw new Error('expected sync');
    expect(keysOf(seen.kvs)).toEqual(['x', 'y']);
    expect(seen.revision).toBe(1);
    expect(txn.put(b('x'), b('2'))).toBe(1);
    const result = txn.end();
    await batch.write();
    expect(result.revision).toBe(1);
    expect(result.events.map((e) => [e.type, s(e.kv.key), e.kv.version])).toEqual([
      ['put', 'x', 1],
      ['put', 'y', 1],
      ['put', 'x', 2],
    ]);
    expect(plain(get('x'))).toMatchObject({ value: '2', version: 2, mod: 1, create: 1 });
    expect(() => txn.put(b('z'), b('1'))).toThrow(/ended/);
  });

  it('only one write txn may be open; reads wait for end()', () => {
    const txn = h.kv.beginWrite(h.backend.batch());
    expect(() => h.kv.beginWrite(h.backend.batch())).toThrow(/open/);
    expect(() => h.kv.range({ key: b('a') })).toThrow(/open/);
    txn.end();
    expect(() => h.kv.range({ key: b('a') })).not.toThrow();
  });

  it('listeners hear each changing txn once, with old and new leases on every event', async () => {
    const heard: WriteResult[] = [];
    const stop = h.kv.onChanges((result) => heard.push(result));
    await h.commit((batch) => h.kv.put({ key: b('k'), value: b('1'), lease: 10n }, batch));
    await h.commit((batch) => h.kv.put({ key: b('k'), value: b('2'), lease: 11n }, batch));
    await h.commit((batch) => h.kv.deleteRange({ key: b('nothing') }, batch));
    await h.commit((batch) => h.kv.deleteRange({ key: b('k') }, batch));
    stop();
    await h.commit((batch) => h.kv.put({ key: b('k'), value: b('3') }, batch));
    expect(heard.map((r) => r.revision)).toEqual([1, 2, 3]);
    const leases = heard.map((r) => r.events.map((e) => [e.type, e.prevKv?.lease, e.kv.lease]));
    expect(leases).toEqual([[['put', undefined, 10n]], [['put', 10n, 11n]], [['delete', 11n, 0n]]]);
    expect(heard[2].events[0].kv.modRevision).toBe(3);
  });

  it('deleteKeys removes the existing ones of a list in one revision (lease revocation)', async () => {
    for (const key of ['l1', 'l2', 'l3'])
      await h.commit((batch) => h.kv.put({ key: b(key), value: b('v') }, batch));
    const result = await h.commit((batch) => h.kv.deleteKeys([b('l1'), b('gone'), b('l3')], batch));
    expect(result.revision).toBe(4);
    expect(result.events.map((e) => [e.type, s(e.kv.key)])).toEqual([
      ['delete', 'l1'],
      ['delete', 'l3'],
    ]);
    expect(get('l2')).toBeDefined();
    const none = await h.commit((batch) => h.kv.deleteKeys([b('gone')], batch));
    expect(none).toEqual({ revision: 4, events: [] });
  });

  it('writes stage into the caller batch only: nothing reaches LevelDB before batch.write()', async () => {
    const batch = h.backend.batch();
    h.kv.put({ key: b('k'), value: b('v') }, batch);
    let stored = 0;
    for await (const _ of h.backend.iterate('key')) stored++;
    expect(stored).toBe(0);
    await batch.write();
    for await (const _ of h.backend.iterate('key')) stored++;
    expect(stored).toBe(1);
  });
});
