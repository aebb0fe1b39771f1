// --listen-metrics-urls: only /metrics and the probes reach the handler (the client URL's app), anything else
// is 404 without reaching it; an https metrics URL terminates TLS with the client URL's terminator.
import { readFileSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MetricsListener } from '../src/metrics-listener';
import { TlsTerminator } from '../src/tls/tls-terminator';
import { type TlsFixtures, makeTlsFixtures } from './tls-fixtures';

let fx: TlsFixtures;
const handled: string[] = [];
const listeners: MetricsListener[] = [];
const handler: http.RequestListener = (req, res) => {
  handled.push(req.url ?? '');
  res.end('served');
};

beforeAll(() => {
  fx = makeTlsFixtures();
});
afterAll(async () => {
  for (const listener of listeners) await listener.close();
  fx?.remove();
});

function get(module: typeof http | typeof https, url: string, options: https.RequestOptions = {}) {
  return new Promise<{ status: number; body: string }>((resolve, reject) => {
    module
      .get(url, { agent: false, ...options }, (res) => {
        let body = '';
        res.on('data', (chunk: Buffer) => (body += chunk.toString()));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      })
      .on('error', reject);
  });
}

describe('MetricsListener', () => {
  it('serves /metrics, /health, /livez, /readyz through the handler and 404s the rest', async () => {
    const listener = new MetricsListener({ handler, handshakeTimeoutMs: 1000 });
    listeners.push(listener);
    const { port } = await listener.listen('127.0.0.1', 0);
    for (const path of ['/metrics', '/health', '/livez', '/readyz?verbose']) {
      expect(await get(http, `http://127.0.0.1:${port}${path}`)).toEqual({ status: 200, body: 'served' });
    }
    for (const path of ['/v3/kv/range', '/', '/api/registry/v1/namespaces', '/metrics/../v3/kv/put']) {
      expect((await get(http, `http://127.0.0.1:${port}${path}`)).status, path).toBe(404);
    }
    expect(handled).toEqual(['/metrics', '/health', '/livez', '/readyz?verbose']);
  });

  it('an https metrics URL uses the TLS terminator', async () => {
    const tls = await TlsTerminator.create({
      certFile: fx.server.cert,
      keyFile: fx.server.key,
      trustedCaFile: '',
      clientCertAuth: false,
      crlFile: '',
      cipherSuites: [],
      minVersion: 'TLS1.2',
      alpnProtocols: ['http/1.1'],
    });
    const listener = new MetricsListener({ handler, tls, handshakeTimeoutMs: 1000 });
    listeners.push(listener);
    const { port } = await listener.listen('127.0.0.1', 0);
    const answer = await get(https, `https://127.0.0.1:${port}/health`, { ca: readFileSync(fx.ca) });
    expect(answer).toEqual({ status: 200, body: 'served' });
    expect((await get(https, `https://127.0.0.1:${port}/version`, { ca: readFileSync(fx.ca) })).status).toBe(
      404,
    );
  });
});
