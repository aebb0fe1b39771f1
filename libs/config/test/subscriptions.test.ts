// Subscriptions against an in-process EtcdPort: a snapshot then one change per revision, resuming from a
// revision (each later publish once, in order), and starting over with a snapshot when compaction took the
// revision away (before the subscription starts, or while its watch catches up).
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { EtcdPort, LocalEtcdPort } from '@cairn/server';
import { silentLogger } from '@cairn/server';
import { ConfigCenter } from '../src';
import { createItem, eventSink, type Harness, openHarness, ctx } from './harness';

const ref = { namespace: 'shop', app: 'orders', name: 'limits.json' };
let h: Harness;

beforeEach(async () => {
  h = await openHarness();
  await createItem(h.center, ref, 'json');
  await h.center.publish(ctx, ref, { content: '{"v":1}' });
});

afterEach(async () => {
  await h.close();
});

/**
 * The member's port, except that right after the three reads a resuming subscription makes at its revision,
 * history is compacted up to now: the watch that follows starts at a compacted revision.
 */
function compactAfterResumeReads(local: LocalEtcdPort): EtcdPort {
  const inner = local.port;
  let pastReads = 0;
  return {
    member: inner.member,
    range: async (ctx, req) => {
      const res = await inner.range(ctx, req);
      if ((req.revision ?? 0) > 0 && ++pastReads === 3) await local.compact(inner.revisions().current);
      return res;
    },
    put: (ctx, req) => inner.put(ctx, req),
    deleteRange: (ctx, req) => inner.deleteRange(ctx, req),
    txn: (ctx, req) => inner.txn(ctx, req),
    watch: (ctx, req, sink, onEnd) => inner.watch(ctx, req, sink, onEnd),
    leaseGrant: (ctx, req) => inner.leaseGrant(ctx, req),
    leaseGrantTxn: (ctx, lease, txn) => inner.leaseGrantTxn(ctx, lease, txn),
    leaseRevoke: (ctx, id) => inner.leaseRevoke(ctx, id),
    leaseKeepAlive: (ctx, id) => inner.leaseKeepAlive(ctx, id),
    leaseTimeToLive: (ctx, id, options) => inner.leaseTimeToLive(ctx, id, options),
    revisions: () => inner.revisions(),
  };
}

