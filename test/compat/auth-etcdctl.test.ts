// etcd authentication and authorisation through Debian's etcdctl 3.4, modelled on etcd's
// tests/e2e/ctl_v3_auth_test.go (v3.4): root user and auth enable, users, roles, key/prefix/from-key
// permissions, KV/txn/watch/lease as allowed and denied users, maintenance as root and non-root,
// revocation, password change, deletion, auth disable. Every expected output is what etcdctl 3.4 prints
// against a real etcd 3.4.23 (CAIRN_TEST_TARGET=etcd); the steps share one member and run in order.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  cleanupAll,
  currentTarget,
  restartMember,
  stopMember,
  describeResult,
  etcdctl,
  makeTempDir,
  spawnEtcdctl,
  startMember,
  type ManagedProcess,
  type Member,
} from '../support';
import { type Ctl, PERMISSION_DENIED, denied, escapeRegExp, fails, ok } from './etcdctl-expect';

let member: Member;
let dir: string;

/** etcdctl with the given credential flags (none: an anonymous request). */
function as(...credentials: string[]): Ctl {
  return (args, stdin) =>
    etcdctl([...credentials, ...args], { endpoints: member, ...(stdin === undefined ? {} : { stdin }) });
}

const anonymous = as();
const root = as('--user', 'root:rootpw');
const alice = as('--user', 'alice:alicepw');
const bob = as('--user', 'bob', '--password', 'bobpw');

beforeAll(async () => {
  member = await startMember();
  dir = makeTempDir('cairn-e2e-auth-');
});

afterAll(() => cleanupAll());

/** Where etcd 3.4 and Cairn differ on purpose (docs/security.md), each target's own answer is asserted. */
const ETCD_34 = currentTarget().kind === 'etcd';
const AUTH_FAILED = 'etcdserver: authentication failed, invalid user ID or password';

async function authFails(ctl: Ctl, args: string[]): Promise<void> {
  // etcdctl cannot create its client (Authenticate fails): exit 2 (ExitBadConnection).
  await fails(ctl, args, 2, 'InvalidArgument', AUTH_FAILED);
}

function lines(...items: string[]): string {
  return items.map((item) => `${item}\n`).join('');
}

/** A txn read from stdin: compares, success ops, failure ops (each section ends with a blank line). */
function txnInput(compares: string[], success: string[], failure: string[]): string {
  return [compares, success, failure].map((section) => section.map((l) => `${l}\n`).join('') + '\n').join('');
}

async function memberId(): Promise<string> {
  const out = await ok(root, ['member', 'list']);
  return out.split(',')[0]!.trim();
}

describe('enabling auth', () => {
  it('etcdctl 3.4 has no `auth status`: it prints the auth command help (enable, disable) and exits 0', async () => {
    const out = await ok(anonymous, ['auth', 'status']);
    expect(out).toContain(
      lines('COMMANDS:', '\tdisable\tDisables authentication', '\tenable\tEnables authentication'),
    );
  });

  it('auth enable without a root user fails: root user does not exist (FailedPrecondition)', async () => {
    await fails(
      anonymous,
      ['auth', 'enable'],
      1,
      'FailedPrecondition',
      'etcdserver: root user does not exist',
    );
  });

  it('user add root --new-user-password creates the user; adding it twice: user name already exists', async () => {
    expect(await ok(anonymous, ['user', 'add', 'root', '--new-user-password=rootpw'])).toBe(
      'User root created\n',
    );
    await fails(
      anonymous,
      ['user', 'add', 'root', '--new-user-password=other'],
      1,
      'FailedPrecondition',
      'etcdserver: user name already exists',
    );
  });

  it('auth enable: the server refuses (root user does not have root role), etcdctl grants it and retries', async () => {
    const result = await anonymous(['auth', 'enable']);
    expect(result.code, describeResult(result)).toBe(0);
    expect(result.stdout).toBe('Authentication Enabled\n');
    expect(result.stderr).toContain(
      'code = FailedPrecondition desc = etcdserver: root user does not have root role',
    );
    expect(await ok(root, ['user', 'get', 'root'])).toBe(lines('User: root', 'Roles: root'));
    expect(await ok(root, ['role', 'get', 'root'])).toBe(lines('Role root', 'KV Read:', 'KV Write:'));
  });
});

