// etcd's auth model as the state machine applies it: key-range permissions (single keys, prefixes, from-key,
// unions of grants), the user/role lifecycle with etcd's errors, enforcement on every port call (range, put,
// txn compares and ops, watch creation, lease revoke) for a user, an anonymous client and the member's own
// duty, the auth revision that makes apply refuse a request checked against older permissions, and the two
// token kinds. Over a bare store on real LevelDB (LocalEtcdPort): the same Applier a member runs.
import { generateKeyPairSync } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EtcdError, prefixEnd } from '@cairn/api';
import bcrypt from 'bcryptjs';
import { afterEach, describe, expect, it } from 'vitest';
import {
  Authenticator,
  JwtTokens,
  PasswordGate,
  KeyRangeSet,
  PermissionType,
  SimpleTokens,
  checkPassword,
  hashPassword,
  intervalOf,
} from '../src/auth';
import { type CallContext, type Identity, LocalEtcdPort, MEMBER_DUTY, internalContext } from '../src/port';

const b = (text: string): Buffer => Buffer.from(text);
const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function tempDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'cairn-auth-'));
  cleanups.push(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

async function failure(promise: Promise<unknown> | (() => unknown)): Promise<string> {
  try {
    await (typeof promise === 'function' ? promise() : promise);
  } catch (err) {
    return err instanceof EtcdError ? err.message : `not an EtcdError: ${String(err)}`;
  }
  return 'no error';
}

const as = (user: string, authRevision?: number): CallContext => ({ identity: { user, authRevision } });
const anonymous: CallContext = { identity: { user: '' } };

/** A store with root (root role), alice (reader of /app/, writer of /app/alice/) and auth enabled. */
async function securedStore(): Promise<LocalEtcdPort> {
  const local = await LocalEtcdPort.open({ dataDir: await tempDir() });
  cleanups.push(() => local.close());
  const hash = await bcrypt.hash('pw', 4);
  await local.applyAuth({ auth_user_add: { name: 'root', hashedPassword: hash } });
  await local.applyAuth({ auth_role_add: { name: 'root' } });
  await local.applyAuth({ auth_user_grant_role: { user: 'root', role: 'root' } });
  await local.applyAuth({ auth_role_add: { name: 'app-reader' } });
  await local.applyAuth({
    auth_role_grant_permission: {
      name: 'app-reader',
      perm: { permType: PermissionType.READ, key: b('/app/'), range_end: prefixEnd(b('/app/')) },
    },
  });
  await local.applyAuth({ auth_role_add: { name: 'alice-writer' } });
  await local.applyAuth({
    auth_role_grant_permission: {
      name: 'alice-writer',
      perm: {
        permType: PermissionType.READWRITE,
        key: b('/app/alice/'),
        range_end: prefixEnd(b('/app/alice/')),
      },
    },
  });
  await local.applyAuth({ auth_user_add: { name: 'alice', hashedPassword: hash } });
  await local.applyAuth({ auth_user_grant_role: { user: 'alice', role: 'app-reader' } });
  await local.applyAuth({ auth_user_grant_role: { user: 'alice', role: 'alice-writer' } });
  await local.port.put(internalContext(), { key: b('/app/config'), value: b('v1') });
  await local.applyAuth({ auth_enable: {} });
  return local;
}

describe('key-range permissions', () => {
  const set = (...grants: Array<[string, string]>): KeyRangeSet =>
    new KeyRangeSet(grants.map(([key, end]) => intervalOf(b(key), end === '\0' ? Buffer.of(0) : b(end))));

  it('cover a single key, a prefix, a from-key range and unions of touching grants', () => {
    const grants = set(['/a', ''], ['/p/', '/p0'], ['/z', '\0'], ['/m/', '/m/5'], ['/m/5', '/m0']);
    expect(grants.covers(b('/a'), b(''))).toBe(true);
    expect(grants.covers(b('/a1'), b(''))).toBe(false);
    expect(grants.covers(b('/p/x'), b(''))).toBe(true);
    expect(grants.covers(b('/p/'), b('/p0'))).toBe(true);
    expect(grants.covers(b('/p/'), b('/p1'))).toBe(false);
    expect(grants.covers(b('/zz'), Buffer.of(0))).toBe(true);
    expect(grants.covers(b('/y'), Buffer.of(0))).toBe(false);
    // Two grants that touch ([/m/, /m/5) and [/m/5, /m0)) cover the range across them.
    expect(grants.covers(b('/m/1'), b('/m/9'))).toBe(true);
    expect(grants.covers(b('/'), Buffer.of(0))).toBe(false);
  });
});

describe('the auth store through apply', () => {
  it('refuses AuthEnable without a root user holding the root role, with etcd errors', async () => {
    const local = await LocalEtcdPort.open({ dataDir: await tempDir() });
    cleanups.push(() => local.close());
    expect(await failure(local.applyAuth({ auth_enable: {} }))).toBe('etcdserver: root user does not exist');
    await local.applyAuth({ auth_user_add: { name: 'root', hashedPassword: await bcrypt.hash('x', 4) } });
    expect(await failure(local.applyAuth({ auth_enable: {} }))).toBe(
      'etcdserver: root user does not have root role',
    );
    expect(await failure(local.applyAuth({ auth_user_add: { name: 'root', hashedPassword: 'h' } }))).toBe(
      'etcdserver: user name already exists',
    );
    await local.applyAuth({ auth_role_add: { name: 'r' } });
    expect(await failure(local.applyAuth({ auth_role_add: { name: 'r' } }))).toBe(
      'etcdserver: role name already exists',
    );
    expect(await failure(local.applyAuth({ auth_user_grant_role: { user: 'nobody', role: 'r' } }))).toBe(
      'etcdserver: user name not found',
    );
    expect(await failure(local.applyAuth({ auth_user_grant_role: { user: 'root', role: 'nope' } }))).toBe(
      'etcdserver: role name not found',
    );
    expect(await failure(local.applyAuth({ auth_user_revoke_role: { name: 'root', role: 'r' } }))).toBe(
      'etcdserver: role is not granted to the user',
    );
    expect(
      await failure(
        local.applyAuth({ auth_role_revoke_permission: { role: 'r', key: b('k'), range_end: b('') } }),
      ),
    ).toBe('etcdserver: permission is not granted to the role');
    await local.applyAuth({ auth_user_grant_role: { user: 'root', role: 'root' } });
    await local.applyAuth({ auth_enable: {} });
    // With auth on, root keeps its root role and cannot be deleted.
    expect(await failure(local.applyAuth({ auth_user_delete: { name: 'root' } }))).toBe(
      'etcdserver: invalid auth management',
    );
  });

  it('lets a user read and write exactly its grants; anonymous needs a user; the member duty passes', async () => {
    const { port } = await securedStore();
    const alice = as('alice');
    expect((await port.range(alice, { key: b('/app/config') })).kvs[0]?.value.toString()).toBe('v1');
    await port.put(alice, { key: b('/app/alice/x'), value: b('1') });
    expect(await failure(port.put(alice, { key: b('/app/config'), value: b('v2') }))).toBe(
      'etcdserver: permission denied',
    );
    expect(await failure(port.range(alice, { key: b('/other') }))).toBe('etcdserver: permission denied');
    // A range reaching past the grant is refused whole.
    expect(await failure(port.range(alice, { key: b('/app/'), rangeEnd: b('/b') }))).toBe(
      'etcdserver: permission denied',
    );
    expect(await failure(port.range(anonymous, { key: b('/app/config') }))).toBe(
      'etcdserver: user name is empty',
    );
    expect(await failure(port.put(as('ghost'), { key: b('/app/alice/y'), value: b('1') }))).toBe(
      'etcdserver: permission denied',
    );
    await port.put(as('root'), { key: b('/anything'), value: b('root may') });
    await port.put(internalContext(), { key: b('/duty'), value: b('the member may') });
  });

  it('checks every compare and op of a txn, and READ for prev_kv', async () => {
    const { port } = await securedStore();
    const alice = as('alice');
    const mine = { put: { key: b('/app/alice/t'), value: b('1') } };
    await port.txn(alice, {
      compare: [{ key: b('/app/config'), target: 'VERSION', result: 'GREATER', version: 0 }],
      success: [mine],
    });
    expect(
      await failure(
        port.txn(alice, {
          compare: [{ key: b('/secret'), target: 'VERSION', result: 'GREATER', version: 0 }],
          success: [mine],
        }),
      ),
    ).toBe('etcdserver: permission denied');
    expect(
      await failure(
        port.txn(alice, {
          compare: [],
          success: [mine],
          failure: [{ deleteRange: { key: b('/app/config') } }],
        }),
      ),
    ).toBe('etcdserver: permission denied');
    // A write-only grant does not allow prev_kv (it reads the old value).
    const local = await securedStore();
    await local.applyAuth({ auth_role_add: { name: 'w' } });
    await local.applyAuth({
      auth_role_grant_permission: {
        name: 'w',
        perm: { permType: PermissionType.WRITE, key: b('/w'), range_end: b('') },
      },
    });
    await local.applyAuth({ auth_user_add: { name: 'bob', hashedPassword: await bcrypt.hash('pw', 4) } });
    await local.applyAuth({ auth_user_grant_role: { user: 'bob', role: 'w' } });
    await local.port.put(as('bob'), { key: b('/w'), value: b('1') });
    expect(await failure(local.port.put(as('bob'), { key: b('/w'), value: b('2'), prevKv: true }))).toBe(
      'etcdserver: permission denied',
    );
  });

  it('refuses a watch without READ on its range when it is created', async () => {
    const { port } = await securedStore();
    expect(await failure(() => port.watch(as('alice'), { key: b('/other') }, () => true))).toBe(
      'etcdserver: permission denied',
    );
    const watch = port.watch(as('alice'), { key: b('/app/'), rangeEnd: prefixEnd(b('/app/')) }, () => true);
    watch.cancel();
  });

  it('needs WRITE on every key attached to a lease to revoke it', async () => {
    const { port } = await securedStore();
    const lease = await port.leaseGrant(as('alice'), { ttl: 60 });
    await port.put(as('alice'), { key: b('/app/alice/l'), value: b('1'), lease: lease.id });
    await port.put(as('root'), { key: b('/app/shared'), value: b('1'), lease: lease.id });
    expect(await failure(port.leaseRevoke(as('alice'), lease.id))).toBe('etcdserver: permission denied');
    await port.leaseRevoke(as('root'), lease.id);
  });

  it('refuses at apply a request checked against an older auth revision (stale permissions)', async () => {
    const local = await securedStore();
    const before: Identity = { user: 'alice', authRevision: 1 };
    // The auth store moved on (every change bumps the revision): a request carrying revision 1 is stale.
    expect(
      await failure(local.port.put({ identity: before }, { key: b('/app/alice/z'), value: b('1') })),
    ).toBe('etcdserver: revision of auth store is old');
  });

  it('revokes a permission for later requests, and auth disable opens the store again', async () => {
    const local = await securedStore();
    await local.applyAuth({
      auth_role_revoke_permission: { role: 'app-reader', key: b('/app/'), range_end: prefixEnd(b('/app/')) },
    });
    expect(await failure(local.port.range(as('alice'), { key: b('/app/config') }))).toBe(
      'etcdserver: permission denied',
    );
    await local.applyAuth({ auth_disable: {} }, MEMBER_DUTY);
    expect((await local.port.range(anonymous, { key: b('/app/config') })).kvs).toHaveLength(1);
  });

  it('is kept in the backend: a reopened store has the same users, roles and enabled flag', async () => {
    const dataDir = await tempDir();
    const first = await LocalEtcdPort.open({ dataDir });
    await first.applyAuth({ auth_user_add: { name: 'root', hashedPassword: await bcrypt.hash('x', 4) } });
    await first.applyAuth({ auth_user_grant_role: { user: 'root', role: 'root' } });
    await first.applyAuth({ auth_enable: {} });
    await first.close();
    const second = await LocalEtcdPort.open({ dataDir });
    cleanups.push(() => second.close());
    expect(await failure(second.port.range(anonymous, { key: b('k') }))).toBe(
      'etcdserver: user name is empty',
    );
    await second.port.range(as('root'), { key: b('k') });
  });
});

describe('the authenticator (who a request is)', () => {
  it("waits for another member's fresh simple token to apply here, then knows it; a forged one is refused", async () => {
    const local = await securedStore();
    const tokens = new SimpleTokens(300_000);
    cleanups.push(async () => tokens.close());
    const waits: Array<() => void> = [];
    const authenticator = new Authenticator(local.auth, tokens, {
      clientCertAuth: true,
      // This member has not applied index 57 yet: the wait ends when the test "applies" it.
      waitApplied: () => new Promise<boolean>((resolve) => waits.push(() => resolve(true))),
    });
    const prefix = tokens.newSimpleToken();
    const pending = authenticator.identityOf(`${prefix}.57`, undefined);
    expect(pending).toBeInstanceOf(Promise);
    tokens.assign('alice', 9, prefix, 57); // the Authenticate entry applies here
    waits.shift()!();
    await expect(pending).resolves.toMatchObject({ user: 'alice' });
    // Known at once now; a token no entry ever made is refused after the wait.
    expect(authenticator.identityOf(`${prefix}.57`, undefined)).toMatchObject({ user: 'alice' });
    const forged = authenticator.identityOf('aaaaaaaaaaaaaaaa.58', undefined);
    waits.shift()!();
    await expect(forged).rejects.toThrow('etcdserver: invalid auth token');
    expect(() => authenticator.identityOf('not-a-simple-token', undefined)).toThrow(
      'etcdserver: invalid auth token',
    );
    // No token: the verified certificate's CN (with --client-cert-auth), else anonymous.
    expect(authenticator.identityOf(undefined, 'alice')).toMatchObject({ user: 'alice' });
    expect(authenticator.identityOf(undefined, undefined)).toEqual({ user: '' });
  });
});

describe('passwords and tokens', () => {
  it('runs at most 2 bcrypt jobs at once, queues a bounded number, refuses the rest with "too many requests"', async () => {
    const gate = new PasswordGate(2, 3);
    const releases: Array<() => void> = [];
    const job = () => gate.run(() => new Promise<void>((resolve) => releases.push(resolve)));
    const accepted = [job(), job(), job(), job(), job()];
    await Promise.resolve();
    expect(gate.load).toEqual({ running: 2, waiting: 3 });
    await expect(job()).rejects.toThrow('etcdserver: too many requests');
    while (releases.length > 0 || gate.load.running > 0) {
      releases.shift()?.();
      await new Promise((resolve) => setImmediate(resolve));
    }
    await Promise.all(accepted);
    expect(gate.load).toEqual({ running: 0, waiting: 0 });
  });

  it('hashes with bcrypt at the given cost and never matches an unknown user', async () => {
    const hash = await hashPassword('secret', 4);
    expect(hash).toMatch(/^\$2[aby]\$04\$/);
    expect(await checkPassword('secret', hash)).toBe(true);
    expect(await checkPassword('wrong', hash)).toBe(false);
    expect(await checkPassword('secret', undefined)).toBe(false);
  });

  it('simple tokens: 16 letters and a counter, extended on use, gone after the TTL or with their user', () => {
    let now = 1_000;
    const tokens = new SimpleTokens(300_000, () => now);
    cleanups.push(async () => tokens.close());
    const token = tokens.assign('alice', 5, tokens.newSimpleToken(), 41);
    // etcd's shape: the letters, a dot and the Raft index of the Authenticate entry.
    expect(token).toMatch(/^[a-zA-Z]{16}\.41$/);
    expect(tokens.issuedAt(token)).toBe(41);
    expect(tokens.issuedAt('forged')).toBeUndefined();
    now += 299_000;
    expect(tokens.info(token, 7)).toEqual({ user: 'alice', authRevision: 7 });
    now += 299_000; // extended by the last use
    expect(tokens.info(token, 7)?.user).toBe('alice');
    now += 300_001;
    expect(tokens.info(token, 7)).toBeUndefined();
    const other = tokens.assign('bob', 5, tokens.newSimpleToken(), 42);
    tokens.invalidateUser('bob');
    expect(tokens.info(other, 5)).toBeUndefined();
  });

  it.each(['RS256', 'PS384', 'ES256', 'EdDSA'])(
    'JWT %s: signed claims, expiry, no algorithm switch, no forgery',
    async (method) => {
      const dir = await tempDir();
      const pair =
        method === 'EdDSA'
          ? generateKeyPairSync('ed25519')
          : method.startsWith('ES')
            ? generateKeyPairSync('ec', { namedCurve: 'P-256' })
            : generateKeyPairSync('rsa', { modulusLength: 2048 });
      await writeFile(join(dir, 'key.pem'), pair.privateKey.export({ type: 'pkcs8', format: 'pem' }));
      await writeFile(join(dir, 'key.pub'), pair.publicKey.export({ type: 'spki', format: 'pem' }));
      let now = 1_700_000_000_000;
      const options = {
        privKeyFile: join(dir, 'key.pem'),
        pubKeyFile: join(dir, 'key.pub'),
        signMethod: method,
        ttlSeconds: 300,
      };
      const jwt = new JwtTokens(options, () => now);
      const token = jwt.assign('alice', 9);
      expect(jwt.info(token)).toEqual({ user: 'alice', authRevision: 9 });
      // Another member with only the public key recognises it.
      expect(new JwtTokens({ ...options, privKeyFile: '' }, () => now).info(token)?.user).toBe('alice');
      const [header, claims, signature] = token.split('.');
      const forged = Buffer.from(
        JSON.stringify({ username: 'root', revision: 9, exp: now / 1000 + 300 }),
      ).toString('base64url');
      expect(jwt.info(`${header}.${forged}.${signature}`)).toBeUndefined();
      const none = Buffer.from(JSON.stringify({ alg: 'none', typ: 'JWT' })).toString('base64url');
      expect(jwt.info(`${none}.${claims}.`)).toBeUndefined();
      now += 301_000;
      expect(jwt.info(token)).toBeUndefined();
    },
  );
});
