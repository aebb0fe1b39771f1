// Listener tracking against an in-process EtcdPort with a manual lease clock: who listens, what each
// applied and should apply (gray or main), and records that vanish with their lease.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createItem, type Harness, openHarness, ctx } from './harness';

const ref = { namespace: 'shop', app: 'orders', name: 'limits.json' };
let h: Harness;

beforeEach(async () => {
  h = await openHarness({ listenerLeaseTtlSeconds: 1 });
  await createItem(h.center, ref, 'json');
  await h.center.publish(ctx, ref, { content: '{"v":1}' });
});

afterEach(async () => {
  await h.close();
});

async function waitForListeners(count: number): Promise<void> {
  const deadline = Date.now() + 5000;
  for (;;) {
    const seen = (await h.center.listListeners(ctx, ref.namespace, ref.app)).length;
    if (seen === count) return;
    if (Date.now() > deadline) throw new Error(`expected ${count} listener records, saw ${seen}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('listener tracking', () => {
  it('lists a reporting subscriber with its labels, member, applied and expected version, and whether gray applies', async () => {
    await h.center.startGray(ctx, ref, {
      content: '{"v":2}',
      rule: { labels: { zone: 'eu' }, percentage: 100 },
    });
    await h.center.report(ctx, {
      ...ref,
      subscriberId: 'eu-1',
      labels: { zone: 'eu' },
      versions: { [ref.name]: 1 },
    });
    await h.center.report(ctx, {
      ...ref,
      subscriberId: 'us-1',
      labels: { zone: 'us' },
      versions: { [ref.name]: 1 },
    });
    const listeners = await h.center.listListeners(ctx, ref.namespace, ref.app, ref.name);
    const byId = Object.fromEntries(listeners.map((l) => [l.subscriberId, l]));
    expect(byId['eu-1']).toMatchObject({
      member: 'member-a',
      appliedVersion: 1,
      expectedVersion: 2,
      gray: true,
    });
    expect(byId['us-1']).toMatchObject({
      member: 'member-a',
      appliedVersion: 1,
      expectedVersion: 1,
      gray: false,
    });
  });

  it("a subscriber that only reports vanishes once its poller lease's TTL passes without a report", async () => {
    await h.center.report(ctx, { ...ref, subscriberId: 'poller-1', versions: { [ref.name]: 1 } });
    h.advanceLeaseClock(60);
    expect(await h.local.expireLeases()).toEqual([]);
    expect((await h.center.listListeners(ctx, ref.namespace, ref.app)).map((l) => l.subscriberId)).toEqual([
      'poller-1',
    ]);
    h.advanceLeaseClock(61);
    expect((await h.local.expireLeases()).length).toBe(1);
    expect(await h.center.listListeners(ctx, ref.namespace, ref.app)).toEqual([]);
  });

  it('a streaming subscriber rides the member lease: its record goes when its last stream on this member closes', async () => {
    const first = await h.center.subscribe(
      ctx,
      { ...ref, subscriberId: 'stream-1', trackListener: true },
      () => undefined,
    );
    const second = await h.center.subscribe(
      ctx,
      { ...ref, subscriberId: 'stream-1', trackListener: true },
      () => undefined,
    );
    await h.center.report(ctx, { ...ref, subscriberId: 'stream-1', versions: { [ref.name]: 1 } });
    await waitForListeners(1);
    first.close();
    await new Promise((r) => setTimeout(r, 100));
    await waitForListeners(1);
    second.close();
    await waitForListeners(0);
  });

  it("the member lease expiring takes its streaming subscribers' records; the next keep-alive finds it gone and puts them back", async () => {
    const sub = await h.center.subscribe(
      ctx,
      { ...ref, subscriberId: 'stream-2', trackListener: true },
      () => undefined,
    );
    await h.center.report(ctx, { ...ref, subscriberId: 'stream-2', versions: { [ref.name]: 1 } });
    await waitForListeners(1);
    h.advanceLeaseClock(10);
    expect((await h.local.expireLeases()).length).toBe(1);
    expect(await h.center.listListeners(ctx, ref.namespace, ref.app)).toEqual([]);
    // The keep-alive runs every max(1 s, TTL/3) of real time.
    await waitForListeners(1);
    sub.close();
    await waitForListeners(0);
  });

  it('refuses an invalid subscriber ID', async () => {
    await expect(h.center.report(ctx, { ...ref, subscriberId: 'bad id/x' })).rejects.toMatchObject({
      kind: 'bad-request',
    });
  });
});
