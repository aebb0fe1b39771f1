// Rolling replacement of every member under a light write load, the way an operator does it with etcdctl:
// `member add --learner`, start the new member with --initial-cluster-state existing, `member promote` once
// it has caught up, `member remove` an old one, stop it; repeat until no original member is left. Data
// written before and during the replacement survives on the new members, with equal HashKV.
import { expect } from 'vitest';
import {
  at,
  describeResult,
  etcdctl,
  launchMember,
  parseExactJson,
  planJoiningMember,
  startCluster,
  stopMember,
  str,
  waitFor,
  waitReady,
  type EtcdctlResult,
  type ExactJson,
  type Member,
} from '../../support';
import { writeBurst } from '../harness/burst';
import { ClusterView } from '../harness/cluster-view';
import { expectConvergedAndIntact, type Verified } from '../harness/verify';
import { WriteLoad } from '../harness/write-load';

export interface RollingOptions {
  size: number;
  /** Keys written before the first replacement. */
  seedKeys: number;
  writerPauseMs: number;
  /** How many full passes (every member replaced once per pass). */
  passes: number;
}

export interface RollingReport extends Verified {
  /** Per replacement: ms from `member add` until `member promote` succeeded. */
  promoteMs: number[];
  /** Per replacement: how many promote attempts were refused before it succeeded (learner not in sync). */
  refusedPromotions: number[];
  finalMembers: string[];
}

const hex = (id: string) => BigInt(id).toString(16);
/** etcdctl prints IDs in its member add/promote/remove messages with %16x: padded with spaces. */
const hex16 = (id: string) => hex(id).padStart(16, ' ');

async function ctl(args: string[], endpoints: readonly Member[]): Promise<EtcdctlResult> {
  return etcdctl(args, { endpoints, timeoutMs: 20_000 });
}

/**
 * etcd (--strict-reconfig-check, on by default) refuses a membership change with "etcdserver: unhealthy
 * cluster" until every voting member has been connected to the leader for 5 s; operators retry. Any other
 * failure is returned at once.
 */
async function reconfigure(
  args: string[],
  endpoints: readonly Member[],
  what: string,
): Promise<EtcdctlResult> {
  let last: EtcdctlResult | undefined;
  try {
    return await waitFor(
      async () => {
        last = await ctl(args, endpoints);
        return last.code === 0 || !/etcdserver: unhealthy cluster/.test(last.stderr) ? last : undefined;
      },
      { timeoutMs: 30_000, intervalMs: 250, what },
    );
  } catch (error) {
    throw new Error(`${String(error)}\nlast attempt: ${last ? describeResult(last) : 'none'}`, {
      cause: error,
    });
  }
}

export async function runRollingReplacement(options: RollingOptions): Promise<RollingReport> {
  const originals = await startCluster({ size: options.size });
  let current = [...originals];
  const view = new ClusterView([...originals]);
  const load = new WriteLoad('rolling/', { pauseMs: options.writerPauseMs });
  const promoteMs: number[] = [];
  const refusedPromotions: number[] = [];
  let generation = 0;
  try {
    const seeded = await writeBurst(view.client(originals[0]!), {
      prefix: 'rolling/seed/',
      count: options.seedKeys,
      concurrency: 8,
      endpoint: originals[0]!.clientUrl,
    });
    for (const ack of seeded) load.recordAck(ack);
    for (const member of originals) load.add(member);

    for (let pass = 1; pass <= options.passes; pass++) {
      for (const old of [...current]) {
        const name = `n${++generation}`;
        const context = `replacing ${old.name} by ${name}, pass ${pass}`;
        const joining = await planJoiningMember(current, name);

        const addedAt = performance.now();
        const added = await reconfigure(
          ['member', 'add', name, '--learner', `--peer-urls=${joining.peerUrl}`, '-w', 'json'],
          current,
          `member add ${name} --learner (${context})`,
        );
        expect(added.code, `member add --learner (${context})\n${describeResult(added)}`).toBe(0);
        const addJson = parseExactJson(added.stdout);
        const newId = str(addJson, 'member', 'ID');
        expect(at(addJson, 'member', 'isLearner'), `member add reports a learner (${context})`).toBe(true);
        expect(at(addJson, 'member', 'peerURLs')).toEqual([joining.peerUrl]);

        launchMember(joining);
        view.add(joining);
        const learner = await waitFor(
          async () => {
            const status = await view.status(joining);
            return status.isLearner ? status : undefined;
          },
          { timeoutMs: 30_000, what: `${name} to run as a learner (${context})` },
        );
        expect(learner.id, `${name}'s own ID vs the one member add gave (${context})`).toBe(newId);

        // A learner that has not caught up yet is refused; the operator retries.
        let refused = 0;
        let lastRefusal: EtcdctlResult | undefined;
        const promoted = await waitFor(
          async () => {
            const result = await ctl(['member', 'promote', hex(newId)], current);
            if (result.code === 0) return result;
            refused++;
            lastRefusal = result;
            return undefined;
          },
          { timeoutMs: 30_000, intervalMs: 200, what: `member promote of ${name} to succeed (${context})` },
        ).catch((error: unknown) => {
          throw new Error(
            `${String(error)}\nlast refusal: ${lastRefusal ? describeResult(lastRefusal) : 'none'}`,
          );
        });
        promoteMs.push(performance.now() - addedAt);
        refusedPromotions.push(refused);
        expect(promoted.stdout, `member promote output (${context})`).toMatch(
          new RegExp(`^Member ${hex16(newId)} promoted in cluster [ 0-9a-f]{16}\\n$`),
        );
        if (lastRefusal !== undefined) {
          expect(lastRefusal.stderr, `why promote was refused (${context})`).toMatch(
            /can only promote a learner member which is in sync with leader/,
          );
        }
        await waitReady(joining, 30_000);
        load.add(joining);

        await load.remove(old);
        const oldId = await view.idOf(old);
        const survivors = current.filter((m) => m !== old);
        const removed = await reconfigure(
          ['member', 'remove', hex(oldId)],
          survivors,
          `member remove ${old.name} (${context})`,
        );
        expect(removed.code, `member remove ${old.name} (${context})\n${describeResult(removed)}`).toBe(0);
        expect(removed.stdout).toMatch(
          new RegExp(`^Member ${hex16(oldId)} removed from cluster [ 0-9a-f]{16}\\n$`),
        );
        current = [...survivors, joining];
        view.remove(old);
        await stopMember(old);
        await view.waitForLeader({ among: current, timeoutMs: 20_000 });
        await load.waitForAcks(5 * current.length, `after ${context}`);
      }
    }

    const list = await ctl(['member', 'list', '-w', 'json'], current);
    expect(list.code, describeResult(list)).toBe(0);
    const listed = (at(parseExactJson(list.stdout), 'members') as ExactJson[]).map((m) => ({
      name: str(m, 'name'),
      learner: (m as { isLearner?: ExactJson }).isLearner === true,
      peerURLs: at(m, 'peerURLs'),
    }));
    const expected = current.map((m) => ({ name: m.name, learner: false, peerURLs: [m.peerUrl] }));
    const byName = (a: { name: string }, b: { name: string }) => a.name.localeCompare(b.name);
    expect(listed.sort(byName), 'member list after the replacement').toEqual(expected.sort(byName));

    const verified = await expectConvergedAndIntact(view, load, {
      members: current,
      context: 'rolling replacement',
    });
    return { ...verified, promoteMs, refusedPromotions, finalMembers: current.map((m) => m.name) };
  } finally {
    await load.stop();
    view.close();
  }
}
