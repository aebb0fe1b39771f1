// etcd's Auth service on the JSON gateway (grpc-gateway v1, etcd 3.4): /v3/auth/{enable,disable,
// authenticate}, /v3/auth/user/{add,get,list,grant,revoke,changepw,delete}, /v3/auth/role/{add,get,list,
// grant,revoke,delete}; the raw token in `Authorization`; error bodies and HTTP statuses (permission denied
// 403, invalid token 401, user name is empty / wrong password 400, not found / exists / not enabled 412).
// Every expectation was checked against a real etcd 3.4.23. (AuthStatus, /v3/auth/status, is etcd 3.5: 3.4
// answers 404 and Cairn serves it, so it is not pinned here.)
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cleanupAll, startMember, type Member } from '../support';

let member: Member;

beforeAll(async () => {
  member = await startMember();
});

afterAll(() => cleanupAll());

interface Answer {
  status: number;
  contentType: string;
  text: string;
  json: Record<string, unknown> | undefined;
}

async function post(path: string, body: unknown, token?: string): Promise<Answer> {
  const response = await fetch(`${member.clientUrl}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(token === undefined ? {} : { authorization: token }) },
    body: JSON.stringify(body),
    signal: AbortSignal.timeout(10_000),
  });
  const text = await response.text();
  let json: Record<string, unknown> | undefined;
  try {
    json = JSON.parse(text) as Record<string, unknown>;
  } catch {
    json = undefined;
  }
  return { status: response.status, contentType: response.headers.get('content-type') ?? '', text, json };
}

/** A successful call: 200 and the body without its header (the header is checked apart). */
async function ok(path: string, body: unknown, token?: string): Promise<Record<string, unknown>> {
  const answer = await post(path, body, token);
  expect(answer.status, answer.text).toBe(200);
  const { header, ...rest } = answer.json!;
  expect(header, answer.text).toMatchObject({
    cluster_id: expect.any(String),
    member_id: expect.any(String),
  });
  return rest;
}

/** grpc-gateway v1's error body: {"error": m, "message": m, "code": <gRPC code>}. */
async function fails(
  path: string,
  body: unknown,
  status: number,
  code: number,
  message: string,
  token?: string,
) {
  const answer = await post(path, body, token);
  expect({ status: answer.status, json: answer.json }, answer.text).toEqual({
    status,
    json: { error: message, message, code },
  });
}

const b64 = (text: string) => Buffer.from(text).toString('base64');

async function token(name: string, password: string): Promise<string> {
  const body = await ok('/v3/auth/authenticate', { name, password });
  expect(typeof body['token']).toBe('string');
  return body['token'] as string;
}

let rootToken: string;
let aliceToken: string;

describe('gateway /v3/auth', () => {
  it('auth responses carry the KV store revision in their header', async () => {
    const range = await post('/v3/kv/range', { key: b64('probe') });
    const revision = (range.json!['header'] as { revision?: string }).revision;
    const added = await post('/v3/auth/user/add', { name: 'root', password: 'rootpw' });
    expect(added.status, added.text).toBe(200);
    expect((added.json!['header'] as { revision?: string }).revision).toBe(revision);
  });

  it('user add of an existing name: 412, user name already exists (FailedPrecondition)', async () => {
    await fails(
      '/v3/auth/user/add',
      { name: 'root', password: 'x' },
      412,
      9,
      'etcdserver: user name already exists',
    );
  });

  it('users, roles and permissions round-trip (READWRITE on a prefix, READ on a key)', async () => {
    expect(await ok('/v3/auth/user/grant', { user: 'root', role: 'root' })).toEqual({});
    expect(await ok('/v3/auth/role/add', { name: 'app' })).toEqual({});
    await fails('/v3/auth/role/add', { name: 'app' }, 412, 9, 'etcdserver: role name already exists');
    expect(
      await ok('/v3/auth/role/grant', {
        name: 'app',
        perm: { permType: 'READWRITE', key: b64('/app/'), range_end: b64('/app0') },
      }),
    ).toEqual({});
    expect(
      await ok('/v3/auth/role/grant', { name: 'app', perm: { permType: 'READ', key: b64('shared') } }),
    ).toEqual({});
    expect(await ok('/v3/auth/role/get', { role: 'app' })).toEqual({
      perm: [{ permType: 'READWRITE', key: b64('/app/'), range_end: b64('/app0') }, { key: b64('shared') }],
    });
    expect(await ok('/v3/auth/user/add', { name: 'alice', password: 'alicepw' })).toEqual({});
    expect(await ok('/v3/auth/user/grant', { user: 'alice', role: 'app' })).toEqual({});
    expect(await ok('/v3/auth/user/get', { name: 'alice' })).toEqual({ roles: ['app'] });
    expect(await ok('/v3/auth/user/list', {})).toEqual({ users: ['alice', 'root'] });
    // The root role was granted, never created: it is not listed.
    expect(await ok('/v3/auth/role/list', {})).toEqual({ roles: ['app'] });
  });

  it('auth enable; a wrong password: 400 authentication failed (InvalidArgument)', async () => {
    expect(await ok('/v3/auth/enable', {})).toEqual({});
    await fails(
      '/v3/auth/authenticate',
      { name: 'alice', password: 'bad' },
      400,
      3,
      'etcdserver: authentication failed, invalid user ID or password',
    );
    rootToken = await token('root', 'rootpw');
    aliceToken = await token('alice', 'alicepw');
  });

  it('the raw token in Authorization: allowed put; denied put/range 403 (PermissionDenied)', async () => {
    const put = await post('/v3/kv/put', { key: b64('/app/x'), value: b64('1') }, aliceToken);
    expect(put.status, put.text).toBe(200);
    await fails(
      '/v3/kv/put',
      { key: b64('other'), value: b64('1') },
      403,
      7,
      'etcdserver: permission denied',
      aliceToken,
    );
    await fails('/v3/kv/range', { key: b64('other') }, 403, 7, 'etcdserver: permission denied', aliceToken);
  });

  it('an unknown token: 401 invalid auth token (Unauthenticated); no token: 400 user name is empty', async () => {
    await fails(
      '/v3/kv/range',
      { key: b64('other') },
      401,
      16,
      'etcdserver: invalid auth token',
      'bogus.token',
    );
    await fails('/v3/kv/range', { key: b64('other') }, 400, 3, 'etcdserver: user name is empty');
  });

  it('user and role management needs root: 403 for alice, 200 for root', async () => {
    await fails('/v3/auth/user/list', {}, 403, 7, 'etcdserver: permission denied', aliceToken);
    await fails('/v3/auth/role/add', { name: 'evil' }, 403, 7, 'etcdserver: permission denied', aliceToken);
    expect(await ok('/v3/auth/user/list', {}, rootToken)).toEqual({ users: ['alice', 'root'] });
  });

  it('unknown user or role: 412 user name not found / role name not found', async () => {
    await fails(
      '/v3/auth/user/get',
      { name: 'nosuch' },
      412,
      9,
      'etcdserver: user name not found',
      rootToken,
    );
    await fails(
      '/v3/auth/role/get',
      { role: 'nosuch' },
      412,
      9,
      'etcdserver: role name not found',
      rootToken,
    );
    await fails(
      '/v3/auth/user/delete',
      { name: 'nosuch' },
      412,
      9,
      'etcdserver: user name not found',
      rootToken,
    );
  });

  it("changepw invalidates the user's tokens; revoke, role revoke, role delete and user delete succeed", async () => {
    expect(await ok('/v3/auth/user/changepw', { name: 'alice', password: 'new' }, rootToken)).toEqual({});
    await fails(
      '/v3/kv/range',
      { key: b64('/app/x') },
      401,
      16,
      'etcdserver: invalid auth token',
      aliceToken,
    );
    const fresh = await token('alice', 'new');
    expect((await post('/v3/kv/range', { key: b64('/app/x') }, fresh)).status).toBe(200);
    expect(
      await ok(
        '/v3/auth/role/revoke',
        { role: 'app', key: b64('/app/'), range_end: b64('/app0') },
        rootToken,
      ),
    ).toEqual({});
    await fails(
      '/v3/auth/role/revoke',
      { role: 'app', key: b64('/app/'), range_end: b64('/app0') },
      412,
      9,
      'etcdserver: permission is not granted to the role',
      rootToken,
    );
    expect(await ok('/v3/auth/user/revoke', { name: 'alice', role: 'app' }, rootToken)).toEqual({});
    await fails(
      '/v3/auth/user/revoke',
      { name: 'alice', role: 'app' },
      412,
      9,
      'etcdserver: role is not granted to the user',
      rootToken,
    );
    expect(await ok('/v3/auth/role/delete', { role: 'app' }, rootToken)).toEqual({});
    expect(await ok('/v3/auth/user/delete', { name: 'alice' }, rootToken)).toEqual({});
    await fails('/v3/kv/range', { key: b64('/app/x') }, 401, 16, 'etcdserver: invalid auth token', fresh);
  });

  it('the root role cannot be revoked from root: 400 invalid auth management', async () => {
    await fails(
      '/v3/auth/user/revoke',
      { name: 'root', role: 'root' },
      400,
      3,
      'etcdserver: invalid auth management',
      rootToken,
    );
  });

  it('auth disable as root; then authenticate: 412 authentication is not enabled', async () => {
    expect(await ok('/v3/auth/disable', {}, rootToken)).toEqual({});
    await fails(
      '/v3/auth/authenticate',
      { name: 'root', password: 'rootpw' },
      412,
      9,
      'etcdserver: authentication is not enabled',
    );
    expect((await post('/v3/kv/range', { key: b64('/app/x') })).status).toBe(200);
  });
});
