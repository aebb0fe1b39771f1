// An item's change history from the audit archive (who changed which of its keys, when): it survives MVCC
// compaction, unlike the release records' revisions.
import type { ItemRef } from './checks';
import { checkRef } from './checks';
import { ConfigError } from './errors';
import { draftKey, grayKey, itemKey, liveKey } from './keys';
import { maskSecrets } from '@cairn/audit';
import type { AuditEntryView } from './types';

/** What the config center reads from the audit archive (libs/audit's AuditArchive fits). */
export interface ConfigAuditSource {
  history(
    key: string,
    options?: { limit?: number; order?: 'asc' | 'desc' },
  ): Promise<
    {
      revision: number;
      key: Buffer;
      operation: string;
      value: Buffer | null;
      actor: string | null;
      observedAtMs: number;
    }[]
  >;
  /** Who made the change at `revision` (libs/audit's AuditArchive.noteActor). */
  noteActor?(revision: number, actor: string): void;
}

/**
 * Newest first, across the item's live, gray, draft and record keys. A secret's value is masked: the archive
 * holds it encrypted (the envelope the KV held), and a history view never shows secrets. A gray or draft
 * record of a secret item holds its envelope inside its JSON: masked too.
 */
export async function itemHistory(
  audit: ConfigAuditSource | undefined,
  ref: ItemRef,
  limit: number,
): Promise<AuditEntryView[]> {
  checkRef(ref);
  if (!audit) throw new ConfigError('unavailable', 'the audit archive is not enabled on this server');
  const keys = [
    liveKey(ref.namespace, ref.app, ref.name),
    grayKey(ref.namespace, ref.app, ref.name),
    draftKey(ref.namespace, ref.app, ref.name),
    itemKey(ref.namespace, ref.app, ref.name),
  ];
  const all = (await Promise.all(keys.map((k) => audit.history(k, { limit, order: 'desc' })))).flat();
  return all
    .sort((a, b) => b.revision - a.revision)
    .slice(0, limit)
    .map((r) => ({
      revision: r.revision,
      key: r.key.toString('utf8'),
      operation: r.operation,
      actor: r.actor ?? '',
      time: new Date(r.observedAtMs).toISOString(),
      value: r.value ? maskSecrets(r.value.toString('utf8')) : null,
    }));
}
