// RegisterBatch over a LocalEtcdPort (the member's state machine without Raft): the instances of a batch
// are written in txns of at most maxTxnOps instances (maxTxnOps / 2 with etcd naming entries), each txn one revision (one Raft entry on a
// cluster: test/registry/cluster-register.test.ts), all on the session's lease; an invalid instance gets
// its own error and the others are registered; a re-registration keeps registered_at.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { LocalEtcdPort, internalContext } from '@cairn/server';
import { Registry, RegistryError } from '../src';

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function start(
  maxTxnOps?: number,
  etcdNaming = false,
): Promise<{ registry: Registry; local: LocalEtcdPort }> {
  const dir = await mkdtemp(join(tmpdir(), 'cairn-registry-batch-'));
  const local = await LocalEtcdPort.open({ dataDir: dir });
  const registry = new Registry({ port: local.port, etcdNaming, ...(maxTxnOps ? { maxTxnOps } : {}) });
  cleanups.push(async () => {
    registry.close();
    await local.close();
    await rm(dir, { recursive: true, force: true });
  });
  return { registry, local };
}

const ctx = internalContext();
const item = (id: string, extra: object = {}) => ({
  service: 'orders',
  id,
  address: { host: '10.0.0.1', port: 80 },
  ...extra,
});

describe('RegisterBatch', () => {
  it('one txn for a batch that fits: every instance at one revision, on the session lease', async () => {
    const { registry, local } = await start();
    const { session } = await registry.openSession(ctx, 'default', 30);
    const txn = vi.spyOn(local.port, 'txn');
    const before = local.port.revisions().current;
    const results = await registry.registerBatch(ctx, 'default', session, [item('a'), item('b'), item('c')]);
    expect(txn).toHaveBeenCalledTimes(1);
    expect(local.port.revisions().current).toBe(before + 1);
    for (const r of results) {
      expect(r.ok?.lease).toBe(session);
      expect(r.ok?.ttl).toBe(30);
      expect(r.ok?.revision).toBe(String(before + 1));
    }
    const ttl = await local.port.leaseTimeToLive(ctx, BigInt(session), { keys: true });
    expect(ttl?.keys.length).toBe(1 + 3); // the session's key and each record (no etcd naming entries)
  });

  it('one put per instance: maxTxnOps 8 -> 8 instances a txn', async () => {
    const { registry, local } = await start(8);
    const { session } = await registry.openSession(ctx, 'default', 30);
    const txn = vi.spyOn(local.port, 'txn');
    const ids = Array.from({ length: 10 }, (_, i) => `i${i}`);
    const results = await registry.registerBatch(
      ctx,
      'default',
      session,
      ids.map((id) => item(id)),
    );
    expect(txn).toHaveBeenCalledTimes(2);
    expect(txn.mock.calls.map((call) => call[1].success?.length)).toEqual([8, 2]);
    const revisions = results.map((r) => r.ok!.revision);
    expect(new Set(revisions.slice(0, 8)).size).toBe(1);
    expect(new Set(revisions).size).toBe(2);
  });

  it('with etcd naming entries (two puts each) a batch is split: maxTxnOps 8 -> 4 instances a txn', async () => {
    const { registry, local } = await start(8, true);
    const { session } = await registry.openSession(ctx, 'default', 30);
    const txn = vi.spyOn(local.port, 'txn');
    const before = local.port.revisions().current;
    const ids = Array.from({ length: 10 }, (_, i) => `i${i}`);
    const results = await registry.registerBatch(
      ctx,
      'default',
      session,
      ids.map((id) => item(id)),
    );
    expect(txn).toHaveBeenCalledTimes(3);
    for (const call of txn.mock.calls) expect(call[1].success?.length).toBeLessThanOrEqual(8);
    expect(local.port.revisions().current).toBe(before + 3);
    const revisions = results.map((r) => r.ok!.revision);
    // The first four share a revision, the next four another, the last two a third.
    expect(new Set(revisions.slice(0, 4)).size).toBe(1);
    expect(new Set(revisions.slice(4, 8)).size).toBe(1);
    expect(new Set(revisions.slice(8)).size).toBe(1);
    expect(new Set(revisions).size).toBe(3);
    const listed = await registry.listInstances(ctx, 'default', 'orders');
    expect(listed.instances.map((i) => i.id).sort()).toEqual([...ids].sort());
  });

  it('an invalid instance gets its own error; the others are registered', async () => {
    const { registry } = await start();
    const { session } = await registry.openSession(ctx, 'default', 30);
    const results = await registry.registerBatch(ctx, 'default', session, [
      item('good-1'),
      item('bad', { address: { host: '10.0.0.1', port: 70000 } }),
      item('-not-a-name'),
      item('good-1'),
      item('good-2', { weight: 3 }),
    ]);
    expect(results[0]?.ok?.instance.id).toBe('good-1');
    expect(results[1]?.error).toBeInstanceOf(RegistryError);
    expect((results[1]?.error as Error).message).toMatch(/port 70000/);
    expect((results[2]?.error as Error).message).toMatch(/instance name "-not-a-name" is invalid/);
    expect((results[3]?.error as Error).message).toMatch(/twice in the batch/);
    expect(results[4]?.ok?.instance.weight).toBe(3);
  });

  it('a closed session is not found for the whole batch; a re-registration keeps registered_at', async () => {
    const { registry } = await start();
    const { session } = await registry.openSession(ctx, 'default', 30);
    const [first] = await registry.registerBatch(ctx, 'default', session, [item('a')]);
    const [again] = await registry.registerBatch(ctx, 'default', session, [item('a', { zone: 'z1' })]);
    expect(again?.ok?.instance.zone).toBe('z1');
    expect(again?.ok?.instance.registered_at).toBe(first?.ok?.instance.registered_at);
    await registry.closeSession(ctx, 'default', session);
    await expect(registry.registerBatch(ctx, 'default', session, [item('b')])).rejects.toMatchObject({
      kind: 'not-found',
    });
  });
});
