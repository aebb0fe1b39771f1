// `cairnctl registry` and `cairnctl config` end to end: bin/cairnctl against a real member. The registry:
// register, list, drain, deregister an instance while `registry watch` prints each change live, and Ctrl-C
// ends the watch with exit 0. The config center: create an app and item, publish, edit through $EDITOR (a
// script that rewrites the file) with the diff shown, history, diff, rollback, watch, export and import.
// Then auth on: a permitted user, no user (401: authentication required) and a user without the grant (403:
// the grant named). Cairn only: etcd has no registry or config center.
import { chmodSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  cleanupAll,
  createCertAuthority,
  currentTarget,
  gatewayPost,
  issueClientCert,
  issueServerCert,
  makeTempDir,
  type ManagedProcess,
  type Member,
  repoRoot,
  spawnManaged,
  startMember,
} from '../support';

const skip = currentTarget().kind === 'etcd';
const CAIRNCTL = existsSync(join(repoRoot, 'bin', 'cairnctl'))
  ? join(repoRoot, 'bin', 'cairnctl')
  : join(repoRoot, 'apps', 'ctl', 'bin', 'cairnctl');

let member: Member;
let dir: string;

interface Result {
  code: number | null;
  stdout: string;
  stderr: string;
}

function ctlEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('CAIRNCTL_')) env[k] = v;
  return { ...env, ...extra };
}

/** Starts cairnctl against the member (stdin: /dev/null unless given, so never a TTY). */
function spawnCtl(
  args: string[],
  options: { env?: Record<string, string>; stdin?: string; endpoints?: string } = {},
): ManagedProcess {
  return spawnManaged(
    process.execPath,
    [CAIRNCTL, `--endpoints=${options.endpoints ?? member.clientUrl}`, ...args],
    {
      label: `cairnctl ${args.join(' ')}`,
      env: ctlEnv(options.env),
      ...(options.stdin !== undefined ? { stdin: options.stdin } : {}),
    },
  );
}

async function ctl(
  args: string[],
  options: { env?: Record<string, string>; stdin?: string; endpoints?: string } = {},
): Promise<Result> {
  const proc = spawnCtl(args, options);
  const timer = setTimeout(() => proc.signal('SIGKILL'), 20_000);
  const status = await proc.exited;
  clearTimeout(timer);
  return { code: status.code, stdout: proc.stdout(), stderr: proc.stderr() };
}

/** cairnctl that must succeed; its stdout. */
async function ok(
  args: string[],
  options: { env?: Record<string, string>; stdin?: string; endpoints?: string } = {},
): Promise<string> {
  const r = await ctl(args, options);
  expect(r.code, `cairnctl ${args.join(' ')}\n${r.stdout}\n${r.stderr}`).toBe(0);
  return r.stdout;
}

/** Ctrl-C: the command stops cleanly with exit 0. */
async function interrupt(proc: ManagedProcess): Promise<void> {
  proc.signal('SIGINT');
  const status = await Promise.race([
    proc.exited,
    new Promise<undefined>((resolve) => setTimeout(() => resolve(undefined), 5000)),
  ]);
  expect(status, proc.describeOutput()).toEqual({ code: 0, signal: null });
}

beforeAll(async () => {
  if (skip) return;
  member = await startMember();
  dir = makeTempDir();
}, 60_000);

afterAll(() => cleanupAll());

