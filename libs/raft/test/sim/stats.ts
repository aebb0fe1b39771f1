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
}

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
  };
}

export function addStats(total: SimStats, run: SimStats): void {
  for (const key of Object.keys(total) as (keyof SimStats)[]) total[key] += run[key];
}
