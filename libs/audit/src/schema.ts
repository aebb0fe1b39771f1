// The archive's DDL, one statement list per dialect. Created with IF NOT EXISTS at start (TypeORM's
// `synchronize` is off: several members may open one PostgreSQL database at once, so PostgreSQL
// runs these under a transaction-scoped advisory lock).
import type { AuditBackendKind } from './types';
import { CURSOR_TABLE, EVENT_TABLE, GAP_TABLE } from './entities';

/** Bumped when the tables change; stored in cairn_audit_meta. */
export const AUDIT_SCHEMA_VERSION = 1;

export function schemaStatements(kind: AuditBackendKind): string[] {
  const binary = kind === 'postgres' ? 'BYTEA' : 'BLOB';
  const bool = kind === 'postgres' ? 'BOOLEAN' : 'INTEGER';
  return [
    `CREATE TABLE IF NOT EXISTS ${EVENT_TABLE} (
      archive VARCHAR(64) NOT NULL,
      rev_main BIGINT NOT NULL,
      rev_sub INTEGER NOT NULL,
      key ${binary} NOT NULL,
      op VARCHAR(8) NOT NULL,
      value ${binary},
      value_stored ${bool} NOT NULL,
      value_sha256 VARCHAR(64),
      value_size INTEGER NOT NULL,
      create_revision BIGINT NOT NULL,
      version BIGINT NOT NULL,
      lease VARCHAR(24) NOT NULL,
      actor VARCHAR(256),
      observed_at_ms BIGINT NOT NULL,
      replayed ${bool} NOT NULL,
      member VARCHAR(16) NOT NULL,
      CONSTRAINT ${EVENT_TABLE}_pk PRIMARY KEY (archive, rev_main, rev_sub)
    )`,
    `CREATE INDEX IF NOT EXISTS ${EVENT_TABLE}_key ON ${EVENT_TABLE} (archive, key, rev_main)`,
    `CREATE TABLE IF NOT EXISTS ${CURSOR_TABLE} (
      archive VARCHAR(64) NOT NULL,
      member VARCHAR(16) NOT NULL,
      last_revision BIGINT NOT NULL,
      updated_at_ms BIGINT NOT NULL,
      CONSTRAINT ${CURSOR_TABLE}_pk PRIMARY KEY (archive, member)
    )`,
    `CREATE TABLE IF NOT EXISTS ${GAP_TABLE} (
      archive VARCHAR(64) NOT NULL,
      from_revision BIGINT NOT NULL,
      to_revision BIGINT NOT NULL,
      member VARCHAR(16) NOT NULL,
      reason VARCHAR(200) NOT NULL,
      detected_at_ms BIGINT NOT NULL,
      CONSTRAINT ${GAP_TABLE}_pk PRIMARY KEY (archive, from_revision)
    )`,
    `CREATE TABLE IF NOT EXISTS cairn_audit_meta (
      name VARCHAR(64) NOT NULL PRIMARY KEY,
      value VARCHAR(256) NOT NULL
    )`,
  ];
}
