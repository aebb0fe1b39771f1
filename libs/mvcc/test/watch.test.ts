import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { prefixEnd } from '@cairn/api';
import { WatchableStore, type WatchResponse, type WatchSink } from '../src/index';
import { b, type Harness, openHarness, s } from './helpers';

/** Wait (bounded) until `condition` holds. */
async function until(condition: () => boolean, what: string, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(2);
  }
}

function collector(): { sink: WatchSink; responses: WatchResponse[]; events: () => string[] } {
  const responses: WatchResponse[] = [];
  return {
    responses,
    sink: (response) => {
      responses.push(response);
      return true;
    },
    events: () =>
      responses.flatMap((r) =>
        r.events.map(
          (e) => `${e.type}:${s(e.kv.key)}@${e.kv.modRevision}${e.type === 'put' ? `=${s(e.kv.value)}` : ''}`,
        ),
      ),
  };
}

describe('WatchableStore', () => {
  let h: Harness;
  let watchable: WatchableStore;

  beforeEach(async () => {
    h = await openHarness();
    watchable = new WatchableStore(h.kv, { maxEventsPerSync: 16, victimRetryMs: 1 });
  });
  afterEach(async () => {
    await watchable.close();
    await h.close();
  });

  const put = (key: string, value: string) =>
    h.commit((batch) => h.kv.put({ key: b(key), value: b(value) }, batch));
  const del = (key: string) => h.commit((batch) => h.kv.deleteRange({ key: b(key) }, batch));

  it('a synced watcher hears matching writes a turn after the write (off the apply path), one response per revision', async () => {
    const single = collector();
    const prefix = collector();
    const range = collector();
    watchable.watch({ key: b('svc/a') }, single.sink);
    watchable.watch({ key: b('svc/'), rangeEnd: prefixEnd(b('svc/')) }, prefix.sink);
    watchable.watch({ key: b('svc/b'), rangeEnd: Buffer.of(0) }, range.sink);
    const batch = h.backend.batch();
    h.kv.put({ key: b('svc/a'), value: b('1') }, batch);
    // Not inside the write: it only queued the change.
    expect(single.events()).toEqual([]);
    // The next turn, before the batch is even written.
    await new Promise((resolve) => setImmediate(resolve));
    expect(single.events()).toEqual(['put:svc/a@1=1']);
    const txn = h.kv.beginWrite(batch);
    txn.put(b('svc/b'), b('2'));
    txn.put(b('svc/c'), b('3'));
    txn.put(b('zzz'), b('4'));
    txn.end();
    await batch.write();
    await del('svc/a');
    await put('other', 'x');
    expect(single.events()).toEqual(['put:svc/a@1=1', 'delete:svc/a@3']);
    expect(prefix.events()).toEqual(['put:svc/a@1=1', 'put:svc/b@2=2', 'put:svc/c@2=3', 'delete:svc/a@3']);
    expect(prefix.responses.map((r) => [r.revision, r.events.length])).toEqual([
      [1, 1],
      [2, 2],
      [3, 1],
    ]);
    // 'other' sorts before 'svc/b', so the from-key watcher does not see it.
    expect(range.events()).toEqual(['put:svc/b@2=2', 'put:svc/c@2=3', 'put:zzz@2=4']);
  });

  it('filters drop puts or deletes; prevKv is attached only when asked for', async () => {
    await put('k', 'v1');
    const noPut = collector();
    const noDelete = collector();
    const withPrev = collector();
    const withoutPrev = collector();
    watchable.watch({ key: b('k'), filters: { noPut: true } }, noPut.sink);
    watchable.watch({ key: b('k'), filters: { noDelete: true } }, noDelete.sink);
    watchable.watch({ key: b('k'), prevKv: true }, withPrev.sink);
    watchable.watch({ key: b('k') }, withoutPrev.sink);
    await put('k', 'v2');
    await del('k');
    expect(noPut.events()).toEqual(['delete:k@3']);
    expect(noDelete.events()).toEqual(['put:k@2=v2']);
    expect(withPrev.responses.flatMap((r) => r.events.map((e) => s(e.prevKv?.value)))).toEqual(['v1', 'v2']);
    expect(withoutPrev.responses.flatMap((r) => r.events.map((e) => e.prevKv))).toEqual([
      undefined,
      undefined,
    ]);
    // A watcher whose filters drop every event of a revision gets no empty response.
    expect(noPut.responses).toHaveLength(1);
  });

  it('a sink asking isSynced hears true for a live write the fan-out hands it, false for history it catches up on (the audit archive marks replayed rows by it)', async () => {
    for (let i = 1; i <= 5; i++) await put('h', `${i}`);
    const seen: Array<[number, boolean]> = [];
    let id = -1;
    id = watchable.watch({ key: b('h'), startRevision: 2 }, (response) => {
      for (const event of response.events) seen.push([event.kv.modRevision, watchable.isSynced(id)]);
      return true;
    });
    await until(() => watchable.isSynced(id), 'the watcher to catch up');
    // Two writes queued at once: the first is handed over while the second still waits; both are live.
    const batch = h.backend.batch();
    const live1 = h.kv.put({ key: b('h'), value: b('live-1') }, batch);
    const live2 = h.kv.put({ key: b('h'), value: b('live-2') }, batch);
    await batch.write();
    await until(() => seen.some(([revision]) => revision === live2.revision), 'both live writes');
    const history = seen.filter(([revision]) => revision < live1.revision);
    expect(history.length).toBeGreaterThan(0);
    expect(history.every(([, synced]) => !synced)).toBe(true);
    expect(seen.filter(([revision]) => revision >= live1.revision)).toEqual([
      [live1.revision, true],
      [live2.revision, true],
    ]);
  });

  it('a past start revision replays history in order, then continues live without gaps or repeats', async () => {
    for (let i = 1; i <= 40; i++) await put(`k${i % 3}`, `${i}`);
    // A multi-event revision straddling the per-turn read limit must arrive whole.
    await h.commit((batch) => {
      const txn = h.kv.beginWrite(batch);
      for (let i = 0; i < 20; i++) txn.put(b(`k${i % 3}`), b(`multi-${i}`));
      txn.end();
    });
    const watcher = collector();
    const id = watchable.watch({ key: b('k'), rangeEnd: b('l'), startRevision: 5 }, watcher.sink);
    expect(watchable.isSynced(id)).toBe(false);
    // Writes while catching up.
    for (let i = 42; i <= 60; i++) await put(`k${i % 3}`, `${i}`);
    await until(() => watchable.isSynced(id), 'the watcher to catch up');
    await put('k0', 'live');
    const revisions = watcher.responses.flatMap((r) => r.events.map((e) => e.kv.modRevision));
    const expected = [
      ...Array.from({ length: 36 }, (_, i) => i + 5),
      ...Array(20).fill(41),
      ...Array.from({ length: 19 }, (_, i) => i + 42),
      61,
    ];
    expect(revisions).toEqual(expected);
    // Revision 41 arrived in one response, never split.
    expect(watcher.responses.filter((r) => r.events.some((e) => e.kv.modRevision === 41))).toHaveLength(1);
    expect(watcher.responses.length).toBeGreaterThan(2);
  });

  it('the cache of recent writes keeps only what some watcher watches; a later watcher from the past gets the rest from the backend', async () => {
    const other = collector();
    watchable.watch({ key: b('a/'), rangeEnd: prefixEnd(b('a/')) }, other.sink);
    await put('a/1', 'x');
    const first = h.kv.currentRevision;
    // No watcher watches b/: these writes are not cached (nobody now needs them) ...
    for (let i = 0; i < 5; i++) await put(`b/${i}`, `${i}`);
    await put('a/2', 'y');
    // ... and a watcher made now from the past reads them from the backend, with the cached a/ writes around them.
    const late = collector();
    const id = watchable.watch({ key: b('a/'), rangeEnd: b('c'), startRevision: first }, late.sink);
    await until(() => watchable.isSynced(id), 'the late watcher to catch up');
    expect(late.events()).toEqual([
      `put:a/1@${first}=x`,
      ...Array.from({ length: 5 }, (_, i) => `put:b/${i}@${first + 1 + i}=${i}`),
      `put:a/2@${first + 6}=y`,
    ]);
    // Once caught up it is served live, and the cache holds its writes again.
    await put('b/9', 'z');
    await until(() => late.events().length === 8, 'the live write');
    expect(other.events()).toEqual([`put:a/1@${first}=x`, `put:a/2@${first + 6}=y`]);
  });

  it('catch-up turns are bounded by the bytes they read too: big values come a few revisions per response', async () => {
    const small = new WatchableStore(h.kv, {
      maxEventsPerSync: 1000,
      maxBytesPerSync: 4096,
      victimRetryMs: 1,
    });
    try {
      const big = 'v'.repeat(1500);
      for (let i = 1; i <= 30; i++) await put(`big${i % 4}`, `${i}:${big}`);
      const watcher = collector();
      const id = small.watch({ key: b('big'), rangeEnd: b('bih'), startRevision: 1 }, watcher.sink);
      await until(() => small.isSynced(id), 'the watcher to catch up');
      const revisions = watcher.responses.flatMap((r) => r.events.map((e) => e.kv.modRevision));
      expect(revisions).toEqual(Array.from({ length: 30 }, (_, i) => i + 1));
      // About 4 KiB per turn: three 1.5 KiB values (the one that crosses the bound completes its revision).
      expect(Math.max(...watcher.responses.map((r) => r.events.length))).toBeLessThanOrEqual(3);
    } finally {
      await small.close();
    }
  });

  it('a catch-up turn hands over a bounded amount: watchers left for the next turn still get everything in order', async () => {
    const big = 'v'.repeat(100_000);
    for (let i = 1; i <= 30; i++) await put(`big/${i % 5}`, `${i}:${big}`);
    const store = new WatchableStore(h.kv, { maxEventsPerSync: 1000, victimRetryMs: 1 });
    try {
      const watchers = Array.from({ length: 20 }, () => collector());
      const ids = watchers.map((w) =>
        store.watch({ key: b('big/'), rangeEnd: prefixEnd(b('big/')), startRevision: 1 }, w.sink),
      );
      await new Promise((resolve) => setImmediate(resolve));
      // One turn read ~1 MiB of events: only a few watchers got theirs (4 MiB a turn), the rest wait.
      expect(watchers.filter((w) => w.responses.length > 0).length).toBeLessThan(20);
      await until(() => ids.every((id) => store.isSynced(id)), 'every watcher to catch up');
      for (const w of watchers) {
        expect(w.responses.flatMap((r) => r.events.map((e) => e.kv.modRevision))).toEqual(
          Array.from({ length: 30 }, (_, i) => i + 1),
        );
      }
    } finally {
      await store.close();
    }
  });

  it('catch-up attaches prevKv from history and applies filters', async () => {
    await put('k', 'v1'); // 1
    await put('k', 'v2'); // 2
    await del('k'); // 3
    await put('k', 'v3'); // 4
    const watcher = collector();
    const id = watchable.watch(
      { key: b('k'), startRevision: 1, prevKv: true, filters: { noDelete: true } },
      watcher.sink,
    );
    await until(() => watchable.isSynced(id), 'sync');
    expect(watcher.events()).toEqual(['put:k@1=v1', 'put:k@2=v2', 'put:k@4=v3']);
    expect(watcher.responses.flatMap((r) => r.events.map((e) => s(e.prevKv?.value)))).toEqual([
      undefined,
      'v1',
      undefined,
    ]);
  });

  it('catch-up sees revisions whose batch has not reached LevelDB yet', async () => {
    await put('k', 'v1');
    const batch = h.backend.batch();
    h.kv.put({ key: b('k'), value: b('v2') }, batch);
    h.kv.put({ key: b('k'), value: b('v3') }, batch);
    const watcher = collector();
    const id = watchable.watch({ key: b('k'), startRevision: 2 }, watcher.sink);
    await until(() => watchable.isSynced(id), 'sync');
    expect(watcher.events()).toEqual(['put:k@2=v2', 'put:k@3=v3']);
    await batch.write();
  });

  it('a compacted start revision gets the compact revision and the watcher is cancelled', async () => {
    for (let i = 1; i <= 10; i++) await put('k', `${i}`);
    await (
      await h.commit((batch) => h.kv.compact(6, batch))
    ).done;
    const watcher = collector();
    const id = watchable.watch({ key: b('k'), startRevision: 3 }, watcher.sink);
    await until(() => watcher.responses.length > 0, 'the compaction notice');
    expect(watcher.responses).toEqual([{ watchId: id, revision: 10, events: [], compactRevision: 6 }]);
    expect(watchable.cancel(id)).toBe(false);
    await put('k', 'after');
    expect(watcher.responses).toHaveLength(1);
    // Starting exactly at the compact revision is allowed.
    const ok = collector();
    const okId = watchable.watch({ key: b('k'), startRevision: 6 }, ok.sink);
    await until(() => watchable.isSynced(okId), 'sync');
    expect(ok.events()[0]).toBe('put:k@6=6');
  });

  it('a future start revision delivers nothing before it', async () => {
    await put('k', '1');
    const watcher = collector();
    const id = watchable.watch({ key: b('k'), startRevision: 3 }, watcher.sink);
    expect(watchable.isSynced(id)).toBe(true);
    await put('k', '2');
    await put('k', '3');
    expect(watcher.events()).toEqual(['put:k@3=3']);
  });

  it('the fan-out runs in bounded turns (one may stop inside a revision), in order; a watcher with writes still queued is not synced', async () => {
    const store = new WatchableStore(h.kv, { maxFanOutPerTurn: 4 });
    try {
      const watchers = Array.from({ length: 6 }, () => collector());
      const ids = watchers.map((w) => store.watch({ key: b('q/'), rangeEnd: prefixEnd(b('q/')) }, w.sink));
      const late = collector();
      const batch = h.backend.batch();
      h.kv.put({ key: b('q/a'), value: b('1') }, batch);
      const txn = h.kv.beginWrite(batch);
      txn.put(b('q/b'), b('2'));
      txn.put(b('q/c'), b('3'));
      txn.end();
      h.kv.put({ key: b('q/d'), value: b('4') }, batch);
      // Created after the writes: it must get none of the queued ones, and is synced at once.
      const lateId = store.watch({ key: b('q/'), rangeEnd: prefixEnd(b('q/')) }, late.sink);
      expect(store.isSynced(lateId)).toBe(true);
      expect(store.isSynced(ids[0])).toBe(false);
      expect(store.progress(ids[0])).toBe(false);
      // A turn offers about 4 responses: the first stops inside revision 1, the next goes on from there.
      await new Promise((resolve) => setImmediate(resolve));
      expect(watchers.map((w) => w.responses.length)).toEqual([1, 1, 1, 0, 0, 0]);
      expect(store.isSynced(ids[0])).toBe(false);
      expect(store.isSynced(ids[5])).toBe(false);
      await new Promise((resolve) => setImmediate(resolve));
      expect(watchers.map((w) => w.responses.length)).toEqual([1, 1, 1, 1, 1, 1]);
      await until(() => store.isSynced(ids[0]), 'the fan-out to finish');
      for (const w of watchers) {
        expect(w.events()).toEqual(['put:q/a@1=1', 'put:q/b@2=2', 'put:q/c@2=3', 'put:q/d@3=4']);
        expect(w.responses.map((r) => r.revision)).toEqual([1, 2, 3]);
      }
      expect(store.progress(ids[0])).toBe(true);
      expect(watchers[0].responses.at(-1)).toEqual({ watchId: ids[0], revision: 3, events: [] });
      expect(late.responses).toEqual([]);
      await batch.write();
    } finally {
      await store.close();
    }
  });

  it('cancel stops delivery; progress answers only synced watchers, at the current revision', async () => {
    await put('k', '1');
    const watcher = collector();
    const id = watchable.watch({ key: b('k') }, watcher.sink);
    expect(watchable.progress(id)).toBe(true);
    expect(watcher.responses).toEqual([{ watchId: id, revision: 1, events: [] }]);
    const behind = collector();
    const behindId = watchable.watch({ key: b('k'), startRevision: 1 }, behind.sink);
    expect(watchable.progress(behindId)).toBe(false);
    expect(watchable.cancel(id)).toBe(true);
    await put('k', '2');
    expect(watcher.responses).toHaveLength(1);
    expect(watchable.progress(id)).toBe(false);
  });

  it('a slow watcher never blocks writes and loses or reorders nothing over thousands of events', async () => {
    const received: number[] = [];
    let calls = 0;
    let open = true;
    // Refuses 2 of every 3 offers, and everything while `open` is false.
    const slow: WatchSink = (response) => {
      calls++;
      if (!open || calls % 3 !== 0) return false;
      for (const event of response.events) received.push(Number(s(event.kv.value)));
      return true;
    };
    const fast = collector();
    const slowId = watchable.watch({ key: b('load/'), rangeEnd: prefixEnd(b('load/')) }, slow);
    watchable.watch({ key: b('load/'), rangeEnd: prefixEnd(b('load/')) }, fast.sink);
    const total = 3000;
    let next = 0;
    // 64 puts per batch, like the server applying a Raft batch.
    while (next < total) {
      if (next === 1024) open = false;
      if (next === 2048) open = true;
      await h.commit((batch) => {
        for (let i = 0; i < 64 && next < total; i++, next++) {
          h.kv.put({ key: b(`load/${next % 50}`), value: b(`${next}`) }, batch);
        }
      });
    }
    // Writes finished regardless; the fast watcher got every event synchronously.
    expect(fast.responses.flatMap((r) => r.events)).toHaveLength(total);
    expect(watchable.stats.victims + watchable.stats.unsynced).toBeGreaterThan(0);
    await until(
      () => received.length >= total && watchable.isSynced(slowId),
      'the slow watcher to drain',
      15_000,
    );
    expect(received).toEqual(Array.from({ length: total }, (_, i) => i));
  });

  // Catch-up from the remembered latest revisions (default), from the backend only (0), and from both (a cache
  // too small for the backlog): the same events, in order, once each, with prevKv exactly where asked for.
  it.each([
    ['remembered revisions', undefined],
    ['the backend only', 0],
    ['a small cache', 4096],
  ])(
    'a parked watcher catches up from %s without loss, repeats or a wrong prevKv',
    async (_name, maxRecentBytes) => {
      const store = new WatchableStore(h.kv, { maxEventsPerSync: 16, victimRetryMs: 1, maxRecentBytes });
      try {
        let open = true;
        const got = { plain: [] as string[], prev: [] as string[] };
        const slow =
          (into: string[]): WatchSink =>
          (response) => {
            if (!open) return false;
            for (const e of response.events) {
              into.push(`${s(e.kv.value)}<${e.prevKv ? s(e.prevKv.value) : '-'}`);
            }
            return true;
          };
        const range = { key: b('c/'), rangeEnd: prefixEnd(b('c/')) };
        const plainId = store.watch(range, slow(got.plain));
        const prevId = store.watch({ ...range, prevKv: true }, slow(got.prev));
        const total = 600;
        for (let next = 0; next < total;) {
          if (next === 100) open = false;
          if (next === 400) open = true;
          await h.commit((batch) => {
            for (let i = 0; i < 8 && next < total; i++, next++) {
              h.kv.put({ key: b(`c/${next % 10}`), value: b(`${next}`) }, batch);
            }
          });
        }
        await until(
          () => got.prev.length >= total && store.isSynced(plainId) && store.isSynced(prevId),
          'both watchers to catch up',
        );
        expect(got.plain).toEqual(Array.from({ length: total }, (_, i) => `${i}<-`));
        expect(got.prev).toEqual(Array.from({ length: total }, (_, i) => `${i}<${i >= 10 ? i - 10 : '-'}`));
      } finally {
        await store.close();
      }
    },
  );

  it('retryVictims delivers a refused response without waiting for the timer', async () => {
    const slowStore = new WatchableStore(h.kv, { victimRetryMs: 60_000 });
    try {
      let accept = false;
      const got: string[] = [];
      slowStore.watch({ key: b('k') }, (response) => {
        if (!accept) return false;
        got.push(...response.events.map((e) => s(e.kv.value) ?? ''));
        return true;
      });
      await put('k', 'v1');
      expect(slowStore.stats.victims).toBe(1);
      accept = true;
      slowStore.retryVictims();
      expect(got).toEqual(['v1']);
      expect(slowStore.stats).toEqual({ synced: 1, unsynced: 0, victims: 0 });
    } finally {
      await slowStore.close();
    }
  });

  it('retryVictims(ids) offers again only those watchers', async () => {
    const slowStore = new WatchableStore(h.kv, { victimRetryMs: 60_000 });
    try {
      let accept = false;
      const got: string[] = [];
      const sink =
        (name: string): WatchSink =>
        (response) => {
          if (!accept) return false;
          got.push(...response.events.map((e) => `${name}:${s(e.kv.value)}`));
          return true;
        };
      const a = slowStore.watch({ key: b('k') }, sink('a'));
      slowStore.watch({ key: b('k') }, sink('b'));
      await put('k', 'v1');
      expect(slowStore.stats.victims).toBe(2);
      accept = true;
      slowStore.retryVictims([a, 12345]);
      expect(got).toEqual(['a:v1']);
      expect(slowStore.stats).toEqual({ synced: 1, unsynced: 0, victims: 1 });
      slowStore.retryVictims();
      expect(got).toEqual(['a:v1', 'b:v1']);
    } finally {
      await slowStore.close();
    }
  });

  it('thousands of prefix watchers: each write reaches exactly the watchers whose range holds the key', async () => {
    const hits = new Map<number, number>();
    const ids: number[] = [];
    for (let i = 0; i < 3000; i++) {
      const prefix = b(`/cairn/registry/ns/svc-${i % 1000}/`);
      const id = watchable.watch({ key: prefix, rangeEnd: prefixEnd(prefix) }, (response) => {
        hits.set(id, (hits.get(id) ?? 0) + response.events.length);
        return true;
      });
      ids.push(id);
    }
    const started = performance.now();
    for (let i = 0; i < 200; i++) await put(`/cairn/registry/ns/svc-${i}/instance-1`, 'up');
    const elapsed = performance.now() - started;
    // svc-0..199, each watched by 3 watchers.
    expect([...hits.values()].reduce((sum, n) => sum + n, 0)).toBe(600);
    expect(hits.get(ids[0])).toBe(1);
    expect(hits.get(ids[999])).toBeUndefined();
    expect(watchable.stats.synced).toBe(3000);
    console.log(`200 puts matched against 3000 prefix watchers in ${elapsed.toFixed(1)} ms`);
  });

  it('a sink may cancel watchers (itself or others) while being notified', async () => {
    const got: string[] = [];
    let secondId = 0;
    const firstId = watchable.watch({ key: b('k') }, (response) => {
      got.push(`first@${response.revision}`);
      watchable.cancel(firstId);
      watchable.cancel(secondId);
      return true;
    });
    secondId = watchable.watch({ key: b('k') }, (response) => {
      got.push(`second@${response.revision}`);
      return true;
    });
    await put('k', '1');
    await put('k', '2');
    expect(got).toEqual(['first@1']);
    expect(watchable.stats).toEqual({ synced: 0, unsynced: 0, victims: 0 });
  });

  it('a sink that throws is cancelled and reported; the write and other watchers are unaffected', async () => {
    const errors: Array<[string, number]> = [];
    const store = new WatchableStore(h.kv, { onSinkError: (error, id) => errors.push([String(error), id]) });
    try {
      const good = collector();
      const badId = store.watch({ key: b('k') }, () => {
        throw new Error('consumer broke');
      });
      store.watch({ key: b('k') }, good.sink);
      const result = await put('k', '1');
      expect(result.revision).toBe(1);
      expect(good.events()).toEqual(['put:k@1=1']);
      expect(errors).toEqual([['Error: consumer broke', badId]]);
      expect(store.cancel(badId)).toBe(false);
    } finally {
      await store.close();
    }
  });

  it('close cancels every watcher and stops timers', async () => {
    const watcher = collector();
    watchable.watch({ key: b('k'), startRevision: 1 }, watcher.sink);
    await watchable.close();
    await put('k', 'after-close');
    expect(watchable.stats).toEqual({ synced: 0, unsynced: 0, victims: 0 });
    expect(watcher.responses).toEqual([]);
  });
});
