// @cairn/client's etcd core against a real server process: KV, Txn, leases with keep-alive, a watch that
// resumes after the server restarts without missing or repeating a change, the 'compacted' signal, and
// failover from a dead endpoint to a live one.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EtcdClient, type WatchBatch, type Watcher } from '@cairn/client';
import {
  allocatePort,
  cleanupAll,
  restartMember,
  startMember,
  stopMember,
  waitFor,
  type Member,
} from '../support';

let member: Member;
let client: EtcdClient;

beforeAll(async () => {
  member = await startMember();
  client = new EtcdClient({ endpoints: member.clientUrl, callTimeoutMs: 5000 });
});

afterAll(async () => {
  client?.close();
  await cleanupAll();
});

function collect(watcher: Watcher): string[] {
  const seen: string[] = [];
  watcher.on('events', (batch: WatchBatch) => {
    for (const e of batch.events)
      seen.push(`${e.type} ${e.kv.key.toString()}=${e.kv.value.toString()}@${e.kv.modRevision}`);
  });
  return seen;
}

describe('etcd client core', () => {
  it('puts, gets, ranges a prefix and deletes with Buffers and bigint revisions', async () => {
    const put = await client.put('/t/kv/a', 'one');
    await client.put('/t/kv/b', Buffer.from([0, 1, 2]));
    const a = await client.get('/t/kv/a');
    expect(a?.value.toString()).toBe('one');
    expect(a?.modRevision).toBe(put.revision);
    expect(typeof a?.createRevision).toBe('bigint');
    const all = await client.range('/t/kv/', { prefix: true });
    expect(all.kvs.map((kv) => kv.key.toString())).toEqual(['/t/kv/a', '/t/kv/b']);
    expect(all.kvs[1]!.value).toEqual(Buffer.from([0, 1, 2]));
    const deleted = await client.delete('/t/kv/', { prefix: true, prevKv: true });
    expect(deleted.deleted).toBe(2);
    expect(deleted.prevKvs).toHaveLength(2);
    expect(await client.get('/t/kv/a')).toBeUndefined();
  });

  it('runs a guarded txn: the compare decides which branch is applied', async () => {
    const key = Buffer.from('/t/txn/k');
    const create = (value: string) => ({
      compare: [{ key, target: 'VERSION' as const, result: 'EQUAL' as const, version: 0 }],
      success: [{ request_put: { key, value: Buffer.from(value) } }],
      failure: [{ request_range: { key } }],
    });
    const first = await client.txn(create('first'));
    expect(first.succeeded).toBe(true);
    const second = await client.txn(create('second'));
    expect(second.succeeded).toBe(false);
    expect(second.responses[0]!.response_range?.kvs[0]!.value.toString()).toBe('first');
  });

  it('grants a lease, keeps it alive past its TTL, and loses the keys on revoke', async () => {
    const lease = await client.leaseGrant(2);
    expect(lease.id > 0n).toBe(true);
    await client.put('/t/lease/k', 'v', { lease: lease.id });
    const keeper = client.keepAlive(lease.id, { intervalMs: 500 });
    const renewals: number[] = [];
    keeper.on('keepalive', (ttl: number) => renewals.push(ttl));
    await new Promise((resolve) => setTimeout(resolve, 3500));
    expect(renewals.length).toBeGreaterThan(3);
    expect((await client.get('/t/lease/k'))?.lease).toBe(lease.id);
    keeper.close();
    await client.leaseRevoke(lease.id);
    expect(await client.get('/t/lease/k')).toBeUndefined();
    expect((await client.leaseTimeToLive(lease.id)).ttl).toBe(-1);
    expect(await client.leaseKeepAliveOnce(lease.id)).toBe(0);
  });

  it('a keep-alive handle reports "lost" once its lease is revoked elsewhere', async () => {
    const lease = await client.leaseGrant(5);
    const keeper = client.keepAlive(lease.id, { intervalMs: 200 });
    const lost = new Promise<void>((resolve) => keeper.once('lost', () => resolve()));
    await client.leaseRevoke(lease.id);
    await lost;
    expect(keeper.isStopped).toBe(true);
  });

  it('a watch resumes after the server restarts and sees every change exactly once, in order', async () => {
    const watcher = client.watch('/t/watch/', { prefix: true });
    const seen = collect(watcher);
    await watcher.ready();
    await client.put('/t/watch/1', 'a');
    await waitFor(() => (seen.length === 1 ? true : undefined), { timeoutMs: 5000, what: 'first event' });

    await stopMember(member);
    await restartMember(member);
    // Written while the watcher is (probably) still disconnected: it must catch up from its revision.
    const writer = new EtcdClient({ endpoints: member.clientUrl });
    const expected: string[] = [seen[0]!];
    for (let i = 2; i <= 5; i++) {
      const put = await writer.put(`/t/watch/${i}`, String(i));
      expected.push(`put /t/watch/${i}=${i}@${put.revision}`);
    }
    const del = await writer.delete('/t/watch/1');
    expected.push(`delete /t/watch/1=@${del.revision}`);
    writer.close();
    await waitFor(() => (seen.length >= expected.length ? true : undefined), {
      timeoutMs: 15_000,
      what: `${expected.length} events (saw ${seen.length})`,
    });
    expect(seen).toEqual(expected);
    watcher.close();
  });

  it('a watch from a compacted revision reports "compacted" with the compact revision', async () => {
    const first = await client.put('/t/compact/k', '1');
    const last = await client.put('/t/compact/k', '2');
    await client.call('etcdserverpb.KV', 'Compact', { revision: last.revision.toString() });
    const watcher = client.watch('/t/compact/k', { startRevision: first.revision });
    const compacted = await new Promise<bigint>((resolve) => watcher.once('compacted', resolve));
    expect(compacted).toBe(last.revision);
    expect(watcher.isStopped).toBe(true);
  });

  it('fails over from a dead endpoint to a live one', async () => {
    const dead = `http://127.0.0.1:${await allocatePort()}`;
    const multi = new EtcdClient({ endpoints: [dead, member.clientUrl], callTimeoutMs: 3000 });
    try {
      await multi.put('/t/failover', 'ok');
      expect((await multi.get('/t/failover'))?.value.toString()).toBe('ok');
      expect(multi.pool.current()).toBe(member.clientUrl.replace('http://', ''));
    } finally {
      multi.close();
    }
  });
});
