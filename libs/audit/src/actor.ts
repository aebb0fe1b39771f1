// Attributing a change to an actor. Two ways (docs/audit.md "Actors"):
// 1. In process, after the write: `archive.noteActor(revision, actor)` on the member that made it. Only
//    that member's archive (or a PostgreSQL archive shared by the members) learns the actor.
// 2. Replicated, inside the write: put ACTOR_MARKER_KEY in the same txn as the change
//    (`actorMarkerPut(actor)`). Every member's archiver attributes all changes of that revision to the
//    marker's value, so per-member SQLite archives agree. The marker key itself is never archived.

/** A put to this key inside a txn names the actor of every other change in that revision. */
export const ACTOR_MARKER_KEY = '/cairn/audit/actor';

/** Longest actor kept (longer names are cut). */
export const MAX_ACTOR_LENGTH = 256;

/** The put to add to a txn's success ops: `{ request_put: actorMarkerPut('alice') }` (etcd RequestOp). */
export function actorMarkerPut(actor: string): {
  key: Buffer;
  value: Buffer;
  lease: string;
  prev_kv: boolean;
  ignore_value: boolean;
  ignore_lease: boolean;
} {
  return {
    key: Buffer.from(ACTOR_MARKER_KEY),
    value: Buffer.from(actor, 'utf8'),
    lease: '0',
    prev_kv: false,
    ignore_value: false,
    ignore_lease: false,
  };
}

export function normalizeActor(actor: string): string | null {
  const trimmed = actor.trim();
  if (trimmed === '') return null;
  return trimmed.length > MAX_ACTOR_LENGTH ? trimmed.slice(0, MAX_ACTOR_LENGTH) : trimmed;
}