describe('credentials', () => {
  it('a request without a user fails: user name is empty (InvalidArgument)', async () => {
    await fails(anonymous, ['put', 'foo', 'x'], 1, 'InvalidArgument', 'etcdserver: user name is empty');
    await fails(anonymous, ['get', 'foo'], 1, 'InvalidArgument', 'etcdserver: user name is empty');
  });

  it('a wrong password and an unknown user fail alike: authentication failed (InvalidArgument), exit 2', async () => {
    await authFails(as('--user', 'root:wrong'), ['put', 'foo', 'x']);
    await authFails(as('--user', 'nobody:whatever'), ['get', 'foo']);
  });

  it('root reads and writes every key', async () => {
    expect(await ok(root, ['put', 'foo', 'fooval'])).toBe('OK\n');
    expect(await ok(root, ['get', 'foo'])).toBe(lines('foo', 'fooval'));
    expect(await ok(root, ['put', 'other', 'o'])).toBe('OK\n');
    expect(await ok(root, ['put', '/app/c', '1'])).toBe('OK\n');
  });
});

describe('users, roles and permissions', () => {
  it('user add reads the password from --new-user-password, from stdin (--interactive=false) or name:password', async () => {
    expect(await ok(root, ['user', 'add', 'alice', '--new-user-password=alicepw'])).toBe(
      'User alice created\n',
    );
    expect(await ok(root, ['user', 'add', 'bob', '--interactive=false'], 'bobpw\n')).toBe(
      'User bob created\n',
    );
    expect(await ok(root, ['user', 'add', 'carol:carolpw'])).toBe('User carol created\n');
  });

  it('role add creates a role; adding it twice: role name already exists', async () => {
    expect(await ok(root, ['role', 'add', 'reader'])).toBe('Role reader created\n');
    expect(await ok(root, ['role', 'add', 'writer'])).toBe('Role writer created\n');
    await fails(
      root,
      ['role', 'add', 'reader'],
      1,
      'FailedPrecondition',
      'etcdserver: role name already exists',
    );
  });

  it('role grant-permission takes a key, a [key, end) range, --prefix and --from-key', async () => {
    expect(await ok(root, ['role', 'grant-permission', 'reader', 'read', 'foo'])).toBe(
      'Role reader updated\n',
    );
    expect(await ok(root, ['role', 'grant-permission', 'writer', 'readwrite', '/app/', '--prefix'])).toBe(
      'Role writer updated\n',
    );
    expect(await ok(root, ['role', 'grant-permission', 'writer', 'write', 'z', '--from-key'])).toBe(
      'Role writer updated\n',
    );
    expect(await ok(root, ['role', 'grant-permission', 'writer', 'read', 'k1', 'k5'])).toBe(
      'Role writer updated\n',
    );
  });

  it('role get lists read and write ranges (prefix and open-ended ranges spelled out)', async () => {
    expect(await ok(root, ['role', 'get', 'reader'])).toBe(
      lines('Role reader', 'KV Read:', '\tfoo', 'KV Write:'),
    );
    expect(await ok(root, ['role', 'get', 'writer'])).toBe(
      lines(
        'Role writer',
        'KV Read:',
        '\t[/app/, /app0) (prefix /app/)',
        '\t[k1, k5)',
        'KV Write:',
        '\t[/app/, /app0) (prefix /app/)',
        '\t[z, <open ended>',
      ),
    );
  });

  it('user grant-role grants; an unknown role or user: role name not found / user name not found', async () => {
    expect(await ok(root, ['user', 'grant-role', 'alice', 'writer'])).toBe(
      'Role writer is granted to user alice\n',
    );
    expect(await ok(root, ['user', 'grant-role', 'alice', 'reader'])).toBe(
      'Role reader is granted to user alice\n',
    );
    await fails(
      root,
      ['user', 'grant-role', 'alice', 'nosuch'],
      1,
      'FailedPrecondition',
      'etcdserver: role name not found',
    );
    await fails(
      root,
      ['user', 'grant-role', 'nosuch', 'reader'],
      1,
      'FailedPrecondition',
      'etcdserver: user name not found',
    );
  });

  it('user get lists roles sorted; --detail prints each role; unknown names fail', async () => {
    expect(await ok(root, ['user', 'get', 'alice'])).toBe(lines('User: alice', 'Roles: reader writer'));
    expect(await ok(root, ['user', 'get', 'bob'])).toBe(lines('User: bob', 'Roles:'));
    expect(await ok(root, ['user', 'get', 'alice', '--detail'])).toBe(
      lines(
        'User: alice',
        '',
        'Role reader',
        'KV Read:',
        '\tfoo',
        'KV Write:',
        '',
        'Role writer',
        'KV Read:',
        '\t[/app/, /app0) (prefix /app/)',
        '\t[k1, k5)',
        'KV Write:',
        '\t[/app/, /app0) (prefix /app/)',
        '\t[z, <open ended>',
      ),
    );
    await fails(root, ['user', 'get', 'nosuch'], 1, 'FailedPrecondition', 'etcdserver: user name not found');
    await fails(root, ['role', 'get', 'nosuch'], 1, 'FailedPrecondition', 'etcdserver: role name not found');
  });

  it('user list and role list print one sorted name per line', async () => {
    expect(await ok(root, ['user', 'list'])).toBe(lines('alice', 'bob', 'carol', 'root'));
    expect(await ok(root, ['role', 'list'])).toBe(lines('reader', 'root', 'writer'));
  });

  it('a non-root user may get itself and its own roles, nothing else, and manages nothing', async () => {
    expect(await ok(alice, ['user', 'get', 'alice'])).toBe(lines('User: alice', 'Roles: reader writer'));
    expect(await ok(alice, ['role', 'get', 'reader'])).toBe(
      lines('Role reader', 'KV Read:', '\tfoo', 'KV Write:'),
    );
    await denied(alice, ['user', 'get', 'root']);
    await denied(alice, ['role', 'get', 'root']);
    await denied(alice, ['user', 'list']);
    await denied(alice, ['role', 'list']);
    await denied(alice, ['user', 'add', 'eve', '--new-user-password=x']);
    await denied(alice, ['role', 'add', 'evil']);
    await denied(alice, ['role', 'grant-permission', 'writer', 'readwrite', 'other']);
    await denied(alice, ['user', 'grant-role', 'alice', 'root']);
    await denied(alice, ['user', 'passwd', 'bob', '--interactive=false'], 'x\n');
    await denied(alice, ['auth', 'disable']);
  });
});

