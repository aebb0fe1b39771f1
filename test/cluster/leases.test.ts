// Leases live on the leader: keep-alives sent to a follower reach it (many of them forwarded together), TTL
// queries on a follower answer the leader's view, a leader change neither resets nor shortens a lease, and a
// lease nobody keeps alive any more still expires (on the new leader).
import type { Lease } from 'etcd3';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { cleanupAll, killMember, sleep, startCluster, waitFor, type Member } from '../support';
import { ClusterView } from './harness/cluster-view';

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

/** Keeps every lease alive through `follower` every `intervalMs` until stopped; counts failed rounds. */
function keepAliveThrough(
  leases: Lease[],
  intervalMs: number,
): { stop(): Promise<void>; failures: string[] } {
  const failures: string[] = [];
  let running = true;
  const loop = (async () => {
    while (running) {
      const results = await Promise.allSettled(
        leases.map((lease) => lease.keepaliveOnce({ deadline: Date.now() + 2000 })),
      );
      for (const r of results) if (r.status === 'rejected') failures.push(String(r.reason));
      await sleep(intervalMs);
    }
  })();
  return {
    failures,
    async stop() {
      running = false;
      await loop;
    },
  };
}

it('keep-alives sent to a follower keep leases alive; a leader change neither expires nor resets them; unkept leases then expire', async () => {
  const { leader } = await view.waitForLeader();
  const [follower, other] = members.filter((m) => m !== leader) as [Member, Member];
  const viaFollower = view.client(follower);
  const viaOther = view.client(other);

  // 40 leases of 4 s granted and kept alive through one follower: their keep-alives are forwarded together.
  // Keep-alives start with the grants (a round waits for a grant in flight), not after the last key is put:
  // 80 writes one after another can take longer than one TTL on a slow disk, and the first leases expired.
  const ttl = 4;
  const leases = Array.from({ length: 40 }, () => viaFollower.lease(ttl, { autoKeepAlive: false }));
  const keeper = keepAliveThrough(leases, 1000);
  await Promise.all(leases.map((lease, i) => lease.put(`lease/${i}`).value(`v${i}`)));

  // Two TTLs later every key is still there, and the other follower reports the leader's remaining TTL.
  await sleep(2 * ttl * 1000);
  expect(
    (await viaOther.getAll().prefix('lease/').keys()).length,
    `keys kept alive via a follower (failed keep-alives: ${keeper.failures.slice(0, 3).join('; ') || 'none'})`,
  ).toBe(40);
  const ttlOnOther = Number(
    (await viaOther.leaseClient.leaseTimeToLive({ ID: await leases[0]!.grant() })).TTL,
  );
  expect(ttlOnOther, 'TTL as the leader knows it, asked on another follower').toBeGreaterThan(0);
  expect(ttlOnOther).toBeLessThanOrEqual(ttl);

  // The leader dies; keep-alives continue through the same follower. No lease may expire early: the new
  // leader extends every remaining TTL by its election timeout, as etcd does.
  await killMember(leader);
  await view.waitForLeader({ among: [follower, other], not: leader });
  await sleep(2 * ttl * 1000);
  expect(
    (await viaOther.getAll().prefix('lease/').keys()).length,
    `keys after the leader change (failed keep-alive rounds: ${keeper.failures.length})`,
  ).toBe(40);

  // Nobody keeps them alive any more: the new leader revokes them within TTL plus its extension.
  await keeper.stop();
  const stoppedAt = performance.now();
  await waitFor(
    async () => ((await viaOther.getAll().prefix('lease/').keys()).length === 0 ? true : undefined),
    {
      timeoutMs: (ttl + 6) * 1000,
      what: 'every unkept lease expires on the new leader',
    },
  );
  expect(performance.now() - stoppedAt).toBeGreaterThan((ttl - 1) * 1000);
});
