// The `etcd3` npm client's (1.1.2) auth API against the target, as the client's own suite
// (src/test/roles.test.ts, util.ts setupAuth/removeAuth) uses it: role and user management with the
// client's typed errors, password auth, permission denied on KV, txn and watch, wrong passwords, the
// token reused across requests and renewed when invalid, prefix grants, revocation and deletion taking
// effect on a connected client, auth disable. Expectations were checked against a real etcd 3.4.23.
import {
  Etcd3,
  EtcdAuthenticationFailedError,
  EtcdPermissionDeniedError,
  EtcdRoleExistsError,
  EtcdRoleNotFoundError,
  EtcdRoleNotGrantedError,
  EtcdUserExistsError,
  EtcdUserNotFoundError,
  GRPCInvalidArgumentError,
  type IOptions,
  type Watcher,
} from 'etcd3';
import { noop } from 'cockatiel';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cleanupAll, startMember, type Member } from '../support';

let member: Member;
let admin: Etcd3;
const clients: Etcd3[] = [];

function newClient(auth?: IOptions['auth']): Etcd3 {
  const client = new Etcd3({
    hosts: member.clientUrl,
    dialTimeout: 5000,
    // No circuit breaker: a denied call must not make the client refuse the next ones.
    faultHandling: { host: () => noop, global: noop },
    ...(auth ? { auth } : {}),
  });
  clients.push(client);
  return client;
}

beforeAll(async () => {
  member = await startMember();
  admin = newClient();
});

afterAll(async () => {
  for (const client of clients) client.close();
  await cleanupAll();
});

/** Expects `promise` to reject with an instance of `type` whose message contains `message`. */
async function rejectsWith(
  promise: Promise<unknown>,
  type: new (...args: never[]) => Error,
  message: string,
): Promise<Error> {
  let error: unknown;
  try {
    await promise;
  } catch (e) {
    error = e;
  }
  expect(error, 'expected a rejection').toBeInstanceOf(type);
  expect((error as Error).message).toContain(message);
  return error as Error;
}

const PERMISSION_DENIED = 'etcdserver: permission denied';
const AUTH_FAILED = 'etcdserver: authentication failed, invalid user ID or password';

/** The token the client's authenticator holds (the client's internals, as its own test reads them). */
async function currentToken(client: Etcd3): Promise<string | undefined> {
  const pool = (client as unknown as { pool: { authenticator: { getMetadata(): Promise<Metadata> } } }).pool;
  const metadata = await pool.authenticator.getMetadata();
  return metadata.get('token')[0]?.toString();
}

interface Metadata {
  get(key: string): Array<string | Buffer>;
}

/** Resolves with the watcher's first error (or rejects after `timeoutMs`). */
function firstError(watcher: Watcher, timeoutMs = 10_000): Promise<Error> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('no watch error')), timeoutMs);
    watcher.once('error', (error: Error) => {
      clearTimeout(timer);
      resolve(error);
    });
  });
}

describe('role and user management (auth disabled)', () => {
  it('creates, lists and deletes roles', async () => {
    const role = await admin.role('foo').create();
    expect((await admin.getRoles()).map((r) => r.name)).toEqual(['foo']);
    await role.delete();
    expect(await admin.getRoles()).toEqual([]);
  });

  it('creating an existing role throws EtcdRoleExistsError', async () => {
    await admin.role('dup').create();
    await rejectsWith(
      admin.role('dup').create(),
      EtcdRoleExistsError,
      'etcdserver: role name already exists',
    );
    await admin.role('dup').delete();
  });

  it('deleting or granting to a missing role throws EtcdRoleNotFoundError', async () => {
    await rejectsWith(admin.role('nope').delete(), EtcdRoleNotFoundError, 'etcdserver: role name not found');
    await rejectsWith(
      admin.role('nope').grant({ permission: 'Read', range: admin.range({ prefix: '111' }) }),
      EtcdRoleNotFoundError,
      'etcdserver: role name not found',
    );
  });

  it('round trips permission grants (prefix range and single key) and revokes them', async () => {
    const role = await admin.role('perm').create();
    await role.grant({ permission: 'Read', range: admin.range({ prefix: '111' }) });
    await role.grant({ permission: 'Readwrite', key: 'single' });
    const perms = await role.permissions();
    expect(perms).toHaveLength(2);
    expect(perms[0]).toMatchObject({ permission: 'Read', range: admin.range({ prefix: '111' }) });
    expect(perms[1]!.permission).toBe('Readwrite');
    expect(perms[1]!.range.start.toString()).toBe('single');
    await role.revoke(perms[0]!);
    await role.revoke(perms[1]!);
    expect(await role.permissions()).toHaveLength(0);
    await role.delete();
  });

  it('creates users; an existing name throws EtcdUserExistsError', async () => {
    expect(await admin.getUsers()).toHaveLength(0);
    await admin.user('connor').create('password');
    expect((await admin.getUsers()).map((u) => u.name)).toEqual(['connor']);
    await rejectsWith(
      admin.user('connor').create('password'),
      EtcdUserExistsError,
      'etcdserver: user name already exists',
    );
  });

  it("round trips a user's roles; revoking one not granted throws EtcdRoleNotGrantedError", async () => {
    const role = await admin.role('foo').create();
    const user = admin.user('connor');
    await rejectsWith(
      user.removeRole(role),
      EtcdRoleNotGrantedError,
      'etcdserver: role is not granted to the user',
    );
    await rejectsWith(user.addRole('wut'), EtcdRoleNotFoundError, 'etcdserver: role name not found');
    await user.addRole(role);
    expect((await user.roles()).map((r) => r.name)).toEqual(['foo']);
    await user.removeRole(role);
    expect(await user.roles()).toHaveLength(0);
    await role.addUser('connor');
    expect((await user.roles()).map((r) => r.name)).toEqual(['foo']);
    await role.removeUser(user);
    await role.delete();
  });

  it('deleting a missing user throws EtcdUserNotFoundError; deleting a user removes it', async () => {
    await rejectsWith(admin.user('ghost').delete(), EtcdUserNotFoundError, 'etcdserver: user name not found');
    await admin.user('connor').delete();
    expect(await admin.getUsers()).toEqual([]);
  });
});

