// A follower installs a leader's snapshot: its KvStore and WatchableStore are restored in place (etcd's
// store.Restore / watchableStore.Restore). Watchers keep their IDs and sinks and catch up from their next
// revision against the new state, or get the compact revision when it is gone.
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Backend } from '@cairn/storage';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { prefixEnd } from '@cairn/api';
import { WatchableStore, type WatchResponse, type WatchSink } from '../src/index';
import { b, type Harness, openHarness, s } from './helpers';

async function until(condition: () => boolean, what: string, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(2);
  }
}

interface Collected {
  sink: WatchSink;
  responses: WatchResponse[];
  /** Events as "key@modRevision". */
  events: () => string[];
  revisions: () => number[];
  /** While false the sink refuses (a full consumer). */
  accepting: boolean;
}

function collector(): Collected {
  const collected: Collected = {
    responses: [],
    accepting: true,
    sink: (response) => {
      if (!collected.accepting) return false;
      collected.responses.push(response);
      return true;
    },
    events: () =>
      collected.responses.flatMap((r) => r.events.map((e) => `${s(e.kv.key)}@${e.kv.modRevision}`)),
    revisions: () => collected.responses.flatMap((r) => r.events.map((e) => e.kv.modRevision)),
  };
  return collected;
}

describe('WatchableStore.restore (snapshot install)', () => {
  let leader: Harness;
  let follower: Harness;
  let watchable: WatchableStore;

  beforeEach(async () => {
    leader = await openHarness();
    follower = await openHarness();
    watchable = new WatchableStore(follower.kv, { maxEventsPerSync: 4, victimRetryMs: 1 });
  });
  afterEach(async () => {
    await watchable.close();
    await leader.close();
    await follower.close();
  });

  const putBoth = async (key: string, value: string) => {
    await leader.commit((batch) => leader.kv.put({ key: b(key), value: b(value) }, batch));
    await follower.commit((batch) => follower.kv.put({ key: b(key), value: b(value) }, batch));
  };
  const putLeader = (key: string, value: string) =>
    leader.commit((batch) => leader.kv.put({ key: b(key), value: b(value) }, batch));

  /** What a member does on a snapshot install, in the same order (libs/server restoreStateMachine). */
  async function installLeaderSnapshot(): Promise<void> {
    const file = join(leader.dir, 'snap.db');
    await leader.backend.writeSnapshot(file);
    await watchable.pause();
    await follower.kv.detach();
    await follower.backend.close();
    const restoredPath = join(follower.dir, 'restored');
    await Backend.restoreSnapshot(file, restoredPath);
    follower.backend = await Backend.open(restoredPath);
    await follower.kv.restore(follower.backend);
    watchable.restore();
  }

  it('synced watchers keep their IDs and catch up from their next revision, in order, without a gap or duplicate', async () => {
    await putBoth('svc/a', '1'); // rev 1
    const prefix = collector();
    const single = collector();
    const prefixId = watchable.watch({ key: b('svc/'), rangeEnd: prefixEnd(b('svc/')) }, prefix.sink);
    const singleId = watchable.watch({ key: b('svc/b') }, single.sink);
    await putBoth('svc/b', '1'); // rev 2, heard by both
    // The follower falls behind: the leader writes revisions 3..9 it never applies.
    for (let i = 0; i < 7; i++) await putLeader(i % 2 === 0 ? 'svc/b' : 'other/x', String(i));

    await installLeaderSnapshot();
    expect(follower.kv.currentRevision).toBe(9);
    await until(() => watchable.isSynced(prefixId) && watchable.isSynced(singleId), 'both watchers synced');
    // A write after the install is heard as usual.
    await follower.commit((batch) => follower.kv.put({ key: b('svc/c'), value: b('new') }, batch)); // rev 10
    // Fanned out a turn after the write: synced again once it was offered.
    await until(() => watchable.isSynced(prefixId), 'the write to be fanned out');

    expect(prefix.events()).toEqual(['svc/b@2', 'svc/b@3', 'svc/b@5', 'svc/b@7', 'svc/b@9', 'svc/c@10']);
    expect(single.events()).toEqual(['svc/b@2', 'svc/b@3', 'svc/b@5', 'svc/b@7', 'svc/b@9']);
    expect(new Set(prefix.responses.map((r) => r.watchId))).toEqual(new Set([prefixId]));
    expect(new Set(single.responses.map((r) => r.watchId))).toEqual(new Set([singleId]));
    // IDs stay unique for the life of the store: a new watch never reuses an old one.
    const later = watchable.watch({ key: b('svc/z') }, collector().sink);
    expect(later).toBeGreaterThan(Math.max(prefixId, singleId));
  });

  it('a watcher whose next revision was compacted in the snapshot gets the compact revision and ends', async () => {
    await putBoth('svc/a', '1'); // rev 1
    const watcher = collector();
    const id = watchable.watch({ key: b('svc/'), rangeEnd: prefixEnd(b('svc/')) }, watcher.sink);
    for (let i = 0; i < 6; i++) await putLeader('svc/a', String(i)); // revs 2..7
    await leader.commit((batch) => leader.kv.compact(5, batch));
    await leader.kv.whenCompacted();

    await installLeaderSnapshot();
    await until(() => watcher.responses.length > 0, 'the compaction notice');
    expect(watcher.responses[0]).toMatchObject({ watchId: id, compactRevision: 5, events: [] });
    expect(watchable.cancel(id)).toBe(false); // already ended by the store
  });

  it('a watcher whose consumer was full during the install keeps its pending response, then catches up', async () => {
    await putBoth('k1', 'a'); // rev 1
    const slow = collector();
    const id = watchable.watch({ key: b('k'), rangeEnd: prefixEnd(b('k')) }, slow.sink);
    slow.accepting = false;
    await putBoth('k2', 'b'); // rev 2: refused, kept as the pending response
    for (let i = 3; i <= 6; i++) await putLeader(`k${i}`, 'c'); // revs 3..6 only on the leader

    await installLeaderSnapshot();
    slow.accepting = true;
    watchable.retryVictims();
    await until(() => watchable.isSynced(id), 'the slow watcher synced');
    expect(slow.revisions()).toEqual([2, 3, 4, 5, 6]);
  });

  it('a watch created while the install is under way starts once it is done, from its start revision', async () => {
    await putBoth('k1', 'a'); // rev 1
    for (let i = 2; i <= 4; i++) await putLeader(`k${i}`, 'b'); // revs 2..4 only on the leader
    const file = join(leader.dir, 'snap.db');
    await leader.backend.writeSnapshot(file);
    await watchable.pause();
    const early = collector();
    const id = watchable.watch({ key: b('k'), rangeEnd: prefixEnd(b('k')), startRevision: 1 }, early.sink);
    await follower.kv.detach();
    await follower.backend.close();
    await Backend.restoreSnapshot(file, join(follower.dir, 'restored'));
    follower.backend = await Backend.open(join(follower.dir, 'restored'));
    await follower.kv.restore(follower.backend);
    expect(early.responses).toEqual([]); // nothing read while the backend was being replaced
    watchable.restore();
    await until(() => watchable.isSynced(id), 'the early watcher synced');
    expect(early.revisions()).toEqual([1, 2, 3, 4]);
  });
});
