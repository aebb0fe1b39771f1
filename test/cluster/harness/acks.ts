// Checks on a history of acknowledged puts (write-load.ts): none is lost from the store, and their revisions
// are consistent with one linear history (unique, increasing per writer and in real time).
import type { Etcd3 } from 'etcd3';
import type { Ack } from './write-load';

export interface LostAck {
  ack: { key: string; value: string; revision: string; writer: string };
  /** What the store has for the key: latest, or at the ack's revision when the latest is newer. */
  found: string;
}

/**
 * Reads every key under `prefix` from the member behind `client` and returns the acknowledged puts the store
 * does not have: the key must hold the acknowledged value with the acknowledged mod revision, either as its
 * latest version or (if a later put to the key landed) as its version at that revision.
 */
export async function findLostAcks(client: Etcd3, prefix: string, acks: readonly Ack[]): Promise<LostAck[]> {
  const range = await client.getAll().prefix(prefix).exec();
  const stored = new Map<string, { value: string; modRevision: bigint }>();
  for (const kv of range.kvs) {
    stored.set(kv.key.toString(), { value: kv.value.toString(), modRevision: BigInt(kv.mod_revision) });
  }
  const lost: LostAck[] = [];
  for (const ack of acks) {
    const latest = stored.get(ack.key);
    if (latest !== undefined && latest.modRevision === ack.revision && latest.value === ack.value) continue;
    let found = latest === undefined ? 'no such key' : `${latest.value}@${latest.modRevision}`;
    if (latest !== undefined && latest.modRevision > ack.revision) {
      const past = await client.get(ack.key).revision(ack.revision.toString()).exec();
      const kv = past.kvs[0];
      if (kv !== undefined && BigInt(kv.mod_revision) === ack.revision && kv.value.toString() === ack.value) {
        continue;
      }
      found =
        kv === undefined ? `nothing at rev ${ack.revision}` : `${kv.value.toString()}@${kv.mod_revision}`;
    }
    lost.push({
      ack: { key: ack.key, value: ack.value, revision: ack.revision.toString(), writer: ack.writer },
      found,
    });
  }
  return lost;
}

/** Two acknowledged puts can never share a revision (each put creates one). */
export function duplicateRevisions(acks: readonly Ack[]): string[] {
  const byRevision = new Map<bigint, Ack>();
  const duplicates: string[] = [];
  for (const ack of acks) {
    const other = byRevision.get(ack.revision);
    if (other !== undefined) duplicates.push(`${ack.key} and ${other.key} both at ${ack.revision}`);
    byRevision.set(ack.revision, ack);
  }
  return duplicates;
}

/** Per writer, acknowledged revisions in acknowledgement order must increase (one put at a time). */
export function perWriterOrderViolations(acks: readonly Ack[]): string[] {
  const last = new Map<string, Ack>();
  const violations: string[] = [];
  for (const ack of acks) {
    const previous = last.get(ack.writer);
    if (previous !== undefined && ack.revision <= previous.revision) {
      violations.push(`${ack.writer}: ${ack.key}@${ack.revision} after ${previous.key}@${previous.revision}`);
    }
    last.set(ack.writer, ack);
  }
  return violations;
}

/**
 * Real-time order (linearizability of the revision counter): a put invoked after another was acknowledged
 * must get a higher revision. Returns the violations (at most `limit`).
 */
export function realTimeOrderViolations(acks: readonly Ack[], limit = 10): string[] {
  const byInvocation = [...acks].sort((a, b) => a.invokedAt - b.invokedAt);
  const byAck = [...acks].sort((a, b) => a.ackedAt - b.ackedAt);
  const violations: string[] = [];
  let highest: Ack | undefined;
  let next = 0;
  for (const ack of byInvocation) {
    while (next < byAck.length && byAck[next]!.ackedAt < ack.invokedAt) {
      const done = byAck[next++]!;
      if (highest === undefined || done.revision > highest.revision) highest = done;
    }
    if (highest !== undefined && ack.revision <= highest.revision) {
      violations.push(
        `${ack.key}@${ack.revision} (invoked ${ack.invokedAt.toFixed(1)} ms) is not after ` +
          `${highest.key}@${highest.revision} (acknowledged ${highest.ackedAt.toFixed(1)} ms)`,
      );
      if (violations.length >= limit) break;
    }
  }
  return violations;
}
