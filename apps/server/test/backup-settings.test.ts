// --backup-dir, --backup-interval, --backup-retention: parsing (flags and CAIRN_* twins), validation, and a
// member started with them writes its backups on schedule and counts them in /metrics.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { listBackups, silentLogger } from '@cairn/server';
import { Registry } from 'prom-client';
import { afterEach, expect, it } from 'vitest';
import { FlagError, helpText, readFlags } from '../src/config/flags';
import { toSettings } from '../src/config/settings';
import { startBackups } from '../src/backups';

const dirs: string[] = [];
afterEach(async () => {
  for (const dir of dirs.splice(0)) await rm(dir, { recursive: true, force: true });
});

const backupOf = (argv: string[], env: Record<string, string> = {}) =>
  toSettings(readFlags(argv, env)).backup;

it('parses the backup flags and their environment twins, and refuses bad values', () => {
  expect(backupOf([])).toEqual({ dir: '', intervalMs: 0, retention: 5 });
  expect(backupOf(['--backup-dir', '/b', '--backup-interval', '1h30m', '--backup-retention', '3'])).toEqual({
    dir: '/b',
    intervalMs: 5_400_000,
    retention: 3,
  });
  expect(backupOf([], { CAIRN_BACKUP_DIR: '/e', CAIRN_BACKUP_INTERVAL: '30s' })).toMatchObject({
    dir: '/e',
    intervalMs: 30_000,
  });
  expect(() => backupOf(['--backup-interval', '5'])).toThrow(
    new FlagError('invalid value "5" for flag --backup-interval: expected a duration like 1h or 30m'),
  );
  expect(() => backupOf(['--backup-interval', '1m'])).toThrow('--backup-interval needs --backup-dir');
  expect(() => backupOf(['--backup-retention', '-1'])).toThrow(/--backup-retention/);
  expect(helpText()).toContain('--backup-interval');
});

it('takes backups on schedule and counts them by result in the metrics', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'cairn-backups-'));
  dirs.push(dir);
  const registry = new Registry();
  // A source whose content is an empty Cairn backend file (magic + sha256 of it).
  const { createHash } = await import('node:crypto');
  const { writeFile } = await import('node:fs/promises');
  const magic = Buffer.from('CAIRNBK1');
  const source = {
    writeBackendSnapshot: (file: string) =>
      writeFile(file, Buffer.concat([magic, createHash('sha256').update(magic).digest()])),
  };
  const scheduler = startBackups(source, { dir, intervalMs: 30, retention: 2 }, registry, silentLogger);
  expect(scheduler).toBeDefined();
  for (let i = 0; i < 200 && scheduler!.stats.succeeded < 3; i++) await new Promise((r) => setTimeout(r, 10));
  await scheduler!.stop();
  expect((await listBackups(dir)).length).toBe(2);
  const text = await registry.metrics();
  expect(text).toMatch(/cairn_backups_total\{result="success"\} [3-9]/);
  expect(text).toContain('cairn_backups_total{result="failure"} 0');
  expect(text).toMatch(/cairn_backup_last_success_timestamp_seconds [1-9]\d+/);
  expect(startBackups(source, { dir, intervalMs: 0, retention: 2 }, registry, silentLogger)).toBeUndefined();
});
