// Every member of a 3-member cluster replaced through learners under a light write load
// (scenarios/rolling-replacement.ts).
import { afterAll, expect, it } from 'vitest';
import { cleanupAll, currentTarget } from '../support';
import { runRollingReplacement } from './scenarios/rolling-replacement';

afterAll(() => cleanupAll());

it(
  'rolling replacement (member add --learner, start, promote, remove an old member; for every member) keeps ' +
    'the data intact under writes, with equal HashKV on the new members',
  async () => {
    const report = await runRollingReplacement({ size: 3, seedKeys: 200, writerPauseMs: 20, passes: 1 });
    console.log(
      `[${currentTarget().kind}] rolling replacement: members now ${report.finalMembers.join(', ')}; ` +
        `add-to-promote ${report.promoteMs.map((ms) => ms.toFixed(0)).join(', ')} ms ` +
        `(promotions refused first: ${report.refusedPromotions.join(', ')}); ${report.acks} puts, ` +
        `converged at revision ${report.revision}`,
    );
    expect(report.finalMembers.sort()).toEqual(['n1', 'n2', 'n3']);
  },
  180_000,
);
