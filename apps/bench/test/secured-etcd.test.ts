// The load generator against a secured real etcd: https client URL with --client-cert-auth (certificates
// made by servers/pki.ts) and etcd auth turned on by auth/bench-auth.ts. Over both transports, a run with
// the bench user's token has no errors, and so does one without a token (the certificate's CN is the bench
// user); a wrong password stops the command. Skipped where etcd is not installed.

import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { authenticate, BENCH_USER, enableBenchAuth } from '../src/auth/bench-auth';
import { createConnection } from '../src/grpc/connection-pool';
import { loadTls, type TlsFiles } from '../src/grpc/security';
import { TRANSPORTS } from '../src/grpc/transport';
import type { RunResult } from '../src/report/run-result';
import { startCluster, type Cluster } from '../src/servers/cluster';
import { clientTlsFlags, makeBenchPki } from '../src/servers/pki';
import { ETCD, cli } from './support';

describe.skipIf(!existsSync(ETCD))('against a real etcd with TLS and auth', () => {
  let baseDir: string;
  let etcd: Cluster;
  let endpoint: string;
  let tlsFiles: TlsFiles;

  beforeAll(async () => {
    baseDir = mkdtempSync(join(tmpdir(), 'cairn-bench-test-'));
    const pki = makeBenchPki(join(baseDir, 'pki'));
    tlsFiles = { caFile: pki.caFile, certFile: pki.clientCertFile, keyFile: pki.clientKeyFile };
    etcd = await startCluster({
      label: 'etcd',
      command: ETCD,
      members: 1,
      baseDir,
      readyTimeoutMs: 20_000,
      extraArgs: clientTlsFlags(pki),
      tls: tlsFiles,
    });
    endpoint = etcd.endpoints[0];
    const admin = createConnection(endpoint, 'grpc-js', { tls: loadTls(tlsFiles) });
    try {
      await admin.ready(10_000);
      await enableBenchAuth(admin);
      expect(await authenticate(admin, BENCH_USER)).toMatch(/.+/);
    } finally {
      admin.close();
    }
  }, 60_000);

  afterAll(async () => {
    await etcd?.stop();
    rmSync(baseDir, { recursive: true, force: true });
  });

  function secured(transport: string, ...extra: string[]): string[] {
    // prettier-ignore
    return [
      'put', '--endpoints', `https://${endpoint}`, '--transport', transport, '--total', '200', '--clients', '8',
      '--cacert', tlsFiles.caFile, '--cert', tlsFiles.certFile!, '--key', tlsFiles.keyFile!, '--json', ...extra,
    ];
  }

  describe.each(TRANSPORTS)('over %s', (transport) => {
    it('put with --user sends the token: every request succeeds', async () => {
      const { code, out } = await cli(
        secured(transport, '--user', `${BENCH_USER.user}:${BENCH_USER.password}`),
      );
      expect(code).toBe(0);
      const result = JSON.parse(out.join('\n')) as RunResult;
      expect(result.errorMessages).toEqual([]);
      expect(result.requests).toBe(200);
    });

    it('put without --user acts as the client certificate\'s CN ("bench", the bench user)', async () => {
      const { code, out } = await cli(secured(transport));
      expect(code).toBe(0);
      const result = JSON.parse(out.join('\n')) as RunResult;
      expect(result.errorMessages).toEqual([]);
      expect(result.requests).toBe(200);
    });

    it('a wrong password fails before any load is sent', async () => {
      const { code, err } = await cli(secured(transport, '--user', `${BENCH_USER.user}:wrong`));
      expect(code).toBe(1);
      expect(err.join('\n')).toContain('etcdserver: authentication failed, invalid user ID or password');
    });
  });
});
