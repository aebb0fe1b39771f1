// An item's change history from the audit archive (who changed which of its keys, when): it survives MVCC
// compaction, unlike the release records' revisions.
import type { ItemRef } from './checks';
import { checkRef } from './checks';
import { ConfigError } from './errors';
import { draftKey, grayKey, itemKey, liveKey } from './keys';
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
}

/** Newest first, across the item's live, gray, draft and record keys. */
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
      value: r.value ? r.value.toString('utf8') : null,
    }));
}
