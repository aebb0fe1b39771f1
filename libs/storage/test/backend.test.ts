import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Backend, BackendError } from '../src/index';

const b = (text: string): Buffer => Buffer.from(text);

async function collect(iterable: AsyncIterable<[Buffer, Buffer]>): Promise<Array<[string, string]>> {
  const out: Array<[string, string]> = [];
  for await (const [key, value] of iterable) out.push([key.toString(), value.toString()]);
  return out;
}

describe('Backend', () => {
  let dir: string;
  let backend: Backend;

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'cairn-backend-'));
    backend = await Backend.open(join(dir, 'db'));
  });

  afterEach(async () => {
    await backend.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('returns undefined for a missing key and the value for a written one', async () => {
    expect(await backend.get('key', b('a'))).toBeUndefined();
    const batch = backend.batch();
    batch.put('key', b('a'), b('1'));
    await batch.write();
    expect((await backend.get('key', b('a')))?.toString()).toBe('1');
  });

  it('keeps buckets apart: the same key in two buckets holds two values', async () => {
    const batch = backend.batch();
    batch.put('key', b('x'), b('in-key')).put('meta', b('x'), b('in-meta'));
    await batch.write();
    expect((await backend.get('key', b('x')))?.toString()).toBe('in-key');
    expect((await backend.get('meta', b('x')))?.toString()).toBe('in-meta');
    expect(await backend.get('lease', b('x'))).toBeUndefined();
    expect(await collect(backend.iterate('meta'))).toEqual([['x', 'in-meta']]);
  });

  it('writes nothing before write() and everything of a batch at once', async () => {
    const first = backend.batch();
    first.put('key', b('a'), b('1')).put('key', b('b'), b('2'));
    await first.write();
    const batch = backend.batch();
    batch.put('key', b('c'), b('3')).del('key', b('a'));
    expect(await collect(backend.iterate('key'))).toEqual([
      ['a', '1'],
      ['b', '2'],
    ]);
    let notified = false;
    batch.afterWrite(() => (notified = true));
    await batch.write({ sync: true });
    expect(notified).toBe(true);
    expect(await collect(backend.iterate('key'))).toEqual([
      ['b', '2'],
      ['c', '3'],
    ]);
    expect(() => batch.put('key', b('d'), b('4'))).toThrow(/already written/);
  });

  it('beforeWrite listeners run once at write() and may still stage into the same batch', async () => {
    const batch = backend.batch();
    let latest = 0;
    let calls = 0;
    batch.beforeWrite(() => {
      calls++;
      batch.put('meta', b('last'), b(String(latest)));
    });
    for (latest = 1; latest <= 3; latest++) batch.put('key', b(`k${latest}`), b('v'));
    latest = 3;
    await batch.write();
    expect(calls).toBe(1);
    expect((await backend.get('meta', b('last')))?.toString()).toBe('3');
    expect(() => batch.beforeWrite(() => undefined)).toThrow(/already written/);
  });

  it('iterates with gte/lt bounds, reverse and limit inside one bucket', async () => {
    const batch = backend.batch();
    for (const k of ['a', 'b', 'c', 'd', 'e']) batch.put('key', b(k), b(k.toUpperCase()));
    batch.put('meta', b('z'), b('other bucket'));
    await batch.write();
    const keys = async (opts: Parameters<Backend['iterate']>[1]) =>
      (await collect(backend.iterate('key', opts))).map(([k]) => k);
    expect(await keys({})).toEqual(['a', 'b', 'c', 'd', 'e']);
    expect(await keys({ gte: b('b'), lt: b('d') })).toEqual(['b', 'c']);
    expect(await keys({ gte: b('b'), reverse: true })).toEqual(['e', 'd', 'c', 'b']);
    expect(await keys({ lt: b('e'), reverse: true, limit: 2 })).toEqual(['d', 'c']);
    expect(await keys({ limit: 0 })).toEqual([]);
  });

  it('iterates many entries across chunk boundaries in order', async () => {
    const batch = backend.batch();
    const n = 1000;
    for (let i = 0; i < n; i++) {
      const key = Buffer.alloc(4);
      key.writeUInt32BE(i);
      batch.put('key', key, key);
    }
    await batch.write();
    let expected = 0;
    for await (const [key, value] of backend.iterate('key')) {
      expect(key.readUInt32BE(0)).toBe(expected);
      expect(value.equals(key)).toBe(true);
      expected++;
    }
    expect(expected).toBe(n);
  });

  it('persists across close and reopen', async () => {
    const batch = backend.batch();
    batch.put('members', b('m1'), b('alpha'));
    await batch.write();
    await backend.close();
    backend = await Backend.open(join(dir, 'db'));
    expect((await backend.get('members', b('m1')))?.toString()).toBe('alpha');
  });

  it('snapshot is a point-in-time copy and restores to an identical database', async () => {
    const batch = backend.batch();
    for (let i = 0; i < 300; i++) batch.put('key', b(`k${String(i).padStart(4, '0')}`), Buffer.alloc(100, i));
    batch.put('meta', b('applied'), b('42')).put('auth', b('enabled'), b('0'));
    await batch.write();
    const file = join(dir, 'snap.db');
    const snapshotting = backend.writeSnapshot(file);
    // A write racing the snapshot is either wholly in it or not at all; here it starts after the
    // iterator is created, so it must not appear.
    const later = backend.batch();
    later.put('key', b('zz-late'), b('late'));
    await later.write();
    const info = await snapshotting;
    const bytes = await readFile(file);
    expect(info.size).toBe(bytes.length);
    expect(info.sha256).toMatch(/^[0-9a-f]{64}$/);
    expect(bytes.subarray(bytes.length - 32).toString('hex')).toBe(info.sha256);

    const restoredPath = join(dir, 'restored');
    await Backend.restoreSnapshot(file, restoredPath);
    const restored = await Backend.open(restoredPath);
    try {
      const original = (await collect(backend.iterate('key'))).filter(([k]) => k !== 'zz-late');
      expect(await collect(restored.iterate('key'))).toEqual(original);
      expect((await restored.get('meta', b('applied')))?.toString()).toBe('42');
      expect((await restored.get('auth', b('enabled')))?.toString()).toBe('0');
      expect(await restored.get('key', b('zz-late'))).toBeUndefined();
    } finally {
      await restored.close();
    }
  });

  it('refuses to restore a corrupted snapshot and leaves no database behind', async () => {
    const batch = backend.batch();
    batch.put('key', b('a'), b('value-a'));
    await batch.write();
    const file = join(dir, 'snap.db');
    await backend.writeSnapshot(file);
    const bytes = await readFile(file);
    bytes[12] ^= 0xff;
    await writeFile(file, bytes);
    const target = join(dir, 'restored');
    const error = await Backend.restoreSnapshot(file, target).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(BackendError);
    expect((error as BackendError).code).toBe('snapshot-corrupt');
    await expect(readFile(join(target, 'CURRENT'))).rejects.toThrow();
  });

  it('refuses to restore over an existing directory', async () => {
    const file = join(dir, 'snap.db');
    await backend.writeSnapshot(file);
    const error = await Backend.restoreSnapshot(file, join(dir, 'db')).catch((e: unknown) => e);
    expect((error as BackendError).code).toBe('snapshot-target-exists');
  });

  it('reports its size on disk and gives space back after deletes and defragment', async () => {
    const value = Buffer.alloc(1024, 7);
    for (let round = 0; round < 4; round++) {
      const batch = backend.batch();
      for (let i = 0; i < 500; i++) batch.put('key', b(`r${round}-${i}`), value);
      await batch.write();
    }
    await backend.defragment();
    const full = await backend.size();
    expect(full).toBeGreaterThan(100_000);
    const batch = backend.batch();
    for (let round = 0; round < 4; round++)
      for (let i = 0; i < 500; i++) batch.del('key', b(`r${round}-${i}`));
    await batch.write();
    await backend.defragment();
    const after = await backend.size();
    expect(after).toBeLessThan(full / 4);
  });

  it('a read snapshot does not see writes or deletes made after it was taken', async () => {
    const first = backend.batch();
    first.put('key', b('a'), b('1')).put('key', b('b'), b('2'));
    await first.write();
    const snapshot = backend.snapshot();
    const later = backend.batch();
    later.del('key', b('a')).put('key', b('c'), b('3')).put('key', b('b'), b('22'));
    await later.write();
    try {
      expect((await snapshot.get('key', b('a')))?.toString()).toBe('1');
      expect((await snapshot.getMany('key', [b('a'), b('b'), b('c')])).map((v) => v?.toString())).toEqual([
        '1',
        '2',
        undefined,
      ]);
      expect(await collect(snapshot.iterate('key'))).toEqual([
        ['a', '1'],
        ['b', '2'],
      ]);
      expect((await backend.getMany('key', [b('a'), b('b'), b('c')])).map((v) => v?.toString())).toEqual([
        undefined,
        '22',
        '3',
      ]);
    } finally {
      await snapshot.close();
    }
    await expect(snapshot.get('key', b('a'))).rejects.toMatchObject({ code: 'closed' });
  });

  it('throws a closed error after close', async () => {
    await backend.close();
    await expect(backend.get('key', b('a'))).rejects.toMatchObject({ code: 'closed' });
    backend = await Backend.open(join(dir, 'db'));
  });
});