describe('KV as allowed and denied users', () => {
  it('readwrite on a prefix: put, get, get --prefix and del inside it', async () => {
    expect(await ok(alice, ['put', '/app/x', '1'])).toBe('OK\n');
    expect(await ok(alice, ['get', '/app/x'])).toBe(lines('/app/x', '1'));
    expect(await ok(alice, ['get', '/app/', '--prefix'])).toBe(lines('/app/c', '1', '/app/x', '1'));
    expect(await ok(alice, ['del', '/app/x'])).toBe('1\n');
  });

  it('a range wider than the grant is denied as a whole', async () => {
    await denied(alice, ['get', '/ap', '--prefix']);
    await denied(alice, ['get', 'k1', 'k6']);
    expect(await ok(alice, ['get', 'k1', 'k5'])).toBe('');
  });

  it('read-only key: get allowed, put denied with permission denied (PermissionDenied)', async () => {
    expect(await ok(alice, ['get', 'foo'])).toBe(lines('foo', 'fooval'));
    await denied(alice, ['put', 'foo', 'nope']);
    expect(await ok(root, ['get', 'foo'])).toBe(lines('foo', 'fooval'));
  });

  it('write-only --from-key range: put allowed, get denied, put --prev-kv denied (prev_kv needs read)', async () => {
    expect(await ok(alice, ['put', 'zz', '1'])).toBe('OK\n');
    expect(await ok(alice, ['put', 'zzzz/deep', '1'])).toBe('OK\n');
    await denied(alice, ['get', 'zz']);
    await denied(alice, ['put', 'zz', '2', '--prev-kv']);
    expect(await ok(root, ['get', 'zz'])).toBe(lines('zz', '1'));
  });

  it('del --prev-kv inside a readwrite prefix prints the deleted pair', async () => {
    expect(await ok(alice, ['put', '/app/y', '2', '--prev-kv'])).toBe('OK\n');
    expect(await ok(alice, ['del', '/app/y', '--prev-kv'])).toBe(lines('1', '/app/y', '2'));
  });

  it('a key outside every grant: put, get and del denied', async () => {
    await denied(alice, ['put', 'other', '1']);
    await denied(alice, ['get', 'other']);
    await denied(alice, ['del', 'other']);
    expect(await ok(root, ['get', 'other'])).toBe(lines('other', 'o'));
  });

  it('a user without roles (--user name --password pw) is denied everything', async () => {
    await denied(bob, ['get', 'foo']);
    await denied(bob, ['put', '/app/b', '1']);
  });
});

