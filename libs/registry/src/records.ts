// Instance records as stored (JSON on the instance key) and as the API shows them (plus last_heartbeat,
// read from the instance's lease through the port, and mod_revision). Shared by the registry's reads and
// its watches.
import { type EtcdPort, internalContext } from '@cairn/server';
import type { RegistryInstance, StoredInstance } from './model';

/** The stored record of a key's value; throws on a value that is not JSON. */
export function parseStored(kv: { readonly value: Uint8Array }): StoredInstance {
  return JSON.parse(Buffer.from(kv.value).toString('utf8')) as StoredInstance;
}

/** The stored record, or undefined for a value that is not an instance record. */
export function tryParse(kv: { readonly value: Uint8Array }): StoredInstance | undefined {
  try {
    const record = parseStored(kv);
    return typeof record === 'object' && record !== null && typeof record.id === 'string'
      ? record
      : undefined;
  } catch {
    return undefined;
  }
}

export class InstanceViews {
  /**
   * last_heartbeat is derived for records the caller has already read (READ on them, which names their
   * lease): a serializable look at this member's lessor, asking for no keys, is bookkeeping of the member's
   * own, not a client read of anything new (and a lease lookup per instance must not cost a permission
   * check each).
   */
  private readonly ctx = internalContext();

  constructor(
    private readonly port: EtcdPort,
    private readonly now: () => number,
  ) {}

  /** The API view of a stored record: adds last_heartbeat (from the lease) and mod_revision. */
  async view(record: StoredInstance, modRevision: number): Promise<RegistryInstance> {
    return this.withHeartbeat(record, modRevision, await this.lastHeartbeat(record.lease));
  }

  /** Views of many records, one lease lookup per distinct lease. */
  async views(records: { record: StoredInstance; modRevision: number }[]): Promise<RegistryInstance[]> {
    const leases = [...new Set(records.map(({ record }) => record.lease))];
    const beats = new Map(
      await Promise.all(leases.map(async (lease) => [lease, await this.lastHeartbeat(lease)] as const)),
    );
    return records.map(({ record, modRevision }) =>
      this.withHeartbeat(record, modRevision, beats.get(record.lease) ?? ''),
    );
  }

  private withHeartbeat(
    record: StoredInstance,
    modRevision: number,
    lastHeartbeat: string,
  ): RegistryInstance {
    return { ...record, last_heartbeat: lastHeartbeat, mod_revision: String(modRevision) };
  }

  /**
   * When the lease was last renewed: now − (granted − remaining) seconds. Exact (to the second) on the
   * leader, which tracks expiries; on a follower it reflects the last lease checkpoint. '' when the record
   * has no lease or the lease is gone.
   */
  private async lastHeartbeat(lease: string): Promise<string> {
    if (!/^[1-9]\d*$/.test(lease)) return '';
    try {
      // This member's lessor: one lookup per instance must not become a round trip to the leader each.
      const info = await this.port.leaseTimeToLive(this.ctx, BigInt(lease), { serializable: true });
      if (!info) return '';
      return new Date(this.now() - Math.max(0, info.grantedTtl - info.ttl) * 1000).toISOString();
    } catch {
      return '';
    }
  }
}
