// A follower isolated from its peers (both directions) by the peer proxies (scenarios/partition.ts).
import { afterAll, expect, it } from 'vitest';
import { cleanupAll, currentTarget } from '../support';
import { runPartition } from './scenarios/partition';

afterAll(() => cleanupAll());

it(
  'an isolated follower cannot commit (etcd timeout error), the majority keeps committing, and after the heal ' +
    'the leader and term are unchanged (pre-vote) and no acknowledged put is lost',
  async () => {
    const report = await runPartition({
      size: 3,
      rounds: 1,
      isolatedMs: 3000,
      watchAfterHealMs: 3000,
      writerPauseMs: 5,
    });
    console.log(
      `[${currentTarget().kind}] partition: isolated put answered ${report.isolatedPuts.map((p) => `"${p.error}" after ${p.ms} ms`).join(', ')}; ` +
        `majority acknowledged ${report.majorityAcks.join(', ')} puts meanwhile; isolated member's term ` +
        `${report.isolatedTerms.map((t) => `${t.before} -> ${t.isolated}`).join(', ')}; ` +
        `${report.acks} puts in all, converged at revision ${report.revision}`,
    );
    expect(report.majorityAcks[0]).toBeGreaterThan(0);
  },
  120_000,
);
