// The SDK's service view without a server: a fake client answers the first range and feeds watch batches, so
// the view's rules are checked change by change — sorted by id, the healthyOnly filter (instances moving in
// and out of it), one `update` per turn that changed the published list and none when it did not, a published
// list never changed under its holder, and push-empty protection.
import { EventEmitter } from 'node:events';
import { afterEach, describe, expect, it } from 'vitest';
import type { EtcdClient } from '../src/etcd/client';
import type { KeyValue, WatchBatch } from '../src/etcd/types';
import { ServiceSubscription, type ServiceView } from '../src/registry/subscription';

const PREFIX = '/cairn/registry/default/orders/';

function kv(id: string, revision: number, health = 'passing'): KeyValue {
  const record = { id, service: 'orders', status: 'UP', health: { status: health } };
  return {
    key: Buffer.from(PREFIX + id),
    value: Buffer.from(JSON.stringify(record)),
    createRevision: BigInt(revision),
    modRevision: BigInt(revision),
    version: 1n,
    lease: 0n,
  };
}

/** A client whose range answers `initial` and whose one watch is driven by the test. */
function fakeClient(initial: KeyValue[], revision: number) {
  const watcher = Object.assign(new EventEmitter(), { close: () => undefined });
  const client = {
    range: () => Promise.resolve({ kvs: initial, revision: BigInt(revision) }),
    watch: () => watcher,
  } as unknown as EtcdClient;
  const send = (batch: WatchBatch) => watcher.emit('events', batch);
  return { client, send };
}

const subs: ServiceSubscription[] = [];
afterEach(() => {
  for (const sub of subs.splice(0)) sub.close();
});

function subscribe(client: EtcdClient, options: { healthyOnly?: boolean; emptyProtectionMs?: number } = {}) {
  const sub = new ServiceSubscription(client, 'orders', {
    root: '/cairn/registry/',
    namespace: 'default',
    emptyProtectionMs: 0,
    ...options,
  });
  subs.push(sub);
  const updates: ServiceView[] = [];
  sub.on('update', (view: ServiceView) => updates.push(view));
  return { sub, updates };
}

const turn = () => new Promise<void>((resolve) => setImmediate(resolve));
const ids = (list: { id: string }[]) => list.map((i) => i.id);

describe('ServiceSubscription', () => {
  it('keeps the view sorted by id through adds, updates and removes; one update per turn', async () => {
    const { client, send } = fakeClient([kv('b', 2), kv('d', 3)], 3);
    const { sub, updates } = subscribe(client);
    expect(ids((await sub.ready()).instances)).toEqual(['b', 'd']);
    const first = sub.instances();
    send({
      revision: 4n,
      events: [
        { type: 'put', kv: kv('c', 4) },
        { type: 'put', kv: kv('a', 4) },
      ],
    });
    send({ revision: 5n, events: [{ type: 'put', kv: kv('e', 5) }] });
    await turn();
    expect(ids(sub.instances())).toEqual(['a', 'b', 'c', 'd', 'e']);
    expect(updates.length - 1).toBe(1); // the first list, then one for the turn's two batches
    expect(ids(first)).toEqual(['b', 'd']); // a published list never changes under its holder
    send({
      revision: 6n,
      events: [
        { type: 'delete', kv: kv('c', 6) },
        { type: 'put', kv: kv('a', 6) },
      ],
    });
    await turn();
    expect(ids(sub.instances())).toEqual(['a', 'b', 'd', 'e']);
    expect(sub.instances()[0]!.mod_revision).toBe('6');
    expect(updates.length - 1).toBe(2);
  });

  it('publishes nothing when a turn leaves the list as it was (added and removed again)', async () => {
    const { client, send } = fakeClient([kv('a', 2)], 2);
    const { sub, updates } = subscribe(client);
    await sub.ready();
    const before = updates.length;
    send({ revision: 4n, events: [{ type: 'put', kv: kv('b', 3) }] });
    send({ revision: 4n, events: [{ type: 'delete', kv: kv('b', 4) }] });
    await turn();
    expect(updates.length).toBe(before);
    expect(ids(sub.instances())).toEqual(['a']);
  });

  it('healthyOnly: an instance leaves the view when it turns critical and comes back when it passes', async () => {
    const { client, send } = fakeClient([kv('a', 2), kv('b', 2, 'critical'), kv('c', 2)], 2);
    const { sub } = subscribe(client, { healthyOnly: true });
    expect(ids((await sub.ready()).instances)).toEqual(['a', 'c']);
    send({ revision: 3n, events: [{ type: 'put', kv: kv('a', 3, 'critical') }] });
    await turn();
    expect(ids(sub.instances())).toEqual(['c']);
    send({
      revision: 4n,
      events: [
        { type: 'put', kv: kv('b', 4) },
        { type: 'put', kv: kv('a', 4) },
      ],
    });
    await turn();
    expect(ids(sub.instances())).toEqual(['a', 'b', 'c']);
    send({ revision: 5n, events: [{ type: 'delete', kv: kv('b', 5) }] });
    await turn();
    expect(ids(sub.instances())).toEqual(['a', 'c']);
  });

  it('push-empty protection keeps the last list, then publishes the empty one', async () => {
    const { client, send } = fakeClient([kv('a', 2)], 2);
    const { sub, updates } = subscribe(client, { emptyProtectionMs: 50 });
    await sub.ready();
    const protectedLists: unknown[] = [];
    sub.on('protected', (list: unknown) => protectedLists.push(list));
    send({ revision: 3n, events: [{ type: 'delete', kv: kv('a', 3) }] });
    await turn();
    expect(protectedLists).toHaveLength(1);
    expect(ids(sub.instances())).toEqual(['a']);
    const before = updates.length;
    await new Promise((resolve) => setTimeout(resolve, 120));
    expect(sub.instances()).toEqual([]);
    expect(updates.length).toBe(before + 1);
  });
});
