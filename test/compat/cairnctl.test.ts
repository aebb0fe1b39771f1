// cairnctl's cluster commands end to end (bin/cairnctl as a user runs it) against a real 3-member cluster of
// the current target, side by side with Debian's etcdctl 3.4 on the same members: member list, endpoint
// status/health/hashkv, alarm list and defrag print the same table, simple and json shapes; member
// add (learner) / promote / remove; snapshot save (sha256-checked) / status / restore into a new data dir
// that a Cairn member then serves; backup with retention and Ctrl-C; auth errors that name the endpoint and
// the permission. Runs against etcd too (CAIRN_TEST_TARGET=etcd): cairnctl is an etcd client.
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  cleanupAll,
  createCertAuthority,
  currentTarget,
  describeResult,
  etcdctl,
  issueClientCert,
  issueServerCert,
  launchMember,
  makeTempDir,
  type ManagedProcess,
  type Member,
  parseExactJson,
  planCluster,
  planJoiningMember,
  repoRoot,
  spawnManaged,
  startCluster,
  startMember,
  targetOf,
  waitFor,
  waitReady,
} from '../support';

const CAIRNCTL = join(repoRoot, 'bin', 'cairnctl');

interface Result {
  code: number | null;
  stdout: string;
  stderr: string;
}

let members: Member[];
let dir: string;

function ctlEnv(extra: Record<string, string>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!/^(CAIRNCTL_|ETCDCTL_)/.test(k)) env[k] = v;
  return { ...env, ...extra };
}

function spawnCtl(args: string[], env: Record<string, string> = {}): ManagedProcess {
  return spawnManaged(process.execPath, [CAIRNCTL, ...args], {
    label: `cairnctl ${args.join(' ')}`,
    env: ctlEnv(env),
  });
}

/** cairnctl with --endpoints of `on` (default: the first member) unless args set them. */
async function ctl(
  args: string[],
  options: { on?: Member[]; env?: Record<string, string> } = {},
): Promise<Result> {
  const on = options.on ?? [members[0]!];
  const hasEndpoints = args.some((a) => a.startsWith('--endpoints')) || options.env?.['CAIRNCTL_ENDPOINTS'];
  const proc = spawnCtl(
    [...(hasEndpoints ? [] : [`--endpoints=${on.map((m) => m.clientUrl).join(',')}`]), ...args],
    options.env,
  );
  const timer = setTimeout(() => proc.signal('SIGKILL'), 30_000);
  const status = await proc.exited;
  clearTimeout(timer);
  return { code: status.code, stdout: proc.stdout(), stderr: proc.stderr() };
}

async function ok(
  args: string[],
  options: { on?: Member[]; env?: Record<string, string> } = {},
): Promise<string> {
  const r = await ctl(args, options);
  expect(r.code, `cairnctl ${args.join(' ')}\n${describeResult({ ...r, timedOut: false })}`).toBe(0);
  return r.stdout;
}

async function etcdOk(args: string[], on: Member[] = [members[0]!]): Promise<string> {
  const r = await etcdctl(args, { endpoints: on });
  expect(r.code, `etcdctl ${args.join(' ')}\n${describeResult(r)}`).toBe(0);
  return r.stdout;
}

/** The key structure of a JSON value (values replaced by their type), for shape comparisons. */
function shape(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(shape);
  if (value && typeof value === 'object')
    return Object.fromEntries(
      Object.entries(value as Record<string, unknown>)
        .sort(([a], [b]) => a.localeCompare(b))
        .map(([k, v]) => [k, shape(v)]),
    );
  return typeof value;
}

/** Table rows as cells; volatile columns (by header) blanked. */
function tableCells(text: string, volatile: string[] = []): string[][] {
  const rows = text
    .split('\n')
    .filter((l) => l.startsWith('|'))
    .map((l) =>
      l
        .slice(1, -1)
        .split('|')
        .map((c) => c.trim()),
    );
  const header = rows[0] ?? [];
  const blank = volatile.map((h) => header.indexOf(h));
  return rows.map((row, i) => (i === 0 ? row : row.map((c, j) => (blank.includes(j) ? '*' : c))));
}

