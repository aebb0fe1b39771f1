// Upgrading from Cairn 0.1.0, whose revisions were one lower than etcd's (a fresh store at 0, the first put at
// 1), to this build's etcd numbering (data format 2). The switch is one Raft entry the leader proposes once
// every member runs a build that can apply it: it takes one empty revision, so every revision already given
// keeps its meaning (reads at a revision, watches resuming from one, compaction) and every later write gets
// the revision etcd would give. The old release runs from its packed fixture (test/support/releases.ts).
import { afterAll, describe, expect, it } from 'vitest';
import {
  Member,
  cleanupAll,
  currentTarget,
  launchMember,
  releaseTarget,
  sleep,
  startCluster,
  stopMember,
  waitFor,
  waitReady,
} from '../support';
import { ClusterView, memberClient } from '../cluster/harness/cluster-view';
import { metricSum } from '../cluster/harness/metrics';
import { openEtcd3Watch } from '../cluster/harness/watch-surfaces';
import { expectConvergedAndIntact } from '../cluster/harness/verify';
import { WriteLoad } from '../cluster/harness/write-load';

afterAll(() => cleanupAll());

const PREVIOUS = '0.1.0';

/** The same member (plan, data dir, flags) launched with this build instead of the old release. */
async function upgrade(member: Member): Promise<Member> {
  await stopMember(member);
  const upgraded = new Member(
    member.plan,
    currentTarget(),
    member.initialCluster,
    member.initialClusterState,
    member.clusterToken,
    member.extraFlags,
  );
  launchMember(upgraded);
  await waitReady(upgraded);
  return upgraded;
}

/** The revisions in `revisions` (ascending) that are missing between their first and last. */
function gaps(revisions: readonly bigint[]): bigint[] {
  const missing: bigint[] = [];
  for (let i = 1; i < revisions.length; i++)
    for (let r = revisions[i - 1]! + 1n; r < revisions[i]!; r++) missing.push(r);
  return missing;
}

