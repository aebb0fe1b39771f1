// TLS on the client URL with etcd's flags and semantics (issue 15): https listen URLs serving gRPC (etcdctl,
// the etcd3 npm client), the JSON gateway and REST; ALPN h2 and http/1.1; mixed http+https URLs; plaintext to
// the TLS port refused without harm; --client-cert-auth (no certificate / another CA / a revoked one refused,
// the verified CN reaching the request pipeline); --cipher-suites; --tls-min/max-version; certificate
// rotation under load; --auto-tls; --listen-metrics-urls. Certificates are made by the test with openssl.
// CAIRN_TEST_TARGET=etcd runs the same cases against real etcd 3.4 (which lacks --tls-min/max-version and
// Cairn's access log: those cases are Cairn's only).
import { existsSync, renameSync, copyFileSync } from 'node:fs';
import http from 'node:http';
import http2 from 'node:http2';
import https from 'node:https';
import { join } from 'node:path';
import { Etcd3 } from 'etcd3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cleanupAll, currentTarget, etcdctl, makeTempDir, waitFor } from '../support';
import { type Pki, makePki, read, serialOf } from './client-tls-pki';
import {
  type ClientTls,
  type TlsMember,
  httpsRequest,
  startTlsMember,
  tlsHandshake,
} from './client-tls-member';

const isCairn = currentTarget().kind === 'cairn';
const cairnOnly = isCairn ? it : it.skip;

let pki: Pki;
/** https (server cert from the CA) + http; --cipher-suites; its cert files are rotated by a test. */
let open: TlsMember;
let openCertFile: string;
let openKeyFile: string;
/** --client-cert-auth + --trusted-ca-file + --client-crl-file + an http metrics URL. */
let mtls: TlsMember;

/** The member's log (pino JSON lines), wherever it writes them. */
const logOf = (member: TlsMember): string => `${member.process.stdout()}\n${member.process.stderr()}`;
const b64 = (text: string): string => Buffer.from(text).toString('base64');
const caOnly = (): ClientTls => ({ ca: read(pki.caFile) });
const asAlice = (): ClientTls => ({
  ca: read(pki.caFile),
  cert: read(pki.alice.cert),
  key: read(pki.alice.key),
});
const etcdctlTls = (extra: string[] = []): string[] => [
  '--cacert',
  pki.caFile,
  '--dial-timeout',
  '3s',
  ...extra,
];
const aliceFlags = (): string[] => ['--cert', pki.alice.cert, '--key', pki.alice.key];

beforeAll(async () => {
  pki = makePki();
  // The member reads copies, so rotation can replace them.
  const own = makeTempDir('cairn-e2e-client-tls-files-');
  openCertFile = join(own, 'server.pem');
  openKeyFile = join(own, 'server.key');
  copyFileSync(pki.server.cert, openCertFile);
  copyFileSync(pki.server.key, openKeyFile);
  [open, mtls] = await Promise.all([
    startTlsMember({
      // prettier-ignore
      flags: ['--cert-file', openCertFile, '--key-file', openKeyFile,
        '--cipher-suites', 'TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305'],
      plainUrl: true,
      readyTls: caOnly(),
    }),
    startTlsMember({
      // prettier-ignore
      flags: ['--cert-file', pki.server.cert, '--key-file', pki.server.key, '--trusted-ca-file', pki.caFile,
        '--client-cert-auth', '--client-crl-file', pki.crlFile],
      metricsUrl: true,
      readyTls: asAlice(),
      cairnFlags: ['--log-level', 'debug'],
    }),
  ]);
}, 45_000);

afterAll(() => cleanupAll());

