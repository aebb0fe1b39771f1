// A registration on a 3-member cluster is ONE Raft entry (issue 18): the lease grant and the txn that writes
// the record travel together (LeaseGrantTxn), so the leader commits one proposal per
// registration (two before), and every member applies both — each member's own store holds the keys on a
// lease its own lessor knows. A session (one lease per process) is the same: one entry for the lease and its key.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { EtcdClient } from '@cairn/client';
import { cleanupAll, startCluster, waitFor, type Member } from '../support';
import { ClusterView } from '../cluster/harness/cluster-view';

let members: Member[];
let view: ClusterView;

beforeAll(async () => {
  members = await startCluster({ size: 3 });
  view = new ClusterView([...members]);
});

afterAll(async () => {
  view?.close();
  await cleanupAll();
});

async function committed(member: Member): Promise<number> {
  const text = await (await fetch(`${member.clientUrl}/metrics`)).text();
  return Number(/^etcd_server_proposals_committed_total\s+(\d+)/m.exec(text)?.[1] ?? NaN);
}

it('each registration and each session is one committed proposal, applied with its lease on every member', async () => {
  const { leader } = await view.waitForLeader();
  const follower = members.find((m) => m !== leader)!;
  const client = new EtcdClient(follower.clientUrl);
  try {
    const R = 'cairn.registry.v1.Registry';
    const register = (id: string, extra: object = {}) =>
      client.call<object, { lease: string }>(R, 'Register', {
        instance: { namespace: 'default', service: 'one', id, address: { host: '10.0.0.1', port: 80 } },
        ttl: 30,
        ...extra,
      });
    await register('warm-up');
    const before = await committed(leader);
    const leases = [];
    for (const id of ['a', 'b', 'c', 'd', 'e']) leases.push((await register(id)).lease);
    const { session } = await client.call<object, { session: string }>(R, 'OpenSession', {
      namespace: 'default',
      ttl: 30,
    });
    // Six entries (five registrations, one session); two each before issue 18 (a grant, then the txn). A
    // background proposal of the member's own (none is expected here) would add one at most.
    const delta = (await committed(leader)) - before;
    expect(delta).toBeGreaterThanOrEqual(6);
    expect(delta).toBeLessThan(8);
    await register('s1', { session });

    // Every member's own store (serializable reads) holds each record on its lease.
    for (const member of members) {
      const local = new EtcdClient(member.clientUrl);
      try {
        await waitFor(
          async () =>
            (await local.get('/cairn/registry/default/one/s1', { serializable: true })) ? true : undefined,
          { timeoutMs: 10_000, what: `${member.name} to apply the registrations` },
        );
        for (const [i, id] of ['a', 'b', 'c', 'd', 'e'].entries()) {
          const kv = await local.get(`/cairn/registry/default/one/${id}`, { serializable: true });
          expect(kv?.lease, `${member.name}: ${id}`).toBe(BigInt(leases[i]!));
        }
        const s1 = await local.get('/cairn/registry/default/one/s1', { serializable: true });
        expect(s1?.lease).toBe(BigInt(session));
      } finally {
        local.close();
      }
    }
    const ttl = await client.leaseTimeToLive(BigInt(leases[0]!), true);
    // One key per instance: no etcd naming entry by default (--registry-etcd-naming).
    expect(ttl.keys.map(String)).toEqual(['/cairn/registry/default/one/a']);
  } finally {
    client.close();
  }
});

it('a RegisterBatch of 200 instances on a session is two committed proposals (128 instances a txn at max-txn-ops 128)', async () => {
  const { leader } = await view.waitForLeader();
  const follower = members.find((m) => m !== leader)!;
  const client = new EtcdClient(follower.clientUrl);
  try {
    const R = 'cairn.registry.v1.Registry';
    const { session } = await client.call<object, { session: string }>(R, 'OpenSession', {
      namespace: 'default',
      ttl: 30,
    });
    const instances = Array.from({ length: 200 }, (_, i) => ({
      service: 'batch',
      id: `b${i}`,
      address: { host: '10.0.0.2', port: 1000 + i },
    }));
    const before = await committed(leader);
    const { results } = await client.call<object, { results: { registered?: { revision: string } }[] }>(
      R,
      'RegisterBatch',
      { namespace: 'default', session, instances },
    );
    const delta = (await committed(leader)) - before;
    expect(delta).toBeGreaterThanOrEqual(2);
    expect(delta).toBeLessThan(4);
    expect(results.every((r) => r.registered)).toBe(true);
    expect(new Set(results.map((r) => r.registered!.revision)).size).toBe(2);
    const ttl = await client.leaseTimeToLive(BigInt(session), true);
    expect(ttl.keys.length).toBe(1 + 200); // the session's key and one record each
  } finally {
    client.close();
  }
});
