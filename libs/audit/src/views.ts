// Records as JSON for the REST API and the console. A sealed value (a secret config item's envelope, alone
// or inside a JSON record) is shown masked: the archive keeps it encrypted, and its views never show it.
import type { AuditEventRow, AuditGapRow } from './entities';
import { holdsSecret, maskSecrets } from './secret-mask';
import type { AuditEventView, AuditGap, AuditGapView, AuditOperation, AuditRecord } from './types';

export function toRecord(row: AuditEventRow): AuditRecord {
  return {
    revision: row.revMain,
    subRevision: row.revSub,
    key: Buffer.from(row.key),
    operation: row.op as AuditOperation,
    value: row.value === null ? null : Buffer.from(row.value),
    valueStored: row.valueStored,
    valueSha256: row.valueSha256,
    valueSize: row.valueSize,
    createRevision: row.createRevision,
    version: row.version,
    lease: row.lease,
    actor: row.actor,
    observedAtMs: row.observedAtMs,
    replayed: row.replayed,
    member: row.member,
  };
}

export function toGap(row: AuditGapRow): AuditGap {
  return {
    fromRevision: row.fromRevision,
    toRevision: row.toRevision,
    reason: row.reason,
    member: row.member,
    detectedAtMs: row.detectedAtMs,
  };
}

const decoder = new TextDecoder('utf-8', { fatal: true });

/** UTF-8 text when the bytes are valid UTF-8, else base64. */
export function textOrBase64(bytes: Buffer): { text: string; encoding: 'utf8' | 'base64' } {
  try {
    return { text: decoder.decode(bytes), encoding: 'utf8' };
  } catch {
    return { text: bytes.toString('base64'), encoding: 'base64' };
  }
}

export function toEventView(record: AuditRecord): AuditEventView {
  const key = textOrBase64(record.key);
  const value =
    record.value === null
      ? null
      : holdsSecret(record.value)
        ? { text: maskSecrets(record.value.toString('utf8')), encoding: 'utf8' as const }
        : textOrBase64(record.value);
  return {
    revision: record.revision,
    subRevision: record.subRevision,
    key: key.text,
    keyEncoding: key.encoding,
    operation: record.operation,
    value: value?.text ?? null,
    valueEncoding: value?.encoding ?? null,
    valueStored: record.valueStored,
    valueSha256: record.valueSha256,
    valueSize: record.valueSize,
    createRevision: record.createRevision,
    version: record.version,
    lease: record.lease,
    actor: record.actor,
    observedAt: new Date(record.observedAtMs).toISOString(),
    replayed: record.replayed,
    member: record.member,
  };
}

export function toGapView(gap: AuditGap): AuditGapView {
  return {
    fromRevision: gap.fromRevision,
    toRevision: gap.toRevision,
    reason: gap.reason,
    member: gap.member,
    detectedAt: new Date(gap.detectedAtMs).toISOString(),
  };
}