describe('https client URL with a CA-signed certificate', () => {
  it('etcdctl --cacert puts and gets; the plaintext URL of the same member serves too', async () => {
    const put = await etcdctl(etcdctlTls(['put', 'tls/k', 'v1']), { endpoints: open.url });
    expect(put.stdout.trim(), `etcdctl put over TLS: ${put.stderr}`).toBe('OK');
    const get = await etcdctl(etcdctlTls(['get', 'tls/k', '--print-value-only']), { endpoints: open.url });
    expect(get.stdout.trim(), `etcdctl get over TLS: ${get.stderr}`).toBe('v1');
    const plain = await etcdctl(['get', 'tls/k', '--print-value-only'], { endpoints: open.plainUrl! });
    expect(plain.stdout.trim(), `etcdctl get over the plaintext URL: ${plain.stderr}`).toBe('v1');
    const noCa = await etcdctl(['get', 'tls/k', '--dial-timeout', '2s'], {
      endpoints: open.url,
      timeoutMs: 10_000,
    });
    expect(noCa.code, 'etcdctl without --cacert does not trust the member').not.toBe(0);
  });

  it('the etcd3 npm client with TLS credentials', async () => {
    const client = new Etcd3({ hosts: open.url, credentials: { rootCertificate: read(pki.caFile) } });
    try {
      await client.put('tls/etcd3').value('v2');
      expect(await client.get('tls/etcd3').string()).toBe('v2');
      const lease = client.lease(10, { autoKeepAlive: false });
      expect(await lease.grant(), 'a lease granted over TLS (grpc-js services)').toMatch(/^\d+$/);
      await lease.revoke();
    } finally {
      client.close();
    }
  });

  it('JSON gateway (and REST and SSE on Cairn) over https', async () => {
    const put = await httpsRequest(`${open.url}/v3/kv/put`, caOnly(), {
      method: 'POST',
      body: JSON.stringify({ key: b64('tls/gw'), value: b64('v3') }),
    });
    expect(put.status, put.body).toBe(200);
    const range = await httpsRequest(`${open.url}/v3/kv/range`, caOnly(), {
      method: 'POST',
      body: JSON.stringify({ key: b64('tls/gw') }),
    });
    expect(JSON.parse(range.body).kvs?.[0]?.value, range.body).toBe(b64('v3'));
    if (isCairn) {
      const rest = await httpsRequest(`${open.url}/api/registry/v1/namespaces`, caOnly());
      expect(rest.status, `REST over https: ${rest.body}`).toBe(200);
      // SSE: a registry watch stream opens over TLS.
      const sse = await new Promise<{ status?: number; type?: string; first: string }>((resolve, reject) => {
        const request = https.get(
          `${open.url}/api/registry/v1/namespaces/default/watch`,
          { agent: false, ca: read(pki.caFile), headers: { accept: 'text/event-stream' } },
          (res) => {
            res.once('data', (chunk: Buffer) => {
              resolve({ status: res.statusCode, type: res.headers['content-type'], first: chunk.toString() });
              request.destroy();
            });
          },
        );
        request.on('error', reject);
        request.setTimeout(5000, () => request.destroy(new Error('no SSE event within 5 s')));
      });
      expect([sse.status, sse.type?.split(';')[0]], sse.first).toEqual([200, 'text/event-stream']);
    }
  });

  it('ALPN: h2 for a client offering only h2, http/1.1 for one offering both or only http/1.1', async () => {
    const h2 = await tlsHandshake(open.port, { ...caOnly(), ALPNProtocols: ['h2'] });
    expect([h2.ok, h2.alpn], JSON.stringify(h2)).toEqual([true, 'h2']);
    const h1 = await tlsHandshake(open.port, { ...caOnly(), ALPNProtocols: ['http/1.1'] });
    // etcd 3.4 offers only h2 and serves HTTP/1.1 without ALPN; Cairn negotiates http/1.1.
    expect([h1.alpn, h1.statusLine], JSON.stringify(h1)).toEqual([
      isCairn ? 'http/1.1' : false,
      'HTTP/1.1 200 OK',
    ]);
    if (isCairn) {
      // A browser or curl offers both: the console, REST and SSE are HTTP/1.1 handlers here.
      const both = await tlsHandshake(open.port, { ...caOnly(), ALPNProtocols: ['h2', 'http/1.1'] });
      expect([both.alpn, both.statusLine], JSON.stringify(both)).toEqual(['http/1.1', 'HTTP/1.1 200 OK']);
    }
    const none = await tlsHandshake(open.port, caOnly());
    expect(none.statusLine, `no ALPN at all: ${JSON.stringify(none)}`).toBe('HTTP/1.1 200 OK');
  });

  cairnOnly(
    'the KV fast path serves gRPC over TLS (its own refusal text proves which road a call took)',
    async () => {
      const session = http2.connect(open.url, { ca: read(pki.caFile) });
      session.on('error', () => undefined);
      try {
        const status = await new Promise<http2.IncomingHttpHeaders>((resolve, reject) => {
          const stream = session.request({
            ':method': 'POST',
            ':path': '/etcdserverpb.KV/Range',
            'content-type': 'application/grpc',
            te: 'trailers',
          });
          let headers: http2.IncomingHttpHeaders = {};
          stream.on('response', (h) => (headers = { ...headers, ...h }));
          stream.on('trailers', (t) => (headers = { ...headers, ...t }));
          stream.on('data', () => undefined);
          stream.on('close', () => resolve(headers));
          stream.on('error', reject);
          stream.end(Buffer.from([0, 0, 0, 0, 0, 0]));
        });
        expect([status['grpc-status'], status['grpc-message']]).toEqual([
          '13',
          'Received a malformed unary request',
        ]);
      } finally {
        session.destroy();
      }
    },
  );

  it('plaintext HTTP to the https port gets no answer and the member stays healthy', async () => {
    const plain = await new Promise<number | string>((resolve) => {
      const request = http.get(
        `http://127.0.0.1:${open.port}/health`,
        { agent: false, timeout: 5000 },
        (r) => {
          r.resume();
          resolve(r.statusCode ?? 0);
        },
      );
      request.on('timeout', () => request.destroy(new Error('timeout')));
      request.on('error', (err) => resolve(err.message));
    });
    expect(plain, 'plaintext /health on the TLS port').not.toBe(200);
    const health = await httpsRequest(`${open.url}/health`, caOnly());
    expect(health.status, 'the member afterwards').toBe(200);
  });

  it('--cipher-suites limits TLS 1.2 to the listed suites', async () => {
    const listed = await tlsHandshake(open.port, {
      ...caOnly(),
      maxVersion: 'TLSv1.2',
      ciphers: 'ECDHE-ECDSA-AES128-GCM-SHA256',
    });
    expect([listed.version, listed.cipher, listed.statusLine], JSON.stringify(listed)).toEqual([
      'TLSv1.2',
      'ECDHE-ECDSA-AES128-GCM-SHA256',
      'HTTP/1.1 200 OK',
    ]);
    const unlisted = await tlsHandshake(open.port, {
      ...caOnly(),
      maxVersion: 'TLSv1.2',
      ciphers: 'ECDHE-ECDSA-AES256-GCM-SHA384',
    });
    expect(unlisted.ok, `a suite not listed: ${JSON.stringify(unlisted)}`).toBe(false);
  });
});

