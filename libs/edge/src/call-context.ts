// What every call into the member carries, whichever surface it came through: who calls, until when it may
// wait, whether it may be cancelled, and whether it needs a leader. The request pipeline builds one per
// request; the member's own duties use internalContext().

/**
 * Who makes a call. Anonymous until the authentication policy fills it; it travels into the proposal it makes
 * (the Raft entry's header: username, auth_revision), where apply checks its permissions again (etcd's
 * authApplierV3).
 */
export interface Identity {
  /** The authenticated user name; '' = none (auth off, no credentials, or the member's own duty). */
  readonly user: string;
  /** The auth store revision the credentials were checked at; undefined = not checked (auth off). */
  readonly authRevision?: number;
  /**
   * The member's own duty (lease expiry, compaction, the audit archiver, features' bookkeeping): not subject
   * to permissions. Only in-process code can make one (internalContext()); no request can.
   */
  readonly memberDuty?: true;
}

/** A client that presented no credentials. */
export const ANONYMOUS: Identity = Object.freeze({ user: '' });

/** The member itself: what internalContext() carries. */
export const MEMBER_DUTY: Identity = Object.freeze({ user: '', memberDuty: true });

/** What every call carries: who calls, until when it may wait, and whether it needs a leader. */
export interface CallContext {
  readonly identity: Identity;
  /** Aborting it fails the call with etcd's "request canceled" (a write already proposed still applies). */
  readonly signal?: AbortSignal;
  /** Absolute deadline, ms since the epoch (Date.now()); the call fails with "context deadline exceeded". */
  readonly deadline?: number;
  /** etcd's WithRequireLeader: refuse (and, for a watch, cancel) when the member has no leader. */
  readonly requireLeader?: boolean;
}

/**
 * A context for the member's own duties, with no client behind them: never subject to permissions. A call
 * made for a client must use the client's context (the pipeline's), so that its permissions apply.
 */
export function internalContext(options: Omit<CallContext, 'identity'> = {}): CallContext {
  return { identity: MEMBER_DUTY, ...options };
}