describe('txn', () => {
  it('a txn whose compares and ops are all permitted runs', async () => {
    const input = txnInput(['value("/app/c") = "1"'], ['put /app/s ok'], ['put /app/f no']);
    expect(await ok(alice, ['txn'], input)).toBe(lines('SUCCESS', '', 'OK'));
    const get = txnInput(['value("foo") = "fooval"'], ['get /app/s'], []);
    expect(await ok(alice, ['txn'], get)).toBe(lines('SUCCESS', '', '/app/s', 'ok'));
  });

  it('a compare on an unreadable key is denied', async () => {
    await denied(alice, ['txn'], txnInput(['value("other") = "o"'], ['put /app/s x'], []));
  });

  it('an op of the success branch on a denied key is denied', async () => {
    await denied(alice, ['txn'], txnInput(['value("/app/c") = "1"'], ['put foo x'], []));
  });

  it('an op of the branch that would not run is checked too', async () => {
    await denied(alice, ['txn'], txnInput(['value("/app/c") = "1"'], ['put /app/s y'], ['get zz']));
    expect(await ok(root, ['get', '/app/s'])).toBe(lines('/app/s', 'ok'));
  });
});

describe('watch', () => {
  let watcher: ManagedProcess | undefined;

  afterAll(async () => {
    await watcher?.kill();
  });

  it('a watch on a readable prefix delivers events', async () => {
    watcher = spawnEtcdctl(['--user', 'alice:alicepw', 'watch', '/app/', '--prefix'], { endpoints: member });
    // The watch is created once etcdctl has authenticated: retry the put until the event shows up.
    const expected = lines('PUT', '/app/w', '1');
    for (let i = 0; i < 40 && !watcher.stdout().includes(expected); i++) {
      await ok(alice, ['put', '/app/w', '1']);
      await watcher.waitForStdout((out) => out.includes(expected), 250).catch(() => undefined);
    }
    expect(watcher.stdout().startsWith(expected), watcher.describeOutput()).toBe(true);
    await watcher.kill();
  });

  it('a watch on a key without read permission is canceled by the server with permission denied (exit 5)', async () => {
    for (const args of [['other'], ['/ap', '--prefix'], ['zz']]) {
      const result = await alice(['watch', ...args]);
      expect(result.code, describeResult(result)).toBe(5);
      expect(result.stdout).toBe('');
      expect(result.stderr, describeResult(result)).toBe(
        lines(
          'watch was canceled (rpc error: code = PermissionDenied desc = etcdserver: permission denied)',
          'Error: watch is canceled by the server',
        ),
      );
    }
  });
});

