// `bench go-load` end to end: builds the Go clientv3 generator offline, starts a fresh Cairn and a fresh etcd,
// runs a tiny put and serializable-get load on each, and checks the tables and that every server is stopped.
// Skipped where etcd, the Go toolchain with clientv3, or Cairn's build is missing. Checks shape, not speed.

import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli } from '../src/cli/run-cli';
import { crossWorkloads } from '../src/go-load/command';
import { ETCD, REPO, hasGo, isAlive } from './support';

describe('go-load workloads', () => {
  it('crosses --workload with --inflight into the compare names', () => {
    expect(crossWorkloads(['put', 'range-s'], ['1', '64']).map((w) => w.name)).toEqual([
      'put1',
      'put64',
      'get-s1',
      'get-s64',
    ]);
    expect(() => crossWorkloads(['delete'], ['1'])).toThrow(/unknown workload/);
  });
});

const ready = existsSync(ETCD) && hasGo() && existsSync(resolve(REPO, 'apps/server/dist/main.js'));

describe.skipIf(!ready)('bench go-load against Cairn and etcd', () => {
  it('prints per-target and ratio tables and stops every server', { timeout: 60_000 }, async () => {
    const out: string[] = [];
    const err: string[] = [];
    const argv = [
      'go-load',
      ...['--workload', 'put,range-s', '--inflight', '4', '--members', '1'],
      ...['--duration', '400ms', '--warmup', '100ms', '--runs', '1', '--prime', '0', '--pause', '0'],
      ...['--targets', 'cairn,etcd'],
    ];
    const code = await runCli(
      argv,
      (line) => out.push(line),
      (line) => err.push(line),
    );
    expect(err, out.join('\n')).toEqual([]);
    expect(code).toBe(0);
    expect(out[0]).toBe(`command: bench ${argv.join(' ')}`);

    for (const [name, server] of [
      ['put4', 'Cairn'],
      ['put4', 'etcd'],
      ['get-s4', 'Cairn'],
      ['get-s4', 'etcd'],
    ]) {
      const row = out.find((line) => line.startsWith(`| ${name} (`) && line.includes(`| ${server} |`));
      expect(row, `${name} ${server}`).toBeDefined();
      const cells = row!.split('|').map((cell) => cell.trim());
      expect(Number(cells[3].replace(/,/g, ''))).toBeGreaterThan(0); // req/s
      expect(cells[9]).toBe('0'); // errors
      expect(Number(cells[13])).toBeGreaterThan(0); // server µs/req, from /proc
    }
    const ratio = out.find((line) => line.startsWith('| put4 | '));
    expect(ratio?.split('|')[4].trim()).toMatch(/^\d+\.\d\d$/);

    const pids = out
      .filter((line) => line.includes(': PIDs '))
      .flatMap((line) => /PIDs ([\d, ]+),/.exec(line)![1].split(', ').map(Number));
    expect(pids).toHaveLength(2);
    for (const pid of pids) expect(isAlive(pid), `server PID ${pid} still running`).toBe(false);
  });
});
