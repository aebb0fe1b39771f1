// The harness itself: members start, stop, crash and restart on their data dir; failures show the
// server's output; multi-member clusters form; no process outlives its test file.
import { existsSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import {
  cleanupAll,
  etcdctlAt,
  describeResult,
  isHealthy,
  killMember,
  liveProcesses,
  parseExactJson,
  planCluster,
  launchMember,
  restartMember,
  startCluster,
  startMember,
  stopMember,
  waitReady,
  str,
  at,
} from './index';

afterAll(() => cleanupAll());

function processExists(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe('test harness', () => {
  it('starts a member, keeps its data across SIGKILL and SIGTERM restarts, and leaves no process behind', async () => {
    const member = await startMember();
    const ctl = etcdctlAt(member);
    const put = await ctl(['put', 'harness-key', 'survives']);
    expect(put.code, describeResult(put)).toBe(0);

    const firstPid = member.pid!;
    const killed = await killMember(member);
    expect(killed?.signal).toBe('SIGKILL');
    expect(processExists(firstPid)).toBe(false);
    expect(await isHealthy(member, 300)).toBe(false);

    await restartMember(member);
    expect(member.pid).not.toBe(firstPid);
    const afterCrash = await ctl(['get', 'harness-key', '--print-value-only']);
    expect(afterCrash.stdout).toBe('survives\n');

    const secondPid = member.pid!;
    const stopped = await stopMember(member, 5000);
    // A graceful stop: the server exits on SIGTERM by itself (no SIGKILL needed).
    expect(stopped?.signal === 'SIGTERM' || stopped?.code === 0, JSON.stringify(stopped)).toBe(true);
    expect(processExists(secondPid)).toBe(false);
    expect(existsSync(member.plan.dataDir)).toBe(true);
    expect(liveProcesses()).toEqual([]);
  });

  it('reports the exit status and output tail when a member fails to start', async () => {
    const [member] = await planCluster(1, ['--no-such-flag-for-cairn-tests']);
    launchMember(member!);
    const failure = await waitReady(member!, 10_000).then(
      () => 'started',
      (error: unknown) => (error instanceof Error ? error.message : String(error)),
    );
    expect(failure).toContain('exited during startup');
    expect(failure).toContain('stderr tail');
    expect(failure).toContain('no-such-flag-for-cairn-tests');
  });

  it('forms a 3-member cluster that agrees on membership and leader', async () => {
    const members = await startCluster({ size: 3 });
    const ctl = etcdctlAt(members);
    const list = await ctl(['member', 'list', '-w', 'json']);
    expect(list.code, describeResult(list)).toBe(0);
    const names = (at(parseExactJson(list.stdout), 'members') as Array<{ name: string }>).map((m) => m.name);
    expect(names.sort()).toEqual(['m1', 'm2', 'm3']);

    const status = await ctl(['endpoint', 'status', '-w', 'json']);
    expect(status.code, describeResult(status)).toBe(0);
    const statuses = parseExactJson(status.stdout);
    const leaders = new Set([0, 1, 2].map((i) => str(statuses, i, 'Status', 'leader')));
    expect(leaders.size).toBe(1);

    // SIGKILL: a SIGTERMed etcd leader whose peers are stopping waits for a leadership transfer that cannot
    // happen, which only costs time here.
    await Promise.all(members.map((m) => killMember(m)));
  });
});
