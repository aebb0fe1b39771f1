// The history clients see across a leader kill is linearizable (scenarios/linearizable-history.ts).
import { afterAll, expect, it } from 'vitest';
import { cleanupAll, currentTarget, seedFromEnv } from '../support';
import { runLinearizableHistory } from './scenarios/linearizable-history';

const SEED = seedFromEnv('CAIRN_CLUSTER_SEED', 20_261_121);

afterAll(() => cleanupAll());

it(`puts and linearizable gets from clients on every member form a linearizable history across kill -9 of the leader (seed ${SEED})`, async () => {
  const report = await runLinearizableHistory({
    size: 3,
    clientsPerMember: 2,
    keys: 4,
    phaseMs: 3000,
    kills: 1,
    seed: SEED,
    checkTimeoutMs: 60_000,
  });
  console.log(
    `[${currentTarget().kind}] linearizability: ${report.operations} operations (${report.puts} puts, ` +
      `${report.unknownPuts} of unknown outcome, ${report.gets} gets; ${report.neverSent} calls never sent), ` +
      `checked in ${report.checkMs.toFixed(0)} ms`,
  );
  expect(report.puts).toBeGreaterThan(0);
}, 120_000);
