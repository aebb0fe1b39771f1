// The write-ahead log: Raft entries, hard states and snapshot marks in segment files, made durable before
// Raft may act on them. Modelled on etcd's server/storage/wal; record format and recovery rules are in
// README.md. Terms and indexes are JS numbers (they grow by one per entry/election, far below 2^53).
import {
  closeSync,
  fdatasync,
  fdatasyncSync,
  ftruncateSync,
  openSync,
  readdirSync,
  renameSync,
  unlinkSync,
} from 'node:fs';
import { mkdir, readFile, rm } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { Entry, HardState } from '@cairn/raft';
import { encodeHardState } from '../codec/state-codec';
import { fsyncDir, fsyncDirSync, writeFully } from './durable-fs';
import { WalCorruptError, WalError, WalErrorCode } from './errors';
import { frameRecords, type PlainRecord, RecordType } from './record';
import { encodeSegmentHeader, encodeSnapshotMark, type SnapshotMark } from './record-payloads';
import { EMPTY_HARD_STATE, Replay } from './replay';
import { formatSegmentName, listSegments, segmentHolding, type SegmentName } from './segment-name';
import { createSegmentFile, SegmentPipeline } from './segment-pipeline';
import { type SegmentScan, scanSegment } from './segment-scan';

/**
 * How save() waits for its fdatasync: 'inline' blocks the thread (the fastest wait when there is nothing else
 * to do); 'off-thread' runs it on libuv's pool so the event loop goes on meanwhile (a leader whose messages to
 * the followers must reach the socket while its own disk works).
 */
export type SyncMode = 'inline' | 'off-thread';

export interface WalOptions {
  /** A segment is cut (a new file started) once it holds this many bytes. Default 64 MiB. */
  segmentSizeBytes?: number;
  /**
   * Fill each new segment with zeros up to `segmentSizeBytes` before use (in the background), so that
   * fdatasync after an append has no file size or block allocation to persist. Default true.
   */
  preallocate?: boolean;
}

export interface WalOpenResult {
  wal: Wal;
  /** The bytes given to `create`. */
  metadata: Uint8Array;
  /** The last hard state written (all zero if none was). */
  hardState: HardState;
  /** The entries after the snapshot mark `open` started from, tail overwrites applied. */
  entries: Entry[];
  /** Set when `open` repaired a torn tail (a write that never completed): the caller logs it. */
  repairedTail?: WalTailRepair;
}

/** A torn tail `open` zeroed away: the segment file, the offset the valid data ends at, the bytes zeroed. */
export interface WalTailRepair {
  /** Full path of the segment file. */
  segment: string;
  /** Byte offset where the valid records end and the torn bytes began. */
  offset: number;
  /** How many torn bytes were zeroed from `offset` on. */
  bytes: number;
}

export const DEFAULT_SEGMENT_SIZE_BYTES = 64 * 1024 * 1024;

interface ResolvedOptions {
  segmentSizeBytes: number;
  preallocate: boolean;
}

function resolveOptions(opts: WalOptions): ResolvedOptions {
  const segmentSizeBytes = opts.segmentSizeBytes ?? DEFAULT_SEGMENT_SIZE_BYTES;
  if (!Number.isSafeInteger(segmentSizeBytes) || segmentSizeBytes < 1) {
    throw new RangeError(`wal: segmentSizeBytes must be a positive integer, got ${segmentSizeBytes}`);
  }
  return { segmentSizeBytes, preallocate: opts.preallocate ?? true };
}

const ZERO_CHUNK = Buffer.alloc(1024 * 1024);
const noop = (): void => undefined;

function isTmpFile(name: string): boolean {
  return name.endsWith('.tmp');
}

/** Leftovers of a crash during create or cut; never part of the log. */
async function removeTmpFiles(dir: string): Promise<void> {
  for (const name of readdirSync(dir)) {
    if (isTmpFile(name)) await rm(join(dir, name), { force: true });
  }
}

function segmentRecords(seq: number, index: number, metadata: Uint8Array, last: PlainRecord): PlainRecord[] {
  return [
    { type: RecordType.SegmentHeader, payload: encodeSegmentHeader(seq, index) },
    { type: RecordType.Metadata, payload: metadata },
    last,
  ];
}

