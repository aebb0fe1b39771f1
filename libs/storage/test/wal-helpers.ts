// Shared by the WAL tests: temp dirs, deterministic entries, a seeded PRNG.
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EntryType, type Entry } from '@cairn/raft';

export function tempDir(prefix: string): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), `cairn-${prefix}-`));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/** mulberry32: small, fast, good enough to pick offsets and sizes reproducibly. */
export function seededRandom(seed: number): (n: number) => number {
  let a = seed >>> 0;
  return (n: number) => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return Math.floor((((t ^ (t >>> 14)) >>> 0) / 4294967296) * n);
  };
}

/** Data that depends only on (term, index), so any entry read back can be checked on its own. */
export function dataFor(term: number, index: number, size = 16 + (index % 97)): Uint8Array {
  const out = new Uint8Array(size);
  let x = (term * 2654435761 + index * 40503) >>> 0;
  for (let i = 0; i < size; i++) {
    x = (x * 1103515245 + 12345) >>> 0;
    out[i] = x >>> 24;
  }
  return out;
}

export function entry(term: number, index: number, size?: number): Entry {
  return { term, index, type: EntryType.Normal, data: dataFor(term, index, size) };
}

export function entries(term: number, from: number, to: number, size?: number): Entry[] {
  const out: Entry[] = [];
  for (let i = from; i <= to; i++) out.push(entry(term, i, size));
  return out;
}

/** Entries as comparable strings (term/index/type/hex data). */
export function describeEntries(list: readonly Entry[]): string[] {
  return list.map((e) => `${e.term}/${e.index}/${e.type}/${Buffer.from(e.data).toString('hex')}`);
}

export function walFiles(dir: string): string[] {
  return readdirSync(dir)
    .filter((n) => n.endsWith('.wal'))
    .sort();
}
