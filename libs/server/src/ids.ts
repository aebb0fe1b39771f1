// Member, cluster and request IDs, derived the way etcd derives them so that `etcdctl member list` shows
// stable, familiar 64-bit hex IDs.
import { createHash } from 'node:crypto';

function first8BytesAsUint64(digest: Buffer): bigint {
  return digest.readBigUInt64BE(0);
}

/** etcd: sha1 over the sorted peer URLs, the cluster token and (optionally) a time for re-added members. */
export function computeMemberId(peerUrls: string[], clusterToken: string, addedAtMs?: number): bigint {
  const hash = createHash('sha1');
  hash.update([...peerUrls].sort().join(''));
  hash.update(clusterToken);
  if (addedAtMs !== undefined) hash.update(String(addedAtMs));
  return first8BytesAsUint64(hash.digest());
}

/** etcd: sha1 over the sorted member IDs (big-endian 8 bytes each). */
export function computeClusterId(memberIds: bigint[]): bigint {
  const sorted = [...memberIds].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  const buf = Buffer.alloc(8 * sorted.length);
  sorted.forEach((id, i) => buf.writeBigUInt64BE(id, i * 8));
  return first8BytesAsUint64(createHash('sha1').update(buf).digest());
}

export function formatId(id: bigint): string {
  return id.toString(16);
}

/**
 * Unique request IDs for proposals, like etcd's idutil: the low 2 bytes of the member ID, then 5 bytes of the
 * start time in ms, then a counter. IDs from different members and restarts do not collide.
 */
export class RequestIdGenerator {
  private next: bigint;

  constructor(memberId: bigint, nowMs: number) {
    const prefix = (memberId & 0xffffn) << 48n;
    const time = (BigInt(nowMs) & 0xff_ffff_ffffn) << 8n;
    this.next = prefix | time;
  }

  nextId(): bigint {
    this.next = (this.next + 1n) & 0xffff_ffff_ffff_ffffn;
    return this.next;
  }
}