describe.skipIf(skip)('cairnctl registry', () => {
  it('registers, lists, drains and deregisters while registry watch prints each change live', async () => {
    const watch = spawnCtl(['registry', 'watch', 'orders', '-n', 'shop']);
    await watch.waitForStdout((out) => out.includes('SNAPSHOT (no instances)'), 10_000);

    const registered = await ok([
      'registry',
      'register',
      'orders',
      'i-1',
      '-n',
      'shop',
      '--address',
      '127.0.0.1:8080',
      '--ttl',
      '60',
      '--tags',
      'a,b',
      '--metadata',
      'region=eu',
    ]);
    expect(registered).toMatch(/^registered shop\/orders\/i-1 lease \d+ ttl 60s rev \d+\n$/);
    await watch.waitForStdout(
      (out) =>
        /ADDED shop\/orders\/i-1 http:\/\/127\.0\.0\.1:8080 status=UP health=passing rev=\d+/.test(out),
      10_000,
    );

    const services = JSON.parse(await ok(['registry', 'services', '-n', 'shop', '-w', 'json'])) as {
      services: { name: string; healthy: number; total: number }[];
    };
    expect(services.services).toEqual([{ name: 'orders', healthy: 1, total: 1 }]);
    expect(await ok(['registry', 'services', '-n', 'shop', '-w', 'table'])).toMatch(
      /\| orders +\| +1 \| +1 \|/,
    );
    expect(await ok(['registry', 'namespaces'])).toContain('shop');
    const table = await ok([
      'registry',
      'instances',
      'orders',
      '-n',
      'shop',
      '-w',
      'table',
      '--tag',
      'a',
      '--metadata',
      'region=eu',
    ]);
    expect(table).toMatch(/\| +SERVICE +\| +ID +\| +ADDRESS/);
    expect(table).toMatch(/\| orders +\| i-1 +\| http:\/\/127\.0\.0\.1:8080 +\| UP +\| passing/);
    expect(await ok(['registry', 'instances', 'orders', '-n', 'shop', '--metadata', 'region=us'])).toBe('');

    expect(await ok(['registry', 'drain', 'orders', 'i-1', '-n', 'shop'])).toMatch(/is DRAINING/);
    await watch.waitForStdout((out) => /UPDATED shop\/orders\/i-1 \S+ status=DRAINING/.test(out), 10_000);
    const got = JSON.parse(await ok(['registry', 'get', 'orders', 'i-1', '-n', 'shop', '-w', 'json'])) as {
      status: string;
      tags: string[];
      metadata: Record<string, string>;
    };
    expect(got).toMatchObject({ status: 'DRAINING', tags: ['a', 'b'], metadata: { region: 'eu' } });
    expect(await ok(['registry', 'get', 'orders', 'i-1', '-n', 'shop'])).toMatch(/^status: DRAINING$/m);
    expect(await ok(['registry', 'drain', 'orders', 'i-1', '-n', 'shop', '--undo'])).toMatch(/is UP/);
    await watch.waitForStdout((out) => /UPDATED shop\/orders\/i-1 \S+ status=UP/.test(out), 10_000);

    expect(await ok(['registry', 'deregister', 'orders', 'i-1', '-n', 'shop'])).toMatch(
      /^deregistered shop\/orders\/i-1 rev \d+/,
    );
    await watch.waitForStdout((out) => /REMOVED shop\/orders\/i-1 /.test(out), 10_000);
    await interrupt(watch);

    const missing = await ctl(['registry', 'get', 'orders', 'i-1', '-n', 'shop']);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(
      /Error: GET http:\/\/127\.0\.0\.1:\d+\/api\/registry\/v1\/namespaces\/shop\/services\/orders\/instances\/i-1 answered 404/,
    );
  });

  it('register --keep-alive holds the instance until Ctrl-C, then deregisters it', async () => {
    const held = spawnCtl([
      'registry',
      'register',
      'web',
      'w-1',
      '-n',
      'shop',
      '--address',
      '127.0.0.1:9000',
      '--ttl',
      '2',
      '--keep-alive',
    ]);
    await held.waitForStdout((out) => out.includes('registered shop/web/w-1'), 10_000);
    await new Promise((resolve) => setTimeout(resolve, 3000)); // past the TTL: only the heartbeats keep it
    expect(await ok(['registry', 'instances', 'web', '-n', 'shop'])).toContain('w-1');
    await interrupt(held);
    expect(held.stdout()).toMatch(/deregistered shop\/web\/w-1/);
    expect(await ok(['registry', 'instances', 'web', '-n', 'shop'])).toBe('');
  });

  it('names an endpoint that cannot be reached (exit 2)', async () => {
    const r = await ctl(['registry', 'services'], { endpoints: '127.0.0.1:1' });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/cannot reach http:\/\/127\.0\.0\.1:1/);
  });
});

