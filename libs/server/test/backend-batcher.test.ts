import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Backend } from '@cairn/storage';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { BackendBatcher } from '../src/backend-batcher';

let dir: string;
let backend: Backend;
const key = (n: number): Buffer => Buffer.from(`k${n}`);

beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), 'cairn-batcher-'));
  backend = await Backend.open(join(dir, 'db'));
});
afterEach(async () => {
  await backend.close();
  rmSync(dir, { recursive: true, force: true });
});

function batcher(intervalMs: number, limit = 10_000, onFailed: (err: unknown) => void = () => undefined) {
  return new BackendBatcher(() => backend, { intervalMs, limit, onFailed });
}

describe('BackendBatcher', () => {
  it('stages consecutive applies into one batch and writes it once the interval has passed', async () => {
    const b = batcher(40);
    const first = b.batch();
    first.put('key', key(1), Buffer.from('a'));
    b.staged();
    expect(b.batch()).toBe(first);
    first.put('key', key(2), Buffer.from('b'));
    b.staged();
    expect(await backend.get('key', key(1))).toBeUndefined();
    // Written by the interval's timer alone (no flush()); retried, since the LevelDB write after the 40 ms can
    // take a while on a busy machine.
    await vi.waitFor(async () => expect(String(await backend.get('key', key(1)))).toBe('a'), {
      timeout: 5_000,
      interval: 20,
    });
    expect(String(await backend.get('key', key(2)))).toBe('b');
    expect(b.batch()).not.toBe(first);
  });

  it('writes at once when the batch reaches the limit, or after every apply with interval 0', async () => {
    const full = batcher(60_000, 2);
    full.batch().put('key', key(1), Buffer.from('a')).put('key', key(2), Buffer.from('b'));
    full.staged();
    await full.flush();
    expect(String(await backend.get('key', key(2)))).toBe('b');

    const eager = batcher(0);
    eager.batch().put('key', key(3), Buffer.from('c'));
    eager.staged();
    expect(eager.pendingWrites).toBe(1);
    await eager.flush();
    expect(eager.pendingWrites).toBe(0);
    expect(String(await backend.get('key', key(3)))).toBe('c');
  });

  it('flush() writes the open batch now and resolves after every earlier write, in order', async () => {
    const b = batcher(60_000);
    b.batch().put('key', key(1), Buffer.from('first'));
    void b.flush();
    b.batch().put('key', key(1), Buffer.from('second'));
    await b.flush();
    expect(String(await backend.get('key', key(1)))).toBe('second');
  });

  it('a failed write is reported and every later flush fails too (nothing is written after a gap)', async () => {
    const failures: unknown[] = [];
    const b = batcher(60_000, 10_000, (err) => failures.push(err));
    b.batch().put('key', key(1), Buffer.from('a'));
    await backend.close();
    await expect(b.flush()).rejects.toThrow();
    expect(failures).toHaveLength(1);
    backend = await Backend.open(join(dir, 'db'));
    b.batch().put('key', key(2), Buffer.from('b'));
    await expect(b.flush()).rejects.toThrow();
    expect(await backend.get('key', key(2))).toBeUndefined();
  });
});
