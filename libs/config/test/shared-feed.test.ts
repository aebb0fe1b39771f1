// The member's shared feed of an app (app-feed.ts): every subscription to the app shares one MVCC watcher
// (the last to close closes it), subscribers with the same view get the same event object (encoded once for
// gRPC), and a subscriber whose transport is full leaves the feed without holding the others up, catches up
// on its own from its last revision, and comes back to the feed.
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { EtcdPort, PortWatch } from '@cairn/server';
import { silentLogger } from '@cairn/server';
import { ConfigCenter, type ConfigWatchEvent, grayApplies } from '../src';
import { watchEventBytes } from '../src/grpc';
import { createItem, ctx, eventSink, type Harness, openHarness } from './harness';

const ref = { namespace: 'shop', app: 'orders', name: 'limits.json' };
const APP_PREFIX = '/cairn/config/shop/orders/';
let h: Harness;
let center: ConfigCenter;
let watches: { opened: number; open: Set<number> };

/** The member's port, counting the watches opened on the app's keys and those still open. */
function countingPort(inner: EtcdPort): EtcdPort {
  return new Proxy(inner, {
    get(target, prop) {
      if (prop === 'watch') {
        const watch: EtcdPort['watch'] = (c, req, sink, onEnd) => {
          const w = target.watch(c, req, sink, onEnd);
          if (!Buffer.from(req.key).toString().startsWith(APP_PREFIX)) return w;
          watches.opened++;
          watches.open.add(w.id);
          const counted: PortWatch = {
            id: w.id,
            isSynced: () => w.isSynced(),
            cancel: () => {
              watches.open.delete(w.id);
              w.cancel();
            },
          };
          return counted;
        };
        return watch;
      }
      const value = Reflect.get(target, prop, target) as unknown;
      return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
    },
  });
}

beforeEach(async () => {
  h = await openHarness();
  await createItem(h.center, ref, 'json');
  await h.center.publish(ctx, ref, { content: '{"v":1}' });
  watches = { opened: 0, open: new Set() };
  center = new ConfigCenter({ port: countingPort(h.local.port), logger: silentLogger });
});

afterEach(async () => {
  await center.close();
  await h.close();
});

