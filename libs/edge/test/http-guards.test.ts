// The HTTP/1.1 edge guards as pure decisions: Origin/Sec-Fetch-Site (CSRF), Host (DNS rebinding), JSON depth.
import { describe, expect, it } from 'vitest';
import {
  type GuardedRequest,
  type HttpGuardPolicy,
  MAX_JSON_DEPTH,
  guardRequest,
  hostAllowed,
  hostEnforced,
  hostnameOf,
  httpBodyLimit,
  httpGuardPolicy,
  isIpLiteral,
  isLoopbackHost,
  jsonDepthExceeds,
  parseCorsOrigins,
  parseHostWhitelist,
  sameOrigin,
} from '../src/http-guards';

const loopback = (cors = '', hostWhitelist = ''): HttpGuardPolicy =>
  httpGuardPolicy({
    cors,
    hostWhitelist,
    listenClientUrls: ['http://127.0.0.1:2379'],
    advertiseClientUrls: ['http://127.0.0.1:2379'],
  });

const podIp = (cors = '', hostWhitelist = ''): HttpGuardPolicy =>
  httpGuardPolicy({
    cors,
    hostWhitelist,
    listenClientUrls: ['http://0.0.0.0:2379'],
    advertiseClientUrls: ['http://cairn-0.cairn.default.svc:2379'],
  });

const request = (fields: Partial<GuardedRequest>): GuardedRequest => ({
  method: 'POST',
  host: '127.0.0.1:2379',
  origin: undefined,
  secFetchSite: undefined,
  secFetchMode: undefined,
  ...fields,
});

describe('flag parsing', () => {
  it('parses --cors origins and --host-whitelist names like etcd (comma-separated, * allows all)', () => {
    expect([...parseCorsOrigins(' http://A.example:8080/ , *,')]).toEqual(['http://a.example:8080', '*']);
    expect([...parseHostWhitelist('Example.COM:2379,[::1]:2379,10.0.0.1')]).toEqual([
      'example.com',
      '::1',
      '10.0.0.1',
    ]);
    expect(parseCorsOrigins('').size).toBe(0);
  });

  it('reads host names out of Host headers', () => {
    expect(hostnameOf('LocalHost:2379')).toBe('localhost');
    expect(hostnameOf('[::1]:2379')).toBe('::1');
    expect(hostnameOf('::1')).toBe('::1');
    expect(hostnameOf('example.com')).toBe('example.com');
    expect(isIpLiteral('10.1.2.3')).toBe(true);
    expect(isIpLiteral('300.1.2.3')).toBe(false);
    expect(isIpLiteral('fe80::1')).toBe(true);
    expect(isIpLiteral('evil.com')).toBe(false);
    expect(isLoopbackHost('127.4.5.6')).toBe(true);
    expect(isLoopbackHost('app.localhost')).toBe(true);
    expect(isLoopbackHost('10.0.0.1')).toBe(false);
  });

  it('bounds HTTP bodies at a base64-encoded --max-request-bytes plus gRPC’s overhead', () => {
    expect(httpBodyLimit(1.5 * 1024 * 1024)).toBe(2 * 1024 * 1024 + 512 * 1024);
  });
});

describe('Host (DNS rebinding)', () => {
  it('is enforced by default only when every listen URL is loopback; --host-whitelist turns it on, * off', () => {
    const none = new Set<string>();
    expect(hostEnforced(['127.0.0.1:2379', 'localhost:22379'], none)).toBe(true);
    expect(hostEnforced(['127.0.0.1:2379', '0.0.0.0:22379'], none)).toBe(false);
    expect(hostEnforced(['0.0.0.0:2379'], new Set(['cairn.example']))).toBe(true);
    expect(hostEnforced(['127.0.0.1:2379'], new Set(['*']))).toBe(false);
  });

  it('accepts loopback names, IP literals, own URL hosts and the whitelist on a loopback member', () => {
    const policy = loopback('', 'cairn.dev.example');
    for (const host of [
      '127.0.0.1:2379',
      'localhost:2379',
      '[::1]:2379',
      '10.0.0.7:2379',
      'cairn.dev.example:2379',
      undefined,
    ]) {
      expect(hostAllowed(policy, host), String(host)).toBe(true);
    }
    expect(hostAllowed(policy, 'evil.example:2379')).toBe(false);
    expect(hostAllowed(loopback(), 'cairn.dev.example:2379')).toBe(false);
  });

  it('accepts any Host on a member listening beyond loopback (Kubernetes Service names)', () => {
    expect(hostAllowed(podIp(), 'cairn.default.svc.cluster.local:2379')).toBe(true);
    expect(hostAllowed(podIp('', 'cairn.example'), 'cairn-0.cairn.default.svc:2379')).toBe(true);
    expect(hostAllowed(podIp('', 'cairn.example'), 'other.example')).toBe(false);
  });

  it('refuses an unknown Host with etcd’s 421 whatever else the request carries', () => {
    const verdict = guardRequest(loopback('*'), request({ host: 'rebound.evil.example:2379' }));
    expect(verdict).toMatchObject({ kind: 'refuse', status: 421 });
  });
});

