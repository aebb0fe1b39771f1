// etcd's own Go client, unchanged: clientv3 3.4 with its concurrency package and gRPC naming resolver
// (Debian's golang-etcd-server-dev), built from test/go/src/cairn.dev/goclient by scripts/build-go.sh, run
// against a 3-member cluster. `basics` checks each feature's answers; `failover` runs every workload while
// the test kills the Raft leader, and each workload verifies what it did (the Go program prints one JSON
// line per check and exits non-zero on any failure). Green against real etcd 3.4 (CAIRN_TEST_TARGET=etcd)
// and Cairn alike; revisions are only compared with each other.
import { afterAll, beforeAll, expect, it } from 'vitest';
import {
  buildGo,
  cleanupAll,
  currentTarget,
  killMember,
  spawnManaged,
  waitFor,
  type ManagedProcess,
  type Member,
  startCluster,
} from '../support';
import { ClusterView } from '../cluster/harness/cluster-view';

type Line = Record<string, unknown>;

const PARTS = ['kv', 'lease', 'mutex', 'election', 'stm', 'naming'] as const;
const BASIC_CHECKS = [
  'kv',
  'txn',
  'watch.rev-prevkv',
  'watch.progress-notify',
  'lease',
  'concurrency.mutex',
  'concurrency.election',
  'concurrency.stm',
  'naming.resolver',
];

let goclient: string;
let members: Member[];
let view: ClusterView;

beforeAll(async () => {
  // The build (about 30 s with a cold Go cache, nothing when cached) overlaps the cluster's start.
  [goclient, members] = await Promise.all([buildGo('cairn.dev/goclient'), startCluster({ size: 3 })]);
  view = new ClusterView([...members]);
}, 120_000);

afterAll(async () => {
  view?.close();
  await cleanupAll();
});

function startGo(mode: 'basics' | 'failover', prefix: string, extra: string[] = []): ManagedProcess {
  return spawnManaged(
    goclient,
    ['-endpoints', members.map((m) => m.clientUrl).join(','), '-prefix', prefix, ...extra, mode],
    { label: `goclient ${mode}`, keepBytes: 4 * 1024 * 1024 },
  );
}

function lines(proc: ManagedProcess): Line[] {
  return proc
    .stdout()
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as Line);
}

/** Exit status and check lines, killing the program if it outlives `timeoutMs`. */
async function finish(
  proc: ManagedProcess,
  timeoutMs: number,
): Promise<{ code: number | null; checks: Line[] }> {
  const timer = setTimeout(() => proc.signal('SIGKILL'), timeoutMs);
  const status = await proc.exited;
  clearTimeout(timer);
  return { code: status.code, checks: lines(proc).filter((l) => 'check' in l) };
}

function failed(checks: Line[]): Line[] {
  return checks.filter((c) => c['ok'] !== true);
}

function lastProgress(proc: ManagedProcess): Record<string, number> | undefined {
  const progress = lines(proc).filter((l) => 'progress' in l);
  return progress[progress.length - 1]?.['progress'] as Record<string, number> | undefined;
}

/** Waits until each of `parts` has completed `more` operations beyond `from`. */
async function progressBeyond(
  proc: ManagedProcess,
  parts: readonly string[],
  from: Record<string, number>,
  more: number,
  what: string,
): Promise<Record<string, number>> {
  try {
    return await waitFor(
      () => {
        if (!proc.running) throw new Error('goclient exited early');
        const now = lastProgress(proc);
        return now && parts.every((p) => (now[p] ?? 0) >= (from[p] ?? 0) + more) ? now : undefined;
      },
      { timeoutMs: 30_000, intervalMs: 100, what },
    );
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    throw new Error(
      `${message}; from ${JSON.stringify(from)}, last progress ${JSON.stringify(lastProgress(proc))}\n` +
        proc.describeOutput(),
      { cause: error },
    );
  }
}

it('clientv3 KV, Txn, watch options, leases, Mutex, Election, STM and the naming resolver answer as on etcd', async () => {
  const proc = startGo('basics', 'go/basics/');
  const { code, checks } = await finish(proc, 60_000);
  expect(failed(checks), proc.describeOutput()).toEqual([]);
  expect(checks.map((c) => c['check'])).toEqual(BASIC_CHECKS);
  expect(code).toBe(0);
}, 70_000);

it('Go workloads ride over kill -9 of the Raft leader: no lost write, every watch event once, lease kept, exclusion kept', async () => {
  // The kv workload's watch starts on the leader (then its client learns the other members), so the kill
  // forces the watch to resume on another member.
  const { leader } = await view.waitForLeader();
  const proc = startGo('failover', 'go/failover/', ['-watch-first', leader.clientUrl]);
  await waitFor(
    () => {
      if (!proc.running) throw new Error(`goclient exited during setup\n${proc.describeOutput()}`);
      return lines(proc).some((l) => l['ready'] === true) ? true : undefined;
    },
    { timeoutMs: 15_000, what: 'goclient failover to set up' },
  );
  // The naming workload counts calls once an instance joined and another left, which it does after the kill.
  await progressBeyond(
    proc,
    PARTS.filter((p) => p !== 'naming'),
    {},
    3,
    'every workload running',
  );

  expect((await view.waitForLeader()).leader.name, 'the leader the watch started on').toBe(leader.name);
  await killMember(leader);
  proc.signal('SIGUSR1');
  const atKill = await waitFor(() => lines(proc).find((l) => 'killedAt' in l)?.['killedAt'], {
    timeoutMs: 5_000,
    what: 'goclient to note the kill',
  });
  const killedAt = performance.now();
  await progressBeyond(
    proc,
    PARTS,
    atKill as Record<string, number>,
    3,
    'every workload to progress after the kill',
  );
  const recoveredMs = performance.now() - killedAt;

  proc.signal('SIGUSR2');
  const { code, checks } = await finish(proc, 60_000);
  expect(failed(checks), proc.describeOutput()).toEqual([]);
  expect(checks.map((c) => c['check'])).toEqual(PARTS.map((p) => `failover.${p}`));
  expect(code).toBe(0);

  const figures = checks.map((c) => {
    const { check, ok: _ok, ms: _ms, errors, ...rest } = c;
    return `${String(check)} ${JSON.stringify(rest)} errors=${JSON.stringify(errors)}`;
  });
  console.log(
    `[${currentTarget().kind}] Go clients: every workload 3 operations past the kill of ${leader.name} ` +
      `within ${recoveredMs.toFixed(0)} ms\n  ${figures.join('\n  ')}`,
  );
}, 90_000);
