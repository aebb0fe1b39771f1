// Runs the CLI for real against a real etcd (single member, loopback, temp dir) started by this
// test and stopped by PID afterwards. Skipped where etcd is not installed.

import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GrpcJsConnection } from '../src/grpc/grpc-js-connection';
import { TRANSPORTS, unaryAsync } from '../src/grpc/transport';
import { Methods } from '../src/grpc/methods';
import { decodeResponseHeader, encodeRangeRequest } from '../src/proto/etcd-messages';
import type { RunResult } from '../src/report/run-result';
import { startCluster, type Cluster } from '../src/servers/cluster';
import { ETCD, isAlive, cli } from './support';

describe.skipIf(!existsSync(ETCD))('against a real etcd', () => {
  let baseDir: string;
  let etcd: Cluster;
  let endpoint: string;

  beforeAll(async () => {
    baseDir = mkdtempSync(join(tmpdir(), 'cairn-bench-test-'));
    etcd = await startCluster({ label: 'etcd', command: ETCD, members: 1, baseDir, readyTimeoutMs: 20_000 });
    endpoint = etcd.endpoints[0];
  });

  afterAll(async () => {
    const pids = etcd?.pids ?? [];
    await etcd?.stop();
    for (const pid of pids) expect(isAlive(pid), `etcd PID ${pid} still running`).toBe(false);
    rmSync(baseDir, { recursive: true, force: true });
  });

  async function storeRevision(): Promise<number> {
    const connection = new GrpcJsConnection(endpoint);
    try {
      const response = await unaryAsync(
        connection,
        Methods.range,
        encodeRangeRequest({ key: Buffer.from('x') }),
      );
      return decodeResponseHeader(response).revision;
    } finally {
      connection.close();
    }
  }

  describe.each(TRANSPORTS)('over %s', (transport) => {
    it('put runs for about a second, and every acknowledged put moved the store revision by one', async () => {
      const revisionBefore = await storeRevision();
      const { code, out, err } = await cli([
        'put',
        '--endpoints',
        endpoint,
        '--transport',
        transport,
        '--duration',
        '1s',
        '--warmup',
        '0s',
        '--clients',
        '16',
        '--server-pid',
        String(etcd.pids[0]),
        '--json',
      ]);
      expect(err).toEqual([]);
      expect(code).toBe(0);
      const result = JSON.parse(out.join('\n')) as RunResult;
      expect(result.errors).toBe(0);
      expect(result.requests).toBeGreaterThan(0);
      expect(result.elapsedMs).toBeGreaterThanOrEqual(1000);
      expect(result.elapsedMs).toBeLessThan(5000);
      expect(result.latency.p50).toBeGreaterThan(0);
      expect(result.latency.p99).toBeGreaterThanOrEqual(result.latency.p50);
      expect(result.serverCpu?.cpuMs).toBeGreaterThan(0);
      expect(await storeRevision()).toBe(revisionBefore + result.requests);
    });

    it('watch delivers every put to every watcher', async () => {
      const { code, out } = await cli([
        'watch',
        '--endpoints',
        endpoint,
        '--transport',
        transport,
        '--watchers',
        '3',
        '--streams',
        '2',
        '--puts',
        '300',
        '--json',
      ]);
      expect(code).toBe(0);
      const result = JSON.parse(out.join('\n')) as RunResult;
      expect(result.errorMessages).toEqual([]);
      expect(result.requests).toBe(900);
    });

    it('lease-keepalive keeps its leases alive and revokes them afterwards', async () => {
      const { code, out } = await cli([
        'lease-keepalive',
        '--endpoints',
        endpoint,
        '--transport',
        transport,
        '--leases',
        '8',
        '--total',
        '400',
        '--json',
      ]);
      expect(code).toBe(0);
      const result = JSON.parse(out.join('\n')) as RunResult;
      expect(result.errors).toBe(0);
      expect(result.requests).toBeGreaterThanOrEqual(400);
    });
  });

  it('reports a usage error with exit code 2 and no load', async () => {
    const { code, err } = await cli(['put', '--endpoints', endpoint, '--total', '5', '--duration', '1s']);
    expect(code).toBe(2);
    expect(err[0]).toMatch(/either --total or --duration/);
  });
});

describe.skipIf(!existsSync(ETCD))('compare', () => {
  it('starts its own etcd, prints the table, and leaves no server running', async () => {
    const { code, out, err } = await cli([
      'compare',
      '--targets',
      'etcd',
      '--workloads',
      'put4,get-s4',
      '--duration',
      '500ms',
      '--warmup',
      '200ms',
      '--runs',
      '1',
      '--pause',
      '0s',
    ]);
    expect(err).toEqual([]);
    expect(code).toBe(0);
    const pidLine = out.find((line) => line.includes('PIDs'));
    const pids = [...(pidLine?.match(/PIDs ([\d, ]+)/)?.[1].matchAll(/\d+/g) ?? [])].map((m) => Number(m[0]));
    expect(pids.length).toBe(1);
    expect(isAlive(pids[0])).toBe(false);
    expect(out.some((line) => /^\| put4 \(put, 4 in flight\) \| etcd \| [\d,]+ \|/.test(line))).toBe(true);
    expect(out.some((line) => /^\| get-s4 \(serializable get, 4 in flight\) \| etcd \|/.test(line))).toBe(
      true,
    );
  });
});