describe("password auth (setupAuth as the client's suite does it)", () => {
  let connor: Etcd3;
  let root: Etcd3;

  beforeAll(async () => {
    await admin.put('foo1').value('bar1');
    await admin.put('wut').value('before');
    const rootUser = await admin.user('root').create('password');
    await rootUser.addRole('root');
    await admin.user('connor').create('password');
    const rw = await admin.role('rw_prefix_f').create();
    await rw.grant({ permission: 'Readwrite', range: admin.range({ prefix: 'f' }) });
    await rw.addUser('connor');
    await admin.auth.authEnable();
    connor = newClient({ username: 'connor', password: 'password' });
    root = newClient({ username: 'root', password: 'password' });
  });

  it('a client with the right credentials reads and writes under its prefix', async () => {
    await connor.put('foo').value('bar');
    expect(await connor.get('foo').string()).toBe('bar');
    expect(await connor.getAll().prefix('foo').keys()).toEqual(['foo', 'foo1']);
  });

  it('the token is obtained once and reused across requests', async () => {
    const token = await currentToken(connor);
    expect(token).toMatch(/.+/);
    for (let i = 0; i < 5; i++) await connor.put(`f-reuse-${i}`).value(String(i));
    expect(await connor.get('f-reuse-4').string()).toBe('4');
    expect(await currentToken(connor)).toBe(token);
  });

  it('an invalid token is replaced: the client re-authenticates and the call succeeds', async () => {
    const client = newClient({ username: 'connor', password: 'password' });
    const authenticator = (client as unknown as { pool: { authenticator: { awaitingMetadata: unknown } } })
      .pool.authenticator;
    const { Metadata: GrpcMetadata } = await import('@grpc/grpc-js');
    const bad = new GrpcMetadata();
    bad.add('token', 'lol');
    authenticator.awaitingMetadata = Promise.resolve(bad);
    await client.put('foo').value('retried');
    const token = await currentToken(client);
    expect(token).not.toBe('lol');
    expect(await client.get('foo').string()).toBe('retried');
  });

  it('writing a key outside the grant throws EtcdPermissionDeniedError', async () => {
    await rejectsWith(connor.put('wut').value('bar').exec(), EtcdPermissionDeniedError, PERMISSION_DENIED);
    await rejectsWith(connor.get('wut').string(), EtcdPermissionDeniedError, PERMISSION_DENIED);
    await rejectsWith(connor.delete().key('wut').exec(), EtcdPermissionDeniedError, PERMISSION_DENIED);
    await rejectsWith(connor.getAll().prefix('').keys(), EtcdPermissionDeniedError, PERMISSION_DENIED);
    expect(await root.get('wut').string()).toBe('before');
  });

  it('a txn touching a denied key throws EtcdPermissionDeniedError and changes nothing', async () => {
    await connor.put('foo').value('bar');
    await rejectsWith(
      connor.if('foo', 'Value', '==', 'bar').then(connor.put('wut').value('txn')).commit(),
      EtcdPermissionDeniedError,
      PERMISSION_DENIED,
    );
    await rejectsWith(
      connor.if('wut', 'Value', '==', 'before').then(connor.put('foo').value('txn')).commit(),
      EtcdPermissionDeniedError,
      PERMISSION_DENIED,
    );
    const result = await connor
      .if('foo', 'Value', '==', 'bar')
      .then(connor.put('f-txn').value('ok'))
      .commit();
    expect(result.succeeded).toBe(true);
    expect(await root.get('wut').string()).toBe('before');
  });

  it('a watch on the granted prefix delivers events', async () => {
    const watcher = await connor.watch().prefix('f').create();
    const seen = new Promise<string>((resolve) => watcher.once('put', (kv) => resolve(kv.key.toString())));
    await connor.put('f-watched').value('1');
    expect(await seen).toBe('f-watched');
    await watcher.cancel();
  }, 15_000);

  it('a watch on a key without read permission is canceled: the watcher emits EtcdPermissionDeniedError', async () => {
    // A client of its own (etcd3 1.1.2's watch manager stalls later watches after a canceled create), and
    // watcher() rather than create(): the error listener must be there before the server's cancel arrives.
    const client = newClient({ username: 'connor', password: 'password' });
    const watcher = client.watch().key('wut').watcher();
    const error = await firstError(watcher);
    expect(error).toBeInstanceOf(EtcdPermissionDeniedError);
    // The cancel_reason is the gRPC status text of ErrGRPCPermissionDenied, as etcd's watch server sends it.
    expect(error.message).toBe(
      'Watcher canceled: rpc error: code = PermissionDenied desc = etcdserver: permission denied',
    );
  }, 15_000);

  it('wrong password and unknown user throw EtcdAuthenticationFailedError', async () => {
    const wrong = newClient({ username: 'connor', password: 'bad password' });
    await rejectsWith(wrong.put('foo').value('bar').exec(), EtcdAuthenticationFailedError, AUTH_FAILED);
    const unknown = newClient({ username: 'nobody', password: 'password' });
    await rejectsWith(unknown.get('foo').string(), EtcdAuthenticationFailedError, AUTH_FAILED);
  });

  it('a client without credentials is refused: user name is empty (InvalidArgument)', async () => {
    await rejectsWith(admin.get('foo').string(), GRPCInvalidArgumentError, 'etcdserver: user name is empty');
  });

  it('user and role management needs root: connor is denied, root is not', async () => {
    await rejectsWith(connor.getUsers(), EtcdPermissionDeniedError, PERMISSION_DENIED);
    await rejectsWith(connor.role('evil').create(), EtcdPermissionDeniedError, PERMISSION_DENIED);
    await rejectsWith(connor.user('connor').addRole('root'), EtcdPermissionDeniedError, PERMISSION_DENIED);
    await rejectsWith(connor.auth.authDisable(), EtcdPermissionDeniedError, PERMISSION_DENIED);
    expect((await root.getUsers()).map((u) => u.name)).toEqual(['connor', 'root']);
    // The root role is granted without ever being created: it is not listed.
    expect((await root.getRoles()).map((r) => r.name)).toEqual(['rw_prefix_f']);
  });

  it('a read-only prefix grant: reads allowed, writes denied', async () => {
    const ro = await root.role('ro_prefix_r').create();
    await ro.grant({ permission: 'Read', range: root.range({ prefix: 'r/' }) });
    await root.user('connor').addRole(ro);
    await root.put('r/1').value('one');
    expect(await connor.getAll().prefix('r/').strings()).toEqual({ 'r/1': 'one' });
    await rejectsWith(connor.put('r/2').value('two').exec(), EtcdPermissionDeniedError, PERMISSION_DENIED);
  });

  it('a revoked permission takes effect for a connected client (same token)', async () => {
    const token = await currentToken(connor);
    const rw = root.role('rw_prefix_f');
    const [perm] = await rw.permissions();
    await rw.revoke(perm!);
    await rejectsWith(
      connor.put('foo').value('after-revoke').exec(),
      EtcdPermissionDeniedError,
      PERMISSION_DENIED,
    );
    await rw.grant({ permission: 'Readwrite', range: root.range({ prefix: 'f' }) });
    await connor.put('foo').value('regranted');
    expect(await currentToken(connor)).toBe(token);
  });

  it('a revoked role takes effect for a connected client', async () => {
    await root.user('connor').removeRole('ro_prefix_r');
    await rejectsWith(connor.get('r/1').string(), EtcdPermissionDeniedError, PERMISSION_DENIED);
  });

  it('after setPassword the old password fails and the new one works', async () => {
    await root.user('connor').setPassword('new password');
    const old = newClient({ username: 'connor', password: 'password' });
    await rejectsWith(old.get('foo').string(), EtcdAuthenticationFailedError, AUTH_FAILED);
    const fresh = newClient({ username: 'connor', password: 'new password' });
    expect(await fresh.get('foo').string()).toBe('regranted');
  });

  it("a deleted user's connected client fails to authenticate again", async () => {
    const client = newClient({ username: 'connor', password: 'new password' });
    expect(await client.get('foo').string()).toBe('regranted');
    await root.user('connor').delete();
    await rejectsWith(client.get('foo').string(), EtcdAuthenticationFailedError, AUTH_FAILED);
  });

  it('authDisable as root: clients without credentials work again', async () => {
    await root.auth.authDisable();
    expect(await admin.get('wut').string()).toBe('before');
    await admin.put('wut').value('anyone');
    expect(await admin.get('wut').string()).toBe('anyone');
    expect((await admin.getUsers()).map((u) => u.name)).toEqual(['root']);
  });
});
