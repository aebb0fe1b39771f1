// What every call into the member carries, whichever surface it came through: who calls, until when it may
// wait, whether it may be cancelled, and whether it needs a leader. The request pipeline builds one per
// request; the member's own duties use internalContext().

/** Who makes a call. Anonymous until authentication fills it; it travels into the proposal it makes. */
export interface Identity {
  /** The authenticated user name; '' = anonymous (auth off, or an in-process duty of the member). */
  readonly user: string;
}

export const ANONYMOUS: Identity = Object.freeze({ user: '' });

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

/** A context for the member's own duties and features without a client behind them. */
export function internalContext(options: Omit<CallContext, 'identity'> = {}): CallContext {
  return { identity: ANONYMOUS, ...options };
}
