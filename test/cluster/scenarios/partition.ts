// A follower cut off from every peer (both directions, through the peer proxies) while writes continue on
// the majority: a put sent to the isolated member cannot commit and fails with etcd's timeout error, the
// majority keeps committing under the same leader and term, and after the partition heals the isolated
// member's elections (pre-vote) do not disturb the leader: the leader and term are unchanged, the member
// catches up, and the cluster converges with no acknowledged put lost.
import { expect } from 'vitest';
import {
  describeResult,
  etcdctl,
  launchMember,
  MemberStartError,
  planCluster,
  sleep,
  waitFor,
  waitReady,
  type Member,
} from '../../support';
import { ClusterView, describeStatuses, type MemberStatus } from '../harness/cluster-view';
import { PeerNetwork } from '../harness/peer-network';
import { expectConvergedAndIntact, type Verified } from '../harness/verify';
import { WriteLoad } from '../harness/write-load';

export interface PartitionOptions {
  size: number;
  /** How many times a follower is isolated and healed (a different one each time when possible). */
  rounds: number;
  /** How long each isolation lasts at least (the isolated put takes etcd's request timeout on top). */
  isolatedMs: number;
  /** How long the leader is watched after each heal. */
  watchAfterHealMs: number;
  writerPauseMs: number;
}

export interface PartitionReport extends Verified {
  /** Per round: the put sent to the isolated member, what it answered (etcdctl's Error line), how fast. */
  isolatedPuts: Array<{ key: string; error: string; ms: number }>;
  /** Per round: puts the majority acknowledged while the member was isolated. */
  majorityAcks: number[];
  /** Per round: the isolated member's term before isolation and just before the heal. */
  isolatedTerms: Array<{ before: string; isolated: string }>;
}

/** Every flag a partition cluster runs with: etcd 3.4 leaves pre-vote off unless asked. */
export const PARTITION_FLAGS = ['--pre-vote'];

/** Plans a cluster whose peer links pass through proxies, starts the proxies, then the members. */
export async function startPartitionableCluster(
  size: number,
  extraFlags: string[],
): Promise<{ members: Member[]; network: PeerNetwork }> {
  for (let attempt = 1; ; attempt++) {
    const members = await planCluster(size, extraFlags, { indirectPeerUrls: true });
    const network = await PeerNetwork.start(members);
    for (const member of members) launchMember(member);
    try {
      await Promise.all(members.map((m) => waitReady(m)));
      return { members, network };
    } catch (error) {
      await Promise.all(members.map((m) => m.process?.kill()));
      await network.close();
      if (!(error instanceof MemberStartError && error.portInUse && attempt < 3)) throw error;
    }
  }
}

/** A put to `member` that must not commit: etcdctl with a command timeout above etcd's request timeout. */
async function putThatCannotCommit(member: Member, key: string) {
  return etcdctl(['put', key, 'must-not-commit', '--command-timeout=20s'], {
    endpoints: member,
    timeoutMs: 30_000,
  });
}

