// The EtcdPort: typed results, etcd's errors, the call context (deadline, cancellation, leader requirement,
// identity carried into the proposal), watches resumable from a revision with compaction reported. Run over
// a bare store (LocalEtcdPort) and over a real member (createNodeEtcdPort), which share StorePort.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EtcdError, decodeInternalRequest, prefixEnd } from '@cairn/api';
import type { LeaseClock, WatchResponse } from '@cairn/mvcc';
import { EntryType } from '@cairn/raft';
import { Wal } from '@cairn/storage';
import { afterEach, describe, expect, it } from 'vitest';
import { type NodeConfig, singleMemberConfig } from '../src/config';
import { CairnNode } from '../src/node';
import { type CallContext, LocalEtcdPort, createNodeEtcdPort, internalContext } from '../src/port';

const b = (text: string): Buffer => Buffer.from(text);
const str = (bytes: Uint8Array | undefined): string => Buffer.from(bytes ?? []).toString();
const ctx = internalContext();

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function tempDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'cairn-port-'));
  cleanups.push(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

async function openLocal(leaseClock?: LeaseClock): Promise<LocalEtcdPort> {
  const local = await LocalEtcdPort.open({ dataDir: await tempDir(), leaseClock });
  cleanups.push(() => local.close());
  return local;
}

function codeOf(err: unknown): string {
  return err instanceof EtcdError ? err.code : `not an EtcdError: ${String(err)}`;
}

async function failure(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
  } catch (err) {
    return codeOf(err);
  }
  return 'no error';
}

describe('EtcdPort over a bare store (LocalEtcdPort)', () => {
  it('puts, reads, txns and deletes with typed results and etcd revisions', async () => {
    const { port } = await openLocal();
    const first = await port.put(ctx, { key: b('/a/1'), value: b('one') });
    const second = await port.put(ctx, { key: b('/a/2'), value: b('two'), prevKv: true });
    expect([first.revision, second.revision]).toEqual([2, 3]);

    const range = await port.range(ctx, { key: b('/a/'), rangeEnd: prefixEnd('/a/') });
    expect(range.kvs.map((kv) => `${str(kv.key)}=${str(kv.value)}@${kv.modRevision}`)).toEqual([
      '/a/1=one@2',
      '/a/2=two@3',
    ]);
    expect(range.revision).toBe(3);

    // A guarded write: the compare fails, the failure branch reads.
    const lost = await port.txn(ctx, {
      compare: [{ key: b('/a/1'), target: 'MOD', result: 'EQUAL', modRevision: 99 }],
      success: [{ put: { key: b('/a/1'), value: b('never') } }],
      failure: [{ range: { key: b('/a/1') } }],
    });
    expect(lost.succeeded).toBe(false);
    const read = lost.responses[0];
    expect(read && 'range' in read ? str(read.range.kvs[0]?.value) : 'no range').toBe('one');
    const won = await port.txn(ctx, {
      compare: [{ key: b('/a/1'), target: 'MOD', result: 'EQUAL', modRevision: 2 }],
      success: [{ put: { key: b('/a/1'), value: b('uno') } }],
    });
    expect([won.succeeded, won.revision]).toEqual([true, 4]);

    const deleted = await port.deleteRange(ctx, { key: b('/a/'), rangeEnd: prefixEnd('/a/'), prevKv: true });
    expect([deleted.deleted, deleted.revision, deleted.prevKvs.map((kv) => str(kv.value))]).toEqual([
      2,
      5,
      ['uno', 'two'],
    ]);
    expect(port.revisions()).toEqual({ current: 5, compact: 0 });
  });

  it("refuses bad requests with etcd's errors and writes nothing", async () => {
    const { port } = await openLocal();
    expect(await failure(port.put(ctx, { key: b('') }))).toBe('empty-key');
    expect(await failure(port.put(ctx, { key: b('k'), lease: 12345n }))).toBe('lease-not-found');
    expect(await failure(port.range(ctx, { key: b('k'), revision: 7 }))).toBe('future-revision');
    expect(await failure(port.leaseRevoke(ctx, 777n))).toBe('lease-not-found');
    expect(port.revisions().current).toBe(1);
  });

  it('carries the identity of the context into the applied entry', async () => {
    const local = await openLocal();
    await local.port.put({ identity: { user: 'alice' } }, { key: b('k'), value: b('v') });
    expect(local.lastWriter).toBe('alice');
    await local.port.put(ctx, { key: b('k'), value: b('w') });
    expect(local.lastWriter).toBe('');
  });

  it('fails a call whose deadline has passed or whose signal is aborted, with etcd’s errors', async () => {
    const { port } = await openLocal();
    const late: CallContext = { ...ctx, deadline: Date.now() - 1 };
    expect(await failure(port.put(late, { key: b('k'), value: b('v') }))).toBe('deadline-exceeded');
    const aborted = new AbortController();
    aborted.abort();
    expect(await failure(port.range({ ...ctx, signal: aborted.signal }, { key: b('k') }))).toBe('canceled');
    expect(() => port.watch({ ...ctx, signal: aborted.signal }, { key: b('k') }, () => true)).toThrow(
      'request canceled',
    );
    expect(port.revisions().current).toBe(1);
  });

  it('grants, keeps alive, reports and revokes leases; an expired lease takes its keys with it', async () => {
    let now = 0;
    const local = await openLocal({ now: () => now });
    const { port } = local;
    const lease = await port.leaseGrant(ctx, { ttl: 10 });
    expect(lease.ttl).toBe(10);
    await port.put(ctx, { key: b('/svc/x'), value: b('up'), lease: lease.id });
    now = 8_000;
    expect(await port.leaseKeepAlive(ctx, lease.id)).toBe(10);
    expect(await port.leaseTimeToLive(ctx, lease.id, { keys: true })).toMatchObject({
      ttl: 10,
      grantedTtl: 10,
      keys: [b('/svc/x')],
    });
    now = 17_000; // 9 s after the keep-alive: still alive
    expect(await local.expireLeases()).toEqual([]);
    now = 18_500;
    expect(await local.expireLeases()).toEqual([lease.id]);
    expect((await port.range(ctx, { key: b('/svc/x') })).kvs).toEqual([]);
    expect(await port.leaseKeepAlive(ctx, lease.id)).toBe(0);
    expect(await port.leaseTimeToLive(ctx, lease.id)).toBeUndefined();

    const other = await port.leaseGrant(ctx, { ttl: 5 });
    await port.leaseRevoke(ctx, other.id);
    expect(await port.leaseTimeToLive(ctx, other.id)).toBeUndefined();
  });

  it('watches resume from a past revision and report a compacted one, as etcd', async () => {
    const local = await openLocal();
    const { port } = local;
    for (let i = 1; i <= 5; i++) await port.put(ctx, { key: b(`/w/${i}`), value: b(String(i)) });
    const seen: WatchResponse[] = [];
    const watch = port.watch(ctx, { key: b('/w/'), rangeEnd: prefixEnd('/w/'), startRevision: 4 }, (res) => {
      seen.push(res);
      return true;
    });
    await expect.poll(() => watch.isSynced()).toBe(true);
    await port.put(ctx, { key: b('/w/6'), value: b('6') });
    // The write is fanned out a turn after its apply: synced again once it was offered.
    await expect.poll(() => watch.isSynced()).toBe(true);
    expect(seen.flatMap((r) => r.events.map((e) => e.kv.modRevision))).toEqual([4, 5, 6, 7]);
    watch.cancel();

    await local.compact(6);
    const compacted: WatchResponse[] = [];
    port.watch(ctx, { key: b('/w/'), rangeEnd: prefixEnd('/w/'), startRevision: 3 }, (res) => {
      compacted.push(res);
      return true;
    });
    await expect.poll(() => compacted.length).toBe(1);
    expect(compacted[0]).toMatchObject({ compactRevision: 6, events: [] });
  });
});

