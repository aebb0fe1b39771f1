// Scheduled backups on the member (--backup-dir, --backup-interval, --backup-retention): every interval, a
// snapshot of the backend framed as `etcdctl snapshot save` frames it (snapshot-file.ts), so `snapshot
// restore|status` take it as they take a saved one. Written atomically (temp file + rename), named with the
// time and the revision, the oldest removed past the retention. A failure is logged and counted; it never
// stops the member, and the next interval tries again.
import { mkdir, readdir, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import type { Logger } from './logger';
import { cairnContentStats } from './restore/cairn-snapshot';
import { writeFramedSnapshot } from './snapshot-file';

/** What a backup needs of the member (CairnNode has it). */
export interface BackupSource {
  writeBackendSnapshot(file: string): Promise<unknown>;
}

export interface BackupOptions {
  dir: string;
  /** Time between backups (ms); 0 = no schedule (takeBackup still works). */
  intervalMs: number;
  /** Backups kept (the newest); 0 = keep every one. */
  retention: number;
  logger: Logger;
  /** The clock, for names (tests pass their own). */
  now?: () => Date;
}

export interface BackupStats {
  succeeded: number;
  failed: number;
  /** Unix seconds of the last good backup (0 = none yet). */
  lastSuccessSeconds: number;
  lastFile: string;
}

const NAME = /^cairn-backup-(\d{8}T\d{9}Z)-rev(\d+)\.db$/;

/** `cairn-backup-20261206T065553123Z-rev10033.db`: names sort by time. */
export function backupFileName(at: Date, revision: number): string {
  const stamp = at.toISOString().replace(/[-:.]/g, '');
  return `cairn-backup-${stamp}-rev${revision}.db`;
}

/** The backups in `dir`, oldest first. */
export async function listBackups(dir: string): Promise<string[]> {
  const names = await readdir(dir).catch(() => [] as string[]);
  return names.filter((name) => NAME.test(name)).sort();
}

export class BackupScheduler {
  readonly stats: BackupStats = { succeeded: 0, failed: 0, lastSuccessSeconds: 0, lastFile: '' };
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private readonly listeners = new Set<(ok: boolean) => void>();

  constructor(
    private readonly source: BackupSource,
    private readonly options: BackupOptions,
  ) {}

  start(): void {
    if (this.options.intervalMs <= 0 || this.timer) return;
    this.timer = setInterval(() => void this.runOnce(), this.options.intervalMs);
    this.timer.unref();
  }

  /** Hear of every scheduled or manual backup's outcome (metrics). */
  onResult(listener: (ok: boolean) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** One backup now, unless one is under way; never throws (the outcome is logged, counted and heard). */
  runOnce(): Promise<void> {
    if (this.running) return this.running;
    this.running = this.takeBackup()
      .then(
        () => undefined,
        () => undefined,
      )
      .finally(() => (this.running = undefined));
    return this.running;
  }

  /** Writes one backup and prunes; resolves with its path, rejects (after logging and counting) on failure. */
  async takeBackup(): Promise<string> {
    const { dir, logger } = this.options;
    const startedAt = Date.now();
    const content = path.join(dir, `.backup-content-${process.pid}.tmp`);
    try {
      await mkdir(dir, { recursive: true });
      await this.source.writeBackendSnapshot(content);
      // The revision in the name is the one in the file, read from it (the store moves on meanwhile).
      const { revision } = await cairnContentStats(content, (await stat(content)).size);
      const file = path.join(dir, backupFileName((this.options.now ?? (() => new Date()))(), revision));
      const { size } = await writeFramedSnapshot(content, file);
      this.stats.succeeded++;
      this.stats.lastSuccessSeconds = Math.floor(Date.now() / 1000);
      this.stats.lastFile = file;
      logger.info({ file, revision, size, tookMs: Date.now() - startedAt }, 'backup written');
      this.emit(true);
      await this.prune();
      return file;
    } catch (err) {
      this.stats.failed++;
      logger.error(
        { dir, err: String(err) },
        'backup failed (the member goes on; the next interval retries)',
      );
      this.emit(false);
      throw err;
    } finally {
      await rm(content, { force: true }).catch(() => undefined);
    }
  }

  /** Removes the oldest backups past the retention; a failure here is logged, the backup stands. */
  async prune(): Promise<void> {
    const { dir, retention, logger } = this.options;
    // A '.part' left by a crash mid-write is debris (one backup runs at a time, and this one is done).
    for (const name of await readdir(dir).catch(() => [] as string[])) {
      if (name.startsWith('cairn-backup-') && name.endsWith('.part'))
        await rm(path.join(dir, name), { force: true });
    }
    if (retention <= 0) return;
    const all = await listBackups(dir);
    for (const name of all.slice(0, Math.max(0, all.length - retention))) {
      await rm(path.join(dir, name), { force: true }).catch((err: unknown) =>
        logger.warn({ file: name, err: String(err) }, 'could not remove an old backup'),
      );
    }
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    await this.running;
  }

  private emit(ok: boolean): void {
    for (const listener of this.listeners) listener(ok);
  }
}
