// Memory (goal 5): scripts/mem-per-key.mjs on etcd and on Cairn in turn (each run starts its own member),
// and the RSS of an empty member after an idle wait, measured here on fresh members.

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { runInterleaved } from '../../compare/interleave';
import { startCluster } from '../../servers/cluster';
import { lastJsonBlock } from '../child';
import { errorText, runRecorded, type SuiteContext } from '../context';
import { goals, type SuiteRow } from '../table';

const TARGETS = ['etcd', 'cairn'] as const;
type Label = (typeof TARGETS)[number];

/** The fields of mem-per-key's JSON the suite reads. */
interface MemPerKey {
  rssMiB?: { before?: number; loaded?: number };
  rssBytesPerKey?: { loaded?: number };
}

export async function memorySection(ctx: SuiteContext): Promise<SuiteRow[]> {
  return [...(await perKeyRows(ctx)), ...(await idleRssRows(ctx))];
}

async function perKeyRows(ctx: SuiteContext): Promise<SuiteRow[]> {
  const { keys, idleSeconds, runs } = ctx.plan.memory;
  const section = `memory, 1 member, ${keys.toLocaleString('en-US')} keys of 256 B`;
  try {
    const results = await runInterleaved({
      workloads: [{ name: 'keys' }],
      runs,
      targets: TARGETS,
      labelOf: (label) => label,
      runOne: async (label: Label) => {
        const outcome = await runRecorded(ctx, process.execPath, [
          join(ctx.repoRoot, 'scripts/mem-per-key.mjs'),
          ...['--keys', String(keys), '--idle', String(idleSeconds)],
          ...['--binary', label === 'etcd' ? ctx.etcdBin : ctx.cairnBin],
        ]);
        return lastJsonBlock(outcome.stdout) as MemPerKey;
      },
      pauseMs: 500,
    });
    const of = (label: Label, metric: (m: MemPerKey) => number | undefined): number[] =>
      (results.keys?.[label] ?? []).map((m) => metric(m) ?? Number.NaN);
    return [
      {
        kind: 'measured',
        section,
        name: 'RSS growth per key, right after the load',
        unit: 'B',
        goal: goals.ratioAtMost(1, '≤ etcd (floor 1.5×)'),
        cairn: of('cairn', (m) => m.rssBytesPerKey?.loaded),
        etcd: of('etcd', (m) => m.rssBytesPerKey?.loaded),
      },
      {
        kind: 'measured',
        section,
        name: 'RSS right after the load',
        unit: 'MiB',
        cairn: of('cairn', (m) => m.rssMiB?.loaded),
        etcd: of('etcd', (m) => m.rssMiB?.loaded),
      },
    ];
  } catch (error) {
    return [{ kind: 'failed', section, name: 'mem-per-key', error: errorText(error) }];
  }
}

async function idleRssRows(ctx: SuiteContext): Promise<SuiteRow[]> {
  const { idleRssWaitMs, runs } = ctx.plan.memory;
  const section = 'memory, 1 member, empty';
  try {
    const results = await runInterleaved({
      workloads: [{ name: 'idle' }],
      runs,
      targets: TARGETS,
      labelOf: (label) => label,
      runOne: async (label: Label, _workload, run) => {
        const cluster = await startCluster({
          label,
          command: label === 'etcd' ? ctx.etcdBin : ctx.cairnBin,
          members: 1,
          baseDir: join(ctx.baseDir, `idle-${label}-${run}`),
        });
        ctx.clusters.add(cluster);
        try {
          await new Promise((resolve) => setTimeout(resolve, idleRssWaitMs));
          return rssMiB(cluster.pids[0]);
        } finally {
          await cluster.stop();
          ctx.clusters.delete(cluster);
        }
      },
      pauseMs: 0,
    });
    ctx.out(
      `  idle RSS after ${idleRssWaitMs / 1000} s: etcd ${results.idle.etcd.map((v) => v.toFixed(1)).join(', ')} MiB; Cairn ${results.idle.cairn.map((v) => v.toFixed(1)).join(', ')} MiB`,
    );
    return [
      {
        kind: 'measured',
        section,
        name: `idle RSS (${idleRssWaitMs / 1000} s after start)`,
        unit: 'MiB',
        goal: goals.atMost(80, '≤ 80 MiB'),
        cairn: results.idle.cairn,
        etcd: results.idle.etcd,
      },
    ];
  } catch (error) {
    return [{ kind: 'failed', section, name: 'idle RSS', error: errorText(error) }];
  }
}

function rssMiB(pid: number): number {
  const kb = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  if (!kb) throw new Error(`no VmRSS in /proc/${pid}/status`);
  return Number(kb[1]) / 1024;
}
