// Attributing a change to an actor: the authenticated user that made the write, never a name a caller
// chose (docs/audit.md "Actors"). Two sources, both fed to AuditArchive.noteActor(revision, user):
// 1. The member's apply (RevisionWriters, when the server provides it): every member applies every entry
//    with the user of its Raft entry header (etcd's RequestHeader.username), so per-member archives agree and
//    raw KV writes are attributed too.
// 2. In process, after the write: a feature (the config center) notes the caller's user for the revision
//    its write returned; only that member's archive (or a shared PostgreSQL one) learns it.
// The `/cairn/audit/actor` marker key of earlier versions is gone: any writer could name any actor with it.

/** Longest actor kept (longer names are cut). */
export const MAX_ACTOR_LENGTH = 256;

/**
 * The user each applied write was made by, as the member's apply knows it from the entry header. `user` is ''
 * for a write with no authenticated user (auth off) and for the member's own duties: no actor then.
 */
export interface RevisionWriters {
  /** Calls `listener` for every applied write (its main revision and user); returns the unsubscribe. */
  onApplied(listener: (revision: number, user: string) => void): () => void;
}

export function normalizeActor(actor: string): string | null {
  const trimmed = actor.trim();
  if (trimmed === '') return null;
  return trimmed.length > MAX_ACTOR_LENGTH ? trimmed.slice(0, MAX_ACTOR_LENGTH) : trimmed;
}