describe('lease revoke', () => {
  it('revoking a lease needs write on every attached key', async () => {
    const grant = await ok(alice, ['lease', 'grant', '100']);
    const match = /^lease ([0-9a-f]+) granted with TTL\(100s\)\n$/.exec(grant);
    expect(match, grant).not.toBeNull();
    const id = match![1]!;
    expect(await ok(alice, ['put', '/app/l1', 'v', `--lease=${id}`])).toBe('OK\n');
    expect(await ok(root, ['put', 'other', 'leased', `--lease=${id}`])).toBe('OK\n');
    await fails(alice, ['lease', 'revoke', id], 1, 'PermissionDenied', PERMISSION_DENIED, {
      prefix: 'failed to revoke lease (',
      suffix: ')',
    });
    expect(await ok(alice, ['lease', 'timetolive', id])).toMatch(
      new RegExp(`^lease ${id} granted with TTL\\(100s\\)`),
    );
    expect(await ok(root, ['lease', 'revoke', id])).toBe(`lease ${id} revoked\n`);
    expect(await ok(root, ['get', 'other'])).toBe('');
  });

  it('granting and keeping a lease alive needs no permission (a user without roles may)', async () => {
    const grant = await ok(bob, ['lease', 'grant', '100']);
    const id = /^lease ([0-9a-f]+) granted with TTL\(100s\)\n$/.exec(grant)![1]!;
    expect(await ok(bob, ['lease', 'keep-alive', '--once', id])).toBe(
      `lease ${id} keepalived with TTL(100)\n`,
    );
    expect(await ok(bob, ['lease', 'revoke', id])).toBe(`lease ${id} revoked\n`);
  });

  it('a user revokes its own lease when it may write every attached key', async () => {
    const grant = await ok(alice, ['lease', 'grant', '100']);
    const id = /^lease ([0-9a-f]+) granted/.exec(grant)![1]!;
    expect(await ok(alice, ['put', '/app/l2', 'v', `--lease=${id}`])).toBe('OK\n');
    expect(await ok(alice, ['lease', 'revoke', id])).toBe(`lease ${id} revoked\n`);
    expect(await ok(alice, ['get', '/app/l2'])).toBe('');
  });
});