describe.skipIf(skip)('cairnctl config', () => {
  const item = ['orders', 'limits.json', '-n', 'shop'];

  it('creates, publishes, edits in $EDITOR, lists history, diffs and rolls back', async () => {
    await ok([
      'config',
      'apps',
      'create',
      'orders',
      '-n',
      'shop',
      '--create-namespace',
      '--description',
      'orders',
    ]);
    expect(await ok(['config', 'apps', '-n', 'shop'])).toMatch(/^orders, , orders$/m);
    await ok(['config', 'items', 'create', ...item, '--format', 'json']);
    const v1 = join(dir, 'v1.json');
    writeFileSync(v1, '{\n  "max": 10,\n  "min": 1\n}\n');
    expect(await ok(['config', 'publish', ...item, v1, '-m', 'first'])).toMatch(
      /^published shop\/orders\/limits\.json v1 \(rev \d+\)/,
    );

    // The editor: a script that rewrites the file it is given.
    const editor = join(dir, 'editor.sh');
    writeFileSync(editor, '#!/bin/sh\nsed -i \'s/"max": 10/"max": 20/\' "$1"\n');
    chmodSync(editor, 0o755);
    const edited = await ctl(['config', 'edit', ...item, '--yes', '-m', 'raise'], {
      env: { EDITOR: editor },
    });
    expect(edited.code, edited.stderr).toBe(0);
    expect(edited.stdout).toContain(
      '--- shop/orders/limits.json (live v1)\n+++ shop/orders/limits.json (edited)\n',
    );
    expect(edited.stdout).toContain('-  "max": 10,\n+  "max": 20,\n');
    expect(edited.stderr).toMatch(/published v2/);
    expect(await ok(['config', 'get', ...item])).toBe('{\n  "max": 20,\n  "min": 1\n}\n');

    // Without a terminal and without --yes nothing is published; the edit waits as the draft.
    const refused = await ctl(['config', 'edit', ...item], { env: { EDITOR: `sed -i s/20/30/` } });
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(
      /not published: confirmation needed but stdin is not a terminal \(pass --yes\)/,
    );
    expect(await ok(['config', 'get', ...item, '--draft'])).toContain('"max": 30');
    expect(await ok(['config', 'diff', ...item, '--draft'])).toContain('-  "max": 20,\n+  "max": 30,\n');
    expect(await ok(['config', 'get', ...item])).toContain('"max": 20');

    const history = JSON.parse(await ok(['config', 'history', ...item, '-w', 'json'])) as {
      version: number;
      comment: string;
    }[];
    expect(history.map((r) => [r.version, r.comment])).toEqual([
      [2, 'raise'],
      [1, 'first'],
    ]);
    expect(await ok(['config', 'diff', ...item, '1', '2'])).toContain('-  "max": 10,\n+  "max": 20,\n');
    expect(await ok(['config', 'history', ...item, '-w', 'table'])).toMatch(
      /\| +2 \| publish \| anonymous \|/,
    );

    expect(await ok(['config', 'rollback', ...item, '1'])).toMatch(
      /rolled back to v1: shop\/orders\/limits\.json v3/,
    );
    expect(await ok(['config', 'get', ...item])).toContain('"max": 10');
    expect(await ok(['config', 'get', ...item, '--version', '2'])).toContain('"max": 20');
    expect(await ok(['config', 'items', 'orders', '-n', 'shop', '-w', 'table'])).toMatch(
      /\| limits\.json \| json +\| +3 \| yes/,
    );
  });

  it('watches an app live through a gray release; lists listeners', async () => {
    const watch = spawnCtl([
      'config',
      'watch',
      'orders',
      '-n',
      'shop',
      '--labels',
      'zone=eu',
      '--subscriber',
      'ctl-test',
    ]);
    await watch.waitForStdout((out) => /SNAPSHOT rev=\d+\n {2}limits\.json v3 json/.test(out), 10_000);
    // A subscriber's report (as the SDK sends after applying a release) is what `config listeners` lists.
    const report = await fetch(`${member.clientUrl}/api/config/v1/namespaces/shop/apps/orders/listeners`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ subscriberId: 'svc-1', labels: { zone: 'eu' }, versions: { 'limits.json': 2 } }),
    });
    expect(report.status).toBe(204);
    expect(await ok(['config', 'listeners', 'orders', '-n', 'shop'])).toMatch(
      /^svc-1, zone=eu, .*limits\.json=2/m,
    );
    expect(await ok(['config', 'listeners', 'orders', 'limits.json', '-n', 'shop'])).toMatch(
      /^svc-1, zone=eu, .*, 2\/3, /m,
    );

    const gray = join(dir, 'gray.json');
    writeFileSync(gray, '{"max": 99}\n');
    expect(await ok(['config', 'gray', 'start', ...item, gray, '--labels', 'zone=eu'])).toMatch(
      /gray release v4 started for labels zone=eu, 100%/,
    );
    await watch.waitForStdout((out) => /CHANGE rev=\d+\n {2}limits\.json v4 \(gray\)/.test(out), 10_000);
    expect(await ok(['config', 'gray', ...item, '-w', 'json'])).toContain('"version":4');
    expect(await ok(['config', 'gray', 'abandon', ...item])).toBe('gray release abandoned\n');
    await watch.waitForStdout(
      (out) => /CHANGE rev=\d+\n {2}limits\.json v3 json/.test(out.slice(out.indexOf('(gray)'))),
      10_000,
    );
    // Another gray release, to a tenth of the eu subscribers, promoted to everyone.
    expect(
      await ok(['config', 'gray', 'start', ...item, gray, '--labels', 'zone=eu', '--percentage', '10']),
    ).toMatch(/gray release v5 started for labels zone=eu, 10%/);
    expect(await ok(['config', 'gray', 'promote', ...item])).toMatch(
      /^promoted shop\/orders\/limits\.json v6 /,
    );
    await watch.waitForStdout((out) => /CHANGE rev=\d+\n {2}limits\.json v6 json/.test(out), 10_000);
    expect(await ok(['config', 'get', ...item])).toBe('{"max": 99}\n');
    await interrupt(watch);
  });

  it('exports and imports (json with progress, zip, directory)', async () => {
    const file = join(dir, 'orders.json');
    await ok(['config', 'export', 'orders', '-n', 'shop', '-o', file]);
    const bundle = JSON.parse(readFileSync(file, 'utf8')) as { apps: { items: { content: string }[] }[] };
    expect(bundle.apps[0]!.items[0]!.content).toBe('{"max": 99}\n');
    bundle.apps[0]!.items[0]!.content = '{"max": 42}\n';
    writeFileSync(file, JSON.stringify(bundle));
    const imported = await ctl(['config', 'import', file, '--publish']);
    expect(imported.code, imported.stderr).toBe(0);
    expect(imported.stdout).toBe('imported 1 item(s) into shop: 1 published, 0 draft(s), 0 unchanged\n');
    expect(imported.stderr).toMatch(/^import: 1 app\(s\), 1 item\(s\): 1 published/m);
    expect(await ok(['config', 'get', ...item])).toBe('{"max": 42}\n');

    const zip = join(dir, 'shop.zip');
    await ok(['config', 'export', '-n', 'shop', '-o', zip]);
    expect(readFileSync(zip).subarray(0, 2).toString()).toBe('PK');
    expect(await ok(['config', 'import', zip])).toMatch(/1 unchanged/);

    const tree = join(dir, 'tree');
    await ok(['config', 'export', 'orders', '-n', 'shop', '-o', tree, '--format', 'dir']);
    writeFileSync(join(tree, 'shop', 'orders', 'limits.json'), '{"max": 43}\n');
    expect(await ok(['config', 'import', tree])).toMatch(/0 published, 1 draft\(s\)/);
    expect(await ok(['config', 'get', ...item, '--draft'])).toBe('{"max": 43}\n');

    const bad = await ctl(['config', 'import', '-'], { stdin: '{"kind":"other"}' });
    expect(bad.code).toBe(3);
    expect(bad.stderr).toContain('stdin: kind is "other", expected "cairn.config.bundle"');
  });
});

