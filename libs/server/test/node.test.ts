// CairnNode end to end on a real data dir (WAL segments, snapshot files, LevelDB): a single member bootstraps,
// leads itself, applies puts at revisions 2, 3, 4... (etcd's: a fresh store is at 1), serves linearizable reads, and after a restart on the same
// data dir keeps every acknowledged write with the same IDs; snapshots compact the log and a restart starts
// from them; leases, compaction, the request size limit and the NOSPACE quota answer with etcd's errors;
// close() is idempotent and leaves no timers behind.
import { createHook } from 'node:async_hooks';
import { readdirSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EtcdError, GrpcStatus, type RangeRequest__Output } from '@cairn/api';
import { StateType } from '@cairn/raft';
import { afterEach, describe, expect, it } from 'vitest';
import { AlarmKind } from '../src/alarms';
import { toEtcdError, type ApplyResult } from '../src/applier';
import { type NodeConfig, singleMemberConfig } from '../src/config';
import { computeClusterId, computeMemberId } from '../src/ids';
import { CairnNode } from '../src/node';
import { ANONYMOUS } from '../src/port/etcd-port';

const PEER_URL = 'http://127.0.0.1:12380';
const TOKEN = 'node-test-cluster';

const dirs: string[] = [];
const running = new Set<CairnNode>();
afterEach(async () => {
  for (const node of running) await node.close();
  running.clear();
  for (const dir of dirs.splice(0)) await rm(dir, { recursive: true, force: true });
});

async function tempDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'cairn-node-'));
  dirs.push(dir);
  return dir;
}

function config(dataDir: string, overrides: Partial<NodeConfig> = {}): NodeConfig {
  return singleMemberConfig(dataDir, {
    name: 'n1',
    peerUrl: PEER_URL,
    initialClusterToken: TOKEN,
    snapshotCatchUpEntries: 5,
    ...overrides,
  });
}

async function start(cfg: NodeConfig): Promise<CairnNode> {
  const node = await CairnNode.start(cfg);
  running.add(node);
  return node;
}

async function stop(node: CairnNode): Promise<void> {
  await node.close();
  running.delete(node);
}

/** Polls `cond` every 10 ms; fails (instead of hanging) after `tries` polls. */
async function until(cond: () => boolean, what: string, tries = 500): Promise<void> {
  for (let i = 0; i < tries; i++) {
    if (cond()) return;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  throw new Error(`timed out waiting for: ${what}`);
}

interface WireHeader {
  cluster_id: string;
  member_id: string;
  revision: number;
  raft_term: number;
}
interface WireKv {
  key: Buffer;
  value: Buffer;
  create_revision: number;
  mod_revision: number;
  version: number;
  lease: string;
}
interface WireRange {
  header: WireHeader;
  kvs: WireKv[];
  count: number;
  more: boolean;
}

function ok(result: ApplyResult): { header: WireHeader } & Record<string, unknown> {
  if (result.error) throw result.error;
  expect(result.response).toBeDefined();
  return result.response as { header: WireHeader } & Record<string, unknown>;
}

async function put(node: CairnNode, key: string, value: string, lease = '0'): Promise<ApplyResult> {
  return node.propose(
    {
      put: {
        key: Buffer.from(key),
        value: Buffer.from(value),
        lease,
        prev_kv: false,
        ignore_value: false,
        ignore_lease: false,
      },
    },
    ANONYMOUS,
  );
}

function rangeRequest(key: string, fields: Partial<RangeRequest__Output> = {}): RangeRequest__Output {
  return {
    key: Buffer.from(key),
    range_end: Buffer.alloc(0),
    limit: '0',
    revision: '0',
    sort_order: 0,
    sort_target: 0,
    serializable: false,
    keys_only: false,
    count_only: false,
    min_mod_revision: '0',
    max_mod_revision: '0',
    min_create_revision: '0',
    max_create_revision: '0',
    ...fields,
  };
}

/** A linearizable range read: ReadIndex barrier, then the local read. */
async function range(
  node: CairnNode,
  key: string,
  fields: Partial<RangeRequest__Output> = {},
): Promise<WireRange> {
  await node.linearizableReadBarrier();
  return (await node.reader.range(rangeRequest(key, fields))) as WireRange;
}

/** Every key from "\0" on, i.e. the whole key space. */
function all(node: CairnNode): Promise<WireRange> {
  return range(node, '\0', { range_end: Buffer.from([0]) });
}

function asMap(result: WireRange): Map<string, { value: string; mod: number }> {
  return new Map(
    result.kvs.map((kv) => [kv.key.toString(), { value: kv.value.toString(), mod: Number(kv.mod_revision) }]),
  );
}

async function expectEtcdError(promise: Promise<unknown>, message: string, code: GrpcStatus): Promise<void> {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err, `expected "${message}"`).toBeInstanceOf(EtcdError);
  expect((err as EtcdError).message).toBe(message);
  expect((err as EtcdError).grpcCode).toBe(code);
}