describe('maintenance and membership: root vs non-root', () => {
  it('member list is open to any user, even anonymous', async () => {
    const list = await ok(root, ['member', 'list']);
    expect(list).toMatch(
      /^[0-9a-f]+, started, m1, http:\/\/127\.0\.0\.1:\d+, https?:\/\/127\.0\.0\.1:\d+, false\n$/,
    );
    expect(await ok(alice, ['member', 'list'])).toBe(list);
    expect(await ok(anonymous, ['member', 'list'])).toBe(list);
  });

  it('member add, update and remove need root', async () => {
    const id = await memberId();
    await denied(alice, ['member', 'add', 'newm', '--peer-urls=http://127.0.0.1:1']);
    await denied(alice, ['member', 'update', id, `--peer-urls=${member.peerUrl}`]);
    await denied(alice, ['member', 'remove', id]);
    expect(await ok(root, ['member', 'update', id, `--peer-urls=${member.peerUrl}`])).toMatch(
      // etcdctl prints the cluster ID as %16x: a leading zero digit becomes a space.
      new RegExp(`^Member ${id} updated in cluster +[0-9a-f]+\n$`),
    );
  });

  // Maintenance denied to a non-root user: etcd 3.4 leaks the auth store's raw error (code Unknown, "auth:
  // ..."); Cairn answers etcd's converted errors, as etcd 3.6 does (docs/security.md, "Where Cairn differs").
  it('snapshot save needs root: a non-root or anonymous stream fails (exit 5)', async () => {
    const denyFile = join(dir, 'denied.db');
    const result = await alice(['snapshot', 'save', denyFile]);
    expect(result.code, describeResult(result)).toBe(5);
    expect(result.stdout).toBe('');
    expect(result.stderr).toMatch(
      ETCD_34
        ? /^Error: rpc error: code = Unknown desc = auth: permission denied$/m
        : /^Error: etcdserver: permission denied$/m,
    );
    const anon = await anonymous(['snapshot', 'save', denyFile]);
    expect(anon.code, describeResult(anon)).toBe(5);
    expect(anon.stderr).toMatch(
      ETCD_34
        ? /^Error: rpc error: code = Unknown desc = auth: user name is empty$/m
        : /^Error: etcdserver: user name is empty$/m,
    );
    expect(existsSync(denyFile)).toBe(false);

    const file = join(dir, 'root.db');
    expect(await ok(root, ['snapshot', 'save', file])).toBe(`Snapshot saved at ${file}\n`);
    expect(existsSync(file)).toBe(true);
  });

  it('defrag needs root: non-root and anonymous fail (exit 1)', async () => {
    const url = member.clientUrl;
    const result = await alice(['defrag']);
    expect(result.code, describeResult(result)).toBe(1);
    expect(result.stdout).toBe('');
    const deniedText = ETCD_34
      ? 'rpc error: code = Unknown desc = auth: permission denied'
      : PERMISSION_DENIED;
    expect(result.stderr).toMatch(
      new RegExp(
        `^Failed to defragment etcd member\\[${escapeRegExp(url)}\\] \\(${escapeRegExp(deniedText)}\\)$`,
        'm',
      ),
    );
    const anon = await anonymous(['defrag']);
    expect(anon.code, describeResult(anon)).toBe(1);
    expect(anon.stderr).toContain(
      ETCD_34
        ? '(rpc error: code = Unknown desc = auth: user name is empty)'
        : '(etcdserver: user name is empty)',
    );
    expect(await ok(root, ['defrag'])).toBe(`Finished defragmenting etcd member[${url}]\n`);
  });

  it('endpoint hashkv needs root: a non-root user fails', async () => {
    const result = await alice(['endpoint', 'hashkv']);
    expect(result.code, describeResult(result)).toBe(1);
    expect(result.stderr).toMatch(
      ETCD_34
        ? /^Error: rpc error: code = Unknown desc = auth: permission denied$/m
        : /^Error: etcdserver: permission denied$/m,
    );
    expect(await ok(root, ['endpoint', 'hashkv'])).toMatch(/^https?:\/\/127\.0\.0\.1:\d+, \d+\n$/);
  });

  // etcd 3.4 lets any user compact and list or disarm alarms; Cairn, as issue 15 asks (and later etcd for
  // compaction), needs the root role for both.
  it('compaction: any user on etcd 3.4, root only on Cairn', async () => {
    const rev = /"revision":(\d+)/.exec(await ok(root, ['get', 'foo', '-w', 'json']))![1]!;
    const earlier = String(Number(rev) - 2);
    if (ETCD_34) {
      expect(await ok(alice, ['compaction', earlier])).toBe(`compacted revision ${earlier}\n`);
      expect(await ok(anonymous, ['compaction', String(Number(rev) - 1)])).toBe(
        `compacted revision ${Number(rev) - 1}\n`,
      );
    } else {
      await denied(alice, ['compaction', earlier]);
      await fails(anonymous, ['compaction', earlier], 1, 'InvalidArgument', 'etcdserver: user name is empty');
    }
    expect(await ok(root, ['compaction', rev])).toBe(`compacted revision ${rev}\n`);
  });

  it('alarms: any user on etcd 3.4, root only on Cairn', async () => {
    if (ETCD_34) {
      expect(await ok(alice, ['alarm', 'list'])).toBe('');
      expect(await ok(alice, ['alarm', 'disarm'])).toBe('');
    } else {
      await denied(alice, ['alarm', 'list']);
      await denied(alice, ['alarm', 'disarm']);
    }
    expect(await ok(root, ['alarm', 'list'])).toBe('');
  });

  it('endpoint health is healthy for a non-root user (the denied health key read still proves consensus)', async () => {
    const result = await alice(['endpoint', 'health']);
    expect(result.code, describeResult(result)).toBe(0);
    expect(result.stderr).toMatch(/is healthy: successfully committed proposal: took = /);
    expect(result.stderr).toContain(`code = PermissionDenied desc = ${PERMISSION_DENIED}`);
  });
});

