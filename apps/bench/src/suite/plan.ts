// What the suite measures and at which sizes: the (full) or tiny ones for a smoke test (--quick).
// Flags given on the command line override either.

export const SECTIONS = ['writes', 'watch', 'memory', 'registry', 'config'] as const;
export type SectionName = (typeof SECTIONS)[number];

export interface WatchSize {
  watchers: number;
  streams: number;
  puts: number;
  clients: number;
}

export interface SuitePlan {
  quick: boolean;
  sections: readonly SectionName[];
  writes: {
    members: readonly number[];
    workloads: readonly string[];
    /** Runs per workload and server on one member, and on three (the issue asks ≥ 5 there). */
    runs: number;
    runsMultiMember: number;
    durationMs: number;
    warmupMs: number;
    primeMs: number;
    pauseMs: number;
  };
  watch: { sizes: readonly WatchSize[]; runs: number };
  memory: { keys: number; idleSeconds: number; runs: number; idleRssWaitMs: number };
  registry: {
    members: number;
    instances: number;
    ttlSeconds: number;
    holdMs: number;
    kills: number;
    subscribers: number;
    runs: number;
  };
  config: { members: number; subscribers: readonly number[]; rounds: number; runs: number };
  /** Bound on one child (one bench command or script run). */
  childTimeoutMs: number;
}

export interface PlanOverrides {
  sections?: readonly SectionName[];
  runs?: number;
  runsMultiMember?: number;
  scaleRuns?: number;
  writeMembers?: readonly number[];
  keys?: number;
  registryInstances?: number;
  configSubscribers?: readonly number[];
  childTimeoutMs?: number;
}

export function planSuite(quick: boolean, o: PlanOverrides = {}): SuitePlan {
  const runs = o.runs ?? (quick ? 1 : 3);
  const scaleRuns = o.scaleRuns ?? 1;
  return {
    quick,
    sections: o.sections ?? SECTIONS,
    writes: {
      members: o.writeMembers ?? [1, 3],
      workloads: ['put1', 'put64', 'put256', 'get-l64', 'get-s64'],
      runs,
      runsMultiMember: o.runsMultiMember ?? (quick ? runs : Math.max(5, runs)),
      durationMs: quick ? 1000 : 5000,
      warmupMs: quick ? 200 : 1000,
      primeMs: quick ? 0 : 10_000,
      pauseMs: quick ? 0 : 500,
    },
    watch: {
      // The two sizes: 5,000,000 events each.
      sizes: quick
        ? [
            { watchers: 100, streams: 5, puts: 500, clients: 16 },
            { watchers: 1000, streams: 20, puts: 50, clients: 16 },
          ]
        : [
            { watchers: 1000, streams: 20, puts: 5000, clients: 16 },
            { watchers: 10_000, streams: 200, puts: 500, clients: 64 },
          ],
      runs,
    },
    memory: {
      keys: o.keys ?? (quick ? 5000 : 150_000),
      idleSeconds: quick ? 0 : 10,
      runs,
      idleRssWaitMs: quick ? 2000 : 10_000,
    },
    registry: {
      members: 3,
      instances: o.registryInstances ?? (quick ? 300 : 100_000),
      ttlSeconds: quick ? 3 : 10,
      holdMs: quick ? 2000 : 30_000,
      kills: quick ? 2 : 10,
      subscribers: 3,
      runs: scaleRuns,
    },
    config: {
      members: 3,
      subscribers: o.configSubscribers ?? (quick ? [100] : [1000, 10_000]),
      rounds: quick ? 5 : 20,
      runs: scaleRuns,
    },
    childTimeoutMs: o.childTimeoutMs ?? (quick ? 300_000 : 3_600_000),
  };
}
