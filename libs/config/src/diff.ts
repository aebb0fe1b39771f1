// A unified line diff (LCS over lines; configs are small) between two releases.

type Line = { op: ' ' | '-' | '+'; text: string; a: number; b: number };

function lcsLines(a: string[], b: string[]): Line[] {
  const n = a.length;
  const m = b.length;
  // dp[i][j] = LCS length of a[i..], b[j..]
  const dp: Uint32Array[] = Array.from({ length: n + 1 }, () => new Uint32Array(m + 1));
  for (let i = n - 1; i >= 0; i--) {
    for (let j = m - 1; j >= 0; j--) {
      dp[i][j] = a[i] === b[j] ? dp[i + 1][j + 1] + 1 : Math.max(dp[i + 1][j], dp[i][j + 1]);
    }
  }
  const out: Line[] = [];
  let i = 0;
  let j = 0;
  while (i < n || j < m) {
    if (i < n && j < m && a[i] === b[j]) {
      out.push({ op: ' ', text: a[i], a: i++, b: j++ });
    } else if (j < m && (i >= n || dp[i][j + 1] > dp[i + 1][j])) {
      out.push({ op: '+', text: b[j], a: i, b: j++ });
    } else {
      out.push({ op: '-', text: a[i], a: i++, b: j });
    }
  }
  return out;
}

/** A unified diff (3 lines of context) of `before` → `after`; '' when they are equal. */
export function unifiedDiff(before: string, after: string, fromLabel: string, toLabel: string): string {
  if (before === after) return '';
  const a = before.split('\n');
  const b = after.split('\n');
  const lines = lcsLines(a, b);
  const context = 3;
  const hunks: string[] = [];
  let k = 0;
  while (k < lines.length) {
    while (k < lines.length && lines[k].op === ' ') k++;
    if (k >= lines.length) break;
    const start = Math.max(0, k - context);
    let end = k;
    // Extend while changes are within 2*context of each other.
    for (;;) {
      while (end < lines.length && lines[end].op !== ' ') end++;
      let next = end;
      while (next < lines.length && lines[next].op === ' ') next++;
      if (next < lines.length && next - end <= 2 * context) end = next;
      else break;
    }
    const stop = Math.min(lines.length, end + context);
    const hunk = lines.slice(start, stop);
    const aStart = hunk[0].a + 1;
    const bStart = hunk[0].b + 1;
    const aCount = hunk.filter((l) => l.op !== '+').length;
    const bCount = hunk.filter((l) => l.op !== '-').length;
    hunks.push(`@@ -${aStart},${aCount} +${bStart},${bCount} @@`);
    for (const l of hunk) hunks.push(`${l.op}${l.text}`);
    k = stop;
  }
  return [`--- ${fromLabel}`, `+++ ${toLabel}`, ...hunks].join('\n') + '\n';
}
