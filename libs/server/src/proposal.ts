// What a member proposes through Raft on a caller's behalf.
import { type EtcdError, type InternalRaftRequest, etcdError } from '@cairn/api';

/** The shape of a request to propose: one field of InternalRaftRequest, without the header. */
export type ProposalBody = Omit<InternalRaftRequest, 'header'>;

/**
 * The error of a proposal that waited its whole timeout, as etcd's parseProposeCtxErr: one made while the
 * previous leader was failing (within two election timeouts before the current leader was seen, at
 * `leaderElectedAt`) says so; any other answers "request timed out", even without a leader.
 */
export function proposalTimeoutError(
  proposedAt: number,
  leaderElectedAt: number,
  electionTimeoutMs: number,
): EtcdError {
  const failingSince = leaderElectedAt - 2 * electionTimeoutMs;
  if (proposedAt > failingSince && proposedAt < leaderElectedAt)
    return etcdError('timeout-due-to-leader-fail');
  return etcdError('timeout');
}