describe('EtcdPort watches under one signal (a Watch stream)', () => {
  it('share one abort listener: no MaxListenersExceededWarning; abort ends every open watch, a cancelled one is let go', async () => {
    const { port } = await openLocal();
    const warnings: string[] = [];
    const onWarning = (warning: Error): void => void warnings.push(warning.name);
    process.on('warning', onWarning);
    try {
      const stream = new AbortController();
      const ended: string[] = [];
      const watches = Array.from({ length: 50 }, (_, i) =>
        port.watch(
          { ...ctx, signal: stream.signal },
          { key: b(`/s/${i}`) },
          () => true,
          (err) => ended.push(`${i}:${codeOf(err)}`),
        ),
      );
      watches[0].cancel();
      stream.abort();
      // Warnings are emitted on the next tick.
      await new Promise((resolve) => setImmediate(resolve));
      expect(warnings).toEqual([]);
      expect(ended).toHaveLength(49);
      expect(ended).not.toContain('0:canceled');
      expect(ended.every((entry) => entry.endsWith(':canceled'))).toBe(true);
      expect(watches.every((watch) => !watch.isSynced())).toBe(true);
    } finally {
      process.off('warning', onWarning);
    }
  });
});

describe('EtcdPort over a member (createNodeEtcdPort)', () => {
  function config(dataDir: string, overrides: Partial<NodeConfig> = {}): NodeConfig {
    return singleMemberConfig(dataDir, { name: 'n1', peerUrl: 'http://127.0.0.1:12480', ...overrides });
  }

  it('proposes with the caller’s identity in the entry header (read back from the WAL)', async () => {
    const dir = await tempDir();
    const node = await CairnNode.start(config(dir));
    const port = createNodeEtcdPort(node, 128);
    const put = await port.put({ identity: { user: 'bob' } }, { key: b('k'), value: b('v') });
    expect(put.revision).toBe(2);
    expect(str((await port.range(ctx, { key: b('k') })).kvs[0]?.value)).toBe('v');
    await node.close();

    const { wal, entries } = await Wal.open(join(dir, 'member', 'wal'), { index: 0, term: 0 });
    await wal.close();
    const users = entries
      .filter((entry) => entry.type === EntryType.Normal && entry.data.length > 0)
      .map((entry) => decodeInternalRequest(entry.data))
      .filter((request) => request.request === 'put')
      .map((request) => request.header?.username);
    expect(users).toEqual(['bob']);
  });

  it('refuses calls and watches that require a leader while the member has none', async () => {
    // One of two voters: it can never win an election alone.
    const node = await CairnNode.start(
      config(await tempDir(), {
        initialCluster: [
          { name: 'n1', peerUrls: ['http://127.0.0.1:12480'] },
          { name: 'n2', peerUrls: ['http://127.0.0.1:12481'] },
        ],
      }),
    );
    cleanups.push(() => node.close());
    const port = createNodeEtcdPort(node, 128);
    const needsLeader: CallContext = { ...ctx, requireLeader: true };
    expect(await failure(port.range(needsLeader, { key: b('k'), serializable: true }))).toBe('no-leader');
    expect(() => port.watch(needsLeader, { key: b('k') }, () => true)).toThrow('no leader');
    // Without the requirement a serializable read is served locally.
    expect((await port.range(ctx, { key: b('k'), serializable: true })).kvs).toEqual([]);
  });
});