describe('--client-cert-auth with --trusted-ca-file and --client-crl-file', () => {
  it('no certificate, another CA, a revoked certificate: refused; a good one: served', async () => {
    const none = await tlsHandshake(mtls.port, caOnly());
    expect(none.ok, `no client certificate: ${JSON.stringify(none)}`).toBe(false);
    const other = await tlsHandshake(mtls.port, {
      ...caOnly(),
      cert: read(pki.mallory.cert),
      key: read(pki.mallory.key),
    });
    expect(other.ok, `a certificate from another CA: ${JSON.stringify(other)}`).toBe(false);
    const revoked = await tlsHandshake(mtls.port, {
      ...caOnly(),
      cert: read(pki.bob.cert),
      key: read(pki.bob.key),
    });
    expect(revoked.ok, `a revoked certificate: ${JSON.stringify(revoked)}`).toBe(false);
    const good = await tlsHandshake(mtls.port, asAlice());
    expect(good.statusLine, `alice: ${JSON.stringify(good)}`).toBe('HTTP/1.1 200 OK');
    const put = await etcdctl(etcdctlTls([...aliceFlags(), 'put', 'mtls/k', 'v']), { endpoints: mtls.url });
    expect(put.stdout.trim(), put.stderr).toBe('OK');
    const refused = await etcdctl(etcdctlTls(['get', 'mtls/k']), { endpoints: mtls.url, timeoutMs: 10_000 });
    expect(refused.code, 'etcdctl without a client certificate').not.toBe(0);
    expect((await httpsRequest(`${mtls.url}/health`, asAlice())).status).toBe(200);
  });

  cairnOnly('the verified CN reaches the request pipeline on every road (access log)', async () => {
    // fast path (etcdctl put), grpc-js through the :authority normaliser (etcdctl lease grant), grpc-js on the
    // raw TLS socket (etcd3 lease grant), HTTP/1.1 (gateway put).
    await etcdctl(etcdctlTls([...aliceFlags(), 'put', 'cn/k', 'v']), { endpoints: mtls.url });
    const grant = await etcdctl(etcdctlTls([...aliceFlags(), 'lease', 'grant', '30']), {
      endpoints: mtls.url,
    });
    expect(grant.stdout, grant.stderr).toMatch(/granted/);
    const client = new Etcd3({
      hosts: mtls.url,
      credentials: {
        rootCertificate: read(pki.caFile),
        certChain: read(pki.alice.cert),
        privateKey: read(pki.alice.key),
      },
    });
    try {
      const lease = client.lease(30, { autoKeepAlive: false });
      await lease.grant();
      await client.get('cn/k').string();
    } finally {
      client.close();
    }
    const gw = await httpsRequest(`${mtls.url}/v3/kv/put`, asAlice(), {
      method: 'POST',
      body: JSON.stringify({ key: b64('cn/gw'), value: b64('v') }),
    });
    expect(gw.status).toBe(200);
    const wanted = ['etcdserverpb.KV/Put', 'etcdserverpb.Lease/LeaseGrant', 'etcdserverpb.KV/Range', 'http'];
    const roads = (): Map<string, number> => {
      const seen = new Map<string, number>();
      for (const line of logOf(mtls).split('\n')) {
        if (!line.includes('"msg":"request"') || !line.includes('"cn":"alice"')) continue;
        const entry = JSON.parse(line) as { surface: string; method: string };
        const road = entry.surface === 'http' ? 'http' : entry.method;
        seen.set(road, (seen.get(road) ?? 0) + 1);
      }
      return seen;
    };
    const calls = await waitFor(() => (wanted.every((m) => roads().has(m)) ? roads() : undefined), {
      timeoutMs: 5_000,
      what: `access log lines with cn "alice" for ${wanted.join(', ')}`,
    }).catch((err: unknown) => {
      const tail = logOf(mtls)
        .split('\n')
        .filter((l) => l.includes('"msg":"request"'))
        .slice(-5);
      throw new Error(`${String(err)}; seen: ${JSON.stringify([...roads()])}; last: ${tail.join('\n')}`);
    });
    expect(
      calls.get('etcdserverpb.Lease/LeaseGrant'),
      'LeaseGrant by etcdctl and by etcd3',
    ).toBeGreaterThanOrEqual(2);
  });

  it('--listen-metrics-urls serves /metrics and /health without a client certificate, nothing else', async () => {
    const metrics = await fetch(`${mtls.metricsUrl}/metrics`);
    expect(metrics.status).toBe(200);
    expect(await metrics.text()).toContain('etcd_server_has_leader');
    const health = await fetch(`${mtls.metricsUrl}/health`);
    expect([health.status, await health.text()]).toEqual([200, expect.stringContaining('"health":"true"')]);
    const other = await fetch(`${mtls.metricsUrl}/v3/kv/range`, { method: 'POST', body: '{}' });
    expect(other.status, 'the gateway is not on the metrics URL').toBe(404);
  });
});

