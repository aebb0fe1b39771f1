import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Backend, type BackendBatch } from '@cairn/storage';
import { KvStore, type KvStoreOptions, type KeyValue } from '../src/index';

export const b = (text: string): Buffer => Buffer.from(text);
export const s = (bytes: Uint8Array | undefined): string | undefined =>
  bytes === undefined ? undefined : Buffer.from(bytes).toString();

export interface Harness {
  dir: string;
  path: string;
  backend: Backend;
  kv: KvStore;
  /** Run `fn` with a fresh batch, write the batch, return fn's result. */
  commit<T>(fn: (batch: BackendBatch) => T): Promise<T>;
  /** Close the store and backend and open both again from disk. */
  reopen(options?: KvStoreOptions): Promise<void>;
  close(): Promise<void>;
}

export async function openHarness(options: KvStoreOptions = {}): Promise<Harness> {
  const dir = await mkdtemp(join(tmpdir(), 'cairn-mvcc-'));
  const path = join(dir, 'db');
  const backend = await Backend.open(path);
  const kv = await KvStore.open(backend, options);
  const harness: Harness = {
    dir,
    path,
    backend,
    kv,
    async commit(fn) {
      const batch = harness.backend.batch();
      const result = fn(batch);
      await batch.write();
      return result;
    },
    async reopen(reopenOptions = options) {
      await harness.kv.close();
      await harness.backend.close();
      harness.backend = await Backend.open(path);
      harness.kv = await KvStore.open(harness.backend, reopenOptions);
    },
    async close() {
      await harness.kv.close();
      await harness.backend.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
  return harness;
}

/** A kv as plain data for readable assertions. */
export function plain(kv: KeyValue | undefined): Record<string, unknown> | undefined {
  if (!kv) return undefined;
  return {
    key: s(kv.key),
    value: s(kv.value),
    create: kv.createRevision,
    mod: kv.modRevision,
    version: kv.version,
    lease: kv.lease,
  };
}

export const keysOf = (kvs: KeyValue[]): Array<string | undefined> => kvs.map((kv) => s(kv.key));
