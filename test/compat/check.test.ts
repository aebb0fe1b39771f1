// `etcdctl check perf` and `check datascale` against the target: etcdctl 3.4's own verdict (exit 0 and
// "PASS") at the loads real etcd 3.4 passes on this machine (s and m; l fails on etcd here too). The default
// run does `check datascale --load=s` (10,000 puts of 1 KiB, a few seconds); CAIRN_CHECK=1 (`npm run
// test:check`) adds `check perf` s and m (60 s each, etcdctl's fixed duration) and `check datascale --load=m`
// (100,000 puts), each on a fresh member, and prints the figures etcdctl reports. Cairn passes them on a
// machine with a core to spare, and can fail perf s/m when both cores are busy with other work where etcd still
// passes (docs/benchmarks.md says why): a failure here is a finding, not noise to retry away.
import { afterAll, describe, expect, it } from 'vitest';
import { cleanupAll, describeResult, etcdctl, startMember, stopMember, type Member } from '../support';

const LONG = process.env['CAIRN_CHECK'] === '1';

afterAll(() => cleanupAll());

/** Runs `etcdctl check <kind> --load=<load>` on a fresh member; returns etcdctl's lines (progress bar dropped). */
async function check(kind: 'perf' | 'datascale', load: 's' | 'm', timeoutMs: number): Promise<string[]> {
  const member: Member = await startMember();
  try {
    const result = await etcdctl(['check', kind, `--load=${load}`], { endpoints: member, timeoutMs });
    // The progress bar redraws with carriage returns and the first verdict follows it on the same line.
    const lines = result.stdout.match(/(?:PASS|FAIL|Start|Slowest|Stddev)[^\r\n]*/g) ?? [];
    console.log(`check ${kind} --load=${load}: exit ${result.code}; ${lines.join(' | ')}`);
    expect(result.code, describeResult(result)).toBe(0);
    expect(lines.at(-1), describeResult(result)).toMatch(/^PASS/);
    expect(lines.filter((line) => line.startsWith('FAIL'))).toEqual([]);
    // etcdctl deletes what it wrote: the member is left as it was found.
    const left = await etcdctl(['get', '--prefix', `/etcdctl-check-${kind}/`, '--keys-only'], {
      endpoints: member,
    });
    expect(left.stdout).toBe('');
    return lines;
  } finally {
    await stopMember(member);
  }
}

describe('etcdctl check', () => {
  it('datascale --load=s: 10,000 puts of 1 KiB from 50 clients, no errors, memory read from /metrics', async () => {
    const lines = await check('datascale', 's', 60_000);
    expect(lines).toContainEqual(
      expect.stringMatching(/^PASS: Approximate system memory used : [\d.]+ MB\.$/),
    );
  }, 90_000);

  describe.runIf(LONG)('the long loads (CAIRN_CHECK=1)', () => {
    it('perf --load=s: 150 writes/s from 50 clients for 60 s', async () => {
      const lines = await check('perf', 's', 120_000);
      expect(lines).toContainEqual(expect.stringMatching(/^PASS: Throughput is \d+ writes\/s$/));
    }, 150_000);

    it('perf --load=m: 1,000 writes/s from 200 clients for 60 s', async () => {
      const lines = await check('perf', 'm', 120_000);
      expect(lines).toContainEqual(expect.stringMatching(/^PASS: Throughput is \d+ writes\/s$/));
    }, 150_000);

    it('datascale --load=m: 100,000 puts of 1 KiB from 200 clients', async () => {
      await check('datascale', 'm', 120_000);
    }, 150_000);
  });
});
