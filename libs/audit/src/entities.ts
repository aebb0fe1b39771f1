// The archive's tables as TypeORM entity schemas. Built per dialect because binary columns differ
// (SQLite `blob`, PostgreSQL `bytea`); the tables themselves are created by schema.ts.
import { EntitySchema, type ValueTransformer } from 'typeorm';
import type { AuditBackendKind } from './types';

/** A row of cairn_audit_event. */
export interface AuditEventRow {
  archive: string;
  revMain: number;
  revSub: number;
  key: Buffer;
  op: string;
  value: Buffer | null;
  valueStored: boolean;
  valueSha256: string | null;
  valueSize: number;
  createRevision: number;
  version: number;
  lease: string;
  actor: string | null;
  observedAtMs: number;
  replayed: boolean;
  member: string;
}

/** A row of cairn_audit_cursor: how far one member's archiver got. */
export interface AuditCursorRow {
  archive: string;
  member: string;
  lastRevision: number;
  updatedAtMs: number;
}

/** A row of cairn_audit_gap: revisions that were compacted before the archiver read them. */
export interface AuditGapRow {
  archive: string;
  fromRevision: number;
  toRevision: number;
  member: string;
  reason: string;
  detectedAtMs: number;
}

export const EVENT_TABLE = 'cairn_audit_event';
export const CURSOR_TABLE = 'cairn_audit_cursor';
export const GAP_TABLE = 'cairn_audit_gap';

/** PostgreSQL hands bigint back as a string; revisions and times stay below 2^53. */
const bigintNumber: ValueTransformer = {
  to: (value: number | undefined) => value,
  from: (value: string | number | null) => (value === null ? null : Number(value)),
};
/** SQLite has no boolean: 0/1. */
const booleanColumn: ValueTransformer = {
  to: (value: boolean | undefined) => value,
  from: (value: boolean | number | null) => (value === null ? null : Boolean(value)),
};

export interface AuditEntities {
  event: EntitySchema<AuditEventRow>;
  cursor: EntitySchema<AuditCursorRow>;
  gap: EntitySchema<AuditGapRow>;
}

export function auditEntities(kind: AuditBackendKind): AuditEntities {
  const binary = kind === 'postgres' ? 'bytea' : 'blob';
  const bool = kind === 'postgres' ? 'boolean' : 'integer';
  const event = new EntitySchema<AuditEventRow>({
    name: 'AuditEvent',
    tableName: EVENT_TABLE,
    synchronize: false,
    columns: {
      archive: { type: 'varchar', length: 64, primary: true },
      revMain: { name: 'rev_main', type: 'bigint', primary: true, transformer: bigintNumber },
      revSub: { name: 'rev_sub', type: 'integer', primary: true },
      key: { type: binary },
      op: { type: 'varchar', length: 8 },
      value: { type: binary, nullable: true },
      valueStored: { name: 'value_stored', type: bool, transformer: booleanColumn },
      valueSha256: { name: 'value_sha256', type: 'varchar', length: 64, nullable: true },
      valueSize: { name: 'value_size', type: 'integer' },
      createRevision: { name: 'create_revision', type: 'bigint', transformer: bigintNumber },
      version: { type: 'bigint', transformer: bigintNumber },
      lease: { type: 'varchar', length: 24 },
      actor: { type: 'varchar', length: 256, nullable: true },
      observedAtMs: { name: 'observed_at_ms', type: 'bigint', transformer: bigintNumber },
      replayed: { type: bool, transformer: booleanColumn },
      member: { type: 'varchar', length: 16 },
    },
  });
  const cursor = new EntitySchema<AuditCursorRow>({
    name: 'AuditCursor',
    tableName: CURSOR_TABLE,
    synchronize: false,
    columns: {
      archive: { type: 'varchar', length: 64, primary: true },
      member: { type: 'varchar', length: 16, primary: true },
      lastRevision: { name: 'last_revision', type: 'bigint', transformer: bigintNumber },
      updatedAtMs: { name: 'updated_at_ms', type: 'bigint', transformer: bigintNumber },
    },
  });
  const gap = new EntitySchema<AuditGapRow>({
    name: 'AuditGap',
    tableName: GAP_TABLE,
    synchronize: false,
    columns: {
      archive: { type: 'varchar', length: 64, primary: true },
      fromRevision: { name: 'from_revision', type: 'bigint', primary: true, transformer: bigintNumber },
      toRevision: { name: 'to_revision', type: 'bigint', transformer: bigintNumber },
      member: { type: 'varchar', length: 16 },
      reason: { type: 'varchar', length: 200 },
      detectedAtMs: { name: 'detected_at_ms', type: 'bigint', transformer: bigintNumber },
    },
  });
  return { event, cursor, gap };
}
