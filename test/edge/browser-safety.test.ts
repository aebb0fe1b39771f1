// Issue 14, browser safety, against a real member: a web page cannot write (a cross-site text/plain POST to
// the gateway or a text/plain PUT to the console changes nothing), a DNS-rebinding Host is refused, and
// clients without Origin (curl, etcdctl, SDKs) work as before whatever their content type; --cors lets a
// named origin in with etcd's CORS answers and preflights.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Member, cleanupAll, etcdctlAt, startMember } from '../support';
import { rawRequest } from './http-client';

const b64 = (text: string): string => Buffer.from(text).toString('base64');
const EVIL = 'http://evil.example';

let member: Member;
let ctl: ReturnType<typeof etcdctlAt>;

beforeAll(async () => {
  member = await startMember();
  ctl = etcdctlAt(member);
  const put = await ctl(['put', 'sentinel', 'kept']);
  expect(put.code, put.stderr).toBe(0);
});

afterAll(async () => {
  await cleanupAll();
});

async function sentinel(): Promise<string> {
  const get = await ctl(['get', 'sentinel', '--print-value-only']);
  expect(get.code, get.stderr).toBe(0);
  return get.stdout.trim();
}

const deleteSentinel = JSON.stringify({ key: b64('sentinel') });

describe('cross-site requests are refused and change nothing', () => {
  it('a cross-site text/plain POST /v3/kv/deleterange (Origin: another site)', async () => {
    const res = await rawRequest(`${member.clientUrl}/v3/kv/deleterange`, {
      method: 'POST',
      headers: { origin: EVIL, 'content-type': 'text/plain' },
      body: deleteSentinel,
    });
    expect(res.status, res.text).toBe(403);
    expect(JSON.parse(res.text)).toMatchObject({ code: 7 });
    expect(res.headers['access-control-allow-origin']).toBeUndefined();
    expect(await sentinel()).toBe('kept');
  });

  it('a cross-site request marked only by Sec-Fetch-Site', async () => {
    const res = await rawRequest(`${member.clientUrl}/v3/kv/deleterange`, {
      method: 'POST',
      headers: { 'sec-fetch-site': 'cross-site', 'sec-fetch-mode': 'no-cors', 'content-type': 'text/plain' },
      body: deleteSentinel,
    });
    expect(res.status, res.text).toBe(403);
    expect(await sentinel()).toBe('kept');
  });

  it('a text/plain PUT to the console API from another origin (another port on loopback too)', async () => {
    for (const origin of [EVIL, 'http://127.0.0.1:1']) {
      const res = await rawRequest(`${member.clientUrl}/api/console/v1/keys/value`, {
        method: 'PUT',
        headers: { origin, 'content-type': 'text/plain' },
        body: JSON.stringify({ key: 'sentinel', value: 'pwned' }),
      });
      expect(res.status, res.text).toBe(403);
    }
    expect(await sentinel()).toBe('kept');
  });

  it('a DNS-rebinding Host on a loopback member: 421, as etcd answers', async () => {
    const res = await rawRequest(`${member.clientUrl}/v3/kv/range`, {
      method: 'POST',
      headers: { host: `rebound.evil.example:${new URL(member.clientUrl).port}` },
      body: JSON.stringify({ key: b64('sentinel') }),
    });
    expect(res.status, res.text).toBe(421);
    expect(res.text).not.toContain('kept');
    expect(res.text).not.toContain(b64('kept'));
  });
});

