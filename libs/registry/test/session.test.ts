// Session mode and the one-entry registration over a LocalEtcdPort (the member's state machine without
// Raft, manual lease clock): a registration is one LeaseGrantTxn (no separate grant), a failing txn leaves
// no lease, instances of a session share its lease and go with it, a deregister keeps the session's lease,
// batched keep-alive renews several leases in one call, and the permissions of the new operations.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { EtcdError, prefixEnd } from '@cairn/api';
import { type CallContext, LocalEtcdPort, internalContext } from '@cairn/server';
import { Registry, RegistryError } from '../src';

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function start(): Promise<{ registry: Registry; local: LocalEtcdPort; advance(ms: number): void }> {
  const dir = await mkdtemp(join(tmpdir(), 'cairn-registry-session-'));
  let now = 1_000_000;
  const local = await LocalEtcdPort.open({ dataDir: dir, leaseClock: { now: () => now } });
  const registry = new Registry({ port: local.port });
  cleanups.push(async () => {
    registry.close();
    await local.close();
    await rm(dir, { recursive: true, force: true });
  });
  return { registry, local, advance: (ms) => (now += ms) };
}

const ctx = internalContext();
const instance = (id: string, extra: object = {}) => ({
  namespace: 'default',
  service: 'orders',
  id,
  address: { host: '10.0.0.1', port: 80 },
  ttl: 5,
  ...extra,
});
const ttlOf = (local: LocalEtcdPort, lease: string) =>
  local.port.leaseTimeToLive(ctx, BigInt(lease), { serializable: true });

describe('one Raft entry per registration', () => {
  it('a new registration grants its lease in the same request as the txn (no separate grant)', async () => {
    const { registry, local } = await start();
    const grant = vi.spyOn(local.port, 'leaseGrant');
    const combined = vi.spyOn(local.port, 'leaseGrantTxn');
    const result = await registry.register(ctx, instance('a'));
    expect(grant).not.toHaveBeenCalled();
    expect(combined).toHaveBeenCalledTimes(1);
    expect((await ttlOf(local, result.lease))?.grantedTtl).toBe(5);
    const kv = (await local.port.range(ctx, { key: Buffer.from('/cairn/registry/default/orders/a') })).kvs[0];
    expect(kv?.lease).toBe(BigInt(result.lease));
  });

  it('a txn that fails leaves no lease behind', async () => {
    const { local } = await start();
    const applied = await local.port.leaseGrantTxn(ctx, { ttl: 5, id: 77n }, (id) => ({
      compare: [{ key: Buffer.from('/x'), target: 'MOD', result: 'EQUAL', modRevision: 12345 }],
      success: [{ put: { key: Buffer.from('/x'), value: Buffer.from('v'), lease: id } }],
    }));
    expect(applied.txn.succeeded).toBe(false);
    expect(await local.port.leaseTimeToLive(ctx, 77n)).toBeUndefined();
    expect((await local.port.range(ctx, { key: Buffer.from('/x') })).kvs).toHaveLength(0);
    // The ID is free again: the same grant with a passing txn succeeds.
    const ok = await local.port.leaseGrantTxn(ctx, { ttl: 5, id: 77n }, (id) => ({
      compare: [],
      success: [{ put: { key: Buffer.from('/x'), value: Buffer.from('v'), lease: id } }],
    }));
    expect(ok.txn.succeeded).toBe(true);
    expect((await local.port.leaseTimeToLive(ctx, 77n))?.keys ?? []).toEqual([]);
    expect((await local.port.leaseTimeToLive(ctx, 77n, { keys: true }))?.keys.map(String)).toEqual(['/x']);
  });
});