export async function runPartition(options: PartitionOptions): Promise<PartitionReport> {
  const { members, network } = await startPartitionableCluster(options.size, PARTITION_FLAGS);
  const view = new ClusterView([...members]);
  const load = new WriteLoad(`partition-${options.size}/`, { pauseMs: options.writerPauseMs });
  const report: Omit<PartitionReport, keyof Verified> = {
    isolatedPuts: [],
    majorityAcks: [],
    isolatedTerms: [],
  };
  try {
    for (const member of members) load.add(member);
    await load.waitForAcks(10 * options.size, 'before the partition');
    // After some writes every member has applied entries of the leader's term (Status reports that term).
    const { leader, status: leaderBefore } = await view.waitForLeader();
    const followers = members.filter((m) => m !== leader);

    for (let round = 1; round <= options.rounds; round++) {
      const context = `round ${round} of ${options.rounds}`;
      const isolated = followers[(round - 1) % followers.length]!;
      const majority = members.filter((m) => m !== isolated);
      const termBefore = (await view.status(isolated)).term;
      network.isolate(isolated);
      const isolatedAt = performance.now();
      // A connection whose dialler is unknown would slip through the partition.
      await waitFor(() => (network.unidentifiedConnections().length === 0 ? true : undefined), {
        timeoutMs: 5000,
        what: `every peer connection to be traced to its member (${context})`,
      }).catch((error: unknown) => {
        throw new Error(`${String(error)}: ${network.unidentifiedConnections().join(', ')}`, {
          cause: error,
        });
      });
      const isolatedKey = `partition-${options.size}/isolated-${round}`;
      const put = putThatCannotCommit(isolated, isolatedKey);
      // The writer on the isolated member stalls; those on the majority keep committing.
      const acksBefore = load.acks.length;
      await load.waitForAcks(
        10 * majority.length,
        `on the majority while ${isolated.name} is isolated (${context})`,
      );
      const result = await put;
      const putMs = performance.now() - isolatedAt;
      await sleep(Math.max(0, options.isolatedMs - (performance.now() - isolatedAt)));
      expect(
        result.code,
        `the put to isolated ${isolated.name} must fail (${context})\n${describeResult(result)}`,
      ).not.toBe(0);
      const errorLine = result.stderr.split('\n').find((line) => line.startsWith('Error:')) ?? result.stderr;
      report.isolatedPuts.push({ key: isolatedKey, error: errorLine, ms: Math.round(putMs) });
      console.log(
        `[partition ${context}] put to isolated ${isolated.name}: "${errorLine}" after ${putMs.toFixed(0)} ms`,
      );

      const majorityStatuses = await Promise.all(majority.map((m) => view.status(m)));
      expectSameLeader(
        majorityStatuses,
        leaderBefore,
        `majority while ${isolated.name} is isolated (${context})`,
      );
      const isolatedTerm = (await view.status(isolated)).term;
      report.isolatedTerms.push({ before: termBefore.toString(), isolated: isolatedTerm.toString() });
      // Pre-vote: a member that cannot win an election does not raise its term trying.
      expect(isolatedTerm, `term of isolated ${isolated.name} after its failed elections (${context})`).toBe(
        termBefore,
      );
      report.majorityAcks.push(
        load.acks.slice(acksBefore).filter((a) => a.endpoint !== isolated.clientUrl).length,
      );

      network.heal();
      // The isolated member rejoins: it applies what it missed, and nobody's leader or term moved.
      const healedAt = performance.now();
      await view.waitCaughtUp(isolated, leader);
      while (performance.now() - healedAt < options.watchAfterHealMs) {
        const statuses = await Promise.all(members.map((m) => view.status(m)));
        expectSameLeader(statuses, leaderBefore, `after the heal (${context})`);
        await sleep(100);
      }
      const writer = load.writerOf(isolated);
      if (writer !== undefined) {
        await load.waitForAcks(3, `through ${isolated.name} after the heal (${context})`, { writer });
      }
    }

    const verified = await expectConvergedAndIntact(view, load, {
      context: `partition, ${options.size} members`,
    });
    const finalStatuses = await Promise.all(members.map((m) => view.status(m)));
    expectSameLeader(finalStatuses, leaderBefore, 'at the end');
    for (const { key, error } of report.isolatedPuts) {
      const stored = await view.client(leader).get(key).string();
      expect(stored, `the put to the isolated member (${key}) must never commit`).toBeNull();
      // etcd 3.4 keeps the proposal until its request timeout (5 s + 2 election timeouts), then answers this.
      expect(error, `error of the put to the isolated member (${key})`).toMatch(
        /^Error: etcdserver: request timed out/,
      );
    }
    return { ...verified, ...report };
  } finally {
    await load.stop();
    view.close();
    await network.close();
  }
}

function expectSameLeader(statuses: readonly MemberStatus[], before: MemberStatus, context: string): void {
  const seen = describeStatuses(statuses);
  for (const status of statuses) {
    expect(status.leader, `leader according to ${status.member.name} ${context}: ${seen}`).toBe(before.id);
    expect(status.term, `term of ${status.member.name} ${context}: ${seen}`).toBe(before.term);
  }
}
