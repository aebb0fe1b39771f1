// One simulated member: its durable disk (survives crashes) and, while it is up, its RaftNode process.
import { NONE, StateType, type NodeId, type RaftNode } from '../../src';
import type { NodeDisk } from './disk';

/** Where inside the handling of a Ready an armed crash strikes. */
export type CrashStage = 'before-persist' | 'before-send' | 'before-apply' | 'mid-apply';

export interface CrashPoint {
  stage: CrashStage;
  /** For 'mid-apply': how many committed entries get applied before the crash. */
  appliedBeforeCrash: number;
}

export class SimNode {
  raft: RaftNode | undefined;
  /** Bumped on every start, so late reports for an earlier process can be told apart. */
  incarnation = 0;
  /** Removed from the cluster and stopped for good. */
  retired = false;
  /** A crash armed to strike in the middle of the next Ready. */
  crashPoint: CrashPoint | undefined;
  /** A paused process (think SIGSTOP) neither ticks nor reads its socket until this tick. */
  pausedUntil = 0;
  role: StateType = StateType.Follower;
  lead: NodeId = NONE;

  constructor(
    readonly id: NodeId,
    readonly disk: NodeDisk,
  ) {}

  get up(): boolean {
    return this.raft !== undefined;
  }
}
