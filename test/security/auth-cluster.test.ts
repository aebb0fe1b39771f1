// Auth across a 3-member cluster, through etcd's JSON gateway: auth state is replicated (users, roles and
// the enabled flag reach every member, also one that was down and catches up from a snapshot), a simple
// token issued by one member works on the others (the Authenticate entry carries it), a bad token is 401
// "invalid auth token", expired leases are still revoked by the leader with auth on (the member's own duty
// needs no user), and users authenticate again on a restarted member.
// Runs against real etcd 3.4 with CAIRN_TEST_TARGET=etcd as well.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  cleanupAll,
  describeResult,
  etcdctl,
  gatewayPost,
  isHealthy,
  killMember,
  restartMember,
  startCluster,
  waitFor,
  type Member,
} from '../support';

let members: Member[];

const b64 = (text: string): string => Buffer.from(text).toString('base64');

const gateway = (member: Member, path: string, body: object, token?: string) =>
  gatewayPost(member, path, body, { token });

async function authenticate(member: Member, name: string, password: string): Promise<string> {
  const answer = await gateway(member, '/v3/auth/authenticate', { name, password });
  expect(answer.status, JSON.stringify(answer.body)).toBe(200);
  return answer.body['token'] as string;
}

/** etcdctl as root; retried while an election (the killed member may have led) is under way. */
async function root(args: string[], member = members[0]!): Promise<string> {
  const result = await waitFor(
    async () => {
      const attempt = await etcdctl(['--user', 'root:rootpw', ...args], { endpoints: member });
      return /leader changed|no leader|context deadline exceeded/.test(attempt.stderr) ? undefined : attempt;
    },
    { timeoutMs: 15_000, intervalMs: 200, what: `etcdctl ${args.join(' ')} outside an election` },
  );
  expect(result.code, describeResult(result)).toBe(0);
  return result.stdout;
}

beforeAll(async () => {
  // A small snapshot count, so that a member that was down catches up from a snapshot on Cairn.
  members = await startCluster({ size: 3, extraFlags: ['--snapshot-count', '50'] });
  const [m1] = members;
  const anonymous = async (args: string[]): Promise<void> => {
    const result = await etcdctl(args, { endpoints: m1! });
    expect(result.code, describeResult(result)).toBe(0);
  };
  await anonymous(['user', 'add', 'root', '--new-user-password=rootpw']);
  await anonymous(['role', 'add', 'reader']);
  await anonymous(['role', 'grant-permission', 'reader', 'read', '/app/', '--prefix=true']);
  await anonymous(['role', 'add', 'owner']);
  await anonymous(['role', 'grant-permission', 'owner', 'readwrite', '/app/alice/', '--prefix=true']);
  await anonymous(['user', 'add', 'alice', '--new-user-password=alicepw']);
  await anonymous(['user', 'grant-role', 'alice', 'reader']);
  await anonymous(['user', 'grant-role', 'alice', 'owner']);
  await anonymous(['put', '/app/config', 'v1']);
  await anonymous(['auth', 'enable']);
}, 120_000);

afterAll(() => cleanupAll());

