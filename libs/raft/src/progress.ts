// The leader's view of one follower (etcd-io/raft tracker.Progress): how much of the log matches, what
// to send next, and which of the three replication states it is in.
//
// - Probe: we do not know where the follower's log matches; send one AppendEntries and wait for the
//   answer (or a heartbeat response) before sending another.
// - Replicate: the follower is in sync; stream optimistically, bounded by the inflights window.
// - Snapshot: the follower needs a snapshot; send nothing until it is reported applied or failed.
import { Inflights } from './inflights';
import { ProgressState, type ProgressStatus } from './types';

export class Progress {
  /** Highest index known to be replicated on the follower. */
  match = 0;
  /** Next index to send. */
  next: number;
  state: ProgressState = ProgressState.Probe;
  /** Index of the snapshot being sent (Snapshot state only). */
  pendingSnapshot = 0;
  /** Heard from since the last check-quorum round. New peers start active so they are not counted dead. */
  recentActive = true;
  /** Probe state: one message is in flight, wait for its answer. */
  probeSent = false;
  readonly inflights: Inflights;

  constructor(
    next: number,
    maxInflight: number,
    public isLearner: boolean,
  ) {
    this.next = next;
    this.inflights = new Inflights(maxInflight);
  }

  private resetState(state: ProgressState): void {
    this.probeSent = false;
    this.pendingSnapshot = 0;
    this.state = state;
    this.inflights.reset();
  }

  becomeProbe(): void {
    if (this.state === ProgressState.Snapshot) {
      // After a snapshot, the follower has at least the snapshot (if it was applied).
      const pending = this.pendingSnapshot;
      this.resetState(ProgressState.Probe);
      this.next = Math.max(this.match + 1, pending + 1);
    } else {
      this.resetState(ProgressState.Probe);
      this.next = this.match + 1;
    }
  }

  becomeReplicate(): void {
    this.resetState(ProgressState.Replicate);
    this.next = this.match + 1;
  }

  becomeSnapshot(snapshotIndex: number): void {
    this.resetState(ProgressState.Snapshot);
    this.pendingSnapshot = snapshotIndex;
  }

  /** An acknowledgement up to `n`. Returns whether match moved forward. */
  maybeUpdate(n: number): boolean {
    let updated = false;
    if (this.match < n) {
      this.match = n;
      updated = true;
      this.probeSent = false;
    }
    this.next = Math.max(this.next, n + 1);
    return updated;
  }

  /** Replicate state: entries up to `n` were sent, assume they arrive. */
  optimisticUpdate(n: number): void {
    this.next = n + 1;
  }

  /**
   * The follower rejected an AppendEntries at index `rejected`; `matchHint` is where our logs may match
   * (from the fast back-off). Returns false if the rejection is stale.
   */
  maybeDecrTo(rejected: number, matchHint: number): boolean {
    if (this.state === ProgressState.Replicate) {
      // Stale: we already know it matches beyond that point.
      if (rejected <= this.match) return false;
      this.next = this.match + 1;
      return true;
    }
    // Probe (or Snapshot): only the answer to the probe we sent (at next - 1) counts.
    if (this.next - 1 !== rejected) return false;
    this.next = Math.max(Math.min(rejected, matchHint + 1), this.match + 1, 1);
    this.probeSent = false;
    return true;
  }

  /** Whether the leader should hold back AppendEntries to this follower. */
  isPaused(): boolean {
    switch (this.state) {
      case ProgressState.Probe:
        return this.probeSent;
      case ProgressState.Replicate:
        return this.inflights.full();
      case ProgressState.Snapshot:
        return true;
    }
  }

  toStatus(): ProgressStatus {
    return {
      match: this.match,
      next: this.next,
      state: this.state,
      isLearner: this.isLearner,
      recentActive: this.recentActive,
      inflight: this.inflights.size(),
      pendingSnapshot: this.pendingSnapshot,
    };
  }
}
