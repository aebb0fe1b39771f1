// The registry's permission model against an in-process EtcdPort with etcd auth enabled: a grant on
// `/cairn/registry/<ns>/` runs every operation of that namespace (the naming entry and the lease revoke stay
// inside it), READ lists and watches it, and nothing reaches another namespace (docs/security.md).
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { EtcdError, prefixEnd } from '@cairn/api';
import { type CallContext, LocalEtcdPort, internalContext } from '@cairn/server';
import { Registry } from '../src';

const as = (user: string): CallContext => ({ identity: { user } });
const owner = as('owner'); // READWRITE /cairn/registry/prod/
const viewer = as('viewer'); // READ /cairn/registry/prod/
const instance = (namespace: string, id: string) => ({
  namespace,
  service: 'orders',
  id,
  address: { host: '10.0.0.1', port: 80 },
  ttl: 30,
});

let local: LocalEtcdPort;
let registry: Registry;
let dir: string;

async function denied(work: () => Promise<unknown>): Promise<string> {
  const err = await work().then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err, 'expected the core to refuse the call').toBeInstanceOf(EtcdError);
  return (err as EtcdError).code;
}

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'cairn-registry-perm-'));
  local = await LocalEtcdPort.open({ dataDir: dir });
  registry = new Registry({ port: local.port });
  // An instance in another namespace, registered before auth is on.
  await registry.register(internalContext(), instance('other', 'x1'));
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
});

afterEach(async () => {
  registry.close();
  await local.close();
  await rm(dir, { recursive: true, force: true });
});

describe('registry permissions', () => {
  it('a namespace grant registers, updates, heartbeats, re-registers with a new TTL and deregisters in it', async () => {
    const first = await registry.register(owner, instance('prod', 'p1'));
    expect(first.instance.registered_by).toBe('owner');
    await registry.update(owner, { namespace: 'prod', service: 'orders', id: 'p1', status: 'DRAINING' });
    await registry.heartbeat(owner, { namespace: 'prod', service: 'orders', id: 'p1' });
    // A new TTL moves both keys to a new lease and revokes the old one: every key on it is in the grant.
    const again = await registry.register(owner, { ...instance('prod', 'p1'), ttl: 60 });
    expect(again.lease).not.toBe(first.lease);
    expect(await local.port.leaseTimeToLive(internalContext(), BigInt(first.lease))).toBeUndefined();
    await registry.deregister(owner, { namespace: 'prod', service: 'orders', id: 'p1' });
    expect(await local.port.leaseTimeToLive(internalContext(), BigInt(again.lease))).toBeUndefined();
  });

  it('READ lists, gets and watches the namespace; every write is permission denied', async () => {
    await registry.register(owner, instance('prod', 'p1'));
    expect((await registry.listServices(viewer, 'prod')).services).toEqual([
      { name: 'orders', healthy: 1, total: 1 },
    ]);
    expect((await registry.listInstances(viewer, 'prod', 'orders')).instances.map((i) => i.id)).toEqual([
      'p1',
    ]);
    await registry.checkWatch(viewer, 'prod');
    await registry.checkWatch(viewer, 'prod', 'orders');
    const ref = { namespace: 'prod', service: 'orders', id: 'p1' };
    expect(await denied(() => registry.register(viewer, instance('prod', 'p2')))).toBe('permission-denied');
    expect(await denied(() => registry.update(viewer, { ...ref, status: 'DOWN' }))).toBe('permission-denied');
    expect(await denied(() => registry.deregister(viewer, ref))).toBe('permission-denied');
  });

  it('reaches nothing of another namespace, nor the list of all namespaces; no credentials is user-empty', async () => {
    const elsewhere = { namespace: 'other', service: 'orders', id: 'x1' };
    for (const call of [
      () => registry.get(owner, elsewhere),
      () => registry.register(owner, instance('other', 'x2')),
      () => registry.deregister(owner, elsewhere),
      () => registry.listServices(owner, 'other'),
      () => registry.checkWatch(owner, 'other'),
      () => registry.listNamespaces(owner),
    ]) {
      expect(await denied(call)).toBe('permission-denied');
    }
    expect(await denied(() => registry.listServices(as(''), 'prod'))).toBe('user-empty');
    expect(await registry.listNamespaces(as('root'))).toEqual(['other']);
  });
});