async function readSegments(
  dir: string,
  segments: readonly SegmentName[],
  replay: Replay,
): Promise<SegmentScan> {
  let scan: SegmentScan | undefined;
  for (let k = 0; k < segments.length; k++) {
    const s = segments[k];
    if (k > 0 && s.seq !== segments[k - 1].seq + 1) {
      throw new WalCorruptError(
        join(dir, s.name),
        0,
        `segment seq ${segments[k - 1].seq + 1} is missing before it`,
      );
    }
    const file = join(dir, s.name);
    const buf = await readFile(file);
    scan = scanSegment(buf, file, s.seq, k === segments.length - 1);
    replay.applySegment(s, file, scan.records);
  }
  return scan as SegmentScan;
}

export class Wal {
  private closed = false;
  /** Set when a write or sync failed: what reached the disk is unknown, so the WAL stops. */
  private failure: unknown;
  /** Bytes written since the last fdatasync. */
  private dirty = false;
  /**
   * `hardState` is newer than the last one written: a save without sync and without entries (only the commit
   * index moved) is kept here and written with the next write, as etcd's WAL encoder buffers it until the
   * next sync. A crash loses only the knowledge of a commit, which the leader sends again; the entries are on
   * disk, and the applier skips what the backend already holds.
   */
  private hardStateUnwritten = false;
  /** Serialises operations so that concurrent callers cannot interleave records. */
  private queue: Promise<void> = Promise.resolve();
  private readonly pipeline: SegmentPipeline;

  private constructor(
    private readonly dir: string,
    private readonly opts: ResolvedOptions,
    private readonly metadata: Uint8Array,
    /** Every live segment, oldest first; the last one is being appended to. */
    private segments: SegmentName[],
    private fd: number,
    private offset: number,
    private lastIndex: number,
    private hardState: HardState,
  ) {
    this.pipeline = new SegmentPipeline(dir, opts.segmentSizeBytes, opts.preallocate);
    this.pipeline.start();
  }

  /** True if `dir` holds at least one WAL segment. */
  static exists(dir: string): boolean {
    return listSegments(dir).length > 0;
  }

  /**
   * Creates a WAL in `dir` (made if missing; must not hold segments yet). The first segment appears
   * atomically with its header, `metadata` and the snapshot mark {0, 0}.
   */
  static async create(dir: string, metadata: Uint8Array, opts: WalOptions = {}): Promise<Wal> {
    const o = resolveOptions(opts);
    if (Wal.exists(dir)) throw new WalError(WalErrorCode.Exists, `${dir} already holds a WAL`);
    await mkdir(dir, { recursive: true });
    await fsyncDir(dirname(dir));
    await removeTmpFiles(dir);

    const tmp = join(dir, 'segment-create.tmp');
    await createSegmentFile(tmp, o.segmentSizeBytes, o.preallocate);
    const name = formatSegmentName(0, 0);
    const fd = openSync(tmp, 'r+');
    try {
      const mark = { type: RecordType.SnapshotMark, payload: encodeSnapshotMark({ index: 0, term: 0 }) };
      const buf = frameRecords(0, 0, [], segmentRecords(0, 0, metadata, mark));
      writeFully(fd, buf, 0);
      fdatasyncSync(fd);
      renameSync(tmp, join(dir, name));
      fsyncDirSync(dir);
      return new Wal(
        dir,
        o,
        new Uint8Array(metadata), // a copy (Buffer#slice would share memory)
        [{ seq: 0, index: 0, name }],
        fd,
        buf.length,
        0,
        EMPTY_HARD_STATE,
      );
    } catch (err) {
      closeSync(fd);
      throw err;
    }
  }

  /**
   * Opens the WAL in `dir` for appending, after reading every record from the snapshot mark `from` on
   * (that mark must exist unless `from.index` is 0). A torn tail of the last segment is zeroed away;
   * damage anywhere else throws `WalCorruptError`.
   */
  static async open(dir: string, from: SnapshotMark, opts: WalOptions = {}): Promise<WalOpenResult> {
    const o = resolveOptions(opts);
    const all = listSegments(dir);
    if (all.length === 0) throw new WalError(WalErrorCode.NotFound, `no WAL segments in ${dir}`);
    const start = segmentHolding(all, from.index);
    if (start < 0) {
      throw new WalError(
        WalErrorCode.SnapshotNotFound,
        `no segment in ${dir} can hold index ${from.index} (released?)`,
      );
    }
    await removeTmpFiles(dir);

    const replay = new Replay(from, true);
    const read = all.slice(start);
    const tail = await readSegments(dir, read, replay);
    if (replay.metadata === undefined)
      throw new WalCorruptError(join(dir, read[0].name), 0, 'no metadata record');
    if (from.index !== 0 && !replay.matchedFrom) {
      throw new WalError(
        WalErrorCode.SnapshotNotFound,
        `snapshot mark {index: ${from.index}, term: ${from.term}} not found in ${dir}`,
      );
    }

    const last = all[all.length - 1];
    const fd = openSync(join(dir, last.name), 'r+');
    let repairedTail: WalTailRepair | undefined;
    try {
      if (tail.tornEnd > tail.dataEnd) {
        repairedTail = {
          segment: join(dir, last.name),
          offset: tail.dataEnd,
          bytes: tail.tornEnd - tail.dataEnd,
        };
        // Zero rather than truncate: keeps the preallocation, and a later partial overwrite of the torn
        // bytes cannot leave stale records behind (etcd does the same).
        for (let at = tail.dataEnd; at < tail.tornEnd; at += ZERO_CHUNK.length) {
          writeFully(fd, ZERO_CHUNK.subarray(0, Math.min(ZERO_CHUNK.length, tail.tornEnd - at)), at);
        }
        fdatasyncSync(fd);
      }
    } catch (err) {
      closeSync(fd);
      throw err;
    }
    const wal = new Wal(dir, o, replay.metadata, all, fd, tail.dataEnd, replay.lastIndex, replay.hardState);
    return {
      wal,
      metadata: replay.metadata,
      hardState: replay.hardState,
      entries: replay.entries,
      ...(repairedTail ? { repairedTail } : {}),
    };
  }

