import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { WatchableStore, type WatchResponse } from '../src/index';
import { b, type Harness, openHarness, s } from './helpers';

function mulberry32(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

interface ModelKv {
  value: string;
  create: number;
  mod: number;
  version: number;
}
type State = Map<string, ModelKv>;

describe('KvStore against a naive model (seeded random history)', () => {
  let h: Harness;

  beforeEach(async () => {
    h = await openHarness({ compactionChunkSize: 13 });
  });
  afterEach(async () => {
    await h.close();
  });

  it('every revision reads back like the model, across compaction and reopen, and a watcher sees it all', async () => {
    const random = mulberry32(7);
    const keys = Array.from({ length: 12 }, (_, i) => `k${String(i).padStart(2, '0')}`);
    // states[r] = the model after revision r.
    const states: State[] = [new Map()];
    const watchable = new WatchableStore(h.kv, { maxEventsPerSync: 5 });
    const seen: WatchResponse[] = [];
    watchable.watch({ key: b('k'), rangeEnd: b('l') }, (response) => {
      seen.push(response);
      return true;
    });

    const expectAt = async (revision: number) => {
      const model = states[revision];
      const read = await h.kv.range({ key: b('k'), rangeEnd: b('l'), revision });
      const got = read.kvs.map((kv) => [
        s(kv.key),
        s(kv.value),
        kv.createRevision,
        kv.modRevision,
        kv.version,
      ]);
      const want = [...model.entries()]
        .sort(([a], [c]) => (a < c ? -1 : 1))
        .map(([key, kv]) => [key, kv.value, kv.create, kv.mod, kv.version]);
      expect(got, `range at revision ${revision}`).toEqual(want);
    };

    let compacted = 0;
    for (let step = 0; step < 400; step++) {
      const batch = h.backend.batch();
      const txn = h.kv.beginWrite(batch);
      const next: State = new Map(states[states.length - 1]);
      const revision = h.kv.currentRevision + 1;
      const ops = 1 + Math.floor(random() * 3);
      for (let i = 0; i < ops; i++) {
        const key = keys[Math.floor(random() * keys.length)];
        if (random() < 0.25) {
          const end = keys[Math.min(keys.length - 1, keys.indexOf(key) + Math.floor(random() * 3))];
          txn.deleteRange(b(key), end === key ? undefined : b(end));
          for (const k of [...next.keys()])
            if (k === key || (end !== key && k >= key && k < end)) next.delete(k);
        } else {
          const value = `v${step}-${i}`;
          txn.put(b(key), b(value));
          const prev = next.get(key);
          next.set(key, {
            value,
            create: prev ? prev.create : revision,
            mod: revision,
            version: prev ? prev.version + 1 : 1,
          });
        }
      }
      const result = txn.end();
      if (result.events.length > 0) states.push(next);
      // Write most batches at once; leave some pending across a few reads.
      if (random() < 0.8) await batch.write();
      else {
        await expectAt(Math.max(compacted, 1 + Math.floor(random() * h.kv.currentRevision)));
        await batch.write();
      }
      if (step % 50 === 49) {
        const target = compacted + Math.floor(random() * (h.kv.currentRevision - compacted));
        if (target > compacted) {
          await (
            await h.commit((cb) => h.kv.compact(target, cb))
          ).done;
          compacted = target;
        }
      }
      if (step === 250) await h.reopen({ compactionChunkSize: 13 });
    }
    expect(h.kv.currentRevision).toBe(states.length - 1);
    for (let revision = Math.max(compacted, 1); revision < states.length; revision++)
      await expectAt(revision);

    // The watcher on the first store instance saw every changing revision up to the reopen, in order.
    const live = seen.map((r) => r.revision);
    expect(live).toEqual([...new Set(live)].sort((x, y) => x - y));
    await watchable.close();

    // A watcher replaying history from the compact revision + 1 rebuilds the final state from the
    // state at the compact revision, one response per revision at most, in order.
    const replay = new WatchableStore(h.kv, { maxEventsPerSync: 5 });
    const replayed: WatchResponse[] = [];
    const from = compacted + 1;
    const id = replay.watch({ key: b('k'), rangeEnd: b('l'), startRevision: from }, (response) => {
      replayed.push(response);
      return true;
    });
    const deadline = Date.now() + 5000;
    while (!replay.isSynced(id) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 2));
    expect(replay.isSynced(id)).toBe(true);
    const rebuilt = new Map([...states[compacted]].map(([k, v]) => [k, v.value]));
    let last = 0;
    for (const response of replayed) {
      for (const event of response.events) {
        expect(event.kv.modRevision).toBeGreaterThanOrEqual(last);
        last = event.kv.modRevision;
        if (event.type === 'put') rebuilt.set(s(event.kv.key) as string, s(event.kv.value) as string);
        else rebuilt.delete(s(event.kv.key) as string);
      }
    }
    const final = new Map([...states[states.length - 1]].map(([k, v]) => [k, v.value]));
    expect(rebuilt).toEqual(final);
    await replay.close();
  });
});