describe('revoking, changing passwords, deleting', () => {
  it('role revoke-permission removes a range; revoking it again: permission is not granted to the role', async () => {
    expect(await ok(root, ['role', 'revoke-permission', 'writer', '/app/', '--prefix'])).toBe(
      'Permission of range [/app/, /app0) is revoked from role writer\n',
    );
    await denied(alice, ['put', '/app/x', '1']);
    await denied(alice, ['get', '/app/c']);
    await fails(
      root,
      ['role', 'revoke-permission', 'writer', '/app/', '--prefix'],
      1,
      'FailedPrecondition',
      'etcdserver: permission is not granted to the role',
    );
    expect(await ok(root, ['role', 'revoke-permission', 'writer', 'z', '--from-key'])).toBe(
      'Permission of range [z, <open ended> is revoked from role writer\n',
    );
    await denied(alice, ['put', 'zz', '3']);
    expect(await ok(root, ['role', 'revoke-permission', 'writer', 'k1', 'k5'])).toBe(
      'Permission of range [k1, k5) is revoked from role writer\n',
    );
    expect(await ok(root, ['role', 'get', 'writer'])).toBe(lines('Role writer', 'KV Read:', 'KV Write:'));
    await fails(
      root,
      ['role', 'revoke-permission', 'nosuch', 'foo'],
      1,
      'FailedPrecondition',
      'etcdserver: role name not found',
    );
  });

  it('user revoke-role removes the role; revoking it again: role is not granted to the user', async () => {
    expect(await ok(root, ['user', 'revoke-role', 'alice', 'reader'])).toBe(
      'Role reader is revoked from user alice\n',
    );
    await denied(alice, ['get', 'foo']);
    await fails(
      root,
      ['user', 'revoke-role', 'alice', 'reader'],
      1,
      'FailedPrecondition',
      'etcdserver: role is not granted to the user',
    );
    await fails(
      root,
      ['user', 'revoke-role', 'nosuch', 'reader'],
      1,
      'FailedPrecondition',
      'etcdserver: user name not found',
    );
  });

  it('the root role cannot be revoked from root nor deleted: invalid auth management (InvalidArgument)', async () => {
    await fails(
      root,
      ['user', 'revoke-role', 'root', 'root'],
      1,
      'InvalidArgument',
      'etcdserver: invalid auth management',
    );
    await fails(
      root,
      ['role', 'delete', 'root'],
      1,
      'InvalidArgument',
      'etcdserver: invalid auth management',
    );
  });

  it('role delete removes the role from its users; deleting it again: role name not found', async () => {
    expect(await ok(root, ['user', 'get', 'alice'])).toBe(lines('User: alice', 'Roles: writer'));
    expect(await ok(root, ['role', 'delete', 'writer'])).toBe('Role writer deleted\n');
    expect(await ok(root, ['user', 'get', 'alice'])).toBe(lines('User: alice', 'Roles:'));
    await fails(
      root,
      ['role', 'delete', 'writer'],
      1,
      'FailedPrecondition',
      'etcdserver: role name not found',
    );
    expect(await ok(root, ['role', 'list'])).toBe(lines('reader', 'root'));
  });

  it('user passwd (stdin with --interactive=false) replaces the password: the old one fails', async () => {
    expect(await ok(root, ['user', 'grant-role', 'alice', 'reader'])).toBe(
      'Role reader is granted to user alice\n',
    );
    expect(await ok(root, ['user', 'passwd', 'alice', '--interactive=false'], 'alicepw2\n')).toBe(
      'Password updated\n',
    );
    await authFails(alice, ['get', 'foo']);
    expect(await ok(as('--user', 'alice:alicepw2'), ['get', 'foo'])).toBe(lines('foo', 'fooval'));
  });

  it('user delete: the user can no longer authenticate; deleting it again: user name not found', async () => {
    expect(await ok(root, ['user', 'delete', 'alice'])).toBe('User alice deleted\n');
    await authFails(as('--user', 'alice:alicepw2'), ['get', 'foo']);
    await fails(
      root,
      ['user', 'delete', 'alice'],
      1,
      'FailedPrecondition',
      'etcdserver: user name not found',
    );
    expect(await ok(root, ['user', 'list'])).toBe(lines('bob', 'carol', 'root'));
  });
});

