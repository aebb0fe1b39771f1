// Raft snapshot files are `<term:16 hex>-<index:16 hex>.snap` (etcd's naming); the state-machine database
// that goes with one is `<index:16 hex>.snap.db`.

export interface SnapName {
  term: number;
  index: number;
  name: string;
}

const SNAP_RE = /^([0-9a-f]{16})-([0-9a-f]{16})\.snap$/;
const DB_RE = /^([0-9a-f]{16})\.snap\.db$/;

export function hex16(n: number): string {
  if (!Number.isSafeInteger(n) || n < 0)
    throw new RangeError(`snap: ${n} is not a safe non-negative integer`);
  return n.toString(16).padStart(16, '0');
}

function parseHex(hex: string): number | undefined {
  const v = BigInt(`0x${hex}`);
  return v > BigInt(Number.MAX_SAFE_INTEGER) ? undefined : Number(v);
}

export function formatSnapName(term: number, index: number): string {
  return `${hex16(term)}-${hex16(index)}.snap`;
}

export function parseSnapName(name: string): SnapName | undefined {
  const m = SNAP_RE.exec(name);
  if (!m) return undefined;
  const term = parseHex(m[1]);
  const index = parseHex(m[2]);
  return term === undefined || index === undefined ? undefined : { term, index, name };
}

export function formatDbName(index: number): string {
  return `${hex16(index)}.snap.db`;
}

/** The index of a `.snap.db` file name, or undefined. */
export function parseDbName(name: string): number | undefined {
  const m = DB_RE.exec(name);
  return m ? parseHex(m[1]) : undefined;
}

/** Newest first: by index, then term. */
export function newestFirst(a: SnapName, b: SnapName): number {
  return b.index - a.index || b.term - a.term;
}
