// Raft snapshot files in a directory (etcd's snap package): `<term>-<index>.snap`, CRC-checked, written
// atomically; plus the paths of the state-machine database files that go with them.
import { readdirSync } from 'node:fs';
import { mkdir, open, readFile, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { Snapshot } from '@cairn/raft';
import type { SnapshotMark } from '../wal/record-payloads';
import { fsyncDir } from '../wal/durable-fs';
import { decodeSnapFile, encodeSnapFile } from './snap-file';
import {
  formatDbName,
  formatSnapName,
  newestFirst,
  parseDbName,
  parseSnapName,
  type SnapName,
} from './snap-name';

export interface SnapshotterOptions {
  /** How many of the newest `.snap` files `releaseOlderThan` always keeps. Default 5 (etcd's default). */
  keep?: number;
}

/** Why a snapshot file was set aside, for the caller's log. */
export interface BrokenSnapshot {
  name: string;
  reason: string;
}

export class Snapshotter {
  private readonly keep: number;
  /** Files `loadNewest`/`loadNewestAvailable` renamed to `.broken`, most recent last. */
  readonly broken: BrokenSnapshot[] = [];

  constructor(
    readonly dir: string,
    opts: SnapshotterOptions = {},
  ) {
    this.keep = opts.keep ?? 5;
    if (!Number.isSafeInteger(this.keep) || this.keep < 1)
      throw new RangeError(`snap: keep must be >= 1, got ${this.keep}`);
  }

  /**
   * Writes `snapshot` to `<term>-<index>.snap`: temp file, fsync, rename, directory fsync. An empty
   * snapshot (index 0) is not written, as in etcd.
   */
  async save(snapshot: Snapshot): Promise<void> {
    const { index, term } = snapshot.metadata;
    if (index === 0) return;
    const bytes = encodeSnapFile(snapshot);
    await mkdir(this.dir, { recursive: true });
    const path = join(this.dir, formatSnapName(term, index));
    const tmp = `${path}.tmp`;
    const handle = await open(tmp, 'w');
    try {
      await handle.writeFile(bytes);
      await handle.sync();
    } catch (err) {
      await handle.close().catch(() => undefined);
      await rm(tmp, { force: true });
      throw err;
    }
    await handle.close();
    await rename(tmp, path);
    await fsyncDir(this.dir);
  }

  /** The newest snapshot that passes its checks; files that fail are renamed to `.broken` and skipped. */
  async loadNewest(): Promise<Snapshot | undefined> {
    return this.loadFirstValid(this.snapNames());
  }

  /**
   * The newest snapshot that the WAL has a mark for (see `Wal.readSnapshotMarks`): a crash between
   * saving a snapshot file and its WAL mark leaves a file the WAL cannot continue from.
   */
  async loadNewestAvailable(marks: readonly SnapshotMark[]): Promise<Snapshot | undefined> {
    const wanted = new Set(marks.map((m) => `${m.index}/${m.term}`));
    return this.loadFirstValid(this.snapNames().filter((n) => wanted.has(`${n.index}/${n.term}`)));
  }

  /** Where the state-machine database snapshot for the Raft snapshot at `index` lives. */
  dbPath(index: number): string {
    return join(this.dir, formatDbName(index));
  }

  /**
   * Deletes `.snap` files older than `index` except the newest `keep` ones, and every `.snap.db` older than
   * `index` (databases are large; only the newest is ever restored).
   */
  async releaseOlderThan(index: number): Promise<void> {
    const doomed: string[] = [];
    for (const n of this.snapNames().slice(this.keep)) if (n.index < index) doomed.push(n.name);
    for (const name of this.listDir()) {
      const dbIndex = parseDbName(name);
      if (dbIndex !== undefined && dbIndex < index) doomed.push(name);
    }
    if (doomed.length === 0) return;
    for (const name of doomed) await rm(join(this.dir, name), { force: true });
    await fsyncDir(this.dir);
  }

  private listDir(): string[] {
    try {
      return readdirSync(this.dir);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw err;
    }
  }

  /** Snapshot file names, newest first. */
  private snapNames(): SnapName[] {
    const out: SnapName[] = [];
    for (const name of this.listDir()) {
      const parsed = parseSnapName(name);
      if (parsed) out.push(parsed);
    }
    return out.sort(newestFirst);
  }

  private async loadFirstValid(names: readonly SnapName[]): Promise<Snapshot | undefined> {
    for (const n of names) {
      const path = join(this.dir, n.name);
      const bytes = await readFile(path); // an I/O error is not a broken file: let it surface
      try {
        const snapshot = decodeSnapFile(bytes);
        const { index, term } = snapshot.metadata;
        if (index !== n.index || term !== n.term)
          throw new Error(`holds term ${term} index ${index}, not what its name says`);
        return snapshot;
      } catch (err) {
        const reason = (err as Error).message;
        this.broken.push({ name: n.name, reason });
        await rename(path, `${path}.broken`);
      }
    }
    return undefined;
  }
}