describe('CairnNode: a single member', () => {
  it('bootstraps, leads itself, applies puts at revisions 2, 3, 4 (etcd’s numbering) and serves linearizable reads', async () => {
    const dir = await tempDir();
    const node = await start(config(dir));
    const expectedMember = computeMemberId([PEER_URL], TOKEN);
    expect(node.memberId).toBe(expectedMember);
    expect(node.clusterId).toBe(computeClusterId([expectedMember]));

    const revisions: number[] = [];
    for (const [key, value] of [
      ['a', '1'],
      ['b', '2'],
      ['a', '3'],
    ]) {
      revisions.push(Number(ok(await put(node, key, value)).header.revision));
    }
    expect(revisions).toEqual([2, 3, 4]);

    expect(node.isLeader()).toBe(true);
    const status = node.status();
    expect(status.leader).toBe(node.memberId);
    expect(status.raftState).toBe(StateType.Leader);
    expect(status.term).toBeGreaterThanOrEqual(2);
    expect(status.appliedIndex).toBeGreaterThanOrEqual(3);
    expect(status.isLearner).toBe(false);

    const a = await range(node, 'a');
    expect(a.kvs).toHaveLength(1);
    expect(a.kvs[0].value.toString()).toBe('3');
    expect(Number(a.kvs[0].create_revision)).toBe(2);
    expect(Number(a.kvs[0].mod_revision)).toBe(4);
    expect(Number(a.kvs[0].version)).toBe(2);
    expect(a.header).toEqual({
      cluster_id: node.clusterId.toString(),
      member_id: node.memberId.toString(),
      revision: 4,
      raft_term: status.term,
    });
    // An older revision is still readable.
    const before = await range(node, 'a', { revision: '2' });
    expect(before.kvs[0].value.toString()).toBe('1');
    expect(Number((await all(node)).count)).toBe(2);

    // The member publishes its name and client URLs through Raft (etcd's publish).
    await until(() => node.members.get(node.memberId)?.clientUrls.length === 1, 'attributes published');
    expect(node.members.get(node.memberId)).toMatchObject({
      name: 'n1',
      peerUrls: [PEER_URL],
      clientUrls: ['http://127.0.0.1:12379'],
    });
  });

  it('gives concurrent puts distinct, gap-free revisions and a read after them sees every one', async () => {
    const node = await start(config(await tempDir()));
    const results = await Promise.all(Array.from({ length: 50 }, (_, i) => put(node, `k${i}`, `v${i}`)));
    const revisions = results.map((r) => Number(ok(r).header.revision)).sort((x, y) => x - y);
    expect(revisions).toEqual(Array.from({ length: 50 }, (_, i) => i + 2));
    const read = await all(node);
    expect(read.kvs.map((kv) => kv.key.toString()).sort()).toEqual(
      Array.from({ length: 50 }, (_, i) => `k${i}`).sort(),
    );
  });
});