beforeAll(async () => {
  members = await startCluster({ size: 3 });
  dir = makeTempDir();
  await etcdOk(['put', 'k1', 'v1']);
  await etcdOk(['put', 'k2', 'v2']);
}, 90_000);

afterAll(async () => {
  await cleanupAll();
});

describe('cairnctl and etcdctl print the same', () => {
  it('member list (table, simple, json)', async () => {
    for (const w of ['table', 'simple']) {
      expect(await ok(['member', 'list', '-w', w])).toBe(await etcdOk(['member', 'list', '-w', w]));
    }
    const mine = parseExactJson(await ok(['member', 'list', '-w', 'json']));
    const theirs = parseExactJson(await etcdOk(['member', 'list', '-w', 'json']));
    expect(mine).toEqual(theirs);
  });

  it('endpoint status --cluster (table, json shape)', async () => {
    const volatile = ['DB SIZE', 'RAFT INDEX', 'RAFT APPLIED INDEX'];
    const mine = tableCells(await ok(['endpoint', 'status', '--cluster', '-w', 'table']), volatile);
    const theirs = tableCells(await etcdOk(['endpoint', 'status', '--cluster', '-w', 'table']), volatile);
    expect(mine).toEqual(theirs);
    expect(mine).toHaveLength(4);
    // etcd 3.4's fields are all there; Cairn speaks the 3.5 API, whose Status adds dbSizeQuota.
    const json = (text: string) => shape(JSON.parse(text));
    expect(json(await ok(['endpoint', 'status', '--cluster', '-w', 'json']))).toMatchObject(
      json(await etcdOk(['endpoint', 'status', '--cluster', '-w', 'json'])) as object,
    );
  });

  it('endpoint health --cluster (table, simple)', async () => {
    const took = ['TOOK'];
    expect(tableCells(await ok(['endpoint', 'health', '--cluster', '-w', 'table']), took).sort()).toEqual(
      tableCells(await etcdOk(['endpoint', 'health', '--cluster', '-w', 'table']), took).sort(),
    );
    const simple = (text: string) =>
      text
        .trim()
        .split('\n')
        .map((l) => l.replace(/took = .*/, 'took = *'))
        .sort();
    // etcdctl 3.4 prints the simple form on stderr; so does cairnctl.
    const mine = await ctl(['endpoint', 'health', '--cluster']);
    const theirs = await etcdctl(['endpoint', 'health', '--cluster'], { endpoints: [members[0]!] });
    expect([mine.code, mine.stdout]).toEqual([0, '']);
    expect(simple(mine.stderr)).toEqual(simple(theirs.stderr.replace(/^\{.*\n/gm, '')));
    expect(simple(mine.stderr)).toHaveLength(3);
  });

  it('endpoint hashkv --cluster (table, json)', async () => {
    expect(await ok(['endpoint', 'hashkv', '--cluster', '-w', 'table'])).toBe(
      await etcdOk(['endpoint', 'hashkv', '--cluster', '-w', 'table']),
    );
    // The 3.5 API adds hash_revision to HashKV; every field etcdctl 3.4 prints is equal.
    expect(parseExactJson(await ok(['endpoint', 'hashkv', '--cluster', '-w', 'json']))).toMatchObject(
      parseExactJson(await etcdOk(['endpoint', 'hashkv', '--cluster', '-w', 'json'])) as object,
    );
  });

  it('alarm list and disarm (none) and defrag --cluster', async () => {
    expect(await ok(['alarm', 'list'])).toBe(await etcdOk(['alarm', 'list']));
    expect(await ok(['alarm', 'list', '-w', 'json'])).toBe(await etcdOk(['alarm', 'list', '-w', 'json']));
    expect(await ok(['alarm', 'disarm'])).toBe(await etcdOk(['alarm', 'disarm']));
    expect(await ok(['defrag', '--cluster'])).toBe(await etcdOk(['defrag', '--cluster']));
  });

  it('an unreachable endpoint: status reported on stderr, health unhealthy, exit 1', async () => {
    const on = [`127.0.0.1:1`];
    const status = await ctl(['--endpoints', on[0]!, '--dial-timeout', '300ms', 'endpoint', 'status']);
    expect(status.code).toBe(1);
    expect(status.stderr).toMatch(/^Failed to get the status of endpoint 127\.0\.0\.1:1 \(/);
    const health = await ctl(['--endpoints', on[0]!, '--dial-timeout', '300ms', 'endpoint', 'health']);
    expect(health.code).toBe(1);
    expect(health.stderr).toMatch(/^127\.0\.0\.1:1 is unhealthy: failed to commit proposal: /);
    expect(health.stderr).toContain('Error: unhealthy cluster');
  });
});

/** The leader and one follower, from `cairnctl endpoint status --cluster -w json`. */
async function leaderAndFollower(): Promise<{ leader: Member; follower: Member }> {
  const list = parseExactJson(await ok(['endpoint', 'status', '--cluster', '-w', 'json'])) as {
    Endpoint: string;
    Status: { header: { member_id: string }; leader: string };
  }[];
  const leaderUrl = list.find((e) => e.Status.header.member_id === e.Status.leader)!.Endpoint;
  return {
    leader: members.find((m) => m.clientUrl === leaderUrl)!,
    follower: members.find((m) => m.clientUrl !== leaderUrl)!,
  };
}

describe('membership', () => {
  let id: string;
  const peer = () => `http://127.0.0.1:${members[0]!.plan.peerPort + 7}`;

  it("adds a learner and prints the new member's flags as etcdctl", async () => {
    const added = await ok(['member', 'add', 'learner1', '--learner', `--peer-urls=${peer()}`]);
    id = /^Member\s+([0-9a-f]+) added as learner to cluster\s+([0-9a-f]+)\n\n/.exec(added)?.[1] ?? '';
    expect(id, added).not.toBe('');
    expect(added).toContain('ETCD_NAME="learner1"\n');
    expect(added).toContain(`ETCD_INITIAL_ADVERTISE_PEER_URLS="${peer()}"\n`);
    const conf = /ETCD_INITIAL_CLUSTER="(.*)"\n/.exec(added)?.[1]?.split(',').sort();
    expect(conf).toEqual([...members.map((m) => `${m.name}=${m.peerUrl}`), `learner1=${peer()}`].sort());
    expect(added).toContain('ETCD_INITIAL_CLUSTER_STATE="existing"\n');
    expect(await ok(['member', 'list'])).toBe(await etcdOk(['member', 'list']));
    expect(await ok(['member', 'list'])).toContain(`${id}, unstarted, , ${peer()}, , true`);
  });

  it('refuses to promote a learner that is not in sync (asked of the leader), naming the endpoint', async () => {
    const { leader } = await leaderAndFollower();
    const promote = await ctl(['member', 'promote', id], { on: [leader] });
    expect(promote.code).toBe(1);
    expect(promote.stderr).toBe(
      `Error: 127.0.0.1:${leader.plan.clientPort}: etcdserver: can only promote a learner member which is in sync with leader\n`,
    );
  });

  // Only the leader knows whether a learner is in sync: etcd forwards the promote to it, Cairn's follower asks it.
  it('refuses the same promote asked of a follower', async () => {
    const { follower } = await leaderAndFollower();
    const promote = await ctl(['member', 'promote', id], { on: [follower] });
    expect(promote.code).toBe(1);
    expect(promote.stderr).toContain(
      'etcdserver: can only promote a learner member which is in sync with leader',
    );
  });

  it('removes it', async () => {
    const removed = await ok(['member', 'remove', id]);
    expect(removed).toMatch(new RegExp(`^Member\\s+${id} removed from cluster\\s+[0-9a-f]+\\n$`));
    expect(await ok(['member', 'list', '-w', 'json'])).not.toContain(String(BigInt(`0x${id}`)));
    expect(await ok(['member', 'list'])).toBe(await etcdOk(['member', 'list']));
  });
});

describe('scale up and down (the runbook): learner add, start, promote, remove', () => {
  it('a started learner is promoted once it caught up, then removed', async () => {
    const joining = await planJoiningMember(members, 'm4');
    const added = await ok(['member', 'add', 'm4', '--learner', `--peer-urls=${joining.peerUrl}`]);
    const id = /^Member\s+([0-9a-f]+) added as learner/.exec(added)![1]!;
    launchMember(joining);
    await waitReady(joining);
    // Promotion is refused until the learner's log is in sync; a few tries at most.
    const promoted = await waitFor(
      async () => {
        const r = await ctl(['member', 'promote', id]);
        return r.code === 0 ? r.stdout : undefined;
      },
      { timeoutMs: 20_000, what: 'the learner promoted' },
    );
    expect(promoted).toMatch(new RegExp(`^Member\\s+${id} promoted in cluster\\s+[0-9a-f]+\\n$`));
    expect(await ok(['member', 'list'])).toContain(
      `${id}, started, m4, ${joining.peerUrl}, ${joining.clientUrl}, false`,
    );
    expect(await ok(['member', 'list'])).toBe(await etcdOk(['member', 'list']));
    await ok(['member', 'remove', id]);
    await joining.process?.terminate(5000);
    expect((await ok(['member', 'list'])).trim().split('\n')).toHaveLength(3);
  });
});

describe('snapshots', () => {
  it('save: sha256-checked, atomic; status agrees with the stream; etcdctl reads the same revision', async () => {
    const file = join(dir, 'one.db');
    const r = await ctl(['snapshot', 'save', file]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toBe(`Snapshot saved at ${file}\n`);
    expect(r.stderr).toMatch(/sha256 ok/);
    expect(existsSync(`${file}.part`)).toBe(false);
    const status = JSON.parse(await ok(['snapshot', 'status', file, '-w', 'json'])) as Record<
      string,
      unknown
    >;
    const revision = Number(JSON.parse(await etcdOk(['get', 'k2', '-w', 'json'])).header.revision);
    expect(status).toMatchObject({ revision, dataFormat: 2, source: currentTarget().kind });
    expect(status['totalKey']).toBeGreaterThanOrEqual(2);
    const table = await ok(['snapshot', 'status', file, '-w', 'table']);
    expect(table.split('\n')[1]).toMatch(
      /\|\s+HASH\s+\|\s+REVISION\s+\|\s+TOTAL KEYS\s+\|\s+TOTAL SIZE\s+\|/,
    );
    if (currentTarget().kind === 'etcd') {
      // The same file through etcdctl (a bbolt file): hash, revision, keys, size all equal.
      const theirs = JSON.parse(await etcdOk(['snapshot', 'status', file, '-w', 'json'])) as object;
      expect(status).toMatchObject(theirs);
    }
  });

  it('save refuses several endpoints (128) and names the endpoint it cannot reach', async () => {
    const several = await ctl(['snapshot', 'save', join(dir, 'x.db')], { on: members });
    expect(several.code).toBe(128);
    const down = await ctl([
      '--endpoints=127.0.0.1:1',
      '--dial-timeout=300ms',
      'snapshot',
      'save',
      join(dir, 'y.db'),
    ]);
    expect(down.code).toBe(2);
    expect(down.stderr).toMatch(/^Error: 127\.0\.0\.1:1: /);
    expect(readdirSync(dir).filter((n) => n.startsWith('x.db') || n.startsWith('y.db'))).toEqual([]);
  });

  it('restore into a new data dir: a Cairn member serves the keys at the same revision', async () => {
    const file = join(dir, 'restore.db');
    await ok(['snapshot', 'save', file]);
    const revision = Number(JSON.parse(await ok(['snapshot', 'status', file, '-w', 'json'])).revision);
    const [member] = await planCluster(1, [], { target: targetOf('cairn') });
    const restore = (dataDir: string) =>
      ctl([
        'snapshot',
        'restore',
        file,
        `--name=${member!.name}`,
        `--data-dir=${dataDir}`,
        `--initial-cluster=${member!.initialCluster}`,
        `--initial-cluster-token=${member!.clusterToken}`,
        `--initial-advertise-peer-urls=${member!.peerUrl}`,
      ]);
    const r = await restore(member!.plan.dataDir);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(
      new RegExp(`^Restored member [0-9a-f]+ of cluster [0-9a-f]+ at revision ${revision} into `),
    );
    expect(r.stderr).toContain('restore: wal: done');
    const again = await restore(member!.plan.dataDir);
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(/^Error: data-dir ".*" exists/);

    launchMember(member!);
    await waitReady(member!);
    expect(await etcdOk(['get', 'k1', '--print-value-only'], [member!])).toBe('v1\n');
    const got = JSON.parse(await etcdOk(['get', 'k2', '-w', 'json'], [member!]));
    expect(Number(got.header.revision)).toBe(revision);
    expect((await ok(['member', 'list'], { on: [member!] })).trim().split('\n')).toHaveLength(1);
    await member!.process?.terminate(5000);
  });
});

describe('backup', () => {
  it('--once keeps the newest --retention files', async () => {
    const backups = join(dir, 'backups');
    for (let i = 0; i < 3; i++) {
      expect(await ok(['backup', '--dir', backups, '--retention', '2', '--once'])).toMatch(
        /saved .*snapshot-\d{8}T\d{9}Z\.db/,
      );
    }
    const files = readdirSync(backups);
    expect(files).toHaveLength(2);
    expect(files.every((f) => /^snapshot-\d{8}T\d{9}Z\.db$/.test(f))).toBe(true);
  });

  it('runs every --interval until Ctrl-C (exit 0)', async () => {
    const backups = join(dir, 'scheduled');
    const proc = spawnCtl([
      `--endpoints=${members[0]!.clientUrl}`,
      'backup',
      '--dir',
      backups,
      '--interval',
      '1s',
      '--retention',
      '2',
    ]);
    await waitFor(() => (existsSync(backups) && readdirSync(backups).length >= 2 ? true : undefined), {
      timeoutMs: 15_000,
      what: 'two backups',
    });
    proc.signal('SIGINT');
    const status = await proc.exited;
    expect(status, proc.describeOutput()).toEqual({ code: 0, signal: null });
    expect(readdirSync(backups).length).toBeLessThanOrEqual(2);
    expect(proc.stderr()).toContain('backup stopped');
  });

  it('reports a failed snapshot and tries again at the next interval', async () => {
    const proc = spawnCtl([
      '--endpoints=127.0.0.1:1',
      '--dial-timeout=200ms',
      'backup',
      '--dir',
      join(dir, 'none'),
      '--interval',
      '1s',
    ]);
    await waitFor(() => ((proc.stderr().match(/backup failed: /g) ?? []).length >= 2 ? true : undefined), {
      timeoutMs: 15_000,
      what: 'two failed backups',
    });
    proc.signal('SIGINT');
    expect(await proc.exited, proc.describeOutput()).toEqual({ code: 0, signal: null });
    expect(readdirSync(join(dir, 'none'))).toEqual([]);
  });
});

describe('auth', () => {
  beforeAll(async () => {
    await etcdOk(['user', 'add', 'root:rootpw']);
    await etcdOk(['user', 'add', 'alice:alicepw']);
    await etcdOk(['role', 'add', 'reader']);
    await etcdOk(['role', 'grant-permission', 'reader', 'read', 'k', 'l']);
    await etcdOk(['user', 'grant-role', 'alice', 'reader']);
    await etcdOk(['auth', 'enable']);
  }, 60_000);

  it('--user, --password and CAIRNCTL_USER authenticate', async () => {
    await ok(['--user', 'root:rootpw', 'alarm', 'list']);
    await ok(['--user', 'root', '--password', 'rootpw', 'member', 'list']);
    await ok(['endpoint', 'status'], { env: { CAIRNCTL_USER: 'root:rootpw' } });
  });

  // A terminal from util-linux's script(1): cairnctl sees a TTY, asks, and reads the password without echo.
  it.skipIf(!existsSync('/usr/bin/script'))(
    '--user without a password asks for it on a terminal',
    async () => {
      const command = [
        process.execPath,
        CAIRNCTL,
        `--endpoints=${members[0]!.clientUrl}`,
        '--user',
        'root',
        'member',
        'list',
      ]
        .map((w) => `'${w}'`)
        .join(' ');
      const proc = spawnManaged(
        'bash',
        ['-c', `(sleep 1; printf 'rootpw\\r') | script -qec "${command}" /dev/null`],
        {
          label: 'cairnctl on a terminal',
          env: ctlEnv({}),
        },
      );
      const status = await proc.exited;
      expect(status.code, proc.describeOutput()).toBe(0);
      expect(proc.stdout()).toContain('Password: ');
      expect(proc.stdout()).not.toContain('rootpw');
      expect(proc.stdout()).toContain(`, started, ${members[0]!.name}, `);
    },
  );

  it('a wrong password and a missing permission say so, with the endpoint and the permission needed', async () => {
    const endpoint = `127.0.0.1:${members[0]!.plan.clientPort}`;
    const bad = await ctl(['--user', 'root:nope', 'member', 'list']);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain('authentication failed');
    const denied = await ctl(['--user', 'alice:alicepw', 'snapshot', 'save', join(dir, 'denied.db')]);
    expect(denied.code).toBe(1);
    // Cairn says "etcdserver: permission denied" (PermissionDenied), etcd 3.4 "auth: permission denied".
    expect(denied.stderr).toMatch(
      new RegExp(
        `^Error: ${endpoint}: (etcdserver|auth): permission denied \\(this command needs the root role\\)\\n$`,
      ),
    );
    const noPassword = await ctl(['--user', 'alice', 'member', 'list']);
    expect(noPassword.code).toBe(1);
    expect(noPassword.stderr).toContain('--user alice has no password');
  });
});

describe('TLS (--cacert --cert --key, --insecure-skip-tls-verify, CAIRNCTL_* files)', () => {
  let secure: Member;
  let files: { ca: string; cert: string; key: string };

  beforeAll(async () => {
    const ca = createCertAuthority({ name: 'ctl-ca' });
    const server = issueServerCert(ca);
    const client = issueClientCert(ca, 'root');
    files = { ca: ca.certFile, cert: client.certFile, key: client.keyFile };
    // prettier-ignore
    secure = await startMember({
      extraFlags: ['--cert-file', server.certFile, '--key-file', server.keyFile, '--trusted-ca-file', ca.certFile, '--client-cert-auth'],
      clientTls: { caFile: ca.certFile, certFile: client.certFile, keyFile: client.keyFile },
    });
  }, 60_000);

  it('talks TLS with a client certificate from flags or CAIRNCTL_* variables', async () => {
    const tls = ['--cacert', files.ca, '--cert', files.cert, '--key', files.key];
    const status = await ok([...tls, 'endpoint', 'status', '-w', 'table'], { on: [secure] });
    expect(status).toContain(secure.clientUrl);
    await ok(['snapshot', 'save', join(dir, 'tls.db')], {
      on: [secure],
      env: { CAIRNCTL_CACERT: files.ca, CAIRNCTL_CERT: files.cert, CAIRNCTL_KEY: files.key },
    });
    expect(existsSync(join(dir, 'tls.db'))).toBe(true);
  });

  it('--insecure-skip-tls-verify accepts a server certificate it cannot verify', async () => {
    await ok(['--insecure-skip-tls-verify', '--cert', files.cert, '--key', files.key, 'member', 'list'], {
      on: [secure],
    });
  });

  it('without the CA the handshake fails and the error names the endpoint', async () => {
    const r = await ctl(
      ['--dial-timeout=500ms', '--cert', files.cert, '--key', files.key, 'member', 'list'],
      {
        on: [secure],
      },
    );
    expect(r.code).toBe(2);
    expect(r.stderr).toBe(
      `Error: 127.0.0.1:${secure.plan.clientPort}: cannot connect (check the endpoint, the TLS flags and --dial-timeout)\n`,
    );
  });
});