describe('auth on a 3-member cluster', () => {
  it('accepts a token issued by one member on every other member', async () => {
    const [m1, m2, m3] = members;
    const token = await authenticate(m1!, 'alice', 'alicepw');
    for (const member of [m2!, m3!]) {
      const read = await gateway(member, '/v3/kv/range', { key: b64('/app/config') }, token);
      expect(read.status, JSON.stringify(read.body)).toBe(200);
      expect((read.body['kvs'] as Array<{ value: string }>)[0]?.value).toBe(b64('v1'));
      const denied = await gateway(member, '/v3/kv/put', { key: b64('/app/config'), value: b64('x') }, token);
      expect([denied.status, denied.body['error']]).toEqual([403, 'etcdserver: permission denied']);
    }
    const write = await gateway(m2!, '/v3/kv/put', { key: b64('/app/alice/k'), value: b64('1') }, token);
    expect(write.status, JSON.stringify(write.body)).toBe(200);
  });

  it('answers a forged token with 401 "invalid auth token" and no credentials with "user name is empty"', async () => {
    const forged = await gateway(members[1]!, '/v3/kv/range', { key: b64('/app/config') }, 'forged.1');
    expect([forged.status, forged.body['error']]).toEqual([401, 'etcdserver: invalid auth token']);
    const none = await gateway(members[1]!, '/v3/kv/range', { key: b64('/app/config') });
    expect([none.status, none.body['error']]).toEqual([400, 'etcdserver: user name is empty']);
    const wrong = await gateway(members[2]!, '/v3/auth/authenticate', { name: 'alice', password: 'nope' });
    expect(wrong.body['error']).toBe('etcdserver: authentication failed, invalid user ID or password');
  });

  it('still revokes an expired lease with auth on: the leader needs no user for its own duty', async () => {
    const token = await authenticate(members[0]!, 'alice', 'alicepw');
    const grant = await gateway(members[0]!, '/v3/lease/grant', { TTL: 2 }, token);
    expect(grant.status, JSON.stringify(grant.body)).toBe(200);
    const lease = grant.body['ID'] as string;
    const put = await gateway(
      members[0]!,
      '/v3/kv/put',
      { key: b64('/app/alice/leased'), value: b64('1'), lease },
      token,
    );
    expect(put.status, JSON.stringify(put.body)).toBe(200);
    await waitFor(
      async () => {
        const read = await gateway(members[2]!, '/v3/kv/range', { key: b64('/app/alice/leased') }, token);
        return read.status === 200 && read.body['kvs'] === undefined ? true : undefined;
      },
      { timeoutMs: 15_000, intervalMs: 250, what: 'the leased key to be deleted on expiry' },
    );
  });

  it('brings auth state to a member that was down (from a snapshot on Cairn), where users authenticate again', async () => {
    const [m1, , m3] = members;
    await killMember(m3!);
    // If m3 led, the others elect a new leader first (etcdctl authenticates within its 2 s dial timeout).
    await waitFor(async () => ((await isHealthy(m1!)) ? true : undefined), {
      timeoutMs: 15_000,
      intervalMs: 100,
      what: 'a leader among the remaining members',
    });
    // While m3 is down: a new role and user, and enough writes for the others to compact their logs.
    await root(['role', 'add', 'late']);
    await root(['role', 'grant-permission', 'late', 'read', '/late/', '--prefix=true']);
    await root(['user', 'add', 'carol', '--new-user-password=carolpw']);
    await root(['user', 'grant-role', 'carol', 'late']);
    const rootToken = await authenticate(m1!, 'root', 'rootpw');
    for (let batch = 0; batch < 6; batch++) {
      await Promise.all(
        Array.from({ length: 20 }, (_, i) =>
          gateway(m1!, '/v3/kv/put', { key: b64(`/fill/${batch}/${i}`), value: b64('x') }, rootToken),
        ),
      );
    }
    await restartMember(m3!);
    await waitFor(
      async () =>
        (await gateway(m3!, '/v3/auth/authenticate', { name: 'carol', password: 'carolpw' })).status === 200
          ? true
          : undefined,
      { timeoutMs: 20_000, intervalMs: 250, what: 'carol to authenticate on the restarted member' },
    );
    const carol = await authenticate(m3!, 'carol', 'carolpw');
    const denied = await gateway(m3!, '/v3/kv/range', { key: b64('/app/config') }, carol);
    expect([denied.status, denied.body['error']]).toEqual([403, 'etcdserver: permission denied']);
    // Tokens are not state: whether one issued before a crash survives it is an accident of the log replay
    // (etcd's too). Clients authenticate again, and that always works.
    const again = await authenticate(m3!, 'alice', 'alicepw');
    const read = await gateway(m3!, '/v3/kv/range', { key: b64('/app/config') }, again);
    expect(read.status, JSON.stringify(read.body)).toBe(200);
  });
});
