// Counters that show a run (or a batch of seeds) really exercised what it claims to.

export interface SimStats {
  ticks: number;
  delivered: number;
  dropped: number;
  proposals: number;
  proposalsDropped: number;
  entriesApplied: number;
  crashes: number;
  crashesMidReady: number;
  restarts: number;
  partitions: number;
  snapshotsCreated: number;
  snapshotsSent: number;
  snapshotsRestored: number;
  confChangesApplied: number;
  membersAdded: number;
  membersRemoved: number;
  transfers: number;
  /** suspectLeader calls: of a crashed leader, or wrongly of a live one. */
  suspicions: number;
  readsIssued: number;
  readsChecked: number;
  leadersElected: number;
  /** Ticks from the end of the faults until the cluster converged. */
  convergenceTicks: number;
  // ---- Corners (counted as the messages that reach them are delivered; see cluster.ts countCorners).
  /** A leader got a burst of proposals just as it was cut off: entries it may never replicate. */
  cornerLeaderBursts: number;
  /** An AppendEntries made a follower drop 3 or more entries of a divergent (never committed) suffix. */
  cornerLongSuffixTruncated: number;
  /**
   * An AppendEntries that conflicts with a follower's divergent suffix but covers only part of it, with
   * the leader's commit index beyond its last entry: AppendEntries receiver rules 3 and 5 both bite.
   */
  cornerPartialAppendOverDivergentSuffix: number;
  /** An AppendEntries of a leader arriving after a newer one of the same leader and term (reordered or replayed). */
  cornerOldAppendAfterNewer: number;
  /** A snapshot reaching a follower that holds uncommitted entries the snapshot does not match. */
  cornerSnapshotOverDivergentSuffix: number;
  /** A learner promoted to voter while cut off from the member applying the promotion. */
  cornerLearnerPromotedMidPartition: number;
}

export const CORNERS = [
  'cornerLeaderBursts',
  'cornerLongSuffixTruncated',
  'cornerPartialAppendOverDivergentSuffix',
  'cornerOldAppendAfterNewer',
  'cornerSnapshotOverDivergentSuffix',
  'cornerLearnerPromotedMidPartition',
] as const satisfies readonly (keyof SimStats)[];

export function emptyStats(): SimStats {
  return {
    ticks: 0,
    delivered: 0,
    dropped: 0,
    proposals: 0,
    proposalsDropped: 0,
    entriesApplied: 0,
    crashes: 0,
    crashesMidReady: 0,
    restarts: 0,
    partitions: 0,
    snapshotsCreated: 0,
    snapshotsSent: 0,
    snapshotsRestored: 0,
    confChangesApplied: 0,
    membersAdded: 0,
    membersRemoved: 0,
    transfers: 0,
    suspicions: 0,
    readsIssued: 0,
    readsChecked: 0,
    leadersElected: 0,
    convergenceTicks: 0,
    cornerLeaderBursts: 0,
    cornerLongSuffixTruncated: 0,
    cornerPartialAppendOverDivergentSuffix: 0,
    cornerOldAppendAfterNewer: 0,
    cornerSnapshotOverDivergentSuffix: 0,
    cornerLearnerPromotedMidPartition: 0,
  };
}

export function addStats(total: SimStats, run: SimStats): void {
  for (const key of Object.keys(total) as (keyof SimStats)[]) total[key] += run[key];
}

/** The corner counters alone, for the seed summary. */
export function cornerSummary(stats: SimStats): string {
  return CORNERS.map((key) => `${key.slice('corner'.length)}=${stats[key]}`).join(' ');
}