  /**
   * The snapshot marks in the WAL at `dir` whose index the last hard state has committed (a mark beyond
   * the commit index cannot be trusted), oldest first. Read-only: safe beside an open WAL. Used to pick the
   * newest snapshot file that the WAL can continue from (`Snapshotter.loadNewestAvailable`).
   */
  static async readSnapshotMarks(dir: string): Promise<SnapshotMark[]> {
    const all = listSegments(dir);
    if (all.length === 0) return [];
    const replay = new Replay({ index: 0, term: 0 }, false);
    await readSegments(dir, all, replay);
    return replay.marks.filter((m) => m.index <= replay.hardState.commit);
  }

  /**
   * Appends `entries` then `hardState` as ONE write; with `sync`, ONE fdatasync before resolving (group
   * commit: the driver calls this once per Raft Ready). Entries at an index already in the log replace
   * it and everything after it (on the next open).
   */
  save(
    hardState: HardState | undefined,
    entries: readonly Entry[],
    sync: boolean,
    mode: SyncMode = 'inline',
  ): Promise<void> {
    return this.enqueue(async () => {
      if (hardState !== undefined && entries.length === 0 && !sync) {
        encodeHardState(hardState); // validates now, as a write would
        this.hardState = { ...hardState };
        this.hardStateUnwritten = true;
        return;
      }
      if (hardState === undefined && entries.length === 0 && !(sync && this.hardStateUnwritten)) {
        if (sync && this.dirty) await this.sync(mode);
        return;
      }
      const state = hardState ?? (this.hardStateUnwritten ? this.hardState : undefined);
      // Encoding validates first: a bad entry throws here, before anything is written.
      const buf = frameRecords(this.currentSegment().seq, this.offset, entries, this.hardStateRecords(state));
      this.io('write', () => this.append(buf));
      if (entries.length > 0) this.lastIndex = entries[entries.length - 1].index;
      if (state) this.hardState = { ...state };
      this.hardStateUnwritten = false;
      if (sync) await this.sync(mode);
      if (this.offset >= this.opts.segmentSizeBytes) await this.cut();
    });
  }

  /**
   * Records that a snapshot at {index, term} exists (after its file was saved); fsynced. A hard state not
   * yet written goes first: a mark counts only once a written commit index covers it (readSnapshotMarks).
   */
  saveSnapshot(mark: SnapshotMark): Promise<void> {
    return this.enqueue(async () => {
      const rec: PlainRecord = { type: RecordType.SnapshotMark, payload: encodeSnapshotMark(mark) };
      const records = [...this.hardStateRecords(this.hardStateUnwritten ? this.hardState : undefined), rec];
      const buf = frameRecords(this.currentSegment().seq, this.offset, [], records);
      this.io('write', () => this.append(buf));
      this.hardStateUnwritten = false;
      this.io('fdatasync', () => this.syncTail());
      if (mark.index > this.lastIndex) this.lastIndex = mark.index;
      if (this.offset >= this.opts.segmentSizeBytes) await this.cut();
    });
  }

