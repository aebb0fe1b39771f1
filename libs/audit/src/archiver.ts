// The archiver: one in-process watch (through the member's EtcdPort) over the narrowest key range holding every
// archived prefix (every key with --audit-all-keys), from the revision after the last one archived; while that
// watch is synced every revision up to the store's current one has been seen (progress), so the cursor moves on
// over revisions outside the range without the watch hearing each of them. Changes under the archived prefixes
// become rows (revision main/sub, key,
// operation, value or its hash, lease, actor, time), buffered in memory and written in batches, each
// batch in one transaction with the member's cursor. The sink only touches memory, so apply never
// waits for the database; when too much is pending the sink refuses and the watchable store keeps the
// response and retries it (nothing is lost or reordered). A start revision that was compacted away is
// recorded as a gap and the archiver continues from the compact revision. A snapshot install needs nothing
// here: the port's watch lives across it and catches up (or reports a compaction, handled as above).
import { createHash } from 'node:crypto';
import {
  type EtcdPort,
  type Logger,
  type PortWatch,
  type WatchEvent,
  type WatchResponse,
  internalContext,
  type CallContext,
} from '@cairn/server';
import { prefixEnd } from '@cairn/api';
import { type RevisionWriters, normalizeActor } from './actor';
import type { AuditEventRow, AuditGapRow } from './entities';
import { AuditStore, backendKindOf } from './store';
import type {
  AuditArchive,
  AuditGap,
  AuditPage,
  AuditRecord,
  AuditStatus,
  HistoryOptions,
  ListEventsOptions,
} from './types';
import { toGap, toRecord } from './views';

/** Archived by default: the config center's and the registry's keys. */
export const DEFAULT_AUDIT_PREFIXES = ['/cairn/config/', '/cairn/registry/'];
/**
 * Keys under the archived prefixes that are not history: config subscriber records
 * (`/cairn/config/<ns>/<app>/~subscriber/<id>`, rewritten by every report, leased). `--audit-all-keys` keeps
 * them too.
 */
export const UNARCHIVED_SEGMENTS = ['/~subscriber/'];
/** Values above this many bytes are archived as their sha256 only (default). */
export const DEFAULT_VALUE_MAX_BYTES = 1024 * 1024;

export interface AuditArchiverOptions {
  /** The member's port: the watch, its revisions, and its cluster and member IDs. */
  port: EtcdPort;
  logger: Logger;
  /** `postgres://...` selects PostgreSQL; absent = SQLite at `sqlitePath`. */
  dbUrl?: string;
  /** The SQLite file (cairn-app: `<data-dir>/audit/audit.sqlite`). */
  sqlitePath: string;
  /** Archive every key, not only `prefixes`. */
  allKeys?: boolean;
  prefixes?: string[];
  /** Values longer than this are stored as sha256 + size only. */
  valueMaxBytes?: number;
  /** Write a batch as soon as this many rows are pending (default 500). */
  batchRows?: number;
  /** Otherwise write pending rows after this delay (default 50 ms). */
  flushIntervalMs?: number;
  /** Above this many pending rows the watch sink refuses responses until a batch is written (default 20000). */
  maxPendingRows?: number;
  /** ...or above this many bytes of pending keys and values (default 64 MiB). */
  maxPendingBytes?: number;
  /** Delay before retrying the database after an error (default 1000 ms). */
  retryMs?: number;
  /** The user of every applied write (the Raft entry header's), when the server provides it: the actors. */
  writers?: RevisionWriters;
}

interface Waiter {
  revision: number;
  resolve: () => void;
}

const MAX_NOTED_ACTORS = 10_000;
const CURSOR_ONLY_FLUSH_MS = 1000;
/** How often the cursor follows the store's revision while the watch hears nothing (writes outside its range). */
const PROGRESS_MS = 1000;

export class AuditArchiver implements AuditArchive {
  private store: AuditStore | undefined;
  private readonly port: EtcdPort;
  private readonly logger: Logger;
  private readonly prefixes: Buffer[];
  /** The key range watched: every archived prefix in one range (one ordered stream of revisions). */
  private readonly watchRange: { key: Buffer; rangeEnd: Buffer };
  private readonly unarchived: Buffer[];
  private readonly valueMaxBytes: number;
  private readonly batchRows: number;
  private readonly flushIntervalMs: number;
  private readonly maxPendingRows: number;
  private readonly maxPendingBytes: number;
  private readonly retryMs: number;
  private readonly archive: string;
  private readonly member: string;

