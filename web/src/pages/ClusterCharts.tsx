// The Cluster page's live charts: per member, the last minutes of what it samples about itself every second
// (GET /api/console/v1/metrics?member=, which asks that member over its client URL). Each chart is one uPlot
// instance made once per member and fed with setData every second: polling never re-mounts it.
import { useEffect, useRef, useState } from 'react';
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';
import { type ConsoleMember, qs, request } from '../api';
import type {
  HistorySeries,
  MemberMetricsHistory,
  MetricsHistory,
} from '../../../apps/server/src/metrics-history/history-types';
import { formatBytes } from '../components/common';

/** How much of the member's 15 minutes the charts show. */
const WINDOW_S = 5 * 60;
const POLL_MS = 1000;

interface ChartSpec {
  key: string;
  title: string;
  series: Array<{ name: HistorySeries; label: string; color: string }>;
  /** The caption's last values (default: one decimal). */
  format?: (v: number) => string;
  /** Y-axis ticks in bytes. */
  bytes?: boolean;
}

const fmt = (digits: number) => (v: number) => v.toFixed(digits);
const bytes = (v: number) => formatBytes(Math.round(v));
/** Axis ticks: as short as the value allows (0.5 stays 0.5, 2 stays 2). */
const axisTick = (v: number) => (Math.abs(v) >= 10_000 ? `${Math.round(v / 1000)}k` : String(+v.toFixed(2)));

export const CHARTS: ChartSpec[] = [
  {
    key: 'requests',
    title: 'Requests/s by type',
    series: [
      { name: 'requestsRange', label: 'range', color: '#2563eb' },
      { name: 'requestsPut', label: 'put', color: '#16a34a' },
      { name: 'requestsTxn', label: 'txn', color: '#9333ea' },
      { name: 'requestsWatch', label: 'watch', color: '#ea580c' },
      { name: 'requestsLease', label: 'lease', color: '#0891b2' },
      { name: 'requestsOther', label: 'other', color: '#6b7280' },
    ],
    format: fmt(0),
  },
  {
    key: 'proposals',
    title: 'Proposals/s committed · applied',
    series: [
      { name: 'proposalsCommitted', label: 'committed', color: '#2563eb' },
      { name: 'proposalsApplied', label: 'applied', color: '#16a34a' },
    ],
    format: fmt(0),
  },
  {
    key: 'disk',
    title: 'Disk p99 (ms): WAL fsync · backend commit',
    series: [
      { name: 'walFsyncP99Ms', label: 'fsync', color: '#dc2626' },
      { name: 'backendCommitP99Ms', label: 'commit', color: '#ca8a04' },
    ],
    format: fmt(2),
  },
  {
    key: 'db',
    title: 'DB size vs quota',
    series: [
      { name: 'dbSizeBytes', label: 'size', color: '#2563eb' },
      { name: 'dbQuotaBytes', label: 'quota', color: '#dc2626' },
    ],
    format: bytes,
    bytes: true,
  },
  {
    key: 'watch-lease',
    title: 'Watchers · leases',
    series: [
      { name: 'watchers', label: 'watchers', color: '#ea580c' },
      { name: 'leases', label: 'leases', color: '#0891b2' },
    ],
    format: fmt(0),
  },
  {
    key: 'instances',
    title: 'Registry instances by health',
    series: [
      { name: 'instancesPassing', label: 'passing', color: '#16a34a' },
      { name: 'instancesWarning', label: 'warning', color: '#ca8a04' },
      { name: 'instancesCritical', label: 'critical', color: '#dc2626' },
    ],
    format: fmt(0),
  },
  {
    key: 'events',
    title: 'Leader changes (total) · config publishes/s',
    series: [
      { name: 'leaderChanges', label: 'leader changes', color: '#9333ea' },
      { name: 'configPublishes', label: 'publishes', color: '#2563eb' },
    ],
    format: fmt(0),
  },
];

/** Charts mounted so far on this page: the browser test checks polling does not add any. */
let mounts = 0;

/** The samples a member's charts hold: `t` in seconds (uPlot's time axis), one array per series. */
interface Columns {
  t: number[];
  values: Map<HistorySeries, Array<number | null>>;
}

function append(columns: Columns, history: MetricsHistory): void {
  columns.t.push(...history.t.map((ms) => ms / 1000));
  for (const spec of CHARTS) {
    for (const s of spec.series) {
      const column = columns.values.get(s.name) ?? [];
      column.push(...history.series[s.name]);
      columns.values.set(s.name, column);
    }
  }
  const cut = columns.t.findIndex((t) => t >= columns.t[columns.t.length - 1]! - WINDOW_S);
  if (cut > 0) {
    columns.t.splice(0, cut);
    for (const column of columns.values.values()) column.splice(0, cut);
  }
}

