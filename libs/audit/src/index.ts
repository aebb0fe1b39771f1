// @cairn/audit: the history/audit archive beyond MVCC compaction (TypeORM: SQLite by default,
// PostgreSQL with --audit-db-url). See docs/audit.md.
export type {
  AuditArchive,
  AuditBackendKind,
  AuditEventPageView,
  AuditEventView,
  AuditGap,
  AuditGapView,
  AuditOperation,
  AuditOrder,
  AuditPage,
  AuditRecord,
  AuditStatus,
  AuditStatusView,
  HistoryOptions,
  ListEventsOptions,
} from './types';
export {
  AuditArchiver,
  AuditUnavailableError,
  InvalidCursorError,
  DEFAULT_AUDIT_PREFIXES,
  DEFAULT_VALUE_MAX_BYTES,
  UNARCHIVED_SEGMENTS,
  type AuditArchiverOptions,
} from './archiver';
export { MAX_ACTOR_LENGTH, type RevisionWriters } from './actor';
export { SECRET_ENVELOPE_PREFIX, SECRET_MASK, holdsSecret, maskSecrets } from './secret-mask';
export { AuditStore, backendKindOf, type AuditStoreOptions } from './store';
export type { AuditEventRow, AuditCursorRow, AuditGapRow } from './entities';
export { EVENT_TABLE, CURSOR_TABLE, GAP_TABLE } from './entities';
export { toEventView, toGapView, textOrBase64 } from './views';
export { AuditModule } from './http/audit.module';
export { AuditController } from './http/audit.controller';
export { AUDIT_ARCHIVE } from './http/tokens';
