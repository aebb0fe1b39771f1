// --auth-token jwt: tokens are JWTs signed with the member's private key (claims username, revision, exp), any
// tampering is "invalid auth token", and a token issued before an auth change is refused with "revision of
// auth store is old" (clients authenticate again). Runs against real etcd 3.4 with CAIRN_TEST_TARGET=etcd too.
import { generateKeyPairSync } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  cleanupAll,
  describeResult,
  etcdctl,
  gatewayPost,
  makeTempDir,
  startMember,
  type Member,
} from '../support';

let member: Member;

const b64 = (text: string): string => Buffer.from(text).toString('base64');

const gateway = (path: string, body: object, token?: string) => gatewayPost(member, path, body, { token });

async function ctl(...args: string[]): Promise<void> {
  const result = await etcdctl(args, { endpoints: member });
  expect(result.code, describeResult(result)).toBe(0);
}

beforeAll(async () => {
  const dir = makeTempDir('cairn-e2e-jwt-');
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  writeFileSync(join(dir, 'jwt.key'), privateKey.export({ type: 'pkcs8', format: 'pem' }));
  writeFileSync(join(dir, 'jwt.pub'), publicKey.export({ type: 'spki', format: 'pem' }));
  member = await startMember({
    extraFlags: [
      '--auth-token',
      `jwt,pub-key=${join(dir, 'jwt.pub')},priv-key=${join(dir, 'jwt.key')},sign-method=RS256,ttl=5m`,
    ],
  });
  await ctl('user', 'add', 'root', '--new-user-password=rootpw');
  await ctl('auth', 'enable');
}, 60_000);

afterAll(() => cleanupAll());

describe('JWT tokens', () => {
  it('are RS256 JWTs naming the user that work for its requests; a tampered one is refused', async () => {
    const auth = await gateway('/v3/auth/authenticate', { name: 'root', password: 'rootpw' });
    expect(auth.status, JSON.stringify(auth.body)).toBe(200);
    const token = auth.body['token'] as string;
    const [header, claims, signature] = token.split('.');
    expect(JSON.parse(Buffer.from(header!, 'base64url').toString())).toMatchObject({ alg: 'RS256' });
    expect(JSON.parse(Buffer.from(claims!, 'base64url').toString())).toMatchObject({ username: 'root' });
    const put = await gateway('/v3/kv/put', { key: b64('k'), value: b64('v') }, token);
    expect(put.status, JSON.stringify(put.body)).toBe(200);

    const forgedClaims = Buffer.from(
      JSON.stringify({ ...JSON.parse(Buffer.from(claims!, 'base64url').toString()), username: 'mallory' }),
    ).toString('base64url');
    const forged = await gateway('/v3/kv/range', { key: b64('k') }, `${header}.${forgedClaims}.${signature}`);
    expect([forged.status, forged.body['error']]).toEqual([401, 'etcdserver: invalid auth token']);
  });

  it('refuse a token issued before an auth change with "revision of auth store is old"', async () => {
    const old = (await gateway('/v3/auth/authenticate', { name: 'root', password: 'rootpw' })).body[
      'token'
    ] as string;
    await ctl('--user', 'root:rootpw', 'role', 'add', 'bumps-the-auth-revision');
    const stale = await gateway('/v3/kv/put', { key: b64('k'), value: b64('v2') }, old);
    expect([stale.status, stale.body['error']]).toEqual([400, 'etcdserver: revision of auth store is old']);
    const fresh = (await gateway('/v3/auth/authenticate', { name: 'root', password: 'rootpw' })).body[
      'token'
    ] as string;
    expect((await gateway('/v3/kv/put', { key: b64('k'), value: b64('v2') }, fresh)).status).toBe(200);
  });
});