describe('subscriptions', () => {
  it('start with a snapshot of what applies to the labels, then one change per publish, in order', async () => {
    await h.center.startGray(ctx, ref, {
      content: '{"v":2}',
      rule: { labels: { canary: 'yes' }, percentage: 100 },
    });
    const main = eventSink();
    const canary = eventSink();
    const a = await h.center.subscribe(ctx, { ...ref, subscriberId: 'm' }, main.send);
    const b = await h.center.subscribe(
      ctx,
      { ...ref, subscriberId: 'c', labels: { canary: 'yes' } },
      canary.send,
    );
    const [snapMain] = await main.next(1);
    const [snapCanary] = await canary.next(1);
    expect(snapMain).toMatchObject({
      kind: 'snapshot',
      items: [{ name: ref.name, version: 1, gray: false }],
    });
    expect(snapCanary).toMatchObject({
      kind: 'snapshot',
      items: [{ name: ref.name, version: 2, gray: true, value: { v: 2 } }],
    });
    const v3 = await h.center.publish(ctx, ref, { content: '{"v":3}' });
    const v4 = await h.center.publish(ctx, ref, { content: '{"v":4}' });
    const changes = (await main.next(3)).slice(1);
    expect(changes.map((e) => [e.kind, e.revision, e.items[0]?.version])).toEqual([
      ['change', v3.revision, 3],
      ['change', v4.revision, 4],
    ]);
    a.close();
    b.close();
  });

  it('resuming from a revision MVCC still has replays each later publish once, in order, after a resumed marker', async () => {
    const first = eventSink();
    const sub = await h.center.subscribe(ctx, { ...ref }, first.send);
    const [snapshot] = await first.next(1);
    sub.close();
    const v2 = await h.center.publish(ctx, ref, { content: '{"v":2}' });
    const v3 = await h.center.publish(ctx, ref, { content: '{"v":3}' });
    const again = eventSink();
    const resumed = await h.center.subscribe(ctx, { ...ref, revision: snapshot.revision }, again.send);
    const events = await again.next(3);
    expect(events.map((e) => [e.kind, e.revision, e.items[0]?.version])).toEqual([
      ['resumed', snapshot.revision, undefined],
      ['change', v2.revision, 2],
      ['change', v3.revision, 3],
    ]);
    await new Promise((r) => setTimeout(r, 100));
    expect(again.events.length).toBe(3);
    resumed.close();
  });

  it('resuming from a revision compacted away starts over with a snapshot of the latest state', async () => {
    const old = (await h.center.getItem(ctx, ref)).modRevision;
    await h.center.publish(ctx, ref, { content: '{"v":2}' });
    const v3 = await h.center.publish(ctx, ref, { content: '{"v":3}' });
    await h.local.compact(v3.revision);
    const sink = eventSink();
    const sub = await h.center.subscribe(ctx, { ...ref, revision: old }, sink.send);
    const [event] = await sink.next(1);
    expect(event).toMatchObject({ kind: 'snapshot', items: [{ version: 3 }] });
    sub.close();
  });

  it("a watch that meets compaction while catching up (the port's compaction notice) starts over with a snapshot", async () => {
    const from = (await h.center.getItem(ctx, ref)).modRevision;
    await h.center.publish(ctx, ref, { content: '{"v":2}' });
    await h.center.publish(ctx, ref, { content: '{"v":3}' });
    const center = new ConfigCenter({ port: compactAfterResumeReads(h.local), logger: silentLogger });
    const sink = eventSink();
    const sub = await center.subscribe(ctx, { ...ref, revision: from }, sink.send);
    const events = await sink.next(2);
    expect(events.map((e) => [e.kind, e.items[0]?.version])).toEqual([
      ['resumed', undefined],
      ['snapshot', 3],
    ]);
    expect(h.local.port.revisions().compact).toBeGreaterThan(from);
    const v4 = await h.center.publish(ctx, ref, { content: '{"v":4}' });
    const [, , change] = await sink.next(3);
    expect(change).toMatchObject({ kind: 'change', revision: v4.revision, items: [{ version: 4 }] });
    sub.close();
    await center.close();
  });

  it('a full transport parks the subscription (nothing is sent); with room again it gets each publish in order', async () => {
    let room = true;
    const sink = eventSink();
    const sub = await h.center.subscribe(ctx, { ...ref, ready: () => room }, sink.send);
    await sink.next(1);
    room = false;
    const published: number[] = [];
    for (let v = 2; v <= 6; v++)
      published.push((await h.center.publish(ctx, ref, { content: `{"v":${v}}` })).revision);
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(sink.events, 'events sent while the transport was full').toHaveLength(1);
    room = true;
    const changes = (await sink.next(6)).slice(1);
    expect(changes.map((e) => [e.kind, e.revision, e.items[0]?.version])).toEqual(
      published.map((revision, i) => ['change', revision, i + 2]),
    );
    sub.close();
  });

  it('a subscription parked past a compaction of its revision starts over with a snapshot', async () => {
    let room = true;
    const sink = eventSink();
    const sub = await h.center.subscribe(ctx, { ...ref, ready: () => room }, sink.send);
    await sink.next(1);
    room = false;
    for (let v = 2; v <= 5; v++) await h.center.publish(ctx, ref, { content: `{"v":${v}}` });
    await h.local.compact(h.local.port.revisions().current);
    room = true;
    // The change parked in the store comes first, then the compaction of the rest: a snapshot of v5.
    await vi.waitFor(() => expect(sink.events.filter((e) => e.kind === 'snapshot')).toHaveLength(2), {
      timeout: 5000,
      interval: 5,
    });
    expect(sink.events.at(-1)).toMatchObject({ kind: 'snapshot', items: [{ name: ref.name, version: 5 }] });
    sub.close();
  });

  it('long-poll answers with the events after a revision', async () => {
    const start = (await h.center.getItem(ctx, ref)).modRevision;
    const polled = h.center.poll(ctx, { ...ref, revision: start }, 5000);
    await new Promise((r) => setTimeout(r, 50));
    const v2 = await h.center.publish(ctx, ref, { content: '{"v":2}' });
    const result = await polled;
    expect(result.revision).toBe(v2.revision);
    expect(result.events.map((e) => [e.kind, e.items[0]?.version])).toEqual([['change', 2]]);
  });
});