  /**
   * Deletes the segments before the one that `open` would start reading at for `index` (the newest
   * segment named at or below it), so every entry from `index` on stays. Call with the index of a saved
   * snapshot. The segment being appended to is never deleted.
   */
  releaseTo(index: number): Promise<void> {
    return this.enqueue(async () => {
      const keepFrom = segmentHolding(this.segments, index);
      if (keepFrom <= 0) return;
      for (const s of this.segments.slice(0, keepFrom)) unlinkSync(join(this.dir, s.name));
      this.segments = this.segments.slice(keepFrom);
      await fsyncDir(this.dir);
    });
  }

  /** Syncs what is unsynced, closes the file and drops the prepared next segment. Idempotent. */
  close(): Promise<void> {
    const run = this.queue.then(async () => {
      if (this.closed) return;
      this.closed = true;
      try {
        if (this.hardStateUnwritten && this.failure === undefined) {
          const buf = frameRecords(
            this.currentSegment().seq,
            this.offset,
            [],
            this.hardStateRecords(this.hardState),
          );
          this.append(buf);
          this.hardStateUnwritten = false;
        }
        if (this.dirty && this.failure === undefined) fdatasyncSync(this.fd);
      } finally {
        closeSync(this.fd);
        await this.pipeline.close();
      }
    });
    this.queue = run.then(noop, noop);
    return run;
  }

  private enqueue(op: () => Promise<void>): Promise<void> {
    const run = this.queue.then(() => {
      if (this.closed) throw new WalError(WalErrorCode.Closed, 'the WAL is closed');
      if (this.failure !== undefined) {
        throw new WalError(WalErrorCode.Failed, 'an earlier write or sync failed', { cause: this.failure });
      }
      return op();
    });
    this.queue = run.then(noop, noop);
    return run;
  }

  /** Runs file I/O; a failure poisons the WAL (etcd panics here: the on-disk state is unknown). */
  private io(what: string, fn: () => void): void {
    try {
      fn();
    } catch (err) {
      throw this.poisoned(what, err);
    }
  }

  /** Records `err` as the WAL's failure and returns the error to throw for `what`. */
  private poisoned(what: string, err: unknown): WalError {
    this.failure = err;
    return new WalError(WalErrorCode.Failed, `${what} failed: ${(err as Error).message}`, { cause: err });
  }

  private hardStateRecords(state: HardState | undefined): PlainRecord[] {
    return state ? [{ type: RecordType.HardState, payload: encodeHardState(state) }] : [];
  }

  private currentSegment(): SegmentName {
    return this.segments[this.segments.length - 1];
  }

  private append(buf: Uint8Array): void {
    writeFully(this.fd, buf, this.offset);
    this.offset += buf.length;
    this.dirty = true;
  }

  private async sync(mode: SyncMode): Promise<void> {
    if (mode === 'inline') {
      this.io('fdatasync', () => this.syncTail());
      return;
    }
    try {
      await fdatasyncOffThread(this.fd);
      this.dirty = false;
    } catch (err) {
      throw this.poisoned('fdatasync', err);
    }
  }

  private syncTail(): void {
    fdatasyncSync(this.fd);
    this.dirty = false;
  }

  /**
   * Starts the next segment: the full one is cut to its data and fsynced (so a later segment implies a
   * complete earlier one), the prepared file gets header, metadata and the current hard state, is
   * fsynced, then renamed into place and the directory fsynced.
   */
  private async cut(): Promise<void> {
    const prev = this.currentSegment();
    const seq = prev.seq + 1;
    const index = this.lastIndex + 1;
    const name = formatSegmentName(seq, index);
    let tmp: string;
    try {
      ftruncateSync(this.fd, this.offset);
      fdatasyncSync(this.fd);
      this.dirty = false;
      tmp = await this.pipeline.take();
    } catch (err) {
      throw this.poisoned(`cutting ${name}`, err);
    }
    this.io(`cutting ${name}`, () => {
      const fd = openSync(tmp, 'r+');
      try {
        const state = { type: RecordType.HardState, payload: encodeHardState(this.hardState) };
        const buf = frameRecords(seq, 0, [], segmentRecords(seq, index, this.metadata, state));
        writeFully(fd, buf, 0);
        fdatasyncSync(fd);
        renameSync(tmp, join(this.dir, name));
        fsyncDirSync(this.dir);
        closeSync(this.fd);
        this.fd = fd;
        this.offset = buf.length;
        this.segments.push({ seq, index, name });
        this.hardStateUnwritten = false; // the new segment starts with the current hard state
      } catch (err) {
        if (this.fd !== fd) closeSync(fd);
        throw err;
      }
    });
    this.pipeline.start();
  }
}

function fdatasyncOffThread(fd: number): Promise<void> {
  return new Promise((resolve, reject) => fdatasync(fd, (err) => (err ? reject(err) : resolve())));
}