describe.skipIf(skip)('cairnctl registry and config with auth on', () => {
  const b64 = (text: string): string => Buffer.from(text).toString('base64');
  const prefixEnd = (prefix: string): string => {
    const bytes = Buffer.from(prefix);
    bytes[bytes.length - 1]! += 1;
    return bytes.toString('base64');
  };
  const gw = async (path: string, body: object): Promise<void> => {
    const answer = await gatewayPost(member, path, body);
    expect(answer.status, `${path}: ${JSON.stringify(answer.body)}`).toBe(200);
  };

  beforeAll(async () => {
    if (skip) return;
    await gw('/v3/auth/user/add', { name: 'root', password: 'root-pw' });
    await gw('/v3/auth/role/add', { name: 'root' }).catch(() => undefined);
    await gw('/v3/auth/user/grant', { user: 'root', role: 'root' });
    for (const [role, perm] of [
      ['rw', 'READWRITE'],
      ['r', 'READ'],
    ] as const) {
      await gw('/v3/auth/role/add', { name: role });
      for (const prefix of ['/cairn/config/shop/orders/', '/cairn/registry/shop/'])
        await gw('/v3/auth/role/grant', {
          name: role,
          perm: { permType: perm, key: b64(prefix), range_end: prefixEnd(prefix) },
        });
    }
    await gw('/v3/auth/user/add', { name: 'writer', password: 'w-pw' });
    await gw('/v3/auth/user/grant', { user: 'writer', role: 'rw' });
    await gw('/v3/auth/user/add', { name: 'reader', password: 'r-pw' });
    await gw('/v3/auth/user/grant', { user: 'reader', role: 'r' });
    await gw('/v3/auth/enable', {});
  });

  it('lets a permitted user in, says 401 means authentication required, and names the grant of a 403', async () => {
    const v = join(dir, 'auth.json');
    writeFileSync(v, '{"max": 7}\n');
    expect(
      await ok(['--user', 'writer:w-pw', 'config', 'publish', 'orders', 'limits.json', '-n', 'shop', v]),
    ).toMatch(/^published /);
    expect(
      await ok([
        '--user',
        'reader',
        '--password',
        'r-pw',
        'config',
        'get',
        'orders',
        'limits.json',
        '-n',
        'shop',
      ]),
    ).toBe('{"max": 7}\n');
    // The environment, as etcdctl's ETCDCTL_USER.
    await ok(['registry', 'register', 'orders', 'a-1', '-n', 'shop', '--address', '127.0.0.1:7000'], {
      env: { CAIRNCTL_USER: 'writer:w-pw' },
    });

    const anonymous = await ctl(['config', 'get', 'orders', 'limits.json', '-n', 'shop']);
    expect(anonymous.code).toBe(1);
    expect(anonymous.stderr).toMatch(
      /^Error: authentication required: GET http:\/\/127\.0\.0\.1:\d+\/api\/config\/v1\/namespaces\/shop\/apps\/orders\/items\/limits\.json answered 401 \(etcdserver: user name is empty\)/,
    );

    const denied = await ctl([
      '--user',
      'reader:r-pw',
      'config',
      'publish',
      'orders',
      'limits.json',
      '-n',
      'shop',
      v,
    ]);
    expect(denied.code).toBe(1);
    expect(denied.stderr).toMatch(
      /^Error: permission denied: POST http:\/\/127\.0\.0\.1:\d+\/api\/config\/v1\/namespaces\/shop\/apps\/orders\/items\/limits\.json\/publish answered 403 \(etcdserver: permission denied\); the user needs READWRITE on \/cairn\/config\/shop\/orders\/ \(prefix\)/,
    );
    const deniedRegistry = await ctl([
      '--user',
      'reader:r-pw',
      'registry',
      'deregister',
      'orders',
      'a-1',
      '-n',
      'shop',
    ]);
    expect(deniedRegistry.code).toBe(1);
    expect(deniedRegistry.stderr).toMatch(
      /permission denied: DELETE \S+ answered 403 .*READWRITE on \/cairn\/registry\/shop\//,
    );
    const badPassword = await ctl(['--user', 'writer:nope', 'registry', 'services', '-n', 'shop']);
    expect(badPassword.code).toBe(1);
    expect(badPassword.stderr).toMatch(
      /authentication failed: POST \S+\/v3\/auth\/authenticate as "writer": etcdserver: authentication failed, invalid user ID or password/,
    );
  });
});

