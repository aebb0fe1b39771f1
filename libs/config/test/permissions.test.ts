// The permission model of the config center, against an in-process EtcdPort with etcd auth enabled: every
// operation on app A of namespace N needs exactly the KV permissions on `/cairn/config/<N>/<A>/` (docs/
// security.md), reporting as a subscriber needs only READ there, nobody can report over another user's
// subscriber record, and the actor of every release is the caller's user, never the `author` it sent.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { EtcdError, prefixEnd } from '@cairn/api';
import { type CallContext, internalContext, silentLogger } from '@cairn/server';
import { ConfigCenter } from '../src';
import { type Harness, eventSink, openHarness } from './harness';

const ns = 'shop';
const ref = { namespace: ns, app: 'orders', name: 'limits.json' };
const other = { namespace: ns, app: 'billing', name: 'rates.json' };
const appPrefix = `/cairn/config/${ns}/orders/`;

const as = (user: string): CallContext => ({ identity: { user } });
const alice = as('alice'); // READWRITE on the orders app
const reader = as('reader'); // READ on the orders app
const bob = as('bob'); // READWRITE on the billing app only
const nobody: CallContext = { identity: { user: '' } };

let h: Harness;

async function grant(role: string, permType: 0 | 1 | 2, prefix: string): Promise<void> {
  await h.local.applyAuth({ auth_role_add: { name: role } });
  await h.local.applyAuth({
    auth_role_grant_permission: {
      name: role,
      perm: { permType, key: Buffer.from(prefix), range_end: prefixEnd(prefix) },
    },
  });
}

async function user(name: string, role: string): Promise<void> {
  await h.local.applyAuth({ auth_user_add: { name, hashedPassword: 'x', password: '' } });
  await h.local.applyAuth({ auth_user_grant_role: { user: name, role } });
}

/** The code of the core's refusal of `work` (a thunk: the call starts when awaited here). */
async function denied(work: () => Promise<unknown>): Promise<string> {
  const err = await work().then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err, 'expected the call to be refused by the core').toBeInstanceOf(EtcdError);
  return (err as EtcdError).code;
}

beforeEach(async () => {
  h = await openHarness();
  // The operator's setup as the member (before auth is on): the namespace, both apps, their items.
  const duty = internalContext();
  await h.center.putNamespace(duty, ns);
  for (const r of [ref, other]) {
    await h.center.putApp(duty, r.namespace, r.app);
    await h.center.putItem(duty, r, { format: 'json' });
  }
  await h.local.applyAuth({ auth_role_add: { name: 'root' } });
  await user('root', 'root');
  await grant('orders-rw', 2, appPrefix);
  await grant('orders-r', 0, appPrefix);
  await grant('billing-rw', 2, `/cairn/config/${ns}/billing/`);
  await user('alice', 'orders-rw');
  await user('reader', 'orders-r');
  await user('bob', 'billing-rw');
  await h.local.applyAuth({ auth_enable: {} });
});

afterEach(async () => {
  await h.close();
});