describe('Origin and Sec-Fetch-Site (cross-site writes)', () => {
  it('passes requests without Origin, whatever they are (curl, etcdctl, SDKs)', () => {
    expect(guardRequest(loopback(), request({}))).toEqual({ kind: 'pass' });
    expect(guardRequest(loopback(), request({ method: 'DELETE' }))).toEqual({ kind: 'pass' });
    expect(guardRequest(loopback(), request({ method: 'OPTIONS' }))).toEqual({ kind: 'preflight' });
  });

  it('refuses a foreign Origin unless --cors allows it', () => {
    const foreign = request({ origin: 'http://evil.example' });
    expect(guardRequest(loopback(), foreign)).toMatchObject({ kind: 'refuse', status: 403 });
    expect(guardRequest(loopback(), { ...foreign, method: 'GET' })).toMatchObject({ kind: 'refuse' });
    // Another port on the same machine is another origin.
    expect(guardRequest(loopback(), request({ origin: 'http://127.0.0.1:3000' }))).toMatchObject({
      kind: 'refuse',
    });
    expect(guardRequest(loopback(), request({ origin: 'null' }))).toMatchObject({ kind: 'refuse' });
    expect(guardRequest(loopback('http://evil.example'), foreign)).toEqual({
      kind: 'pass',
      corsOrigin: 'http://evil.example',
    });
    expect(guardRequest(loopback('*'), foreign)).toEqual({ kind: 'pass', corsOrigin: '*' });
  });

  it('passes same-origin requests (the console page served by the member)', () => {
    expect(guardRequest(loopback(), request({ origin: 'http://127.0.0.1:2379' }))).toEqual({ kind: 'pass' });
    expect(
      guardRequest(loopback(), request({ host: 'localhost:2379', origin: 'http://localhost:2379' })),
    ).toEqual({ kind: 'pass' });
    expect(sameOrigin('http://example.com', 'example.com:80')).toBe(true);
    expect(sameOrigin('https://127.0.0.1:2379', '127.0.0.1:2379')).toBe(false);
  });

  it('refuses Sec-Fetch-Site: cross-site without Origin except top-level navigations', () => {
    const crossSite = request({ secFetchSite: 'cross-site', secFetchMode: 'no-cors' });
    expect(guardRequest(loopback(), crossSite)).toMatchObject({ kind: 'refuse', status: 403 });
    expect(guardRequest(loopback(), { ...crossSite, method: 'GET', secFetchMode: 'navigate' })).toEqual({
      kind: 'pass',
    });
    expect(guardRequest(loopback('*'), crossSite)).toEqual({ kind: 'pass', corsOrigin: '*' });
    expect(guardRequest(loopback(), request({ secFetchSite: 'same-origin' }))).toEqual({ kind: 'pass' });
  });

  it('answers a preflight from an allowed origin and refuses one from another', () => {
    const preflight = request({ method: 'OPTIONS', origin: 'https://ui.example' });
    expect(guardRequest(loopback('https://ui.example'), preflight)).toEqual({
      kind: 'preflight',
      corsOrigin: 'https://ui.example',
    });
    expect(guardRequest(loopback(), preflight)).toMatchObject({ kind: 'refuse', status: 403 });
  });
});

describe('JSON depth', () => {
  const nested = (depth: number): Buffer => Buffer.from('['.repeat(depth) + ']'.repeat(depth));

  it('measures nesting without recursion, even a megabyte deep', () => {
    expect(jsonDepthExceeds(nested(MAX_JSON_DEPTH))).toBe(false);
    expect(jsonDepthExceeds(nested(MAX_JSON_DEPTH + 1))).toBe(true);
    expect(jsonDepthExceeds(nested(1024 * 1024))).toBe(true);
    expect(jsonDepthExceeds(Buffer.from('{"a":{"b":[1,2,{"c":3}]}}'), 4)).toBe(false);
    expect(jsonDepthExceeds(Buffer.from('{"a":{"b":[1,2,{"c":3}]}}'), 3)).toBe(true);
  });

  it('ignores brackets inside strings, escaped quotes included', () => {
    const text = JSON.stringify({ s: '[[[[[[{{{{ \\" [[[[' });
    expect(jsonDepthExceeds(Buffer.from(text), 1)).toBe(false);
  });
});
