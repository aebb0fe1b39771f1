// Attributing a change to an actor. Two ways (docs/audit.md "Actors"):
// 1. In process, after the write: `archive.noteActor(revision, actor)` on the member that made it. Only
//    that member's archive (or a PostgreSQL archive shared by the members) learns the actor.
// 2. Replicated, inside the write: put ACTOR_MARKER_KEY in the same txn as the change
//    (`actorMarkerPut(actor)`). Every member's archiver attributes all changes of that revision to the
//    marker's value, so per-member SQLite archives agree. The marker key itself is never archived.
import type { PutRequest } from '@cairn/server';

/** A put to this key inside a txn names the actor of every other change in that revision. */
export const ACTOR_MARKER_KEY = '/cairn/audit/actor';

/** Longest actor kept (longer names are cut). */
export const MAX_ACTOR_LENGTH = 256;

/** The put to add to a txn's success ops through the EtcdPort: `{ put: actorMarkerPut('alice') }`. */
export function actorMarkerPut(actor: string): PutRequest {
  return { key: Buffer.from(ACTOR_MARKER_KEY), value: Buffer.from(actor, 'utf8') };
}

export function normalizeActor(actor: string): string | null {
  const trimmed = actor.trim();
  if (trimmed === '') return null;
  return trimmed.length > MAX_ACTOR_LENGTH ? trimmed.slice(0, MAX_ACTOR_LENGTH) : trimmed;
}
