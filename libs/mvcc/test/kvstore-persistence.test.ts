import { join } from 'node:path';
import { Backend } from '@cairn/storage';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { KvStore } from '../src/index';
import { b, type Harness, openHarness, s } from './helpers';

/** Count stored revisions in the 'key' bucket. */
async function storedRevisions(backend: Backend): Promise<number> {
  let n = 0;
  for await (const _ of backend.iterate('key')) n++;
  return n;
}

describe('KvStore compaction, reopen, hashKV and snapshots', () => {
  let h: Harness;

  beforeEach(async () => {
    h = await openHarness({ compactionChunkSize: 7 });
  });
  afterEach(async () => {
    await h.close();
  });

  /** A history with updates, deletes and re-creates over 10 keys: 60 revisions. */
  async function writeHistory(): Promise<void> {
    for (let round = 0; round < 5; round++) {
      await h.commit((batch) => {
        for (let k = 0; k < 10; k++) {
          const txn = h.kv.beginWrite(batch);
          if (round === 2 && k % 3 === 0) txn.deleteRange(b(`key-${k}`));
          else txn.put(b(`key-${k}`), b(`r${round}-k${k}`), k % 2 === 0 ? 0n : BigInt(100 + k));
          txn.end();
        }
      });
    }
    await h.commit((batch) => h.kv.deleteRange({ key: b('key-1') }, batch));
    for (let i = 0; i < 9; i++)
      await h.commit((batch) => h.kv.put({ key: b('late'), value: b(`${i}`) }, batch));
  }

  it('compaction drops history below the revision but keeps the latest version of every key', async () => {
    await writeHistory();
    expect(h.kv.currentRevision).toBe(60);
    const before = await storedRevisions(h.backend);
    const atCompaction = await h.kv.range({ key: b('key-'), rangeEnd: b('key.'), revision: 30 });
    const { done } = await h.commit((batch) => h.kv.compact(30, batch));
    await done;
    expect(h.kv.compactRevision).toBe(30);
    expect(() => h.kv.range({ key: b('key-0'), revision: 29 })).toThrow(
      expect.objectContaining({ code: 'compacted' }),
    );
    // Reading exactly at the compact revision still gives the same answer as before compacting.
    const after = await h.kv.range({ key: b('key-'), rangeEnd: b('key.'), revision: 30 });
    expect(after.kvs).toEqual(atCompaction.kvs);
    // And disk holds fewer revisions than before.
    expect(await storedRevisions(h.backend)).toBeLessThan(before);
    // Compacting again at or below is refused; beyond current too.
    expect(() => h.kv.compact(30, h.backend.batch())).toThrow(expect.objectContaining({ code: 'compacted' }));
    expect(() => h.kv.compact(61, h.backend.batch())).toThrow(
      expect.objectContaining({ code: 'future-revision' }),
    );
  });

  it('compacting at the current revision keeps exactly one revision per live key', async () => {
    await writeHistory();
    const { done } = await h.commit((batch) => h.kv.compact(60, batch));
    await done;
    const live = await h.kv.range({ key: Buffer.of(0), rangeEnd: Buffer.of(0), countOnly: true });
    expect(await storedRevisions(h.backend)).toBe(live.count);
    expect(h.kv.indexedKeys).toBe(live.count);
  });

  it('reopen rebuilds index, revisions and live values: same reads and same hashKV', async () => {
    await writeHistory();
    const { done } = await h.commit((batch) => h.kv.compact(25, batch));
    await done;
    const hash = await h.kv.hashKV(0);
    const hashAt40 = await h.kv.hashKV(40);
    const latest = await h.kv.range({ key: Buffer.of(0), rangeEnd: Buffer.of(0) });
    const history = await h.kv.range({ key: Buffer.of(0), rangeEnd: Buffer.of(0), revision: 33 });
    await h.reopen();
    expect(h.kv.currentRevision).toBe(60);
    expect(h.kv.compactRevision).toBe(25);
    expect(await h.kv.hashKV(0)).toEqual(hash);
    expect(await h.kv.hashKV(40)).toEqual(hashAt40);
    expect((await h.kv.range({ key: Buffer.of(0), rangeEnd: Buffer.of(0) })).kvs).toEqual(latest.kvs);
    expect((await h.kv.range({ key: Buffer.of(0), rangeEnd: Buffer.of(0), revision: 33 })).kvs).toEqual(
      history.kvs,
    );
    // Writing continues from the restored revision and versions.
    const next = await h.commit((batch) => h.kv.put({ key: b('late'), value: b('x'), prevKv: true }, batch));
    expect(next.revision).toBe(61);
    expect(next.prevKv?.version).toBe(9);
  });

  it('the current revision survives when compaction removed every stored revision of it', async () => {
    await h.commit((batch) => h.kv.put({ key: b('k'), value: b('v') }, batch));
    await h.commit((batch) => h.kv.deleteRange({ key: b('k') }, batch));
    const { done } = await h.commit((batch) => h.kv.compact(2, batch));
    await done;
    expect(await storedRevisions(h.backend)).toBe(0);
    await h.reopen();
    expect(h.kv.currentRevision).toBe(2);
    expect((await h.commit((batch) => h.kv.put({ key: b('k'), value: b('again') }, batch))).revision).toBe(3);
  });

  it('two stores with the same history hash equal; a different value hashes differently', async () => {
    await writeHistory();
    const other = await openHarness();
    try {
      // Same history, written with different batching.
      for (let round = 0; round < 5; round++) {
        for (let k = 0; k < 10; k++) {
          await other.commit((batch) => {
            const txn = other.kv.beginWrite(batch);
            if (round === 2 && k % 3 === 0) txn.deleteRange(b(`key-${k}`));
            else txn.put(b(`key-${k}`), b(`r${round}-k${k}`), k % 2 === 0 ? 0n : BigInt(100 + k));
            txn.end();
          });
        }
      }
      await other.commit((batch) => other.kv.deleteRange({ key: b('key-1') }, batch));
      for (let i = 0; i < 9; i++)
        await other.commit((batch) => other.kv.put({ key: b('late'), value: b(`${i}`) }, batch));
      expect(await other.kv.hashKV(0)).toEqual(await h.kv.hashKV(0));
      expect(await other.kv.hashKV(17)).toEqual(await h.kv.hashKV(17));
      // Compaction changes the hash (compacted revisions drop out), equally in both stores.
      const before = await h.kv.hashKV(45);
      await (
        await h.commit((batch) => h.kv.compact(20, batch))
      ).done;
      await (
        await other.commit((batch) => other.kv.compact(20, batch))
      ).done;
      const compacted = await h.kv.hashKV(45);
      expect(compacted.hash).not.toBe(before.hash);
      expect(compacted.compactRevision).toBe(20);
      expect(await other.kv.hashKV(45)).toEqual(compacted);
      await other.commit((batch) => other.kv.put({ key: b('late'), value: b('diverged') }, batch));
      await h.commit((batch) => h.kv.put({ key: b('late'), value: b('other') }, batch));
      expect((await other.kv.hashKV(61)).hash).not.toBe((await h.kv.hashKV(61)).hash);
    } finally {
      await other.close();
    }
  });

  it('hashKV covers staged writes not yet in LevelDB, and rejects compacted/future revisions', async () => {
    await h.commit((batch) => h.kv.put({ key: b('a'), value: b('1') }, batch));
    const batch = h.backend.batch();
    h.kv.put({ key: b('a'), value: b('2') }, batch);
    const staged = await h.kv.hashKV(2);
    await batch.write();
    expect(await h.kv.hashKV(2)).toEqual(staged);
    await expect(h.kv.hashKV(3)).rejects.toMatchObject({ code: 'future-revision' });
    await (
      await h.commit((b2) => h.kv.compact(2, b2))
    ).done;
    await expect(h.kv.hashKV(1)).rejects.toMatchObject({ code: 'compacted' });
  });

  it('a backend snapshot restores into a store with the same hashKV and data', async () => {
    await writeHistory();
    await (
      await h.commit((batch) => h.kv.compact(12, batch))
    ).done;
    const file = join(h.dir, 'snapshot.db');
    await h.backend.writeSnapshot(file);
    const restoredPath = join(h.dir, 'restored');
    await Backend.restoreSnapshot(file, restoredPath);
    const backend = await Backend.open(restoredPath);
    const kv = await KvStore.open(backend);
    try {
      expect(kv.currentRevision).toBe(h.kv.currentRevision);
      expect(kv.compactRevision).toBe(12);
      expect(await kv.hashKV(0)).toEqual(await h.kv.hashKV(0));
      expect(await kv.hashKV(30)).toEqual(await h.kv.hashKV(30));
      const restored = await kv.range({ key: Buffer.of(0), rangeEnd: Buffer.of(0) });
      const original = await h.kv.range({ key: Buffer.of(0), rangeEnd: Buffer.of(0) });
      expect(restored.kvs).toEqual(original.kvs);
    } finally {
      await kv.close();
      await backend.close();
    }
  });

  it('an interrupted physical compaction is finished on the next open', async () => {
    await writeHistory();
    const expectedLatest = await h.kv.range({ key: Buffer.of(0), rangeEnd: Buffer.of(0) });
    const batch = h.backend.batch();
    const { done } = h.kv.compact(50, batch);
    await batch.write();
    // Close at once: the background job stops after at most one chunk.
    await h.kv.close();
    await done;
    await h.backend.close();
    h.backend = await Backend.open(h.path);
    // Interrupted: more than what compaction at 50 keeps is still on disk.
    const keptAt50 = 10 + 1 + 9; // latest of key-0..9 at 50, key-1's tombstone (51), late@52..60
    expect(await storedRevisions(h.backend)).toBeGreaterThan(keptAt50);
    h.kv = await KvStore.open(h.backend, { compactionChunkSize: 7 });
    expect(h.kv.compactRevision).toBe(50);
    await h.kv.whenCompacted();
    expect(await storedRevisions(h.backend)).toBe(keptAt50);
    expect((await h.kv.range({ key: Buffer.of(0), rangeEnd: Buffer.of(0) })).kvs).toEqual(expectedLatest.kvs);
    // Finished is recorded: the next open has nothing to resume.
    await h.reopen({ compactionChunkSize: 7 });
    await h.kv.whenCompacted();
    expect(await storedRevisions(h.backend)).toBe(keptAt50);
    expect(s((await h.kv.range({ key: b('late') })).kvs[0].value)).toBe('8');
  });
});