describe('CairnNode: restart on the same data dir', () => {
  it('keeps every acknowledged put, continues revisions and keeps its member and cluster IDs', async () => {
    const dir = await tempDir();
    const first = await start(config(dir));
    const ids = { member: first.memberId, cluster: first.clusterId };
    await Promise.all(Array.from({ length: 20 }, (_, i) => put(first, `key${i}`, `v${i}`)));
    for (let i = 0; i < 10; i++) ok(await put(first, `key${i}`, `w${i}`));
    const before = asMap(await all(first));
    const lastRevision = Number((await all(first)).header.revision);
    expect(lastRevision).toBe(31);
    const termBefore = first.status().term;
    await stop(first);

    const second = await start(config(dir));
    expect(second.memberId).toBe(ids.member);
    expect(second.clusterId).toBe(ids.cluster);
    expect(asMap(await all(second))).toEqual(before);
    expect(Number(ok(await put(second, 'after', 'restart')).header.revision)).toBe(lastRevision + 1);
    expect(second.status().term).toBeGreaterThanOrEqual(termBefore);
    expect(second.isLeader()).toBe(true);
  });

  it('does not re-apply entries after a restart (no duplicate revisions from replay)', async () => {
    const dir = await tempDir();
    const first = await start(config(dir));
    for (let i = 0; i < 5; i++) ok(await put(first, 'same', `v${i}`));
    await stop(first);
    const second = await start(config(dir));
    const read = await range(second, 'same');
    expect(Number(read.kvs[0].version)).toBe(5);
    expect(Number(read.kvs[0].mod_revision)).toBe(6);
    expect(Number(read.header.revision)).toBe(6);
  });

  it('loses no acknowledged put when closed with proposals in flight', async () => {
    const dir = await tempDir();
    const node = await start(config(dir));
    ok(await put(node, 'warm', 'up'));
    let acked = 0;
    // A stream of puts, one after another in 4 lanes; close lands while some are in flight.
    const lane = async (lane: number): Promise<Array<{ key: string; acked: boolean; err?: unknown }>> => {
      const results: Array<{ key: string; acked: boolean; err?: unknown }> = [];
      for (let i = 0; i < 200; i++) {
        const key = `inflight/${lane}/${i}`;
        try {
          const result = await put(node, key, key);
          results.push({ key, acked: result.error === undefined });
          if (result.error === undefined) acked++;
        } catch (err) {
          results.push({ key, acked: false, err });
          break;
        }
      }
      return results;
    };
    const lanes = Promise.all([0, 1, 2, 3].map(lane));
    await until(() => acked >= 20, 'some puts are acknowledged');
    await stop(node);
    const settled = (await lanes).flat();
    expect(settled.filter((o) => o.acked).length).toBeGreaterThanOrEqual(20);
    for (const outcome of settled) {
      if (outcome.err !== undefined)
        expect((outcome.err as Error).message).toBe('etcdserver: server stopped');
    }

    const again = await start(config(dir));
    const present = asMap(await all(again));
    for (const { key, acked } of settled) {
      if (acked) expect(present.get(key)?.value, `acknowledged put ${key}`).toBe(key);
    }
  });
});

describe('CairnNode: snapshots', () => {
  it('saves snapshots every snapshotCount entries, releases old WAL segments, and restarts from the snapshot with all data', async () => {
    const dir = await tempDir();
    const cfg = config(dir, { snapshotCount: 20, snapshotCatchUpEntries: 5, walSegmentBytes: 4096 });
    const node = await start(cfg);
    for (let i = 0; i < 100; i++) ok(await put(node, `snap/${String(i).padStart(3, '0')}`, `value-${i}`));
    const before = asMap(await all(node));
    const appliedBefore = node.status().appliedIndex;
    await stop(node);

    const snapDir = join(dir, 'member', 'snap');
    const snaps = readdirSync(snapDir).filter((name) => name.endsWith('.snap'));
    expect(snaps.length).toBeGreaterThan(0);
    // `<term>-<index>.snap` (16 hex digits each); the newest covers all but the last < snapshotCount entries.
    const newestIndex = Math.max(...snaps.map((name) => parseInt(name.slice(17, 33), 16)));
    expect(newestIndex).toBeGreaterThan(appliedBefore - cfg.snapshotCount);
    // At most `keep` (5) snapshot files are kept.
    expect(snaps.length).toBeLessThanOrEqual(5);
    // The first WAL segment held entries the snapshots cover: it was released.
    const segments = readdirSync(join(dir, 'member', 'wal')).filter((name) => name.endsWith('.wal'));
    expect(segments).not.toContain('0000000000000000-0000000000000000.wal');

    const again = await start(cfg);
    expect(asMap(await all(again))).toEqual(before);
    expect(before.size).toBe(100);
    expect(Number(ok(await put(again, 'snap/next', 'x')).header.revision)).toBe(102);
    expect(again.status().appliedIndex).toBeGreaterThan(appliedBefore);
  });
});