describe('an app grant covers every operation of the app, and nothing more', () => {
  it('READWRITE on /cairn/config/<ns>/<app>/ publishes, drafts, rolls back, runs a gray release, reads it all back', async () => {
    const v1 = await h.center.publish(alice, ref, { content: '{"a":1}', author: 'someone-else' });
    expect(v1).toMatchObject({ version: 1, actor: 'alice', author: 'someone-else' });
    await h.center.saveDraft(alice, ref, { content: '{"a":2}' });
    expect(await h.center.getDraft(alice, ref)).toMatchObject({ actor: 'alice' });
    const v2 = await h.center.publish(alice, ref, { fromDraft: true });
    const gray = await h.center.startGray(alice, ref, {
      content: '{"a":3}',
      rule: { labels: { z: '1' }, percentage: 100 },
    });
    expect(gray.actor).toBe('alice');
    await h.center.promoteGray(alice, ref, {});
    const back = await h.center.rollback(alice, ref, { version: v2.version });
    expect(back).toMatchObject({ kind: 'rollback', actor: 'alice' });
    await h.center.startGray(alice, ref, {
      content: '{"a":4}',
      rule: { labels: { z: '1' }, percentage: 100 },
    });
    expect(await h.center.abandonGray(alice, ref)).toBe(true);
    expect((await h.center.listReleases(alice, ref)).every((r) => r.actor === 'alice')).toBe(true);
    expect(await h.center.diff(alice, ref, 1, 0)).toContain('"a":1');
    const bundle = await h.center.exportBundle(alice, ns, 'orders');
    expect(bundle.apps.map((a) => a.name)).toEqual(['orders']);
    await h.center.importBundle(alice, bundle, { publish: true });
    await h.center.putItem(alice, { ...ref, name: 'new.json' }, { format: 'json' });
    expect(await h.center.deleteItem(alice, { ...ref, name: 'new.json' })).toBe(true);
    // Everything it wrote is under the app's own prefix.
    const all = await h.local.port.range(internalContext(), {
      key: Buffer.from([0]),
      rangeEnd: Buffer.from([0]),
    });
    const outside = all.kvs
      .filter((kv) => kv.modRevision > v1.revision - 1)
      .map((kv) => kv.key.toString())
      .filter((key) => !key.startsWith(appPrefix));
    expect(outside).toEqual([]);
  });

  it('READ alone reads, subscribes and reports, and every write is permission denied', async () => {
    await h.center.publish(alice, ref, { content: '{"a":1}' });
    expect((await h.center.getItem(reader, ref)).content).toBe('{"a":1}');
    expect(await h.center.listReleases(reader, ref)).toHaveLength(1);
    const sink = eventSink();
    const sub = await h.center.subscribe(
      reader,
      { ...ref, subscriberId: 'r-1', trackListener: true },
      sink.send,
    );
    expect((await sink.next(1))[0]).toMatchObject({ kind: 'snapshot', items: [{ name: ref.name }] });
    await h.center.report(reader, { ...ref, subscriberId: 'r-1', versions: { [ref.name]: 1 } });
    // The member wrote the record (its own duty), naming the reporting user.
    expect(h.local.lastWriter).toBe('');
    const [listener] = await h.center.listListeners(reader, ns, 'orders');
    expect(listener).toMatchObject({ subscriberId: 'r-1', user: 'reader', member: 'member-a' });
    const record = await h.local.port.range(reader, { key: Buffer.from(`${appPrefix}~subscriber/r-1`) });
    expect(record.kvs).toHaveLength(1);
    sub.close();
    for (const write of [
      () => h.center.publish(reader, ref, { content: '{"a":2}' }),
      () => h.center.saveDraft(reader, ref, { content: '{}' }),
      () => h.center.rollback(reader, ref, { version: 1 }),
      () => h.center.startGray(reader, ref, { content: '{}', rule: { labels: { z: '1' }, percentage: 100 } }),
      () => h.center.putItem(reader, ref, { description: 'x' }),
      () => h.center.deleteItem(reader, ref),
    ]) {
      expect(await denied(write)).toBe('permission-denied');
    }
  });

  it("another app's grant reads, subscribes to and reports about nothing here; no credentials is user-empty", async () => {
    for (const call of [
      () => h.center.getItem(bob, ref),
      () => h.center.listReleases(bob, ref),
      () => h.center.publish(bob, ref, { content: '{}' }),
      () => h.center.subscribe(bob, { ...ref }, () => undefined),
      () => h.center.report(bob, { ...ref, subscriberId: 'b-1' }),
      () => h.center.listListeners(bob, ns, 'orders'),
      () => h.center.exportBundle(bob, ns, 'orders'),
      () => h.center.listApps(bob, ns),
    ]) {
      expect(await denied(call)).toBe('permission-denied');
    }
    expect(await denied(() => h.center.getItem(nobody, ref))).toBe('user-empty');
    // Its own app is all its own.
    expect((await h.center.publish(bob, other, { content: '{"r":1}' })).actor).toBe('bob');
  });

  it("nobody reports over another user's subscriber record", async () => {
    await h.center.report(reader, { ...ref, subscriberId: 'shared' });
    expect(await denied(() => h.center.report(alice, { ...ref, subscriberId: 'shared' }))).toBe(
      'permission-denied',
    );
    await h.center.report(reader, { ...ref, subscriberId: 'shared', versions: { [ref.name]: 0 } });
  });

  it('tells the audit archive who released, for the revision of the release', async () => {
    const noted: [number, string][] = [];
    const center = new ConfigCenter({
      port: h.local.port,
      logger: silentLogger,
      audit: { history: async () => [], noteActor: (revision, actor) => noted.push([revision, actor]) },
    });
    try {
      const release = await center.publish(alice, ref, { content: '{"a":1}', author: 'not-alice' });
      expect(noted).toEqual([[release.revision, 'alice']]);
    } finally {
      await center.close();
    }
  });
});
