// The unified diff `cairnctl config edit` shows before publishing (the member's own diff endpoint compares
// releases only, not a local edit). LCS over lines: config items are small (at most ~1.5 MiB).

type Op = ' ' | '-' | '+';
interface Line {
  op: Op;
  text: string;
  /** 0-based index in a (for '+' the index the next a-line would have), and likewise in b. */
  a: number;
  b: number;
}

/** A last line without its newline, marked so that it differs from the same line with one (as in diff(1)). */
const NO_EOL = '\u0000';

function split(text: string): string[] {
  if (text === '') return [];
  const lines = text.split('\n');
  if (lines[lines.length - 1] === '')
    lines.pop(); // a final newline ends the last line, it adds none
  else lines[lines.length - 1] += NO_EOL;
  return lines;
}

function lineOps(a: string[], b: string[]): Line[] {
  // Trim the common head and tail first: an edit usually touches a few lines of a long file.
  let head = 0;
  while (head < a.length && head < b.length && a[head] === b[head]) head++;
  let tail = 0;
  while (
    tail < a.length - head &&
    tail < b.length - head &&
    a[a.length - 1 - tail] === b[b.length - 1 - tail]
  )
    tail++;
  const n = a.length - head - tail;
  const m = b.length - head - tail;
  // dp[i][j]: LCS length of a[head+i..], b[head+j..] within the middle.
  const dp: Uint32Array[] = Array.from({ length: n + 1 }, () => new Uint32Array(m + 1));
  for (let i = n - 1; i >= 0; i--) {
    for (let j = m - 1; j >= 0; j--) {
      dp[i]![j] =
        a[head + i] === b[head + j] ? dp[i + 1]![j + 1]! + 1 : Math.max(dp[i + 1]![j]!, dp[i]![j + 1]!);
    }
  }
  const out: Line[] = [];
  for (let k = 0; k < head; k++) out.push({ op: ' ', text: a[k]!, a: k, b: k });
  let i = 0;
  let j = 0;
  while (i < n || j < m) {
    if (i < n && j < m && a[head + i] === b[head + j]) {
      out.push({ op: ' ', text: a[head + i]!, a: head + i++, b: head + j++ });
    } else if (i < n && (j >= m || dp[i + 1]![j]! >= dp[i]![j + 1]!)) {
      out.push({ op: '-', text: a[head + i]!, a: head + i++, b: head + j });
    } else {
      out.push({ op: '+', text: b[head + j]!, a: head + i, b: head + j++ });
    }
  }
  for (let k = 0; k < tail; k++) {
    const ai = a.length - tail + k;
    out.push({ op: ' ', text: a[ai]!, a: ai, b: b.length - tail + k });
  }
  return out;
}

/** `@@ -l,s +l,s @@` as diff(1) writes it: a range of 0 lines starts at the line before it. */
function range(start: number, count: number): string {
  const first = count === 0 ? start : start + 1;
  return count === 1 ? `${first}` : `${first},${count}`;
}

/**
 * A unified diff of `before` → `after` with `context` lines around each change, headed `--- fromLabel` /
 * `+++ toLabel`; '' when the texts are equal. A text without a final newline gets diff(1)'s marker.
 */
export function unifiedDiff(
  before: string,
  after: string,
  fromLabel: string,
  toLabel: string,
  context = 3,
): string {
  if (before === after) return '';
  const a = split(before);
  const b = split(after);
  const lines = lineOps(a, b);
  const out = [`--- ${fromLabel}`, `+++ ${toLabel}`];
  let k = 0;
  while (k < lines.length) {
    while (k < lines.length && lines[k]!.op === ' ') k++;
    if (k >= lines.length) break;
    const start = Math.max(0, k - context);
    let end = k;
    for (;;) {
      while (end < lines.length && lines[end]!.op !== ' ') end++;
      let next = end;
      while (next < lines.length && lines[next]!.op === ' ') next++;
      if (next < lines.length && next - end <= 2 * context) end = next;
      else break;
    }
    const stop = Math.min(lines.length, end + context);
    const hunk = lines.slice(start, stop);
    const aCount = hunk.filter((l) => l.op !== '+').length;
    const bCount = hunk.filter((l) => l.op !== '-').length;
    out.push(`@@ -${range(hunk[0]!.a, aCount)} +${range(hunk[0]!.b, bCount)} @@`);
    for (const l of hunk) {
      if (!l.text.endsWith(NO_EOL)) out.push(`${l.op}${l.text}`);
      else out.push(`${l.op}${l.text.slice(0, -1)}`, '\\ No newline at end of file');
    }
    k = stop;
  }
  return `${out.join('\n')}\n`;
}

/** Colours a diff for a terminal (red removals, green additions, cyan hunk headers). */
export function colorDiff(diff: string): string {
  return diff
    .split('\n')
    .map((line) => {
      if (line.startsWith('+++') || line.startsWith('---')) return `\x1b[1m${line}\x1b[0m`;
      if (line.startsWith('@@')) return `\x1b[36m${line}\x1b[0m`;
      if (line.startsWith('+')) return `\x1b[32m${line}\x1b[0m`;
      if (line.startsWith('-')) return `\x1b[31m${line}\x1b[0m`;
      return line;
    })
    .join('\n');
}