describe.skipIf(skip)('cairnctl registry and config over TLS', () => {
  let tlsMember: Member;
  let tlsFlags: string[];

  beforeAll(async () => {
    if (skip) return;
    const ca = createCertAuthority({ name: 'ctl-ca' });
    const server = issueServerCert(ca);
    const client = issueClientCert(ca, 'ops');
    // prettier-ignore
    tlsMember = await startMember({
      extraFlags: ['--cert-file', server.certFile, '--key-file', server.keyFile, '--trusted-ca-file', ca.certFile, '--client-cert-auth'],
      clientTls: { caFile: ca.certFile, certFile: client.certFile, keyFile: client.keyFile },
    });
    tlsFlags = ['--cacert', ca.certFile, '--cert', client.certFile, '--key', client.keyFile];
  }, 60_000);

  it('verifies the member with --cacert and presents the client certificate; without it the handshake fails', async () => {
    const endpoint = tlsMember.clientUrl.replace(/^https:\/\//, ''); // scheme-less: TLS flags imply https
    const watch = spawnCtl([...tlsFlags, 'registry', 'watch', '-n', 'tls'], { endpoints: endpoint });
    await watch.waitForStdout((out) => out.includes('SNAPSHOT (no instances)'), 10_000);
    await ok([...tlsFlags, 'registry', 'register', 'api', 't-1', '-n', 'tls', '--address', '127.0.0.1:443'], {
      endpoints: endpoint,
    });
    await watch.waitForStdout((out) => /ADDED tls\/api\/t-1 /.test(out), 10_000);
    await interrupt(watch);
    await ok([...tlsFlags, 'config', 'apps', 'create', 'web', '-n', 'tls'], { endpoints: endpoint });
    expect(await ok([...tlsFlags, 'config', 'apps', '-n', 'tls'], { endpoints: endpoint })).toMatch(
      /^web, /m,
    );

    const noCert = await ctl(['--cacert', tlsFlags[1]!, 'registry', 'services', '-n', 'tls'], {
      endpoints: endpoint,
    });
    expect(noCert.code).toBe(2);
    expect(noCert.stderr).toMatch(new RegExp(`cannot reach https://${endpoint.replace(/\./g, '\\.')}`));
    const untrusted = await ctl(['registry', 'services', '-n', 'tls'], { endpoints: tlsMember.clientUrl });
    expect(untrusted.code).toBe(2);
    expect(untrusted.stderr).toMatch(/self[- ]signed|unable to verify|UNABLE_TO_VERIFY/i);
  });
});
