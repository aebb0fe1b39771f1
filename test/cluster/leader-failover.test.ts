// 3- and 5-member clusters survive kill -9 of the leader under writes (scenarios/leader-failover.ts).
import { afterAll, describe, expect, it } from 'vitest';
import { cleanupAll, currentTarget } from '../support';
import { describeFailover, runLeaderFailover } from './scenarios/leader-failover';

afterAll(() => cleanupAll());

describe.each([3, 5])('%i-member cluster', (size) => {
  it(
    'kill -9 of the leader under writes: a new leader within 10 s, writes resume with higher revisions, ' +
      'no acknowledged put lost, the restarted leader catches up and HashKV agrees',
    async () => {
      const report = await runLeaderFailover({
        size,
        kills: 1,
        putsBetweenKills: 30 * size,
        downMs: 500,
        writerPauseMs: 5,
        electionBoundMs: 10_000,
      });
      console.log(describeFailover(size, report, currentTarget().kind));
      expect(report.electionMs.length).toBe(1);
    },
    120_000,
  );
});