describe('clients without Origin, and the member’s own pages, work as before', () => {
  it('curl-style text/plain and form-encoded gateway writes go through', async () => {
    for (const type of ['text/plain', 'application/x-www-form-urlencoded']) {
      const res = await rawRequest(`${member.clientUrl}/v3/kv/put`, {
        method: 'POST',
        headers: { 'content-type': type },
        body: JSON.stringify({ key: b64('curl-key'), value: b64(type) }),
      });
      expect(res.status, res.text).toBe(200);
    }
    const get = await ctl(['get', 'curl-key', '--print-value-only']);
    expect(get.stdout.trim()).toBe('application/x-www-form-urlencoded');
  });

  it('a text/plain console PUT without Origin still works', async () => {
    const res = await rawRequest(`${member.clientUrl}/api/console/v1/keys/value`, {
      method: 'PUT',
      headers: { 'content-type': 'text/plain' },
      body: JSON.stringify({ key: 'console-key', value: 'v1' }),
    });
    expect(res.status, res.text).toBe(200);
    expect((await ctl(['get', 'console-key', '--print-value-only'])).stdout.trim()).toBe('v1');
  });

  it('same-origin requests (the console page at /) pass, by IP and by localhost', async () => {
    const port = new URL(member.clientUrl).port;
    for (const host of [`127.0.0.1:${port}`, `localhost:${port}`]) {
      const res = await rawRequest(`${member.clientUrl}/api/console/v1/keys/value`, {
        method: 'PUT',
        headers: { host, origin: `http://${host}`, 'content-type': 'application/json' },
        body: JSON.stringify({ key: 'same-origin', value: host }),
      });
      expect(res.status, res.text).toBe(200);
    }
    const page = await rawRequest(`${member.clientUrl}/`, { headers: { host: `localhost:${port}` } });
    expect(page.status).toBe(200);
  });

  it('etcdctl (gRPC) never meets the HTTP checks, whatever :authority it sends', async () => {
    const port = new URL(member.clientUrl).port;
    const byName = etcdctlAt(`http://localhost:${port}`);
    const put = await byName(['put', 'grpc-key', 'ok']);
    expect(put.code, put.stderr).toBe(0);
    expect((await ctl(['get', 'grpc-key', '--print-value-only'])).stdout.trim()).toBe('ok');
  });

  it('an OPTIONS without Origin answers 200, as etcd does', async () => {
    const res = await rawRequest(`${member.clientUrl}/v3/kv/put`, { method: 'OPTIONS' });
    expect(res.status).toBe(200);
  });
});

describe('--cors and --host-whitelist', () => {
  let open: Member;
  const UI = 'https://ui.example';

  beforeAll(async () => {
    open = await startMember({ extraFlags: ['--cors', UI, '--host-whitelist', 'cairn.internal'] });
  });

  it('answers an allowed origin’s preflight and requests with etcd’s CORS headers', async () => {
    const preflight = await rawRequest(`${open.clientUrl}/v3/kv/put`, {
      method: 'OPTIONS',
      headers: { origin: UI, 'access-control-request-method': 'POST' },
    });
    expect(preflight.status).toBe(200);
    expect(preflight.headers['access-control-allow-origin']).toBe(UI);
    expect(preflight.headers['access-control-allow-methods']).toBe('POST, GET, OPTIONS, PUT, DELETE');
    expect(preflight.headers['access-control-allow-headers']).toBe('accept, content-type, authorization');

    const put = await rawRequest(`${open.clientUrl}/v3/kv/put`, {
      method: 'POST',
      headers: { origin: UI, 'content-type': 'application/json' },
      body: JSON.stringify({ key: b64('from-ui'), value: b64('yes') }),
    });
    expect(put.status, put.text).toBe(200);
    expect(put.headers['access-control-allow-origin']).toBe(UI);

    const other = await rawRequest(`${open.clientUrl}/v3/kv/put`, {
      method: 'OPTIONS',
      headers: { origin: EVIL, 'access-control-request-method': 'POST' },
    });
    expect(other.status).toBe(403);
  });

  it('accepts a whitelisted Host and still refuses others', async () => {
    const port = new URL(open.clientUrl).port;
    const ok = await rawRequest(`${open.clientUrl}/health`, { headers: { host: `cairn.internal:${port}` } });
    expect(ok.status).toBe(200);
    const bad = await rawRequest(`${open.clientUrl}/health`, { headers: { host: `other.example:${port}` } });
    expect(bad.status).toBe(421);
  });
});
