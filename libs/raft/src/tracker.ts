// The membership and the per-member Progress a node tracks (etcd-io/raft tracker.ProgressTracker and
// quorum.MajorityConfig): who votes, who learns, the quorum commit index and the vote tally.
import { Progress } from './progress';
import type { ConfState, NodeId } from './types';

export enum VoteResult {
  Pending = 'pending',
  Won = 'won',
  Lost = 'lost',
}

function compareIds(a: NodeId, b: NodeId): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function sortedIds(ids: Iterable<NodeId>): NodeId[] {
  return [...ids].sort(compareIds);
}

export class ProgressTracker {
  voters = new Set<NodeId>();
  learners = new Set<NodeId>();
  readonly progress = new Map<NodeId, Progress>();
  /** Votes received in the current (pre-)election: true = granted. */
  readonly votes = new Map<NodeId, boolean>();
  /** Every tracked ID in ascending order, so iteration (and thus message order) is deterministic. */
  private order: NodeId[] = [];

  constructor(readonly maxInflight: number) {}

  /**
   * Installs a membership: creates Progress for new members (next = `nextIndex`), drops removed ones
   * and updates the learner flag of the rest.
   */
  setConfig(voters: Iterable<NodeId>, learners: Iterable<NodeId>, nextIndex: number): void {
    this.voters = new Set(voters);
    this.learners = new Set(learners);
    for (const id of this.learners) this.voters.delete(id);
    for (const id of [...this.progress.keys()]) {
      if (!this.voters.has(id) && !this.learners.has(id)) this.progress.delete(id);
    }
    for (const id of [...this.voters, ...this.learners]) {
      const isLearner = this.learners.has(id);
      const pr = this.progress.get(id);
      if (pr) pr.isLearner = isLearner;
      else this.progress.set(id, new Progress(nextIndex, this.maxInflight, isLearner));
    }
    this.order = sortedIds(this.progress.keys());
  }

  confState(): ConfState {
    return { voters: sortedIds(this.voters), learners: sortedIds(this.learners) };
  }

  isVoter(id: NodeId): boolean {
    return this.voters.has(id);
  }

  isSingleton(): boolean {
    return this.voters.size === 1;
  }

  quorum(): number {
    return Math.floor(this.voters.size / 2) + 1;
  }

  /** Visits every member (voters and learners) in ascending ID order. */
  visit(fn: (id: NodeId, pr: Progress) => void): void {
    for (const id of this.order) {
      const pr = this.progress.get(id);
      if (pr) fn(id, pr);
    }
  }

  /** The highest index replicated on a quorum of voters (learners never count). 0 without voters. */
  committed(): number {
    const n = this.voters.size;
    if (n === 0) return 0;
    const matches: number[] = [];
    for (const id of this.voters) matches.push(this.progress.get(id)?.match ?? 0);
    matches.sort((a, b) => b - a);
    return matches[this.quorum() - 1];
  }

  /** Whether `ids` contains a quorum of voters. */
  hasQuorum(ids: Set<NodeId>): boolean {
    let count = 0;
    for (const id of this.voters) if (ids.has(id)) count++;
    return count >= this.quorum();
  }

  /** Whether a quorum of voters was recently active; `self` always counts as active. */
  quorumActive(self: NodeId): boolean {
    let count = 0;
    for (const id of this.voters) {
      if (id === self || this.progress.get(id)?.recentActive) count++;
    }
    return count >= this.quorum();
  }

  resetVotes(): void {
    this.votes.clear();
  }

  /** Records a vote; the first answer from a node in an election wins (duplicates are ignored). */
  recordVote(id: NodeId, granted: boolean): void {
    if (!this.votes.has(id)) this.votes.set(id, granted);
  }

  tallyVotes(): { granted: number; rejected: number; result: VoteResult } {
    let granted = 0;
    let rejected = 0;
    for (const id of this.voters) {
      const v = this.votes.get(id);
      if (v === true) granted++;
      else if (v === false) rejected++;
    }
    const q = this.quorum();
    let result = VoteResult.Pending;
    if (granted >= q) result = VoteResult.Won;
    else if (this.voters.size - rejected < q) result = VoteResult.Lost;
    return { granted, rejected, result };
  }
}