describe('disabling auth', () => {
  it('auth disable as root: anonymous requests work again', async () => {
    expect(await ok(root, ['auth', 'disable'])).toBe('Authentication Disabled\n');
    expect(await ok(anonymous, ['put', 'foo', 'anon'])).toBe('OK\n');
    expect(await ok(anonymous, ['get', 'foo'])).toBe(lines('foo', 'anon'));
  });

  it('with auth disabled, credentials (even wrong ones) are ignored: authentication is not enabled', async () => {
    const result = await as('--user', 'nobody:x')(['get', 'foo']);
    expect(result.code, describeResult(result)).toBe(0);
    expect(result.stdout).toBe(lines('foo', 'anon'));
    expect(result.stderr).toContain(
      'code = FailedPrecondition desc = etcdserver: authentication is not enabled',
    );
  });

  it('users and roles survive: anyone lists them; auth disable again is accepted', async () => {
    expect(await ok(anonymous, ['user', 'list'])).toBe(lines('bob', 'carol', 'root'));
    expect(await ok(anonymous, ['role', 'list'])).toBe(lines('reader', 'root'));
    expect(await ok(anonymous, ['auth', 'disable'])).toBe('Authentication Disabled\n');
  });

  it('auth enable again (root already has the root role): no retry, requests need credentials again', async () => {
    const result = await anonymous(['auth', 'enable']);
    expect(result.code, describeResult(result)).toBe(0);
    expect(result.stdout).toBe('Authentication Enabled\n');
    expect(result.stderr).toBe('');
    await fails(anonymous, ['get', 'foo'], 1, 'InvalidArgument', 'etcdserver: user name is empty');
    expect(await ok(as('--user', 'carol:carolpw'), ['user', 'get', 'carol'])).toBe(
      lines('User: carol', 'Roles:'),
    );
    await denied(as('--user', 'carol:carolpw'), ['get', 'foo']);
  });
});

describe('after a restart', () => {
  it('auth stays enabled; users, roles, passwords and permissions are as they were', async () => {
    expect(await ok(root, ['role', 'grant-permission', 'reader', 'readwrite', 'kept/', '--prefix'])).toBe(
      'Role reader updated\n',
    );
    expect(await ok(root, ['user', 'grant-role', 'carol', 'reader'])).toBe(
      'Role reader is granted to user carol\n',
    );
    await stopMember(member);
    await restartMember(member);
    await fails(anonymous, ['get', 'foo'], 1, 'InvalidArgument', 'etcdserver: user name is empty');
    expect(await ok(root, ['user', 'list'])).toBe(lines('bob', 'carol', 'root'));
    // Permissions are listed in key order ('foo' < 'kept/').
    expect(await ok(root, ['role', 'get', 'reader'])).toBe(
      lines(
        'Role reader',
        'KV Read:',
        '\tfoo',
        '\t[kept/, kept0) (prefix kept/)',
        'KV Write:',
        '\t[kept/, kept0) (prefix kept/)',
      ),
    );
    const carol = as('--user', 'carol:carolpw');
    expect(await ok(carol, ['put', 'kept/1', 'v'])).toBe('OK\n');
    expect(await ok(carol, ['get', 'foo'])).toBe(lines('foo', 'anon'));
    await denied(carol, ['put', 'foo', 'x']);
    await authFails(as('--user', 'carol:wrong'), ['get', 'foo']);
  }, 40_000);
});
