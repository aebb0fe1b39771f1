// `bench suite` end to end, smallest useful pass: the writes section on one member (Go clientv3 against a
// fresh etcd and a fresh Cairn, one 1-second run of each workload, about 25 s), its one table, the report
// file, and every server gone afterwards. Skipped where etcd, the Go toolchain with clientv3, Cairn's build
// or the bench's own build (the suite runs its measurements as children of apps/bench/dist) is missing.
// Checks shape, not speed.

import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli } from '../src/cli/run-cli';
import { ETCD, REPO, hasGo, isAlive } from './support';

const ready =
  existsSync(ETCD) &&
  hasGo() &&
  existsSync(resolve(REPO, 'apps/server/dist/main.js')) &&
  existsSync(resolve(REPO, 'apps/bench/dist/suite/command.js'));

describe.skipIf(!ready)('bench suite --quick --only writes', () => {
  it('writes one table of Cairn against etcd and stops every server', { timeout: 120_000 }, async () => {
    const dir = mkdtempSync(join(tmpdir(), 'cairn-suite-test-'));
    try {
      const file = join(dir, 'suite.md');
      const out: string[] = [];
      const err: string[] = [];
      const argv = ['suite', '--quick', '--only', 'writes', '--write-members', '1', '--out', file];
      const code = await runCli(
        argv,
        (line) => out.push(line),
        (line) => err.push(line),
      );
      expect(err, out.join('\n')).toEqual([]);
      expect(code).toBe(0);

      const report = readFileSync(file, 'utf8').trimEnd().split('\n');
      expect(out.join('\n')).toContain(report.join('\n'));
      expect(report[0]).toMatch(/^## bench suite, \d{4}-\d\d-\d\d \d\d:\d\d–\d\d:\d\d UTC/);
      expect(report).toContain(`- Command: \`node apps/bench/dist/main.js ${argv.join(' ')}\``);
      expect(report.find((line) => line.startsWith('- Machine: '))).toMatch(/load average .* before \d/);
      expect(report.find((line) => line.startsWith('- Cairn: '))).toMatch(/repository at [0-9a-f]{7}/);
      expect(report.find((line) => line.startsWith('- etcd: '))).toContain('3.4.23');

      const rows = report.filter((line) => line.startsWith('| writes (Go clientv3), 1 member |'));
      expect(rows).toHaveLength(11); // 5 workloads × (req/s, CPU) + failed requests
      for (const row of rows) {
        const cells = row.split('|').map((cell) => cell.trim());
        expect(cells[5], row).toMatch(/^[\d,.]+( µs|\/s)?$/); // Cairn
        expect(cells[6], row).toMatch(/^[\d,.]+( µs|\/s)?$/); // etcd
        expect(cells[8], row).toBe('1 / 1');
      }
      const put1 = rows.find((row) => row.includes('| put, 1 in flight: requests/s |'))!;
      expect(put1.split('|')[7].trim()).toMatch(/^\d+\.\d\d$/);
      expect(rows.at(-1)).toContain('| failed requests, all runs | 0 | ✓ | 0 | 0 |');
      expect(report).toContain('```sh');

      const pids = out
        .filter((line) => line.includes(': PIDs '))
        .flatMap((line) => /PIDs ([\d, ]+),/.exec(line)![1].split(', ').map(Number));
      expect(pids).toHaveLength(2);
      for (const pid of pids) expect(isAlive(pid), `server PID ${pid} still running`).toBe(false);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
