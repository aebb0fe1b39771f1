// The config center's model and the JSON shapes its REST API returns (import type-only from web/).
// Revisions and versions are numbers: etcd revisions stay far below 2^53.

export type ConfigFormat = 'json' | 'yaml' | 'properties' | 'text';

export type ReleaseKind = 'publish' | 'rollback' | 'gray' | 'promote' | 'import';

export interface ValidationIssue {
  message: string;
  /** 1-based; 0 when the problem has no position (e.g. a JSON Schema violation). */
  line: number;
  column: number;
}

/** A gray release's target: every label must match, then `percentage` of those (stable hash of the subscriber ID). */
export interface GrayRule {
  labels: Record<string, string>;
  percentage: number;
}

// ---- stored records (JSON values in the KV; see docs/config.md for the key layout) ------------------

export interface NamespaceRecord {
  description: string;
  createdAt: string;
}

export interface AppRecord {
  description: string;
  createdAt: string;
}

export interface ItemRecord {
  format: ConfigFormat;
  description: string;
  /** JSON Schema text enforced on publish; '' = none. */
  schema: string;
  /** Live release number (0 = never published). */
  version: number;
  /** Highest release number used (gray releases take numbers too). */
  latestRelease: number;
  /**
   * Secret: content is stored encrypted (live key, releases, gray, draft, and so the audit archive) and shown
   * masked unless the caller asks to reveal it. Absent on records written before issue 15 (= false).
   */
  secret?: boolean;
  createdAt: string;
  updatedAt: string;
}

export interface ReleaseRecord {
  version: number;
  format: ConfigFormat;
  /**
   * The released content. Records written since issue 14 leave it out of the stored JSON (the bytes are
   * under `~release-content/`, so a publish carries them once); older records still hold it here.
   */
  content: string;
  /**
   * Who released it: the authenticated user ('anonymous' with auth off). Set by the member from the
   * caller's identity, never from the request; absent on releases written before issue 15.
   */
  actor?: string;
  /** The caller's own note of who it is: free text, never trusted (`actor` is who it was). */
  author: string;
  comment: string;
  time: string;
  kind: ReleaseKind;
  /** rollback: the version restored; promote: the gray version promoted; else 0. */
  sourceVersion: number;
  /** gray releases: the rule they were published with. */
  rule?: GrayRule;
}

export interface DraftRecord {
  content: string;
  /** The authenticated user who saved it (see ReleaseRecord.actor). */
  actor?: string;
  /** The caller's own note (untrusted). */
  author: string;
  updatedAt: string;
  /** The live mod_revision the draft was based on (0 = not published then). */
  baseRevision: number;
}

export interface GrayRecord {
  version: number;
  content: string;
  rule: GrayRule;
  /** The authenticated user who started it (see ReleaseRecord.actor). */
  actor?: string;
  /** The caller's own note (untrusted). */
  author: string;
  comment: string;
  time: string;
  /** The live version when the gray release started. */
  baseVersion: number;
}

export interface ListenerRecord {
  subscriberId: string;
  namespace: string;
  app: string;
  labels: Record<string, string>;
  /** Item name -> applied release number. */
  versions: Record<string, number>;
  host: string;
  connectedAt: string;
  reportedAt: string;
  /** The member name the subscriber is connected to (or reported through). */
  member: string;
  /**
   * The authenticated user that reported it ('anonymous' with auth off): a record reported by one user is
   * not overwritten by another (the member writes these records as its own duty, see listener-tracking.ts).
   */
  user?: string;
}

// ---- API views --------------------------------------------------------------------------------------

export interface NamespaceView {
  name: string;
  description: string;
  apps: string[];
}

export interface AppView {
  namespace: string;
  name: string;
  description: string;
  items: string[];
}

export interface ConfigItemView {
  namespace: string;
  app: string;
  name: string;
  format: ConfigFormat;
  description: string;
  schema: string;
  /** Live release number (0 = never published). */
  version: number;
  /** Live content ('' before the first publish; '******' for a secret item unless revealed). */
  content: string;
  /** Content stored encrypted and masked in views (docs/config.md#secret-items). */
  secret: boolean;
  /** mod_revision of the live key: send it back as expectedRevision when publishing (0 = not published). */
  modRevision: number;
  latestRelease: number;
  draft: DraftRecord | null;
  gray: GrayRecord | null;
  createdAt: string;
  updatedAt: string;
}

export interface ConfigReleaseView extends ReleaseRecord {
  namespace: string;
  app: string;
  name: string;
  /** KV revision the release was written at. */
  revision: number;
}

/** The body of a 409: the release the caller based its edit on and the live one. */
export interface ConfigConflictBody {
  statusCode: 409;
  error: 'Conflict';
  message: string;
  expectedRevision: number;
  currentRevision: number;
  base: ConfigReleaseView | null;
  current: ConfigReleaseView | null;
}

/** The body of a 400 for invalid content. */
export interface ConfigValidationErrorBody {
  statusCode: 400;
  error: 'Bad Request';
  message: string;
  issues: ValidationIssue[];
}

export interface ListenerView extends ListenerRecord {
  /** For an item query: the version this listener has applied (0 = none) and the one it should have. */
  appliedVersion: number;
  expectedVersion: number;
  /** True when the listener's labels select the item's gray release. */
  gray: boolean;
}

/** What a subscriber has for one item, as it applies to its labels. */
export interface AppliedItem {
  name: string;
  format: ConfigFormat;
  version: number;
  content: string;
  /** The content parsed (json/yaml document, properties object, text string; null if unparsable). */
  value: unknown;
  gray: boolean;
  /** KV revision of the release. */
  revision: number;
}

/**
 * One message of a config watch (SSE `data`, gRPC ConfigWatchEvent, long-poll `events[]`):
 * `snapshot` replaces the subscriber's whole state, `change` updates the listed items and removes `deleted`,
 * `resumed` (streams only, first message after resuming from a revision MVCC still has) says the
 * subscriber's state as of `revision` is current up to the changes that follow.
 */
export interface ConfigWatchEvent {
  kind: 'snapshot' | 'change' | 'resumed';
  revision: number;
  items: AppliedItem[];
  deleted: string[];
}

export interface LongPollResult {
  /** Resume the next poll after this revision. */
  revision: number;
  events: ConfigWatchEvent[];
}

export interface ConfigBundleItem {
  name: string;
  format: ConfigFormat;
  description: string;
  schema: string;
  /** '******' for a secret item: exports never carry a secret (import leaves such content unchanged). */
  content: string;
  version: number;
  secret?: boolean;
}

export interface ConfigBundle {
  kind: 'cairn.config.bundle';
  version: 1;
  exportedAt: string;
  namespace: string;
  apps: { name: string; description: string; items: ConfigBundleItem[] }[];
}

export interface ImportResult {
  items: number;
  published: number;
  drafts: number;
  unchanged: number;
}

export interface AuditEntryView {
  revision: number;
  key: string;
  operation: string;
  actor: string;
  time: string;
  value: string | null;
}