describe('CairnNode: leases', () => {
  const grant = (node: CairnNode, id: string, ttl: string) =>
    node.propose({ lease_grant: { ID: id, TTL: ttl } }, ANONYMOUS);
  const revoke = (node: CairnNode, id: string) => node.propose({ lease_revoke: { ID: id } }, ANONYMOUS);

  it('deletes the keys of a revoked lease in one revision and keeps the others', async () => {
    const node = await start(config(await tempDir()));
    const granted = ok(await grant(node, '7', '60'));
    expect(granted).toMatchObject({ ID: '7', TTL: 60 });
    ok(await put(node, 'lease/a', '1', '7'));
    ok(await put(node, 'lease/b', '2', '7'));
    ok(await put(node, 'plain', '3'));
    const at = Number((await all(node)).header.revision);

    const revoked = ok(await revoke(node, '7'));
    expect(Number(revoked.header.revision)).toBe(at + 1);
    const left = asMap(await all(node));
    expect([...left.keys()]).toEqual(['plain']);
    expect(node.leases.has(7n)).toBe(false);

    // Revoking again: etcd's "requested lease not found".
    const again = await revoke(node, '7');
    expect(again.error?.message).toBe('etcdserver: requested lease not found');
  });

  it('lets the leader revoke an expired lease on its own, deleting its keys', async () => {
    const node = await start(config(await tempDir()));
    ok(await grant(node, '5', '1'));
    ok(await put(node, 'ephemeral', 'x', '5'));
    ok(await put(node, 'durable', 'y'));
    await until(() => !node.leases.has(5n), 'the lease expires and is revoked', 1000);
    expect([...asMap(await all(node)).keys()]).toEqual(['durable']);
  });

  it('refuses a put with a lease that does not exist', async () => {
    const node = await start(config(await tempDir()));
    const result = await put(node, 'k', 'v', '12345');
    expect(result.error).toBeInstanceOf(EtcdError);
    expect(result.error?.message).toBe('etcdserver: requested lease not found');
    expect((result.error as EtcdError).grpcCode).toBe(GrpcStatus.NOT_FOUND);
    expect((await range(node, 'k')).kvs).toEqual([]);
  });

  it('remembers leases and their keys across a restart, so a later revoke still deletes them', async () => {
    const dir = await tempDir();
    const first = await start(config(dir));
    ok(await grant(first, '99', '600'));
    ok(await put(first, 'svc/one', 'x', '99'));
    ok(await put(first, 'svc/two', 'y', '99'));
    ok(await put(first, 'keep', 'z'));
    await stop(first);

    const second = await start(config(dir));
    expect(second.leases.has(99n)).toBe(true);
    ok(await revoke(second, '99'));
    expect([...asMap(await all(second)).keys()]).toEqual(['keep']);
  });
});

describe('CairnNode: compaction', () => {
  it('makes reads below the compacted revision fail with etcd’s compacted error, before and after a restart', async () => {
    const dir = await tempDir();
    const node = await start(config(dir));
    for (let i = 1; i <= 5; i++) ok(await put(node, 'c', String(i)));
    ok(await node.propose({ compaction: { revision: '4', physical: true } }, ANONYMOUS));

    const compacted = 'etcdserver: mvcc: required revision has been compacted';
    const readAt = async (n: CairnNode, revision: string) => {
      await n.linearizableReadBarrier();
      try {
        return await n.reader.range(rangeRequest('c', { revision }));
      } catch (err) {
        throw toEtcdError(err);
      }
    };
    await expectEtcdError(readAt(node, '3'), compacted, GrpcStatus.OUT_OF_RANGE);
    await expectEtcdError(readAt(node, '2'), compacted, GrpcStatus.OUT_OF_RANGE);
    expect(((await readAt(node, '4')) as WireRange).kvs[0].value.toString()).toBe('3');
    expect(((await readAt(node, '0')) as WireRange).kvs[0].value.toString()).toBe('5');

    // Compacting at or below the compacted revision, or past the current one, fails like etcd.
    const again = await node.propose({ compaction: { revision: '4', physical: false } }, ANONYMOUS);
    expect(again.error?.message).toBe(compacted);
    expect((again.error as EtcdError).grpcCode).toBe(GrpcStatus.OUT_OF_RANGE);
    const future = await node.propose({ compaction: { revision: '100', physical: false } }, ANONYMOUS);
    expect(future.error?.message).toBe('etcdserver: mvcc: required revision is a future revision');

    await stop(node);
    const restarted = await start(config(dir));
    await expectEtcdError(readAt(restarted, '3'), compacted, GrpcStatus.OUT_OF_RANGE);
    expect(((await readAt(restarted, '5')) as WireRange).kvs[0].value.toString()).toBe('4');
  });
});

