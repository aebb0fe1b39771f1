// `cairnctl backup --dir DIR --interval DUR --retention N [--once]`: client-side scheduled snapshots. Each run
// saves `snapshot-<UTC time>.db` into DIR (sha256-checked, atomic, as `snapshot save`), then deletes the
// oldest backups beyond N. Runs until Ctrl-C; a failed run is reported and retried at the next tick.
import { mkdir, readdir, rm } from 'node:fs/promises';
import path from 'node:path';
import type { EtcdClient } from '@cairn/client';
import { type CommandSpec, type Context, ExitCode, UsageError } from '../command';
import { humanBytes } from '../context';
import { describeError } from '../errors';
import { saveSnapshot } from './snapshot';

const BACKUP_NAME = /^snapshot-\d{8}T\d{6}(\d{3})?Z\.db$/;

/** `snapshot-20261206T065500123Z.db`: sorts by time as text. */
export function backupName(at: Date): string {
  return `snapshot-${at.toISOString().replace(/[-:]/g, '').replace('.', '')}.db`;
}

/** Deletes the oldest backups in `dir` beyond `retention`; returns the deleted names. */
export async function pruneBackups(dir: string, retention: number): Promise<string[]> {
  const names = (await readdir(dir)).filter((n) => BACKUP_NAME.test(n)).sort();
  const old = names.slice(0, Math.max(0, names.length - retention));
  for (const name of old) await rm(path.join(dir, name), { force: true });
  return old;
}

async function runOnce(ctx: Context, client: EtcdClient, dir: string, retention: number): Promise<void> {
  const file = path.join(dir, backupName(new Date()));
  const started = Date.now();
  const result = await saveSnapshot(client, file, { signal: ctx.signal });
  const pruned = await pruneBackups(dir, retention);
  ctx.stdout.write(
    `${new Date().toISOString()} saved ${file} (${humanBytes(result.size)}, ${Date.now() - started} ms from ${client.pool.current()})` +
      `${pruned.length ? `, removed ${pruned.join(', ')}` : ''}\n`,
  );
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done);
  });
}

export const backupCommand: CommandSpec = {
  name: 'backup',
  summary: 'Save a snapshot every --interval into --dir, keeping the newest --retention (until Ctrl-C)',
  description:
    'Snapshots come from the first of --endpoints. Files are named snapshot-<UTC time>.db; only those are\npruned. A failed run is reported on stderr and retried at the next interval (with --once: exit 1).',
  args: { max: 0 },
  permission: 'the root role',
  flags: [
    { name: 'dir', type: 'string', help: 'directory for the snapshots', required: true, complete: 'dir' },
    { name: 'interval', type: 'duration', default: '1h', help: 'time between snapshots' },
    { name: 'retention', type: 'number', default: 24, help: 'how many snapshots to keep' },
    { name: 'once', type: 'boolean', default: false, help: 'save one snapshot, prune, and exit' },
  ],
  run: async (ctx, args) => {
    const dir = args.flags['dir'] as string;
    const interval = args.flags['interval'] as number;
    const retention = args.flags['retention'] as number;
    if (!Number.isInteger(retention) || retention < 1) throw new UsageError('--retention must be at least 1');
    if (interval < 1000) throw new UsageError('--interval must be at least 1s');
    await mkdir(dir, { recursive: true });
    // One client for the whole run: it reconnects (and re-authenticates) by itself between snapshots.
    const client = await ctx.client({ endpoints: [ctx.globals.endpoints[0]!] });
    if (args.flags['once'] === true) {
      await runOnce(ctx, client, dir, retention);
      return ExitCode.Success;
    }
    while (!ctx.signal.aborted) {
      const started = Date.now();
      try {
        await runOnce(ctx, client, dir, retention);
      } catch (error) {
        if (ctx.signal.aborted) break;
        const { message } = describeError(error, backupCommand, ctx.globals.endpoints[0]);
        ctx.stderr.write(`${new Date().toISOString()} backup failed: ${message}\n`);
      }
      await sleep(Math.max(0, interval - (Date.now() - started)), ctx.signal);
    }
    ctx.stderr.write('backup stopped\n');
    return ExitCode.Success;
  },
};
