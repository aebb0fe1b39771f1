// Scheduled backups (src/backup.ts): framed snapshots named with time and revision, written atomically, the
// oldest pruned past the retention, and a failure logged and counted without throwing out of the schedule.
import { readdirSync } from 'node:fs';
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, expect, it } from 'vitest';
import { BackupScheduler, backupFileName, listBackups } from '../src/backup';
import { singleMemberConfig } from '../src/config';
import type { Logger } from '../src/logger';
import { silentLogger } from '../src/logger';
import { CairnNode } from '../src/node';
import { ANONYMOUS } from '../src/port/etcd-port';
import { snapshotStatus } from '../src/restore';
import { readSnapshotFrame } from '../src/snapshot-file';

const dirs: string[] = [];
afterEach(async () => {
  for (const dir of dirs.splice(0)) {
    await chmod(dir, 0o755).catch(() => undefined);
    await rm(dir, { recursive: true, force: true });
  }
});

async function tempDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'cairn-backup-'));
  dirs.push(dir);
  return dir;
}

async function until(cond: () => boolean): Promise<void> {
  for (let i = 0; i < 500 && !cond(); i++) await new Promise((resolve) => setTimeout(resolve, 10));
}

function put(key: string): object {
  const body = { key: Buffer.from(key), value: Buffer.from('v'), lease: '0' };
  return { put: { ...body, prev_kv: false, ignore_value: false, ignore_lease: false } };
}

it('names backups by time and revision, keeps the newest `retention`, and restore reads them', async () => {
  const dir = await tempDir();
  const node = await CairnNode.start(singleMemberConfig(join(dir, 'member')));
  try {
    await until(() => node.isLeader());
    const backups = join(dir, 'backups');
    let clock = Date.UTC(2026, 11, 6, 6, 0, 0);
    const scheduler = new BackupScheduler(node, {
      dir: backups,
      intervalMs: 0,
      retention: 2,
      logger: silentLogger,
      now: () => new Date((clock += 1000)),
    });
    const outcomes: boolean[] = [];
    scheduler.onResult((ok) => outcomes.push(ok));
    const written: string[] = [];
    for (let i = 0; i < 3; i++) {
      await node.propose(put(`k${i}`), ANONYMOUS);
      written.push(await scheduler.takeBackup());
    }
    const names = await listBackups(backups);
    // The first was pruned; the two newest stay, and nothing temporary is left.
    expect(names).toEqual(written.slice(1).map((file) => file.slice(backups.length + 1)));
    expect(readdirSync(backups).sort()).toEqual(names);
    expect(names.at(-1)).toBe(backupFileName(new Date(clock), node.kv.currentRevision));
    expect(names.at(-1)).toMatch(/^cairn-backup-20261206T060003000Z-rev\d+\.db$/);
    const last = join(backups, names.at(-1)!);
    expect((await readSnapshotFrame(last)).framed).toBe(true);
    expect((await snapshotStatus(last)).revision).toBe(node.kv.currentRevision);
    expect(scheduler.stats).toMatchObject({ succeeded: 3, failed: 0, lastFile: last });
    expect(outcomes).toEqual([true, true, true]);
  } finally {
    await node.close();
  }
});

it('logs and counts a failed backup, and the schedule goes on', async () => {
  const dir = await tempDir();
  // The backup dir is a file: every backup fails.
  const backups = join(dir, 'not-a-dir');
  await writeFile(backups, 'x');
  const errors: string[] = [];
  const logger: Logger = {
    ...silentLogger,
    error: (_obj, msg) => errors.push(msg ?? ''),
    child: () => logger,
  };
  let calls = 0;
  const source = {
    writeBackendSnapshot: (): Promise<void> => {
      calls++;
      return Promise.resolve();
    },
  };
  const scheduler = new BackupScheduler(source, { dir: backups, intervalMs: 20, retention: 1, logger });
  const outcomes: boolean[] = [];
  scheduler.onResult((ok) => outcomes.push(ok));
  await expect(scheduler.runOnce()).resolves.toBeUndefined();
  scheduler.start();
  await until(() => outcomes.length >= 3);
  await scheduler.stop();
  expect(outcomes.every((ok) => !ok)).toBe(true);
  expect(scheduler.stats.failed).toBe(outcomes.length);
  expect(scheduler.stats.succeeded).toBe(0);
  expect(errors[0]).toMatch(/backup failed/);
  expect(calls).toBe(0);
});
