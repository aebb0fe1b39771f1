// etcd auth with JWT tokens (`--auth-token jwt,pub-key=...,priv-key=...,sign-method=RS256,ttl=...`),
// modelled on etcd's TestCtlV3AuthTxnJWT / TestCtlV3AuthJWTExpire: etcdctl 3.4 works unchanged; the token
// the gateway's /v3/auth/authenticate hands out is an RS256 JWT with etcd's claims (username, revision,
// exp), verifiable with the public key; a token signed with another key or past its exp is
// `etcdserver: invalid auth token` (Unauthenticated, HTTP 401). Checked against a real etcd 3.4.23 first.
import { createPrivateKey, createSign, createVerify } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  cleanupAll,
  createJwtKeyPair,
  describeResult,
  etcdctl,
  sleep,
  startMember,
  type EtcdctlResult,
  type JwtKeyPair,
  type Member,
} from '../support';

const TTL_SECONDS = 3;

let keys: JwtKeyPair;
let member: Member;

function as(...credentials: string[]) {
  return (args: readonly string[], stdin?: string): Promise<EtcdctlResult> =>
    etcdctl([...credentials, ...args], { endpoints: member, ...(stdin === undefined ? {} : { stdin }) });
}

const anonymous = as();
const root = as('--user', 'root:rootpw');
const alice = as('--user', 'alice:alicepw');

beforeAll(async () => {
  keys = createJwtKeyPair();
  member = await startMember({
    extraFlags: [
      '--auth-token',
      `jwt,pub-key=${keys.publicKeyFile},priv-key=${keys.privateKeyFile},sign-method=RS256,ttl=${TTL_SECONDS}s`,
    ],
  });
}, 60_000);

afterAll(() => cleanupAll());

async function ok(ctl: ReturnType<typeof as>, args: string[], stdin?: string): Promise<string> {
  const result = await ctl(args, stdin);
  expect(result.code, describeResult(result)).toBe(0);
  return result.stdout;
}

