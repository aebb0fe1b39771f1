// A put's prevKv value is read from the backend only when someone asks for it (lazy-prev-kv.ts): the apply
// does no LevelDB read for it, and a watcher asking for prev_kv still gets the exact previous version.
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { ChangeEvent, KeyValue, WatchResponse } from '../src/index';
import { WatchableStore } from '../src/index';
import { prevValueGone } from '../src/lazy-prev-kv';
import { Watcher } from '../src/watch/watcher';
import { b, type Harness, openHarness, plain, s } from './helpers';

describe('lazy prevKv', () => {
  let h: Harness | undefined;

  afterEach(async () => {
    await h?.close();
    h = undefined;
  });

  const keysOnly = (harness: Harness, key: string): KeyValue => {
    const result = harness.kv.range({ key: b(key), keysOnly: true });
    if (result instanceof Promise) throw new Error('expected sync');
    return result.kvs[0];
  };

  // A hot-value budget of two small values: the other keys' values live only in LevelDB.
  const open = () => openHarness({ hotValueBytes: 2 * (200 + 8) });

  it('an overwrite reads no previous value at apply; asked later, it is the exact previous version', async () => {
    h = await open();
    const harness = h;
    await harness.commit((batch) => {
      for (let n = 0; n < 20; n++) harness.kv.put({ key: b(`k${n}`), value: b(`v1-${n}`) }, batch);
    });
    // Revisions only (keys_only reads no value, so the hot cache stays as it was).
    const before = plain(keysOnly(harness, 'k0'));
    const events: ChangeEvent[] = [];
    harness.kv.onChanges((result) => events.push(...result.events));
    const getSync = vi.spyOn(harness.backend, 'getSync');
    const batch = harness.backend.batch();
    for (let n = 0; n < 20; n++) harness.kv.put({ key: b(`k${n}`), value: b(`v2-${n}`) }, batch);
    expect(getSync).not.toHaveBeenCalled();
    // Asked before the batch is written (LevelDB holds v1) and after (the staged v2 is written too).
    expect(plain(events[0].prevKv)).toEqual({ ...before, value: 'v1-0' });
    await batch.write();
    for (let n = 0; n < 20; n++) expect(s(events[n].prevKv?.value)).toBe(`v1-${n}`);
    // A version overwritten twice within one unwritten batch comes from the staged record.
    const next = harness.backend.batch();
    harness.kv.put({ key: b('k7'), value: b('v3-7') }, next);
    harness.kv.put({ key: b('k7'), value: b('v4-7') }, next);
    expect(s(events.at(-1)?.prevKv?.value)).toBe('v3-7');
    await next.write();
  });

  it('a version compacted away before anyone read it reaches a prev_kv watcher without prevKv, as etcd sends it', async () => {
    h = await open();
    const harness = h;
    await harness.commit((batch) => {
      for (let n = 0; n < 10; n++) harness.kv.put({ key: b(`k${n}`), value: b(`old-${n}`) }, batch);
    });
    const first = keysOnly(harness, 'k3').modRevision;
    const events: ChangeEvent[] = [];
    harness.kv.onChanges((result) => events.push(...result.events));
    await harness.commit((batch) => harness.kv.put({ key: b('k3'), value: b('new') }, batch));
    const compactBatch = harness.backend.batch();
    const { done } = harness.kv.compact(harness.kv.currentRevision, compactBatch);
    await compactBatch.write();
    await done;
    const event = events[0];
    expect(event.prevKv?.modRevision).toBe(first);
    expect(prevValueGone(event.prevKv!)).toBe(true);
    const watcher = new Watcher(1, { key: b('k3'), prevKv: true }, () => true, 0);
    expect(watcher.shape(event)).toEqual({ type: 'put', kv: event.kv, sub: 0 });
  });

  it('a prev_kv watcher gets the previous value of a key the hot cache no longer holds', async () => {
    h = await open();
    const harness = h;
    const watchable = new WatchableStore(harness.kv);
    try {
      await harness.commit((batch) => {
        for (let n = 0; n < 10; n++) harness.kv.put({ key: b(`k${n}`), value: b(`old-${n}`) }, batch);
      });
      const responses: WatchResponse[] = [];
      watchable.watch({ key: b('k'), rangeEnd: b('l'), prevKv: true }, (response) => {
        responses.push(response);
        return true;
      });
      await harness.commit((batch) => {
        for (let n = 0; n < 10; n++) harness.kv.put({ key: b(`k${n}`), value: b(`new-${n}`) }, batch);
      });
      const deadline = Date.now() + 5000;
      while (responses.flatMap((r) => r.events).length < 10 && Date.now() < deadline) {
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
      expect(responses.flatMap((r) => r.events.map((e) => `${s(e.kv.value)}<${s(e.prevKv?.value)}`))).toEqual(
        Array.from({ length: 10 }, (_, n) => `new-${n}<old-${n}`),
      );
    } finally {
      await watchable.close();
    }
  });
});
