// The cluster scenarios for minutes instead of seconds, with repeated kills, freezes and partitions. Off by
// default; CAIRN_SOAK=1 runs it (`npm run test:soak`), CAIRN_SOAK_SEED=<n> replays a schedule.
import { afterAll, describe, expect, it } from 'vitest';
import { cleanupAll, currentTarget, seededRandom, seedFromEnv } from '../support';
import { describeFailover, runLeaderFailover } from './scenarios/leader-failover';
import { runLinearizableHistory } from './scenarios/linearizable-history';
import { runPartition } from './scenarios/partition';
import { runRollingReplacement } from './scenarios/rolling-replacement';
import { runSnapshotCatchUp } from './scenarios/snapshot-catch-up';

const SOAK = process.env['CAIRN_SOAK'] === '1';
const SEED = seedFromEnv('CAIRN_SOAK_SEED', 20_261_122);
const MINUTE = 60_000;

afterAll(() => cleanupAll());

describe.skipIf(!SOAK)(`soak (seed ${SEED})`, () => {
  const target = currentTarget().kind;

  it.each([3, 5])(
    '%i members: the leader is killed 10 times under writes with ~20 s of load in between; nothing is lost',
    async (size) => {
      const report = await runLeaderFailover({
        size,
        kills: 10,
        putsBetweenKills: 100 * size,
        downMs: 3000,
        writerPauseMs: 2,
        electionBoundMs: 15_000,
        holdMs: 20_000,
        random: seededRandom(SEED + size),
      });
      console.log(`[soak] ${describeFailover(size, report, target)}`);
      expect(report.electionMs.length).toBe(10);
    },
    15 * MINUTE,
  );

  it(
    'a follower is frozen 4 times while the leader compacts past it; each time it catches up by snapshot',
    async () => {
      const report = await runSnapshotCatchUp({
        size: 3,
        snapshotCount: 100,
        entriesWhileStopped: 8000,
        concurrency: 32,
        rounds: 4,
        writerPauseMs: 5,
      });
      console.log(
        `[soak][${target}] snapshot catch-up: ${report.catchUpMs.map((ms) => ms.toFixed(0)).join(', ')} ms; ` +
          `${report.acks} puts, revision ${report.revision}`,
      );
      expect(report.catchUpMs.length).toBe(4);
    },
    15 * MINUTE,
  );

  it(
    'followers are isolated and healed 6 times for 15 s each under writes; the leader never changes',
    async () => {
      const report = await runPartition({
        size: 5,
        rounds: 6,
        isolatedMs: 15_000,
        watchAfterHealMs: 5000,
        writerPauseMs: 2,
      });
      console.log(
        `[soak][${target}] partition: majority puts per round ${report.majorityAcks.join(', ')}; ` +
          `${report.acks} puts, revision ${report.revision}`,
      );
      expect(report.majorityAcks.length).toBe(6);
    },
    15 * MINUTE,
  );

  it(
    'every member is replaced 3 times over (9 learner promotions) under writes; the data survives',
    async () => {
      const report = await runRollingReplacement({ size: 3, seedKeys: 2000, writerPauseMs: 5, passes: 3 });
      console.log(
        `[soak][${target}] rolling replacement: ${report.promoteMs.length} replacements, members now ` +
          `${report.finalMembers.join(', ')}; ${report.acks} puts, revision ${report.revision}`,
      );
      expect(report.promoteMs.length).toBe(9);
    },
    15 * MINUTE,
  );

  it(
    'clients on every member keep a linearizable history across 8 leader kills with ~10 s phases',
    async () => {
      const report = await runLinearizableHistory({
        size: 3,
        clientsPerMember: 3,
        keys: 8,
        phaseMs: 10_000,
        kills: 8,
        seed: SEED,
        checkTimeoutMs: 5 * MINUTE,
      });
      console.log(
        `[soak][${target}] linearizability: ${report.operations} operations, ${report.unknownPuts} puts of ` +
          `unknown outcome, checked in ${report.checkMs.toFixed(0)} ms`,
      );
      expect(report.operations).toBeGreaterThan(0);
    },
    15 * MINUTE,
  );
});