  /** Every revision up to this one has been seen by the watch (and is pending or stored). */
  private seenThrough = 0;
  /** Every revision up to this one is stored. */
  private archivedThrough = 0;
  private pendingRows: AuditEventRow[] = [];
  private pendingBytes = 0;
  private pendingGaps: AuditGapRow[] = [];
  /** Actors noted by writers, until their revision is stored. */
  private readonly notedActors = new Map<number, string>();
  private actorsDirty = false;

  /** The running watch; undefined between a compaction notice (or an end) and the next watch. */
  private watcher: PortWatch | undefined;
  /** Bumped by every watch started, so a sink of an earlier watch is ignored. */
  private watchGeneration = 0;
  private flushTimer: NodeJS.Timeout | undefined;
  private retryTimer: NodeJS.Timeout | undefined;
  private flushing: Promise<void> | undefined;
  private startPromise: Promise<void> | undefined;
  private rewatchTimer: NodeJS.Timeout | undefined;
  private progressTimer: NodeJS.Timeout | undefined;
  private waiters: Waiter[] = [];
  private closed = false;
  private ready = false;
  private readonly stopWriters: (() => void) | undefined;
  private lastError: string | undefined;

  constructor(private readonly options: AuditArchiverOptions) {
    this.port = options.port;
    this.logger = options.logger.child({ component: 'audit' });
    const prefixes = options.allKeys ? [''] : (options.prefixes ?? DEFAULT_AUDIT_PREFIXES);
    this.prefixes = prefixes.map((prefix) => Buffer.from(prefix));
    this.watchRange = rangeOf(this.prefixes);
    this.unarchived = options.allKeys ? [] : UNARCHIVED_SEGMENTS.map((segment) => Buffer.from(segment));
    this.valueMaxBytes = options.valueMaxBytes ?? DEFAULT_VALUE_MAX_BYTES;
    this.batchRows = options.batchRows ?? 500;
    this.flushIntervalMs = options.flushIntervalMs ?? 50;
    this.maxPendingRows = options.maxPendingRows ?? 20_000;
    this.maxPendingBytes = options.maxPendingBytes ?? 64 * 1024 * 1024;
    this.retryMs = options.retryMs ?? 1000;
    this.archive = this.port.member.clusterId.toString(16);
    this.member = this.port.member.memberId.toString(16);
    // Subscribed at once: an actor applied before its change reaches the watch waits in notedActors.
    this.stopWriters = options.writers?.onApplied((revision, user) => {
      if (user !== '') this.noteActor(revision, user);
    });
  }

  /** Creates the archiver and starts it in the background (a database that is down is retried). */
  static start(options: AuditArchiverOptions): AuditArchiver {
    const archiver = new AuditArchiver(options);
    archiver.startPromise = archiver.run();
    return archiver;
  }

