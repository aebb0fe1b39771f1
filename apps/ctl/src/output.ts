// Output renderers for -w table|json|yaml|simple. The table is etcdctl's (olekukonko/tablewriter as etcdctl
// configures it: borders, centred upper-case headers, cells right-aligned); json is one line with int64 and
// uint64 values as bare numbers (etcdctl's json.Marshal of the response); simple joins a row's cells with ", ".
import { stringify as toYaml } from 'yaml';
import type { Column, OutputFormat, PrintOptions } from './command';

/** A cell as text: bigint and numbers in decimal, booleans as true/false, missing as empty. */
export function cellText(value: unknown): string {
  if (value === undefined || value === null) return '';
  if (typeof value === 'string') return value;
  if (typeof value === 'bigint' || typeof value === 'number' || typeof value === 'boolean')
    return String(value);
  if (Buffer.isBuffer(value)) return value.toString();
  return JSON.stringify(value);
}

function columnsFor<Row>(rows: Row[], columns?: Column<Row>[]): Column<Row>[] {
  if (columns) return columns;
  const keys = [...new Set(rows.flatMap((row) => Object.keys(row as object)))];
  return keys.map((key) => ({
    header: key.toUpperCase(),
    get: (row: Row) => (row as Record<string, unknown>)[key],
  }));
}

function pad(text: string, width: number, align: 'left' | 'right' | 'center'): string {
  const gap = width - text.length;
  if (gap <= 0) return text;
  if (align === 'left') return text + ' '.repeat(gap);
  if (align === 'right') return ' '.repeat(gap) + text;
  const left = Math.floor(gap / 2);
  return ' '.repeat(left) + text + ' '.repeat(gap - left);
}

/** A bordered table as etcdctl prints it (`-w table`). */
export function renderTable<Row>(rows: Row[], columns?: Column<Row>[]): string {
  const cols = columnsFor(rows, columns);
  const headers = cols.map((c) => c.header.toUpperCase());
  const cells = rows.map((row) => cols.map((c) => cellText(c.get(row))));
  const widths = headers.map((h, i) => Math.max(h.length, ...cells.map((r) => r[i]!.length)));
  const rule = `+${widths.map((w) => '-'.repeat(w + 2)).join('+')}+\n`;
  const line = (texts: string[], align: (i: number) => 'left' | 'right' | 'center') =>
    `|${texts.map((t, i) => ` ${pad(t, widths[i]!, align(i))} `).join('|')}|\n`;
  let out = rule + line(headers, () => 'center') + rule;
  for (const row of cells) out += line(row, (i) => cols[i]!.align ?? 'right');
  if (rows.length > 0) out += rule;
  return out;
}

/** etcdctl's simple output: one line per row, cells joined by ", ". */
export function renderSimple<Row>(rows: Row[], columns?: Column<Row>[]): string {
  const cols = columnsFor(rows, columns);
  return rows.map((row) => `${cols.map((c) => cellText(c.get(row))).join(', ')}\n`).join('');
}

/** JSON on one line; bigints as bare numbers (a uint64 member ID stays exact, as in etcdctl's output). */
export function renderJson(value: unknown): string {
  return `${stringifyJson(value)}\n`;
}

function stringifyJson(value: unknown): string {
  if (value === null || value === undefined) return 'null';
  if (typeof value === 'bigint') return value.toString();
  if (typeof value === 'number') return Number.isFinite(value) ? String(value) : 'null';
  if (typeof value === 'string' || typeof value === 'boolean') return JSON.stringify(value);
  if (Buffer.isBuffer(value)) return JSON.stringify(value.toString('base64'));
  if (Array.isArray(value)) return `[${value.map(stringifyJson).join(',')}]`;
  if (typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>).filter(([, v]) => v !== undefined);
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${stringifyJson(v)}`).join(',')}}`;
  }
  return 'null';
}

/** YAML (block style); bigints as plain integers. */
export function renderYaml(value: unknown): string {
  return toYaml(toPlain(value));
}

function toPlain(value: unknown): unknown {
  if (typeof value === 'bigint') {
    return value <= BigInt(Number.MAX_SAFE_INTEGER) && value >= -BigInt(Number.MAX_SAFE_INTEGER)
      ? Number(value)
      : value;
  }
  if (Buffer.isBuffer(value)) return value.toString('base64');
  if (Array.isArray(value)) return value.map(toPlain);
  if (value && typeof value === 'object')
    return Object.fromEntries(
      Object.entries(value as Record<string, unknown>)
        .filter(([, v]) => v !== undefined)
        .map(([k, v]) => [k, toPlain(v)]),
    );
  return value;
}

/** Renders `value` (rows or one row) in `format`. */
export function render<Row>(
  format: OutputFormat,
  value: Row[] | Row,
  options: PrintOptions<Row> = {},
): string {
  const rows = Array.isArray(value) ? value : [value];
  switch (format) {
    case 'json':
      return renderJson(options.raw ?? value);
    case 'yaml':
      return renderYaml(options.raw ?? value);
    case 'table':
      return renderTable(rows, options.columns);
    case 'simple':
      return options.simple ? options.simple(rows) : renderSimple(rows, options.columns);
  }
}