describe('certificate rotation without restart', () => {
  it('new handshakes see the new certificate while puts continue without a failure', async () => {
    const before = await tlsHandshake(open.port, caOnly());
    expect(before.serial).toBe(serialOf(pki.server.cert));
    const client = new Etcd3({ hosts: open.url, credentials: { rootCertificate: read(pki.caFile) } });
    let stop = false;
    const failures: string[] = [];
    let puts = 0;
    const loops = [
      (async () => {
        for (let i = 0; !stop; i++) {
          await client
            .put(`rot/grpc/${i % 10}`)
            .value(String(i))
            .then(
              () => puts++,
              (err: unknown) => failures.push(`etcd3 put: ${String(err)}`),
            );
        }
      })(),
      (async () => {
        // A new TLS connection per request: each handshake picks the files current then.
        for (let i = 0; !stop; i++) {
          await httpsRequest(`${open.url}/v3/kv/put`, caOnly(), {
            method: 'POST',
            body: JSON.stringify({ key: b64(`rot/gw/${i % 10}`), value: b64(String(i)) }),
          }).then(
            (answer) => (answer.status === 200 ? puts++ : failures.push(`gateway put ${answer.status}`)),
            (err: unknown) => failures.push(`gateway put: ${String(err)}`),
          );
        }
      })(),
    ];
    try {
      await waitFor(() => (puts > 20 ? true : undefined), {
        timeoutMs: 10_000,
        what: 'puts before the rotation',
      });
      // Replace each file atomically (rename), key first: between the two renames the pair does not match, and
      // the member must keep the old certificate until it does.
      copyFileSync(pki.server2.key, `${openKeyFile}.new`);
      copyFileSync(pki.server2.cert, `${openCertFile}.new`);
      renameSync(`${openKeyFile}.new`, openKeyFile);
      renameSync(`${openCertFile}.new`, openCertFile);
      const rotatedAt = puts;
      const newSerial = serialOf(pki.server2.cert);
      await waitFor(
        async () => ((await tlsHandshake(open.port, caOnly())).serial === newSerial ? true : undefined),
        {
          timeoutMs: 10_000,
          what: `a handshake presenting the new certificate (serial ${newSerial})`,
        },
      );
      await waitFor(() => (puts > rotatedAt + 20 ? true : undefined), {
        timeoutMs: 10_000,
        what: 'puts after',
      });
    } finally {
      stop = true;
      await Promise.all(loops);
      client.close();
    }
    expect(failures, 'requests that failed during the rotation').toEqual([]);
  });
});

