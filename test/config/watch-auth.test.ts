// cairn.config.v1.Config/Watch with auth on: subscriptions are served from the member's shared feed of the
// app (libs/config/src/app-feed.ts, read as the member's own duty), so each subscriber proves READ on the app
// itself: a reader gets its snapshot, a bad token is Unauthenticated, another app's grant is
// PermissionDenied, no token at all is etcd's "user name is empty" (InvalidArgument).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as grpc from '@grpc/grpc-js';
import { type ConfigWatchEvent__Output, loadEtcdServices } from '@cairn/api';
import { cleanupAll, currentTarget, startMember, type Member } from '../support';

const skip = currentTarget().kind === 'etcd';
const NS = 'shop';
let member: Member;
const tokens: Record<string, string> = {};

async function json(
  method: string,
  path: string,
  body: unknown,
  token?: string,
): Promise<Record<string, unknown>> {
  const response = await fetch(`${member.clientUrl}${path}`, {
    method,
    headers: { 'content-type': 'application/json', ...(token ? { authorization: token } : {}) },
    body: JSON.stringify(body),
  });
  const answer = (await response.json()) as Record<string, unknown>;
  expect(response.status, `${path}: ${JSON.stringify(answer)}`).toBeLessThan(300);
  return answer;
}

const b64 = (text: string): string => Buffer.from(text).toString('base64');

async function grantUser(name: string, prefix: string): Promise<void> {
  const end = Buffer.from(prefix);
  end[end.length - 1]! += 1;
  await json('POST', '/v3/auth/role/add', { name: `${name}-role` });
  await json('POST', '/v3/auth/role/grant', {
    name: `${name}-role`,
    perm: { permType: 'READ', key: b64(prefix), range_end: end.toString('base64') },
  });
  await json('POST', '/v3/auth/user/add', { name, password: `${name}-pw` });
  await json('POST', '/v3/auth/user/grant', { user: name, role: `${name}-role` });
}

/** The first event of a Watch, or the gRPC code the stream ended with. */
function firstEvent(token: string | undefined): Promise<ConfigWatchEvent__Output | number> {
  const Config = loadEtcdServices().cairn.config.v1.Config;
  const client = new Config(member.clientUrl.replace(/^https?:\/\//, ''), grpc.credentials.createInsecure());
  const metadata = new grpc.Metadata();
  if (token !== undefined) metadata.set('token', token);
  const call = client.Watch({ namespace: NS, app: 'orders', subscriber_id: 'auth-test' }, metadata);
  return new Promise<ConfigWatchEvent__Output | number>((resolve) => {
    const timer = setTimeout(() => resolve(-1), 10_000);
    const done = (result: ConfigWatchEvent__Output | number): void => {
      clearTimeout(timer);
      call.cancel();
      client.close();
      resolve(result);
    };
    call.on('data', (event: ConfigWatchEvent__Output) => done(event));
    call.on('error', (err: { code?: number }) => done(err.code ?? -1));
  });
}

beforeAll(async () => {
  if (skip) return;
  member = await startMember();
  const api = `/api/config/v1/namespaces/${NS}`;
  await json('PUT', api, {});
  await json('PUT', `${api}/apps/orders`, {});
  await json('PUT', `${api}/apps/orders/items/limits.json`, { format: 'json' });
  await json('POST', `${api}/apps/orders/items/limits.json/publish`, { content: '{"a":1}' });
  await json('POST', '/v3/auth/user/add', { name: 'root', password: 'root-pw' });
  await json('POST', '/v3/auth/user/grant', { user: 'root', role: 'root' });
  await grantUser('reader', `/cairn/config/${NS}/orders/`);
  await grantUser('stranger', `/cairn/config/${NS}/billing/`);
  await json('POST', '/v3/auth/enable', {});
  for (const name of ['reader', 'stranger']) {
    tokens[name] = (await json('POST', '/v3/auth/authenticate', { name, password: `${name}-pw` }))[
      'token'
    ] as string;
  }
}, 120_000);

afterAll(() => cleanupAll());

describe.skipIf(skip)('config Watch under auth', () => {
  it('READ on the app subscribes; a bad token, another grant and no token are refused', async () => {
    const snapshot = await firstEvent(tokens['reader']);
    expect(snapshot).toMatchObject({ kind: 'snapshot', items: [{ name: 'limits.json' }] });
    expect(await firstEvent('not-a-token')).toBe(grpc.status.UNAUTHENTICATED);
    expect(await firstEvent(tokens['stranger'])).toBe(grpc.status.PERMISSION_DENIED);
    expect(await firstEvent(undefined)).toBe(grpc.status.INVALID_ARGUMENT);
  });
});