  /** Resolves once the database is open and the watch runs. */
  async whenReady(): Promise<void> {
    while (!this.ready) {
      if (this.closed) throw new Error('audit archiver closed');
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }

  private async run(): Promise<void> {
    while (!this.closed) {
      try {
        const store = await AuditStore.open({
          url: this.options.dbUrl,
          sqlitePath: this.options.sqlitePath,
          archive: this.archive,
          member: this.member,
        });
        if (this.closed) {
          await store.close();
          return;
        }
        this.store = store;
        this.archivedThrough = await store.cursor();
        this.seenThrough = this.archivedThrough;
        break;
      } catch (error) {
        this.fail(error, 'cannot open the audit database; retrying');
        await new Promise((resolve) => setTimeout(resolve, this.retryMs));
      }
    }
    if (this.closed) return;
    const current = this.port.revisions().current;
    if (this.seenThrough > current) {
      this.logger.warn(
        { archivedThrough: this.seenThrough, currentRevision: current },
        'the audit archive is ahead of this member’s store (restored data dir?); revisions up to the archived one are not archived again',
      );
    }
    this.logger.info(
      {
        backend: this.store?.kind,
        archive: this.archive,
        resumeFrom: this.seenThrough + 1,
        prefixes: this.prefixes.map(String),
      },
      'audit archiver started',
    );
    this.lastError = undefined;
    this.ready = true;
    this.watch(this.seenThrough + 1);
    this.progressTimer = setInterval(() => this.progress(), PROGRESS_MS);
    this.progressTimer.unref();
  }

  // ---- the watch ------------------------------------------------------------------------------------

  private watch(startRevision: number): void {
    if (this.closed) return;
    const generation = ++this.watchGeneration;
    let watcher: PortWatch | undefined;
    try {
      // The member's own duty: the archive of this member's applied log, which no client asked for.
      watcher = this.port.watch(
        internalContext(),
        { ...this.watchRange, startRevision },
        (response) => this.receive(generation, watcher, response),
        (error) => {
          if (generation !== this.watchGeneration) return;
          this.watcher = undefined;
          this.fail(error, 'audit: the watch ended; watching again');
          this.rewatch(this.retryMs);
        },
      );
    } catch (error) {
      this.fail(error, 'audit: cannot watch; retrying');
      this.rewatch(this.retryMs);
      return;
    }
    if (generation === this.watchGeneration) this.watcher = watcher;
  }

  /**
   * Progress: a synced watch has been offered every revision up to the store's current one (the store queues a
   * write for the fan-out when it applies it, and isSynced() is false until that write was offered and taken),
   * so revisions with nothing in the watched range count as seen. Never called inside the sink.
   */
  private advanceToCurrent(): void {
    if (this.watcher === undefined || this.rewatchTimer !== undefined || !this.watcher.isSynced()) return;
    const current = this.port.revisions().current;
    if (current > this.seenThrough) this.seenThrough = current;
  }

  /** The periodic progress: the cursor follows the store while the watch hears nothing. */
  private progress(): void {
    this.advanceToCurrent();
    if (this.seenThrough > this.archivedThrough) this.scheduleFlush(0);
  }

  /** Watches again from the revision after the last one seen, outside any sink call. */
  private rewatch(delayMs: number): void {
    if (this.closed || this.rewatchTimer) return;
    this.watchGeneration++;
    this.rewatchTimer = setTimeout(() => {
      this.rewatchTimer = undefined;
      this.watch(this.seenThrough + 1);
    }, delayMs);
  }

  private receive(generation: number, watcher: PortWatch | undefined, response: WatchResponse): boolean {
    if (this.closed || generation !== this.watchGeneration) return true;
    if (response.compactRevision !== undefined) {
      this.recordGap(response.compactRevision);
      // The store ended this watcher; start again at the compact revision.
      this.watcher = undefined;
      this.rewatch(0);
      return true;
    }
    if (this.pendingRows.length >= this.maxPendingRows || this.pendingBytes >= this.maxPendingBytes) {
      this.scheduleFlush(0);
      return false; // kept by the store and offered again
    }
    const replayed = watcher ? !watcher.isSynced() : true;
    const now = Date.now();
    let start = 0;
    const events = response.events;
    while (start < events.length) {
      const revision = events[start].kv.modRevision;
      let end = start;
      while (end < events.length && events[end].kv.modRevision === revision) end++;
      if (revision > this.seenThrough) this.archiveRevision(events, start, end, revision, now, replayed);
      start = end;
    }
    this.seenThrough = Math.max(this.seenThrough, response.revision);
    this.scheduleFlush(this.pendingRows.length >= this.batchRows ? 0 : this.flushIntervalMs);
    return true;
  }

  /** events[start, end) are every change of one revision, in sub-revision order. */
  private archiveRevision(
    events: WatchEvent[],
    start: number,
    end: number,
    revision: number,
    now: number,
    replayed: boolean,
  ): void {
    const actor = this.notedActors.get(revision) ?? null;
    for (let i = start; i < end; i++) {
      const event = events[i];
      const key = event.kv.key;
      if (!this.archived(key)) continue;
      // The store's sub-revision: the watch only carries the range's changes of a revision.
      const row = this.row(event, revision, event.sub ?? i - start, actor, now, replayed);
      this.pendingRows.push(row);
      this.pendingBytes += rowBytes(row);
    }
  }

  private archived(key: Buffer): boolean {
    for (const segment of this.unarchived) if (key.includes(segment)) return false;
    for (const prefix of this.prefixes) {
      if (key.length >= prefix.length && key.compare(prefix, 0, prefix.length, 0, prefix.length) === 0)
        return true;
    }
    return false;
  }

  private row(
    event: WatchEvent,
    revision: number,
    sub: number,
    actor: string | null,
    now: number,
    replayed: boolean,
  ): AuditEventRow {
    const kv = event.kv;
    const put = event.type === 'put';
    const stored = put && kv.value.length <= this.valueMaxBytes;
    return {
      archive: this.archive,
      revMain: revision,
      revSub: sub,
      key: Buffer.from(kv.key),
      op: put ? 'PUT' : 'DELETE',
      value: stored ? Buffer.from(kv.value) : null,
      valueStored: stored,
      valueSha256: put ? createHash('sha256').update(kv.value).digest('hex') : null,
      valueSize: put ? kv.value.length : 0,
      createRevision: put ? kv.createRevision : 0,
      version: put ? kv.version : 0,
      lease: put ? kv.lease.toString() : '0',
      actor,
      observedAtMs: now,
      replayed,
      member: this.member,
    };
  }

  private recordGap(compactRevision: number): void {
    const from = this.seenThrough + 1;
    const to = compactRevision - 1;
    if (to < from) return;
    this.logger.warn(
      { fromRevision: from, toRevision: to, compactRevision },
      'audit: revisions were compacted before they could be archived; recording the gap',
    );
    this.pendingGaps.push({
      archive: this.archive,
      fromRevision: from,
      toRevision: to,
      member: this.member,
      reason: `compacted at revision ${compactRevision} before the archiver read them`,
      detectedAtMs: Date.now(),
    });
    this.seenThrough = to;
    this.scheduleFlush(0);
  }

  // ---- writing ----------------------------------------------------------------------------------------

  private scheduleFlush(delayMs: number): void {
    if (this.closed || !this.store || this.retryTimer) return;
    if (this.flushTimer) {
      if (delayMs > 0) return;
      clearTimeout(this.flushTimer);
    }
    this.flushTimer = setTimeout(() => {
      this.flushTimer = undefined;
      void this.flush();
    }, delayMs);
  }

  /** Writes what is pending; a flush in flight is awaited first (one writer at a time). */
  async flush(): Promise<void> {
    while (this.flushing) await this.flushing;
    const store = this.store;
    if (!store) return;
    this.advanceToCurrent();
    const rows = this.pendingRows;
    const gaps = this.pendingGaps;
    const cursor = this.seenThrough;
    const actors = this.actorsDirty ? new Map(this.notedActors) : new Map<number, string>();
    if (rows.length === 0 && gaps.length === 0 && actors.size === 0 && cursor <= this.archivedThrough) {
      // A waiter for a revision the watch has not reached yet: look again shortly.
      if (this.waiters.length > 0) this.scheduleFlush(this.flushIntervalMs);
      return;
    }
    this.pendingRows = [];
    this.pendingBytes = 0;
    this.pendingGaps = [];
    this.actorsDirty = false;
    this.flushing = (async () => {
      try {
        await store.write({
          rows,
          gaps,
          actors,
          cursor: cursor > this.archivedThrough ? cursor : undefined,
        });
        this.archivedThrough = Math.max(this.archivedThrough, cursor);
        if (this.lastError !== undefined) {
          this.logger.info({ archivedThrough: this.archivedThrough }, 'audit: database writes recovered');
        }
        this.lastError = undefined;
        for (const revision of this.notedActors.keys()) {
          if (revision <= this.archivedThrough) this.notedActors.delete(revision);
        }
        this.wakeWaiters();
      } catch (error) {
        // Put the batch back in front (rows are idempotent) and retry later.
        this.pendingRows = rows.concat(this.pendingRows);
        this.pendingBytes = this.pendingRows.reduce((sum, row) => sum + rowBytes(row), 0);
        this.pendingGaps = gaps.concat(this.pendingGaps);
        if (actors.size > 0) this.actorsDirty = true;
        this.fail(error, 'audit: writing a batch failed; retrying');
        if (!this.closed && !this.retryTimer) {
          this.retryTimer = setTimeout(() => {
            this.retryTimer = undefined;
            this.scheduleFlush(0);
          }, this.retryMs);
        }
      } finally {
        this.flushing = undefined;
      }
    })();
    await this.flushing;
    if (this.pendingRows.length > 0 || this.waiters.length > 0) this.scheduleFlush(this.flushIntervalMs);
    else if (this.seenThrough > this.archivedThrough) this.scheduleFlush(CURSOR_ONLY_FLUSH_MS);
    // Responses refused while the buffer was full come back on the store's retry timer.
  }

  private fail(error: unknown, message: string): void {
    const text = error instanceof Error ? error.message : String(error);
    // A database that stays down logs once per distinct error, not once per retry.
    if (text !== this.lastError) this.logger.error({ err: text }, message);
    else this.logger.debug({ err: text }, message);
    this.lastError = text;
  }

  private wakeWaiters(): void {
    const still: Waiter[] = [];
    for (const waiter of this.waiters) {
      if (waiter.revision <= this.archivedThrough) waiter.resolve();
      else still.push(waiter);
    }
    this.waiters = still;
  }

  // ---- AuditArchive -----------------------------------------------------------------------------------

  /**
   * Proves `ctx`'s caller may READ `[key, rangeEnd)` (rangeEnd empty: the key alone), by a serializable
   * count-only range under its context: the archive is served from SQL, not the KV, so the core's permission
   * check is asked explicitly before anything archived is shown. Without a key, every archived prefix.
   */
  async checkRead(ctx: CallContext, key?: Uint8Array, rangeEnd?: Uint8Array): Promise<void> {
    const ranges = key
      ? [{ key, rangeEnd: rangeEnd ?? new Uint8Array(0) }]
      : this.prefixes.map((prefix) =>
          prefix.length === 0
            ? { key: Buffer.from([0]), rangeEnd: Buffer.from([0]) }
            : { key: prefix, rangeEnd: prefixEnd(prefix) },
        );
    for (const range of ranges) {
      await this.port.range(ctx, { ...range, countOnly: true, serializable: true });
    }
  }

  noteActor(revision: number, actor: string): void {
    const name = normalizeActor(actor);
    if (name === null || !Number.isSafeInteger(revision) || revision <= 0) return;
    this.notedActors.set(revision, name);
    if (this.notedActors.size > MAX_NOTED_ACTORS) {
      const oldest = this.notedActors.keys().next().value;
      if (oldest !== undefined) this.notedActors.delete(oldest);
    }
    for (const row of this.pendingRows) if (row.revMain === revision && row.actor === null) row.actor = name;
    if (revision <= this.seenThrough) {
      this.actorsDirty = true;
      this.scheduleFlush(this.flushIntervalMs);
    }
  }

  private requireStore(): AuditStore {
    if (!this.store) throw new AuditUnavailableError(this.lastError);
    return this.store;
  }

  async history(key: string | Uint8Array, options: HistoryOptions = {}): Promise<AuditRecord[]> {
    const rows = await this.requireStore().history(toKey(key), options);
    return rows.map(toRecord);
  }

  async eventAt(key: string | Uint8Array, revision: number): Promise<AuditRecord | undefined> {
    const row = await this.requireStore().eventAt(toKey(key), revision);
    return row ? toRecord(row) : undefined;
  }

  async valueAsOf(key: string | Uint8Array, revision: number): Promise<AuditRecord | undefined> {
    const row = await this.requireStore().valueAsOf(toKey(key), revision);
    return row ? toRecord(row) : undefined;
  }

  async listEvents(options: ListEventsOptions = {}): Promise<AuditPage> {
    const after = options.cursor !== undefined ? decodeCursor(options.cursor) : undefined;
    const { rows, more } = await this.requireStore().list({
      key: options.key !== undefined ? toKey(options.key) : undefined,
      actor: options.actor,
      prefix: options.prefix !== undefined ? toKey(options.prefix) : undefined,
      fromRevision: options.fromRevision,
      toRevision: options.toRevision,
      limit: options.limit,
      order: options.order,
      after,
    });
    const records = rows.map(toRecord);
    const last = records[records.length - 1];
    return more && last ? { records, next: encodeCursor(last) } : { records };
  }

  async lastArchivedRevision(): Promise<number> {
    this.requireStore();
    return this.archivedThrough;
  }

  async gaps(): Promise<AuditGap[]> {
    const rows = await this.requireStore().gaps();
    return rows.map(toGap);
  }

  status(): AuditStatus {
    return {
      backend: this.store?.kind ?? backendKindOf(this.options.dbUrl),
      archive: this.archive,
      member: this.member,
      ready: this.ready,
      lastArchivedRevision: this.archivedThrough,
      prefixes: this.prefixes.map(String),
      valueMaxBytes: this.valueMaxBytes,
      ...(this.lastError !== undefined ? { lastError: this.lastError } : {}),
    };
  }

  waitFor(revision: number, timeoutMs = 10_000): Promise<void> {
    if (revision <= this.archivedThrough) return Promise.resolve();
    this.scheduleFlush(0);
    return new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((waiter) => waiter !== entry);
        reject(
          new Error(
            `audit archive did not reach revision ${revision} within ${timeoutMs} ms (archived through ${this.archivedThrough})`,
          ),
        );
      }, timeoutMs);
      const entry: Waiter = {
        revision,
        resolve: () => {
          clearTimeout(timer);
          resolve();
        },
      };
      this.waiters.push(entry);
    });
  }

  /** The underlying store (tests, diagnostics). */
  get database(): AuditStore | undefined {
    return this.store;
  }

  /** Stops the watch, writes what is pending, closes the database. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.stopWriters?.();
    // The cursor stored at close covers every revision seen, those outside the watched range too.
    this.advanceToCurrent();
    this.watchGeneration++;
    this.watcher?.cancel();
    this.watcher = undefined;
    if (this.rewatchTimer) clearTimeout(this.rewatchTimer);
    this.rewatchTimer = undefined;
    if (this.progressTimer) clearInterval(this.progressTimer);
    this.progressTimer = undefined;
    if (this.flushTimer) clearTimeout(this.flushTimer);
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.flushTimer = undefined;
    this.retryTimer = undefined;
    await this.startPromise;
    if (this.store) {
      try {
        await this.flush();
      } catch (error) {
        this.fail(error, 'audit: final write failed');
      }
      await this.store.close();
    }
    this.ready = false;
  }
}

export class AuditUnavailableError extends Error {
  constructor(cause: string | undefined) {
    super(`the audit archive is not available yet${cause ? `: ${cause}` : ''}`);
  }
}

/** The narrowest range [key, rangeEnd) holding every prefix ("\0".."\0", every key, when one is empty). */
function rangeOf(prefixes: Buffer[]): { key: Buffer; rangeEnd: Buffer } {
  const all = { key: Buffer.from([0]), rangeEnd: Buffer.from([0]) };
  if (prefixes.length === 0 || prefixes.some((prefix) => prefix.length === 0)) return all;
  let key = prefixes[0];
  let rangeEnd = Buffer.from(prefixEnd(prefixes[0]));
  for (const prefix of prefixes) {
    const end = Buffer.from(prefixEnd(prefix));
    if (Buffer.compare(prefix, key) < 0) key = prefix;
    // prefixEnd of a prefix of 0xff bytes is "\0": no end.
    if (isNoEnd(end) || isNoEnd(rangeEnd)) rangeEnd = Buffer.from([0]);
    else if (Buffer.compare(end, rangeEnd) > 0) rangeEnd = end;
  }
  return { key, rangeEnd };
}

function isNoEnd(end: Buffer): boolean {
  return end.length === 1 && end[0] === 0;
}

function rowBytes(row: AuditEventRow): number {
  return 128 + row.key.length + (row.value?.length ?? 0);
}

function toKey(key: string | Uint8Array): Buffer {
  return typeof key === 'string' ? Buffer.from(key, 'utf8') : Buffer.from(key);
}

function encodeCursor(record: AuditRecord): string {
  return `${record.revision}.${record.subRevision}`;
}

export class InvalidCursorError extends Error {}

function decodeCursor(cursor: string): { main: number; sub: number } {
  const match = /^(\d+)\.(\d+)$/.exec(cursor);
  if (!match) throw new InvalidCursorError(`invalid cursor "${cursor}"`);
  return { main: Number(match[1]), sub: Number(match[2]) };
}