describe.skipIf(currentTarget().kind === 'etcd')(`upgrade from Cairn ${PREVIOUS}`, () => {
  it(
    'a data dir made by 0.1.0 opens with every key, revision, lease and compaction kept, takes one empty ' +
      "revision when the member switches to etcd's numbering, and resumes watches from old revisions",
    async () => {
      let [member] = await startCluster({ size: 1, target: releaseTarget(PREVIOUS) });
      let view = new ClusterView([member!]);
      const old = view.client(member!);
      // 0.1.0 numbering: the fresh store is at 0, so the first put gets revision 1.
      expect((await old.put('k/0').value('v0')).header.revision).toBe('1');
      for (let i = 1; i < 10; i++) await old.put(`k/${i}`).value(`v${i}`);
      await old.put('k/3').value('v3b');
      await old.delete().key('k/4');
      const lease = old.lease(600, { autoKeepAlive: false });
      await lease.put('k/leased').value('mine');
      const leaseId = await lease.grant();
      await old.put('k/1').value('v1b');
      const compactAt = 5;
      await old.kv.compact({ revision: String(compactAt) });
      const before = await old.getAll().prefix('k/').exec();
      const beforeRevision = BigInt(before.header.revision);
      expect(beforeRevision).toBe(14n);
      // The history a client could resume from: everything after the compaction.
      const history = await openEtcd3Watch(old, 'k/', BigInt(compactAt + 1), 'history before');
      await waitFor(() => (history.deliveries().length === 9 ? true : undefined), {
        timeoutMs: 20_000,
        what: 'old history',
      });
      const oldHistory = history.deliveries();
      await history.close();
      view.close();

      member = await upgrade(member!);
      view = new ClusterView([member]);
      const client = view.client(member);
      // The member publishes that it can apply format 2; being the whole cluster, it switches at once.
      await waitFor(
        async () => ((await view.status(member!)).revision === beforeRevision + 1n ? true : undefined),
        { what: 'the switch to format 2 (one empty revision)', timeoutMs: 15_000 },
      );
      const after = await client.getAll().prefix('k/').exec();
      expect(after.kvs).toEqual(before.kvs);
      expect(after.header.revision).toBe(String(beforeRevision + 1n));
      const ttl = await client.leaseClient.leaseTimeToLive({ ID: leaseId, keys: true });
      expect(Number(ttl.TTL)).toBeGreaterThan(0);
      expect(ttl.keys.map((k) => k.toString())).toEqual(['k/leased']);
      await expect(client.get('k/0').revision(compactAt - 1)).rejects.toThrow(/compacted/);

      // Old revisions mean what they meant: the same history from the same revision, then the new writes
      // at etcd's numbers (the empty revision in between has no event).
      const resumed = await openEtcd3Watch(client, 'k/', BigInt(compactAt + 1), 'history after');
      await waitFor(() => (resumed.deliveries().length === 9 ? true : undefined), {
        timeoutMs: 20_000,
        what: 'resumed history',
      });
      expect(resumed.deliveries()).toEqual(oldHistory);
      expect((await client.put('k/new').value('n')).header.revision).toBe(String(beforeRevision + 2n));
      await waitFor(() => (resumed.deliveries().length === 10 ? true : undefined), {
        timeoutMs: 20_000,
        what: 'a new event',
      });
      expect(resumed.deliveries()[9]).toMatchObject({ detail: 'k/new', revision: beforeRevision + 2n });
      await resumed.close();
      view.close();

      // A restart switches nothing again.
      member = await upgrade(member);
      view = new ClusterView([member]);
      expect((await view.client(member).put('k/again').value('x')).header.revision).toBe(
        String(beforeRevision + 3n),
      );
      view.close();
    },
    90_000,
  );

  it(
    'a rolling upgrade of a 3-member 0.1.0 cluster under writes switches numbering once, only after the ' +
      'last member runs the new build: no acknowledged put lost, one watch sees every put once, HashKV equal',
    async () => {
      const members = await startCluster({ size: 3, target: releaseTarget(PREVIOUS) });
      const view = new ClusterView([...members]);
      const { leader } = await view.waitForLeader();
      const load = new WriteLoad('load/', { pauseMs: 5 });
      for (const member of members) load.add(member);
      // Its own client: the view closes a member's client when the member is replaced.
      const watchClient = memberClient(members.find((m) => m !== leader)!);
      const watch = await openEtcd3Watch(watchClient, 'load/', 1n, 'whole history');
      await load.waitForAcks(30, 'on 0.1.0');

      // Followers first, the leader last (as the docs say); each one under writes.
      const order = [...members.filter((m) => m !== leader), leader];
      const upgraded: Member[] = [];
      let revisionBeforeLast = 0n;
      for (const member of order) {
        if (upgraded.length === order.length - 1) {
          // Members with old and new numbering never mix: while one member runs 0.1.0, nothing switches.
          await sleep(1500);
          expect(await dataFormats(upgraded), 'upgraded members while one still runs 0.1.0').toEqual([1, 1]);
          revisionBeforeLast = load.maxRevision();
        }
        await load.remove(member);
        const replaced = await upgrade(member);
        upgraded.push(replaced);
        view.remove(member);
        view.add(replaced);
        load.add(replaced);
        await load.waitForAcks(20, `after upgrading ${member.name}`);
      }
      await waitFor(async () => ((await dataFormats(upgraded)).every((f) => f === 2) ? true : undefined), {
        what: 'the switch to format 2 on every member',
        timeoutMs: 20_000,
      });
      await load.waitForAcks(20, 'after the switch');
      const verified = await expectConvergedAndIntact(view, load, { context: 'after the rolling upgrade' });

      // The watch saw every revision's put (one whose answer was lost included) in order, once. Exactly one
      // revision has none: the switch, made after the last member was upgraded.
      await waitFor(() => (lastRevision(watch.deliveries()) === verified.revision ? true : undefined), {
        timeoutMs: 30_000,
        what: 'every put on the watch',
      });
      const watched = watch.deliveries().map((d) => d.revision);
      expect(watched).toEqual([...watched].sort(compare));
      expect(new Set(watched).size).toBe(watched.length);
      const acked = new Set(load.acks.map((a) => a.revision));
      expect(watched.filter((r) => acked.has(r))).toHaveLength(acked.size);
      const skipped = gaps(watched);
      expect(skipped).toHaveLength(1);
      expect(skipped[0]!).toBeGreaterThan(revisionBeforeLast);
      expect(
        watch.reconnects(),
        'the watch re-established its stream after its member restarted',
      ).toBeGreaterThan(0);
      await watch.close();
      watchClient.close();
      console.log(
        `[cairn] rolling upgrade ${PREVIOUS} -> current: ${verified.acks} puts, switched at revision ` +
          `${skipped[0]}, converged at ${verified.revision}`,
      );
      view.close();
    },
    150_000,
  );
});

/** Each member's data format, from its own metrics. */
async function dataFormats(members: readonly Member[]): Promise<number[]> {
  return Promise.all(members.map((m) => metricSum(m, 'cairn_data_format')));
}

function lastRevision(deliveries: readonly { revision: bigint }[]): bigint | undefined {
  return deliveries[deliveries.length - 1]?.revision;
}

function compare(a: bigint, b: bigint): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