describe('sessions', () => {
  it('instances of a session share its lease, a deregister keeps it, and they all go when it expires', async () => {
    const { registry, local, advance } = await start();
    const { session, ttl } = await registry.openSession(ctx, 'default', 3);
    expect(ttl).toBe(3);
    const regs = await Promise.all(
      ['a', 'b', 'c'].map((id) => registry.register(ctx, instance(id, { session }))),
    );
    expect(regs.map((r) => r.lease)).toEqual([session, session, session]);
    expect(regs.map((r) => r.ttl)).toEqual([3, 3, 3]);
    expect(regs[0]!.instance.session).toBe(true);
    // The session's key is no instance record: no listing or parser takes it for one.
    expect(registry.keys.parse(registry.keys.sessionKey('default', BigInt(session)))).toBeUndefined();
    expect(await registry.listNamespaces(ctx)).toEqual(['default']);
    await registry.deregister(ctx, { namespace: 'default', service: 'orders', id: 'a' });
    expect(await ttlOf(local, session)).toBeDefined();
    expect((await registry.listInstances(ctx, 'default', 'orders')).instances.map((i) => i.id)).toEqual([
      'b',
      'c',
    ]);
    advance(3500);
    expect(await local.expireLeases()).toEqual([BigInt(session)]);
    expect((await registry.listInstances(ctx, 'default', 'orders')).instances).toEqual([]);
    await expect(registry.register(ctx, instance('d', { session }))).rejects.toMatchObject({
      kind: 'not-found',
    });
  });

  it('closing a session deregisters its instances; a session closed elsewhere is not found', async () => {
    const { registry } = await start();
    const { session } = await registry.openSession(ctx, 'default');
    await registry.register(ctx, instance('a', { session }));
    await registry.closeSession(ctx, 'default', session);
    expect((await registry.listInstances(ctx, 'default', 'orders')).instances).toEqual([]);
    await expect(registry.closeSession(ctx, 'default', session)).rejects.toBeInstanceOf(RegistryError);
  });

  it('batched keep-alive renews every lease in one call and answers 0 for a lease that is gone', async () => {
    const { registry, local, advance } = await start();
    const a = await registry.register(ctx, instance('a'));
    const { session } = await registry.openSession(ctx, 'default', 5);
    advance(4000);
    const { ttls } = await registry.keepAlive(ctx, 'default', [a.lease, session, '42']);
    expect(ttls).toEqual(['5', '5', '0']);
    advance(4000);
    expect(await local.expireLeases()).toEqual([]);
    await expect(registry.keepAlive(ctx, 'default', ['0'])).rejects.toMatchObject({ kind: 'invalid' });
  });

  it('moving an instance from a session to a lease of its own leaves the session lease alone', async () => {
    const { registry, local } = await start();
    const { session } = await registry.openSession(ctx, 'default');
    await registry.register(ctx, instance('a', { session }));
    await registry.register(ctx, instance('b', { session }));
    const own = await registry.register(ctx, instance('a'));
    expect(own.lease).not.toBe(session);
    expect(own.instance.session).toBeUndefined();
    expect(await ttlOf(local, session)).toBeDefined();
  });
});

describe('session permissions', () => {
  const as = (user: string): CallContext => ({ identity: { user } });

  async function withAuth() {
    const fixture = await start();
    const { local } = fixture;
    const prefix = '/cairn/registry/prod/';
    for (const [role, permType] of [
      ['prod-rw', 2],
      ['prod-r', 0],
    ] as const) {
      await local.applyAuth({ auth_role_add: { name: role } });
      await local.applyAuth({
        auth_role_grant_permission: {
          name: role,
          perm: { permType, key: Buffer.from(prefix), range_end: prefixEnd(prefix) },
        },
      });
    }
    await local.applyAuth({ auth_role_add: { name: 'root' } });
    for (const [user, role] of [
      ['root', 'root'],
      ['owner', 'prod-rw'],
      ['viewer', 'prod-r'],
    ]) {
      await local.applyAuth({ auth_user_add: { name: user, hashedPassword: 'x', password: '' } });
      await local.applyAuth({ auth_user_grant_role: { user, role } });
    }
    await local.applyAuth({ auth_enable: {} });
    return fixture;
  }

  async function code(work: () => Promise<unknown>): Promise<string> {
    const err = await work().then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err, 'expected the core to refuse the call').toBeInstanceOf(EtcdError);
    return (err as EtcdError).code;
  }

  it('a namespace grant opens, uses, renews and closes a session; READ renews; others are refused', async () => {
    const { registry } = await withAuth();
    const owner = as('owner');
    const viewer = as('viewer');
    const { session } = await registry.openSession(owner, 'prod');
    await registry.register(owner, { ...instance('p1', { session }), namespace: 'prod' });
    expect((await registry.keepAlive(owner, 'prod', [session])).ttls).toEqual(['10']);
    expect((await registry.keepAlive(viewer, 'prod', [session])).ttls).toEqual(['10']);
    // 403: no WRITE (viewer) or nothing at all (another namespace).
    expect(await code(() => registry.openSession(viewer, 'prod'))).toBe('permission-denied');
    expect(await code(() => registry.closeSession(viewer, 'prod', session))).toBe('permission-denied');
    expect(await code(() => registry.openSession(owner, 'other'))).toBe('permission-denied');
    expect(await code(() => registry.keepAlive(owner, 'other', [session]))).toBe('permission-denied');
    // 401: no credentials.
    expect(await code(() => registry.openSession(as(''), 'prod'))).toBe('user-empty');
    expect(await code(() => registry.keepAlive(as(''), 'prod', [session]))).toBe('user-empty');
    expect(await code(() => registry.closeSession(as(''), 'prod', session))).toBe('user-empty');
    await registry.closeSession(owner, 'prod', session);
  });
});
