// Bytes allocated per put by allocating function, from a sampling heap profile (alloc-per-put.sh).
//   node scripts/alloc/top-allocators.mjs <profile.json> <puts in the window> [rows]
import { readFileSync } from 'node:fs';

const [file, putsArg, rowsArg = '30'] = process.argv.slice(2);
const profile = JSON.parse(readFileSync(file, 'utf8'));
const puts = Number(putsArg);
const nodes = new Map();
(function walk(node) {
  nodes.set(node.id, node);
  for (const child of node.children) walk(child);
})(profile.head);
const where = (n) =>
  `${n.callFrame.functionName || '(anon)'} ${n.callFrame.url.replace(/.*\/(node_modules|libs|apps)\//, '$1/')}:${n.callFrame.lineNumber}`;
const bytes = new Map();
let total = 0;
for (const sample of profile.samples) {
  total += sample.size;
  const key = where(nodes.get(sample.nodeId));
  bytes.set(key, (bytes.get(key) ?? 0) + sample.size);
}
console.log(`allocated per put: ${Math.round(total / puts)} B`);
for (const [key, b] of [...bytes].sort((a, b) => b[1] - a[1]).slice(0, Number(rowsArg))) {
  console.log(`${String(Math.round(b / puts)).padStart(7)} B  ${key}`);
}
