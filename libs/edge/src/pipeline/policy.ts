// One concern applied to every request (deadline, limits, leader rule, metrics, access log; authentication
// and authorisation next). A policy is added in one place — the pipeline's list — and so covers every path.
import type { Identity } from '../call-context';
import type { Outcome, RequestInfo } from './request';

/** The call context while policies build it. */
export interface ContextDraft {
  identity: Identity;
  deadline?: number;
  requireLeader: boolean;
}

export interface Policy {
  readonly name: string;
  /**
   * Before the handler, in the pipeline's order. Throw (an EtcdError) to refuse the request: later policies
   * and the handler do not run, the refusal is the answer. Synchronous, so the hot path stays cheap; a
   * policy that must wait on a rare path returns a promise (rejecting = refusing).
   */
  admit?(request: RequestInfo, draft: ContextDraft): void | Promise<void>;
  /** Once the call ended (answered, failed, refused or torn down). Must not throw. */
  complete?(request: RequestInfo, outcome: Outcome): void;
}
