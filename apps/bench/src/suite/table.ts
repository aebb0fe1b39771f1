// The suite's one markdown table: every measurement's runs reduced to a median and a spread (min–max) per
// server, the Cairn/etcd ratio of the medians, the goal and whether the median meets it. A section
// that failed is one row carrying its error.

import { median } from '../stats/latency-histogram';

export type Unit = 'per-s' | 'us' | 'ms' | 's' | 'MiB' | 'B' | 'count' | 'pct' | 'yes-no';

export interface Reduced {
  median: number;
  min: number;
  max: number;
  runs: number;
}

export interface Goal {
  text: string;
  /** Whether Cairn's runs meet it; ratio is Cairn's median over etcd's, when etcd was measured. */
  met?(cairn: Reduced, ratio: number | undefined): boolean;
}

export interface MeasuredRow {
  kind: 'measured';
  section: string;
  name: string;
  unit: Unit;
  goal?: Goal;
  /** One value per run (yes-no: 1 or 0). */
  cairn: number[];
  etcd?: number[];
}

export interface FailedRow {
  kind: 'failed';
  section: string;
  name: string;
  error: string;
}

export type SuiteRow = MeasuredRow | FailedRow;

export const goals = {
  /** Cairn/etcd at least `ratio` (throughput-like: higher is better). */
  ratioAtLeast: (ratio: number, text: string): Goal => ({
    text,
    met: (_, r) => r !== undefined && r >= ratio,
  }),
  /** Cairn/etcd at most `ratio` (cost-like: lower is better). */
  ratioAtMost: (ratio: number, text: string): Goal => ({
    text,
    met: (_, r) => r !== undefined && r <= ratio,
  }),
  atLeast: (bound: number, text: string): Goal => ({ text, met: (c) => c.median >= bound }),
  atMost: (bound: number, text: string): Goal => ({ text, met: (c) => c.median <= bound }),
  below: (bound: number, text: string): Goal => ({ text, met: (c) => c.median < bound }),
  /** Every run said yes. */
  always: (text: string): Goal => ({ text, met: (c) => c.min === 1 }),
  none: (text: string): Goal => ({ text }),
};

export function reduce(values: readonly number[]): Reduced | undefined {
  const finite = values.filter((value) => Number.isFinite(value));
  if (finite.length === 0) return undefined;
  return { median: median(finite), min: Math.min(...finite), max: Math.max(...finite), runs: finite.length };
}

/** Cairn's median over etcd's; undefined when either is missing or etcd's is zero. */
export function ratioOf(cairn: Reduced | undefined, etcd: Reduced | undefined): number | undefined {
  if (!cairn || !etcd || etcd.median === 0) return undefined;
  return cairn.median / etcd.median;
}

export function formatValue(value: number, unit: Unit): string {
  switch (unit) {
    case 'per-s':
    case 'B':
    case 'count':
    case 'pct':
      return Math.round(value).toLocaleString('en-US');
    case 'us':
    case 'ms':
      return value < 10 ? value.toFixed(1) : Math.round(value).toLocaleString('en-US');
    case 's':
      return value.toFixed(2);
    case 'MiB':
      return value.toFixed(1);
    case 'yes-no':
      return value === 1 ? 'yes' : 'no';
  }
}

const UNIT_SUFFIX: Record<Unit, string> = {
  'per-s': '/s',
  us: ' µs',
  ms: ' ms',
  s: ' s',
  MiB: ' MiB',
  B: ' B',
  count: '',
  pct: ' %',
  'yes-no': '',
};

/** "1,234/s (1,100–1,300)"; one run has no spread. */
export function formatReduced(reduced: Reduced | undefined, unit: Unit): string {
  if (!reduced) return '—';
  const main = `${formatValue(reduced.median, unit)}${UNIT_SUFFIX[unit]}`;
  if (reduced.runs === 1) return main;
  return `${main} (${formatValue(reduced.min, unit)}–${formatValue(reduced.max, unit)})`;
}

/** Runs of a yes/no check (1 = yes): "yes", or with several runs "yes (3/3)" / "no (2/3 yes)". */
export function formatYesNo(values: readonly number[]): string {
  if (values.length === 0) return '—';
  const yes = values.filter((value) => value === 1).length;
  const all = yes === values.length;
  if (values.length === 1) return all ? 'yes' : 'no';
  return all ? `yes (${yes}/${values.length})` : `no (${yes}/${values.length} yes)`;
}

export function formatRatio(ratio: number | undefined): string {
  return ratio === undefined ? '—' : ratio.toFixed(2);
}

/** Markdown cells can hold neither pipes nor newlines; errors are cut to one readable line. */
export function cellText(text: string, limit = 300): string {
  const flat = text
    .replace(/\s*\n\s*/g, ' ')
    .replace(/\|/g, '\\|')
    .trim();
  return flat.length > limit ? `${flat.slice(0, limit - 1)}…` : flat;
}

export const TABLE_HEADER = [
  '| section | measurement | goal | met | Cairn: median (min–max) | etcd: median (min–max) | Cairn/etcd | runs (Cairn / etcd) |',
  '|---|---|---|:-:|--:|--:|--:|--:|',
];

export function formatRow(row: SuiteRow): string {
  if (row.kind === 'failed') {
    return `| ${row.section} | ${row.name} | | ✗ | **failed:** ${cellText(row.error)} | | | |`;
  }
  const cairn = reduce(row.cairn);
  const etcd = row.etcd ? reduce(row.etcd) : undefined;
  const ratio = row.unit === 'yes-no' ? undefined : ratioOf(cairn, etcd);
  const met = row.goal?.met && cairn ? (row.goal.met(cairn, ratio) ? '✓' : '✗') : '';
  const runs = [cairn?.runs, etcd?.runs].filter((n) => n !== undefined).join(' / ');
  const show = (values: readonly number[], reduced: Reduced | undefined): string =>
    row.unit === 'yes-no' ? formatYesNo(values) : formatReduced(reduced, row.unit);
  return `| ${row.section} | ${row.name} | ${row.goal?.text ?? '—'} | ${met} | ${show(row.cairn, cairn)} | ${row.etcd ? show(row.etcd, etcd) : 'n/a'} | ${formatRatio(ratio)} | ${runs || '0'} |`;
}

export function formatSuiteTable(rows: readonly SuiteRow[]): string[] {
  return [...TABLE_HEADER, ...rows.map(formatRow)];
}