function lastOf(column: Array<number | null> | undefined): number | null {
  if (!column) return null;
  for (let i = column.length - 1; i >= 0; i--) if (column[i] !== null) return column[i]!;
  return null;
}

function Chart({
  spec,
  member,
  columns,
  tick,
}: {
  spec: ChartSpec;
  member: string;
  columns: Columns;
  tick: number;
}) {
  const box = useRef<HTMLDivElement>(null);
  const plot = useRef<uPlot | null>(null);
  const format = spec.format ?? fmt(1);

  useEffect(() => {
    const el = box.current;
    if (!el) return;
    mounts++;
    el.dataset['mount'] = String(mounts);
    const chart = new uPlot(
      {
        width: Math.max(240, el.clientWidth),
        height: 140,
        legend: { show: false },
        cursor: { drag: { x: false, y: false } },
        // The x axis always spans the window, ending at the newest sample: the lines grow in from the right.
        scales: {
          x: { time: true, range: (_u, _min, max) => [max - WINDOW_S, max] },
          y: { range: (_u, _min, max) => [0, max > 0 ? max * 1.1 : 1] },
        },
        axes: [
          { size: 28 },
          { size: 64, values: (_u, ticks) => ticks.map((v) => (spec.bytes ? bytes(v) : axisTick(v))) },
        ],
        series: [
          {},
          ...spec.series.map((s) => ({ label: s.label, stroke: s.color, width: 1.5, spanGaps: false })),
        ],
      },
      [[], ...spec.series.map(() => [])],
      el,
    );
    plot.current = chart;
    const resize = (): void => chart.setSize({ width: Math.max(240, el.clientWidth), height: 140 });
    window.addEventListener('resize', resize);
    return () => {
      window.removeEventListener('resize', resize);
      chart.destroy();
      plot.current = null;
    };
    // One instance per chart for the life of the member's panel; data arrives through setData below.
  }, []);

  useEffect(() => {
    plot.current?.setData([
      columns.t,
      ...spec.series.map((s) => columns.values.get(s.name) ?? []),
    ] as uPlot.AlignedData);
  }, [tick, columns, spec]);

  return (
    <div className="chart" data-testid={`chart-${member}-${spec.key}`}>
      <div className="small muted">{spec.title}</div>
      <div ref={box} className="chart-plot" />
      <div className="small mono" data-testid={`last-${member}-${spec.key}`}>
        {spec.series.map((s) => {
          const v = lastOf(columns.values.get(s.name));
          return (
            <span key={s.name} data-series={s.name} style={{ color: s.color, marginRight: '0.8em' }}>
              {s.label} {v === null ? '—' : format(v)}
            </span>
          );
        })}
      </div>
    </div>
  );
}

function MemberCharts({ member }: { member: ConsoleMember }) {
  const columns = useRef<Columns>({ t: [], values: new Map() });
  const since = useRef(0);
  const [tick, setTick] = useState(0);
  const [error, setError] = useState<string>();

  useEffect(() => {
    let cancelled = false;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const poll = (): void => {
      request<MemberMetricsHistory>(
        'GET',
        `/api/console/v1/metrics${qs({ member: member.id, since: since.current })}`,
      )
        .then((answer) => {
          if (cancelled) return;
          if (answer.error || !answer.history) {
            setError(answer.error ?? 'no samples');
            return;
          }
          const history = answer.history;
          if (history.t.length > 0) {
            append(columns.current, history);
            since.current = history.t[history.t.length - 1]!;
          }
          setError(undefined);
          setTick((t) => t + 1);
        })
        .catch((err: unknown) => {
          if (!cancelled) setError(err instanceof Error ? err.message : String(err));
        })
        .finally(() => {
          if (!cancelled) timer = setTimeout(poll, POLL_MS);
        });
    };
    poll();
    return () => {
      cancelled = true;
      clearTimeout(timer);
    };
  }, [member.id]);

  return (
    <div className="panel" data-testid={`charts-${member.name}`}>
      <h3>
        {member.name || member.id} <span className="muted small">last {WINDOW_S / 60} minutes</span>
      </h3>
      {error && (
        <div className="small muted" data-testid={`charts-error-${member.name}`}>
          {error}
        </div>
      )}
      <div className="chart-grid">
        {CHARTS.map((spec) => (
          <Chart key={spec.key} spec={spec} member={member.name} columns={columns.current} tick={tick} />
        ))}
      </div>
    </div>
  );
}

export function ClusterCharts({ members }: { members: ConsoleMember[] }) {
  return (
    <section aria-label="member charts">
      {members.map((m) => (
        <MemberCharts key={m.id} member={m} />
      ))}
    </section>
  );
}