async function gateway(
  path: string,
  body: unknown,
  token?: string,
): Promise<{ status: number; json: Record<string, unknown> }> {
  const response = await fetch(`${member.clientUrl}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(token === undefined ? {} : { authorization: token }) },
    body: JSON.stringify(body),
    signal: AbortSignal.timeout(10_000),
  });
  return { status: response.status, json: (await response.json()) as Record<string, unknown> };
}

const b64 = (text: string) => Buffer.from(text).toString('base64');
const b64url = (data: Buffer | string) => Buffer.from(data).toString('base64url');

function decodePart(part: string): Record<string, unknown> {
  return JSON.parse(Buffer.from(part, 'base64url').toString('utf8')) as Record<string, unknown>;
}

async function tokenFor(name: string, password: string): Promise<string> {
  const auth = await gateway('/v3/auth/authenticate', { name, password });
  expect(auth.status, JSON.stringify(auth.json)).toBe(200);
  return auth.json['token'] as string;
}

const INVALID_TOKEN = {
  error: 'etcdserver: invalid auth token',
  message: 'etcdserver: invalid auth token',
  code: 16,
};

describe('JWT tokens', () => {
  it('etcdctl enables auth and sets up a user with a prefix role as with simple tokens', async () => {
    expect(await ok(anonymous, ['user', 'add', 'root', '--new-user-password=rootpw'])).toBe(
      'User root created\n',
    );
    expect((await anonymous(['auth', 'enable'])).stdout).toBe('Authentication Enabled\n');
    expect(await ok(root, ['user', 'add', 'alice', '--new-user-password=alicepw'])).toBe(
      'User alice created\n',
    );
    expect(await ok(root, ['role', 'add', 'app'])).toBe('Role app created\n');
    expect(await ok(root, ['role', 'grant-permission', 'app', 'readwrite', '/app/', '--prefix'])).toBe(
      'Role app updated\n',
    );
    expect(await ok(root, ['user', 'grant-role', 'alice', 'app'])).toBe(
      'Role app is granted to user alice\n',
    );
  });

  it('etcdctl as a user: allowed put/get/txn, denied outside the grant', async () => {
    expect(await ok(alice, ['put', '/app/k', 'v'])).toBe('OK\n');
    expect(await ok(alice, ['get', '/app/k'])).toBe('/app/k\nv\n');
    const txn = 'value("/app/k") = "v"\n\nput /app/t ok\n\n\n';
    expect(await ok(alice, ['txn'], txn)).toBe('SUCCESS\n\nOK\n');
    const denied = await alice(['put', 'other', 'x']);
    expect(denied.code, describeResult(denied)).toBe(1);
    expect(denied.stderr).toMatch(/^Error: etcdserver: permission denied$/m);
    expect(denied.stderr).toContain('code = PermissionDenied desc = etcdserver: permission denied');
  });

  it("Authenticate returns an RS256 JWT with etcd's claims, verifiable with the public key", async () => {
    const before = Math.floor(Date.now() / 1000);
    const token = await tokenFor('alice', 'alicepw');
    const parts = token.split('.');
    expect(parts).toHaveLength(3);
    expect(decodePart(parts[0]!)).toMatchObject({ alg: 'RS256', typ: 'JWT' });
    const claims = decodePart(parts[1]!);
    expect(claims['username']).toBe('alice');
    expect(typeof claims['revision']).toBe('number');
    expect(claims['revision'] as number).toBeGreaterThan(0);
    const exp = claims['exp'] as number;
    expect(exp).toBeGreaterThanOrEqual(before + TTL_SECONDS - 1);
    expect(exp).toBeLessThanOrEqual(Math.ceil(Date.now() / 1000) + TTL_SECONDS + 1);
    const verify = createVerify('RSA-SHA256');
    verify.update(`${parts[0]}.${parts[1]}`);
    expect(verify.verify(readFileSync(keys.publicKeyFile), Buffer.from(parts[2]!, 'base64url'))).toBe(true);
  });

  it('the gateway serves a request carrying the JWT in Authorization, and refuses without one', async () => {
    const token = await tokenFor('alice', 'alicepw');
    const range = await gateway('/v3/kv/range', { key: b64('/app/k') }, token);
    expect(range.status).toBe(200);
    expect((range.json['kvs'] as Array<{ value: string }>)[0]!.value).toBe(b64('v'));
    const anonymousRange = await gateway('/v3/kv/range', { key: b64('/app/k') });
    expect(anonymousRange).toEqual({
      status: 400,
      json: { error: 'etcdserver: user name is empty', message: 'etcdserver: user name is empty', code: 3 },
    });
  });

  it('a token signed with another key is an invalid auth token (Unauthenticated, 401)', async () => {
    const other = createJwtKeyPair(undefined, 'forger');
    const header = b64url(JSON.stringify({ alg: 'RS256', typ: 'JWT' }));
    const claims = b64url(
      JSON.stringify({ username: 'root', revision: 100, exp: Math.floor(Date.now() / 1000) + 600 }),
    );
    const sign = createSign('RSA-SHA256');
    sign.update(`${header}.${claims}`);
    const forged = `${header}.${claims}.${b64url(sign.sign(createPrivateKey(readFileSync(other.privateKeyFile))))}`;
    expect(await gateway('/v3/kv/range', { key: b64('/app/k') }, forged)).toEqual({
      status: 401,
      json: INVALID_TOKEN,
    });
  });

  it(`a token is not extended by use: after its ttl (${TTL_SECONDS} s) it is an invalid auth token`, async () => {
    const token = await tokenFor('alice', 'alicepw');
    expect((await gateway('/v3/kv/range', { key: b64('/app/k') }, token)).status).toBe(200);
    await sleep((TTL_SECONDS + 1.5) * 1000);
    expect(await gateway('/v3/kv/range', { key: b64('/app/k') }, token)).toEqual({
      status: 401,
      json: INVALID_TOKEN,
    });
    // etcdctl authenticates anew for each command, so it is unaffected.
    expect(await ok(alice, ['get', '/app/k'])).toBe('/app/k\nv\n');
  }, 20_000);
});
