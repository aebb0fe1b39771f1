// Issue 14, clean errors for bad input, against a real member: deeply nested JSON answers 400 (not 500
// "Maximum call stack size exceeded") on the gateway and every REST API; a body above the HTTP limit answers
// 413 naming the limit; invalid base64 is a 400 on the console and an InvalidArgument on the gateway, never a
// silently empty value; the gateway carries the same largest value gRPC does.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Member, cleanupAll, etcdctlAt, startMember } from '../support';
import { rawRequest } from './http-client';

const b64 = (text: string | Buffer): string => Buffer.from(text).toString('base64');
const MAX_REQUEST_BYTES = 1.5 * 1024 * 1024;

let member: Member;
let ctl: ReturnType<typeof etcdctlAt>;

beforeAll(async () => {
  member = await startMember();
  ctl = etcdctlAt(member);
});

afterAll(async () => {
  await cleanupAll();
});

const SURFACES: Array<[string, string]> = [
  ['POST', '/v3/kv/put'],
  ['POST', '/v3/kv/txn'],
  ['PUT', '/api/console/v1/keys/value'],
  ['PUT', '/api/registry/v1/namespaces/ns/services/svc/instances/i1'],
  ['PUT', '/api/config/v1/namespaces/ns'],
];

async function healthy(): Promise<void> {
  const health = await rawRequest(`${member.clientUrl}/health`);
  expect(health.status).toBe(200);
}

describe('deep JSON', () => {
  it('answers 400 with a message on every surface, and the member stays healthy', async () => {
    const deep = '['.repeat(100_000) + ']'.repeat(100_000);
    for (const [method, path] of SURFACES) {
      const res = await rawRequest(`${member.clientUrl}${path}`, {
        method,
        headers: { 'content-type': 'application/json' },
        body: `{"key":"a2V5","metadata":${deep}}`,
      });
      expect(res.status, `${path}: ${res.text}`).toBe(400);
      expect(res.text).toMatch(/nests deeper than 100 levels/);
    }
    await healthy();
  });

  it('a nested txn within the bound is served (no stack overflow)', async () => {
    let op: object = { request_range: { key: b64('k') } };
    for (let i = 0; i < 30; i++) op = { request_txn: { success: [op] } };
    const res = await rawRequest(`${member.clientUrl}/v3/kv/txn`, {
      method: 'POST',
      body: JSON.stringify({ success: [op] }),
    });
    expect(res.status, res.text).toBeLessThan(500);
  });
});

describe('huge JSON', () => {
  it('answers 413 naming the limit above the HTTP body limit, on every surface, chunked or not', async () => {
    const huge = JSON.stringify({ key: b64('k'), value: 'a'.repeat(3 * 1024 * 1024) });
    for (const [method, path] of SURFACES) {
      const res = await rawRequest(`${member.clientUrl}${path}`, {
        method,
        headers: { 'content-type': 'application/json' },
        body: huge,
      });
      expect(res.status, `${path}: ${res.text.slice(0, 200)}`).toBe(413);
      expect(res.text).toContain('--max-request-bytes=1572864');
    }
    const chunked = await rawRequest(`${member.clientUrl}/v3/kv/put`, {
      method: 'POST',
      headers: { 'transfer-encoding': 'chunked' },
      body: huge,
    });
    expect(chunked.status).toBe(413);
    await healthy();
  });

  it('carries on the gateway the largest value gRPC carries, and refuses a larger one as etcd does', async () => {
    const fits = Buffer.alloc(MAX_REQUEST_BYTES - 1024, 7);
    const put = await rawRequest(`${member.clientUrl}/v3/kv/put`, {
      method: 'POST',
      body: JSON.stringify({ key: b64('big'), value: b64(fits) }),
    });
    expect(put.status, put.text).toBe(200);
    const tooLarge = await rawRequest(`${member.clientUrl}/v3/kv/put`, {
      method: 'POST',
      body: JSON.stringify({ key: b64('big'), value: b64(Buffer.alloc(MAX_REQUEST_BYTES + 1024, 7)) }),
    });
    expect(tooLarge.status).toBe(400);
    expect(JSON.parse(tooLarge.text)).toMatchObject({ message: 'etcdserver: request is too large' });
  });
});

describe('invalid base64', () => {
  it('the console API answers 400 and stores nothing', async () => {
    for (const bad of ['!!!', 'A', 'YQ=']) {
      const res = await rawRequest(`${member.clientUrl}/api/console/v1/keys/value`, {
        method: 'PUT',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ key: 'b64-key', valueBase64: bad }),
      });
      expect(res.status, res.text).toBe(400);
      expect(res.text).toContain('valueBase64');
    }
    const get = await ctl(['get', 'b64-key']);
    expect(get.stdout).toBe('');
    const ok = await rawRequest(`${member.clientUrl}/api/console/v1/keys/value`, {
      method: 'PUT',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ key: 'b64-key', valueBase64: b64('fine') }),
    });
    expect(ok.status, ok.text).toBe(200);
    expect((await ctl(['get', 'b64-key', '--print-value-only'])).stdout.trim()).toBe('fine');
  });

  it('the gateway answers InvalidArgument (400), as grpc-gateway does', async () => {
    for (const bad of ['!!!', 'A', 'a+-b']) {
      const res = await rawRequest(`${member.clientUrl}/v3/kv/put`, {
        method: 'POST',
        body: JSON.stringify({ key: b64('gw-b64'), value: bad }),
      });
      expect(res.status, res.text).toBe(400);
      expect(JSON.parse(res.text)).toMatchObject({ code: 3 });
    }
    expect((await ctl(['get', 'gw-b64'])).stdout).toBe('');
  });
});

describe('malformed JSON', () => {
  it('a streaming gateway call (keepalive, watch) answers InvalidArgument (400), not 500 (found by the fuzzer)', async () => {
    for (const path of ['/v3/lease/keepalive', '/v3/watch']) {
      const res = await rawRequest(`${member.clientUrl}${path}`, { method: 'POST', body: '{"ID":NaN}' });
      expect(res.status, `${path}: ${res.text}`).toBe(400);
      expect(JSON.parse(res.text)).toMatchObject({ code: 3 });
    }
  });
});