describe('CairnNode: limits', () => {
  it('rejects a request larger than maxRequestBytes with "etcdserver: request is too large" and writes nothing', async () => {
    const node = await start(config(await tempDir(), { maxRequestBytes: 1024 }));
    await expectEtcdError(
      put(node, 'big', 'x'.repeat(2000)),
      'etcdserver: request is too large',
      GrpcStatus.INVALID_ARGUMENT,
    );
    expect((await range(node, 'big')).kvs).toEqual([]);
    // A request under the limit goes through, at the first revision (the rejected one consumed none).
    expect(Number(ok(await put(node, 'small', 'x'.repeat(900))).header.revision)).toBe(2);
  });

  it('raises NOSPACE past quotaBackendBytes: puts fail with "database space exceeded", the alarm is listed and survives a restart', async () => {
    const dir = await tempDir();
    const node = await start(config(dir, { quotaBackendBytes: 1 }));
    ok(await put(node, 'before', 'quota'));
    const noSpace = 'etcdserver: mvcc: database space exceeded';
    await expectEtcdError(node.checkQuota(10), noSpace, GrpcStatus.RESOURCE_EXHAUSTED);
    expect(node.alarms.list()).toEqual([{ memberId: node.memberId, alarm: AlarmKind.NoSpace }]);

    // While the alarm is active every quota check fails at once, and a put that reaches apply is refused.
    await expectEtcdError(node.checkQuota(0), noSpace, GrpcStatus.RESOURCE_EXHAUSTED);
    const refused = await put(node, 'after', 'alarm');
    expect(refused.error?.message).toBe(noSpace);
    expect((refused.error as EtcdError).grpcCode).toBe(GrpcStatus.RESOURCE_EXHAUSTED);
    expect((await range(node, 'after')).kvs).toEqual([]);

    // Alarm GET (action 0) through Raft lists it like `etcdctl alarm list`.
    const listed = ok(await node.propose({ alarm: { action: 0, memberID: '0', alarm: 0 } }, ANONYMOUS));
    expect(listed.alarms).toEqual([{ memberID: node.memberId.toString(), alarm: AlarmKind.NoSpace }]);

    // Deletes still work (they free space), as in etcd.
    const deleted = ok(
      await node.propose(
        {
          delete_range: { key: Buffer.from('before'), range_end: Buffer.alloc(0), prev_kv: false },
        },
        ANONYMOUS,
      ),
    );
    expect(Number(deleted.deleted)).toBe(1);

    await stop(node);
    const again = await start(config(dir, { quotaBackendBytes: 1 }));
    expect(again.alarms.list()).toEqual([{ memberId: again.memberId, alarm: AlarmKind.NoSpace }]);
    expect((await put(again, 'still', 'full')).error?.message).toBe(noSpace);
  });
});

describe('CairnNode: close', () => {
  interface TrackedTimer {
    resource: { hasRef?: () => boolean };
    stack: string;
  }

  /**
   * Records every timer created while it is on and not yet fired/cleared (async_hooks destroy). What is left
   * and still ref'd at the end would keep the process alive: a dangling timer.
   */
  function trackTimers(): { stop(): string[] } {
    const live = new Map<number, TrackedTimer>();
    const hook = createHook({
      init(asyncId, type, _trigger, resource) {
        if (type === 'Timeout')
          live.set(asyncId, {
            resource: resource as TrackedTimer['resource'],
            stack: new Error().stack ?? '',
          });
      },
      destroy(asyncId) {
        live.delete(asyncId);
      },
    }).enable();
    return {
      stop() {
        hook.disable();
        return [...live.values()].filter((t) => t.resource.hasRef?.() === true).map((t) => t.stack);
      },
    };
  }

  it('can be called twice, fails later requests with "server stopped" and leaves no ref\'d timer behind', async () => {
    const timers = trackTimers();
    const node = await start(config(await tempDir(), { snapshotCount: 10 }));
    for (let i = 0; i < 15; i++) ok(await put(node, `t${i}`, 'x'));
    await range(node, 't0');

    await node.close();
    await node.close();
    running.delete(node);
    await Promise.all([node.close(), node.close()]);

    await expectEtcdError(put(node, 'late', 'x'), 'etcdserver: server stopped', GrpcStatus.UNAVAILABLE);
    expect(() => node.linearizableReadBarrier()).toThrow('etcdserver: server stopped');
    // destroy hooks are delivered asynchronously: give them a few turns.
    for (let i = 0; i < 5; i++) await new Promise((resolve) => setImmediate(resolve));
    const dangling = timers.stop();
    expect(dangling, dangling.join('\n\n')).toEqual([]);
  });
});
