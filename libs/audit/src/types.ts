// The public shapes of the audit archive: what the library hands to in-process users (config center,
// console endpoints) and what its REST API returns. Types only: the console imports them with
// `import type`.
import type { CallContext } from '@cairn/server';

export type AuditOperation = 'PUT' | 'DELETE';

/**
 * One archived change of one key: a row of `cairn_audit_event`, keyed by its MVCC revision
 * (main, sub). Revisions, versions and sizes are plain numbers (MVCC revisions stay below 2^53);
 * lease IDs are decimal int64 strings ('0' = none), as etcd's JSON does.
 */
export interface AuditRecord {
  /** Main revision of the write (the etcd `mod_revision` of a PUT, the delete's revision). */
  revision: number;
  /** Position of this change inside its revision (etcd's sub revision: 0, 1, ... in a txn). */
  subRevision: number;
  key: Buffer;
  operation: AuditOperation;
  /**
   * The value written (PUT) when it is at most the archive's value threshold; null for a DELETE or
   * when only the hash was kept (`valueStored` false).
   */
  value: Buffer | null;
  /** True when `value` holds the full bytes of a PUT. */
  valueStored: boolean;
  /** sha256 (hex) of the full value of a PUT; null for a DELETE. */
  valueSha256: string | null;
  /** Length in bytes of the full value (0 for a DELETE). */
  valueSize: number;
  /** The key's create revision and version after a PUT (0 for a DELETE). */
  createRevision: number;
  version: number;
  /** Lease attached by a PUT (decimal int64, '0' = none). */
  lease: string;
  /** Who made the change, when the writer told the archive (see docs/audit.md "Actors"); else null. */
  actor: string | null;
  /**
   * When the archiving member saw the change applied (ms since epoch). For changes replayed from
   * MVCC history after a restart (`replayed` true) this is the replay time, not the write time.
   */
  observedAtMs: number;
  replayed: boolean;
  /** Member ID (hex) whose archiver wrote the row first. */
  member: string;
}

export type AuditOrder = 'asc' | 'desc';

export interface HistoryOptions {
  /** Only revisions >= fromRevision. */
  fromRevision?: number;
  /** Only revisions <= toRevision. */
  toRevision?: number;
  /** At most this many records (default 100, at most 1000). */
  limit?: number;
  /** By revision; default 'desc' (newest first). */
  order?: AuditOrder;
}

export interface ListEventsOptions {
  /** Only this exact key (takes precedence over `prefix`). */
  key?: string | Uint8Array;
  /** Only changes attributed to this actor. */
  actor?: string;
  /** Only keys starting with this prefix (default: every archived key). */
  prefix?: string | Uint8Array;
  /** Only revisions >= fromRevision. */
  fromRevision?: number;
  /** Only revisions <= toRevision. */
  toRevision?: number;
  /** At most this many records (default 100, at most 1000). */
  limit?: number;
  /** By (revision, subRevision); default 'asc'. */
  order?: AuditOrder;
  /** Paging: the `next` cursor of the previous page. */
  cursor?: string;
}

export interface AuditPage {
  records: AuditRecord[];
  /** Pass as `cursor` for the next page; absent on the last page. */
  next?: string;
}

/** Revisions the archive knows it does not have (compacted before it could read them). */
export interface AuditGap {
  /** First and last missing main revision (inclusive). */
  fromRevision: number;
  toRevision: number;
  reason: string;
  member: string;
  detectedAtMs: number;
}

export type AuditBackendKind = 'sqlite' | 'postgres';

export interface AuditStatus {
  backend: AuditBackendKind;
  /** Archive name rows are stored under (the cluster ID in hex): members of one cluster share it. */
  archive: string;
  member: string;
  /** True once the database is open and the watch runs. */
  ready: boolean;
  /** Every change up to this main revision has been archived by this member (0 = nothing yet). */
  lastArchivedRevision: number;
  /** Key prefixes archived, or ['' ] for every key. */
  prefixes: string[];
  valueMaxBytes: number;
  /** Last error from the database or the watch, if the archiver is retrying. */
  lastError?: string;
}

/** The archive as in-process users see it (config center: history and rollback past compaction). */
export interface AuditArchive {
  /** Changes of one key, newest first by default. */
  history(key: string | Uint8Array, options?: HistoryOptions): Promise<AuditRecord[]>;
  /** The change of `key` at exactly main revision `revision`, if archived. */
  eventAt(key: string | Uint8Array, revision: number): Promise<AuditRecord | undefined>;
  /**
   * The last change of `key` at or before `revision`: a PUT holds the value the key had at that
   * revision; a DELETE (or undefined) means the key did not exist then (undefined can also mean the
   * archive started later: check `gaps()`).
   */
  valueAsOf(key: string | Uint8Array, revision: number): Promise<AuditRecord | undefined>;
  /** Changes under a prefix, in revision order, paged. */
  listEvents(options?: ListEventsOptions): Promise<AuditPage>;
  /** Every change up to this main revision has been archived by this member (0 = nothing yet). */
  lastArchivedRevision(): Promise<number>;
  gaps(): Promise<AuditGap[]>;
  /**
   * Attribute the changes of main revision `revision` to `actor` (call it right after your write
   * returns its header revision). Fills rows whose actor is still unknown; never overwrites one.
   */
  noteActor(revision: number, actor: string): void;
  /**
   * Throws the core's permission error unless `ctx`'s caller may READ `[key, rangeEnd)` (no key: every
   * archived prefix). The REST API asks it before showing anything: the archive is not the KV.
   */
  checkRead(ctx: CallContext, key?: Uint8Array, rangeEnd?: Uint8Array): Promise<void>;
  status(): AuditStatus;
  /** Resolves when every change up to `revision` is archived (rejects after `timeoutMs`). */
  waitFor(revision: number, timeoutMs?: number): Promise<void>;
}

// ---- REST response types (/api/audit/v1): JSON-friendly twins of the records ----------------------

/** An AuditRecord as JSON: key and value as UTF-8 text when they are valid UTF-8, else base64. */
export interface AuditEventView {
  revision: number;
  subRevision: number;
  key: string;
  keyEncoding: 'utf8' | 'base64';
  operation: AuditOperation;
  value: string | null;
  valueEncoding: 'utf8' | 'base64' | null;
  valueStored: boolean;
  valueSha256: string | null;
  valueSize: number;
  createRevision: number;
  version: number;
  lease: string;
  actor: string | null;
  /** ISO-8601. */
  observedAt: string;
  replayed: boolean;
  member: string;
}

export interface AuditEventPageView {
  events: AuditEventView[];
  next?: string;
  /** Every change up to this revision is archived by the answering member. */
  lastArchivedRevision: number;
}

export interface AuditGapView {
  fromRevision: number;
  toRevision: number;
  reason: string;
  member: string;
  detectedAt: string;
}

export interface AuditStatusView extends AuditStatus {
  gaps: AuditGapView[];
}