describe('shared feed', () => {
  it('N subscriptions to an app share one watch; closing the last closes it', async () => {
    const sinks = Array.from({ length: 20 }, () => eventSink());
    const subs = await Promise.all(
      sinks.map((sink, i) =>
        center.subscribe(ctx, { ...ref, subscriberId: `s${i}`, labels: { zone: `z${i % 3}` } }, sink.send),
      ),
    );
    expect(watches.opened).toBe(1);
    const v2 = await h.center.publish(ctx, ref, { content: '{"v":2}' });
    for (const sink of sinks) {
      const [snapshot, change] = await sink.next(2);
      expect(snapshot).toMatchObject({ kind: 'snapshot', items: [{ version: 1 }] });
      expect(change).toMatchObject({ kind: 'change', revision: v2.revision, items: [{ version: 2 }] });
    }
    for (const sub of subs.slice(1)) sub.close();
    expect(watches.open.size).toBe(1);
    subs[0].close();
    expect(watches.open.size).toBe(0);
    // The next subscriber opens a new one.
    const again = eventSink();
    const sub = await center.subscribe(ctx, { ...ref }, again.send);
    await again.next(1);
    expect([watches.opened, watches.open.size]).toEqual([2, 1]);
    sub.close();
  });

  it('a release is one event object per label set (encoded once), a gray release only for its labels', async () => {
    await h.center.startGray(ctx, ref, {
      content: '{"v":"gray"}',
      rule: { labels: { canary: 'yes' }, percentage: 100 },
    });
    const plain = [eventSink(), eventSink()];
    const canary = [eventSink(), eventSink()];
    for (const [i, sink] of plain.entries())
      await center.subscribe(ctx, { ...ref, subscriberId: `p${i}`, labels: { zone: 'eu' } }, sink.send);
    for (const [i, sink] of canary.entries())
      await center.subscribe(
        ctx,
        { ...ref, subscriberId: `c${i}`, labels: { canary: 'yes', zone: 'eu' } },
        sink.send,
      );
    const published = await h.center.publish(ctx, ref, { content: '{"v":2}' });
    const promoted = await h.center.promoteGray(ctx, ref, {});
    const [p0, p1] = await Promise.all(plain.map((s) => s.next(3)));
    const [c0, c1] = await Promise.all(canary.map((s) => s.next(2)));
    expect(p0[0]).toBe(p1[0]);
    expect(p0[1]).toBe(p1[1]);
    expect(c0[0]).toBe(c1[0]);
    expect(p0[0]).not.toBe(c0[0]);
    expect(p0.map((e) => [e.kind, e.items[0]?.version, e.items[0]?.gray])).toEqual([
      ['snapshot', 1, false],
      ['change', published.version, false],
      ['change', promoted.version, false],
    ]);
    // The canary saw the gray release from the start; the publish did not change what applies to it, the
    // promotion (the gray content as the main release) does.
    expect(c0.map((e) => [e.kind, e.items[0]?.version, e.items[0]?.gray])).toEqual([
      ['snapshot', 2, true],
      ['change', promoted.version, false],
    ]);
    expect(c0[1]).toBe(c1[1]);
    // gRPC encodes an event object once, however many subscribers it goes to.
    const serialize = vi.fn((value: object) => Buffer.from(JSON.stringify(value)));
    const first = watchEventBytes(p0[1], serialize);
    expect(watchEventBytes(p1[1], serialize)).toBe(first);
    expect(serialize).toHaveBeenCalledTimes(1);
  });

  it('a percentage gray release reaches its cohort only; subscribers on either side share their event', async () => {
    const ids = Array.from({ length: 40 }, (_, i) => `sub-${i}`);
    const sinks = new Map(ids.map((id) => [id, eventSink()] as const));
    for (const [id, sink] of sinks) await center.subscribe(ctx, { ...ref, subscriberId: id }, sink.send);
    await h.center.startGray(ctx, ref, { content: '{"v":"gray"}', rule: { labels: {}, percentage: 50 } });
    const inCohort = ids.filter((id) => grayApplies({ labels: {}, percentage: 50 }, {}, id));
    expect(inCohort.length).toBeGreaterThan(0);
    expect(inCohort.length).toBeLessThan(ids.length);
    await Promise.all(inCohort.map((id) => sinks.get(id)!.next(2)));
    await new Promise((r) => setTimeout(r, 50));
    const gray = inCohort.map((id) => sinks.get(id)!.events[1]);
    expect(gray[0]).toMatchObject({ kind: 'change', items: [{ gray: true, value: { v: 'gray' } }] });
    for (const event of gray) expect(event).toBe(gray[0]);
    for (const id of ids.filter((id) => !inCohort.includes(id)))
      expect(sinks.get(id)!.events).toHaveLength(1);
  });

  it('a full subscriber leaves the feed without delaying the others, catches up in order, and comes back', async () => {
    let room = true;
    const slow = eventSink();
    const fast = eventSink();
    await center.subscribe(ctx, { ...ref, subscriberId: 'slow', ready: () => room }, slow.send);
    await center.subscribe(ctx, { ...ref, subscriberId: 'fast' }, fast.send);
    await slow.next(1);
    room = false;
    const published: number[] = [];
    for (let v = 2; v <= 4; v++) {
      published.push((await h.center.publish(ctx, ref, { content: `{"v":${v}}` })).revision);
      // The fast subscriber has each publish before the next one, while the slow one takes nothing.
      const events = await fast.next(v);
      expect(events.at(-1)).toMatchObject({ kind: 'change', revision: published.at(-1) });
    }
    expect(slow.events).toHaveLength(1);
    // The slow one catches up on a watch of its own (parked by the store) from its last revision.
    await vi.waitFor(() => expect(watches.open.size).toBe(2), { timeout: 5000, interval: 5 });
    room = true;
    const caughtUp = (await slow.next(4)).slice(1);
    expect(caughtUp.map((e) => [e.kind, e.revision, e.items[0]?.version])).toEqual(
      published.map((revision, i) => ['change', revision, i + 2]),
    );
    // Synced again: it goes back to the shared watch at the next change it takes.
    const v5 = await h.center.publish(ctx, ref, { content: '{"v":5}' });
    await slow.next(5);
    await vi.waitFor(() => expect(watches.open.size).toBe(1), { timeout: 5000, interval: 5 });
    const v6 = await h.center.publish(ctx, ref, { content: '{"v":6}' });
    const events: ConfigWatchEvent[] = await slow.next(6);
    expect(events.slice(4).map((e) => e.revision)).toEqual([v5.revision, v6.revision]);
    expect((await fast.next(6)).at(-1)).toBe(events.at(-1));
  });

  it('resuming at the revision the feed is at joins it at once; an older one catches up first', async () => {
    const first = eventSink();
    const sub = await center.subscribe(ctx, { ...ref }, first.send);
    const [snapshot] = await first.next(1);
    const same = eventSink();
    await center.subscribe(ctx, { ...ref, revision: snapshot.revision }, same.send);
    expect(await same.next(1)).toMatchObject([{ kind: 'resumed', revision: snapshot.revision }]);
    expect(watches.opened).toBe(1);
    const v2 = await h.center.publish(ctx, ref, { content: '{"v":2}' });
    await first.next(2);
    const behind = eventSink();
    await center.subscribe(ctx, { ...ref, revision: snapshot.revision }, behind.send);
    const events = await behind.next(2);
    expect(events.map((e) => [e.kind, e.revision])).toEqual([
      ['resumed', snapshot.revision],
      ['change', v2.revision],
    ]);
    const v3 = await h.center.publish(ctx, ref, { content: '{"v":3}' });
    for (const sink of [first, same, behind])
      expect((await sink.next(3)).at(-1)).toMatchObject({
        kind: 'change',
        revision: v3.revision,
      });
    sub.close();
  });
});