describe('TLS versions (etcd 3.5 flags: Cairn only)', () => {
  let min13: TlsMember;
  let max12: TlsMember;
  beforeAll(async () => {
    if (!isCairn) return;
    [min13, max12] = await Promise.all([
      startTlsMember({
        flags: ['--cert-file', pki.server.cert, '--key-file', pki.server.key, '--tls-min-version', 'TLS1.3'],
        readyTls: caOnly(),
      }),
      startTlsMember({
        flags: ['--cert-file', pki.server.cert, '--key-file', pki.server.key, '--tls-max-version', 'TLS1.2'],
        readyTls: caOnly(),
      }),
    ]);
  }, 30_000);

  cairnOnly('--tls-min-version TLS1.3 refuses a TLS 1.2-only client', async () => {
    const old = await tlsHandshake(min13.port, { ...caOnly(), maxVersion: 'TLSv1.2' });
    expect(old.ok, JSON.stringify(old)).toBe(false);
    const current = await tlsHandshake(min13.port, caOnly());
    expect([current.version, current.statusLine]).toEqual(['TLSv1.3', 'HTTP/1.1 200 OK']);
  });

  cairnOnly('--tls-max-version TLS1.2 negotiates TLS 1.2', async () => {
    const answer = await tlsHandshake(max12.port, caOnly());
    expect([answer.version, answer.statusLine]).toEqual(['TLSv1.2', 'HTTP/1.1 200 OK']);
  });
});

describe('--auto-tls', () => {
  it('starts with a self-signed certificate in <data-dir>/fixtures/client and serves', async () => {
    const member = await startTlsMember({ flags: ['--auto-tls'], readyTls: { rejectUnauthorized: false } });
    expect(existsSync(join(member.dataDir, 'fixtures', 'client', 'cert.pem'))).toBe(true);
    expect(existsSync(join(member.dataDir, 'fixtures', 'client', 'key.pem'))).toBe(true);
    // etcdctl 3.4 dials plaintext without certificate flags unless told --insecure-transport=false.
    const put = await etcdctl(
      ['--insecure-transport=false', '--insecure-skip-tls-verify', 'put', 'auto/k', 'v'],
      {
        endpoints: member.url,
      },
    );
    expect(put.stdout.trim(), put.stderr).toBe('OK');
    await member.process.kill();
  });
});
