// The suite's markdown: when, where and on what it ran, the one table, and every command it ran.

import type { SuitePlan } from './plan';
import { formatSuiteTable, type SuiteRow } from './table';

export interface SuiteReport {
  startedAt: Date;
  endedAt: Date;
  command: string;
  machine: string;
  loadBefore: string;
  loadAfter: string;
  cairn: string;
  etcd: string;
  plan: SuitePlan;
  rows: readonly SuiteRow[];
  /** Seconds each section took, in run order. */
  sectionSeconds: ReadonlyArray<[string, number]>;
  commands: readonly string[];
}

const hhmm = (date: Date): string => date.toISOString().slice(11, 16);

export function formatSuiteReport(report: SuiteReport): string[] {
  const { plan } = report;
  const failed = report.rows.filter((row) => row.kind === 'failed').length;
  return [
    `## bench suite, ${report.startedAt.toISOString().slice(0, 10)} ${hhmm(report.startedAt)}–${hhmm(report.endedAt)} UTC${plan.quick ? ' — **--quick: smoke-test sizes, not figures**' : ''}`,
    '',
    `- Command: \`${report.command}\``,
    `- Machine: ${report.machine}; load average (1, 5, 15 min) before ${report.loadBefore}, after ${report.loadAfter}`,
    `- Cairn: ${report.cairn}`,
    `- etcd: ${report.etcd}`,
    `- Method: each figure is the median over runs, with the spread (min–max) in brackets; etcd and Cairn runs are interleaved (etcd, Cairn, etcd, Cairn, …) on servers started fresh for the suite, loopback, same machine. Cairn/etcd is the ratio of the medians; "met" compares Cairn's median (or that ratio) with the issue's goal; server CPU is utime + stime from /proc, summed over all members.${plan.sections.includes('writes') ? ` Writes: Go clientv3 (\`bench go-load\`), ${plan.writes.durationMs / 1000} s runs after ${plan.writes.warmupMs / 1000} s warm-up, clusters primed ${plan.writes.primeMs / 1000} s, load to the leader.` : ''}`,
    ...(failed > 0 ? [`- **${failed} measurement(s) failed**: see the rows marked failed.`] : []),
    '',
    ...formatSuiteTable(report.rows),
    '',
    `Sections took: ${report.sectionSeconds.map(([name, s]) => `${name} ${Math.round(s)} s`).join(', ')}.`,
    '',
    'Commands run:',
    '',
    '```sh',
    ...report.commands,
    '```',
  ];
}
