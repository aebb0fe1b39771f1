// Data corruption detection (etcd 3.4.23's corrupt.go): the verdicts of the initial and periodic checks, the
// periodic check's steps against fake peers, and the HashKV peer RPC (members only, etcd's revision errors).
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { MvccError } from '@cairn/mvcc';
import { AlarmKind } from '../src/alarms';
import { singleMemberConfig } from '../src/config';
import { CairnNode } from '../src/node';
import { ANONYMOUS, MEMBER_DUTY } from '../src/port/etcd-port';
import {
  CorruptionMonitor,
  type LocalHashKv,
  type PeerAnswer,
  checkInitialHashKV,
  initialCheckFindings,
  periodicCheckFindings,
} from '../src/corruption-check';
import type { Member } from '../src/members';
import { PEER_REJECTIONS, PLAINTEXT_PEER_DIALER } from '../src/peer';
import {
  type PeerHashKv,
  PeerHashKvError,
  fetchPeerHashKv,
  registerHashKvService,
} from '../src/peer/hash-kv-service';
import { CLUSTER, capturingLogger, startServer, stopServer } from './peer-harness';

const SELF = 0xa1n;
const B = 0xb2n;
const C = 0xc3n;

const local = (hash: number, revision = 10, compactRevision = 0): LocalHashKv => ({
  hash,
  revision,
  compactRevision,
});
const answer = (id: bigint, hash: number, revision = 10, compactRevision = 0): PeerAnswer => ({
  id,
  peerUrls: [`http://${id.toString(16)}`],
  hash: { memberId: id, hash, revision, compactRevision },
});
const failed = (id: bigint, kind: PeerHashKvError['kind']): PeerAnswer => ({
  id,
  peerUrls: [`http://${id.toString(16)}`],
  error: new PeerHashKvError(kind, kind),
});
const member = (id: bigint, url = `http://${id.toString(16)}`): Member => ({
  id,
  name: id.toString(16),
  peerUrls: [url],
  clientUrls: [],
  isLearner: false,
});

describe('initial check verdict', () => {
  it('passes when every answering peer has the same hash; unreachable, slow and compacted peers are skipped', () => {
    const findings = initialCheckFindings(local(7), [
      answer(B, 7),
      failed(C, 'future-revision'),
      failed(0xd4n, 'compacted'),
      failed(0xe5n, 'failed'),
    ]);
    expect(findings.some((f) => f.mismatch)).toBe(false);
    expect(findings.map((f) => f.message)).toEqual([
      'cannot fetch hash from slow remote peer',
      'cannot fetch hash from remote peer; local member is behind',
    ]);
  });

  it('fails on another hash at the same compact revision, not at another compact revision', () => {
    expect(initialCheckFindings(local(7, 10, 3), [answer(B, 8, 12, 3)])).toMatchObject([
      { mismatch: true, peer: B, message: 'found different hash values from remote peer' },
    ]);
    expect(initialCheckFindings(local(7, 10, 3), [answer(B, 8, 12, 5)])).toMatchObject([
      { mismatch: false, message: 'found different compact revision values from remote peer' },
    ]);
  });
});

describe('periodic check verdict', () => {
  it('finds nothing when the peers agree and are not ahead', () => {
    expect(periodicCheckFindings(local(7), local(7), [answer(B, 7), answer(C, 7, 10)])).toEqual([]);
  });

  it("flags a peer with another hash at the leader's compact revision", () => {
    expect(periodicCheckFindings(local(7), local(7), [answer(B, 7), answer(C, 9)])).toMatchObject([
      { mismatch: true, peer: C, message: 'same compact revision then hashes must match' },
    ]);
  });

  it('flags a peer ahead of the leader, or compacted further', () => {
    const findings = periodicCheckFindings(local(7, 10, 2), local(7, 10, 2), [
      answer(B, 7, 11, 2),
      answer(C, 7, 10, 4),
    ]);
    expect(findings.map((f) => [f.peer, f.message])).toEqual([
      [B, "revision from follower must be less than or equal to leader's"],
      [C, "compact revision from follower must be less than or equal to leader's"],
    ]);
  });

  it('flags the leader itself when its hash changed while revision and compaction did not', () => {
    expect(periodicCheckFindings(local(7), local(8), [])).toMatchObject([
      { mismatch: true, message: 'found hash mismatch' },
    ]);
    // The revision moved between the two hashes: nothing to conclude.
    expect(periodicCheckFindings(local(7, 10), local(8, 11), [])).toEqual([]);
  });
});

describe('checks with fake peers', () => {
  const caller = { clusterId: CLUSTER, memberId: SELF, dialer: PLAINTEXT_PEER_DIALER };
  const peerHashes = (hashes: Map<string, PeerHashKv | PeerHashKvError>, asked: number[] = []) =>
    (async (_caller, url, revision) => {
      asked.push(revision);
      const reply = hashes.get(url);
      if (!reply) throw new PeerHashKvError('failed', 'connection refused');
      if (reply instanceof PeerHashKvError) throw reply;
      return reply;
    }) as typeof fetchPeerHashKv;

  it("initial: asks the peers at its own revision and refuses with etcd's message on a mismatch", async () => {
    const asked: number[] = [];
    const fetch = peerHashes(
      new Map([
        ['http://b2', { memberId: B, hash: 5, revision: 12, compactRevision: 0 }],
        ['http://c3', { memberId: C, hash: 7, revision: 10, compactRevision: 0 }],
      ]),
      asked,
    );
    const run = checkInitialHashKV({
      caller,
      members: [member(SELF), member(B), member(C)],
      localHash: async () => local(7, 10),
      timeoutMs: 1000,
      logger: capturingLogger(),
      fetch,
    });
    await expect(run).rejects.toThrow('a1 found data inconsistency with peers');
    expect(asked).toEqual([10, 10]);
  });

  it('initial: starts when no peer answers (a whole cluster restarting)', async () => {
    const log = capturingLogger();
    await checkInitialHashKV({
      caller,
      members: [
        member(SELF),
        member(B, 'http://b2'),
        { ...member(C), peerUrls: ['http://c3', 'http://c3b'] },
      ],
      localHash: async () => local(7, 10),
      timeoutMs: 1000,
      logger: log,
      fetch: peerHashes(new Map()),
    });
    // One warning per URL tried, as etcd's "failed hash kv request".
    expect(log.lines.filter((l) => l.msg === 'failed hash kv request')).toHaveLength(3);
    expect(log.lines.at(-1)?.msg).toBe('initial corruption checking passed; no corruption');
  });

  it('an empty store (revision 0) asks nobody: a peer would read 0 as its own current revision', async () => {
    const asked: number[] = [];
    await checkInitialHashKV({
      caller,
      members: [member(SELF), member(B)],
      localHash: async () => local(0, 0),
      timeoutMs: 1000,
      logger: capturingLogger(),
      fetch: peerHashes(
        new Map([['http://b2', { memberId: B, hash: 5, revision: 9, compactRevision: 0 }]]),
        asked,
      ),
    });
    expect(asked).toEqual([]);
  });

  it('periodic: hashes, asks the peers, waits for a read point, hashes again, then raises the alarm once', async () => {
    const steps: string[] = [];
    let alarms = 0;
    const monitor = new CorruptionMonitor(
      {
        caller,
        members: () => [member(SELF), member(B), member(C)],
        isLeader: () => true,
        localHash: async () => {
          steps.push('hash');
          return local(7);
        },
        readBarrier: async () => {
          steps.push('barrier');
        },
        raiseAlarm: async () => {
          alarms++;
        },
        timeoutMs: 1000,
        logger: capturingLogger(),
        fetch: (async (...args: Parameters<typeof fetchPeerHashKv>) => {
          steps.push(`peer ${args[2]}`);
          // Both peers are inconsistent: still one alarm per check.
          return { memberId: 0n, hash: 99, revision: 11, compactRevision: 0 };
        }) as typeof fetchPeerHashKv,
      },
      60_000,
    );
    const { findings, alarmed } = await monitor.checkOnce();
    expect(steps).toEqual(['hash', 'peer 10', 'peer 10', 'barrier', 'hash']);
    expect(alarmed).toBe(true);
    expect(alarms).toBe(1);
    expect(findings.filter((f) => f.mismatch)).toHaveLength(4);
  });
});

describe('the HashKV peer RPC', () => {
  const cleanups: Array<() => Promise<void>> = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0)) await cleanup();
  });

  async function serve(source: (revision: number) => Promise<Omit<PeerHashKv, 'memberId'>>) {
    const rejected: string[] = [];
    const { server, port } = await startServer((s) =>
      registerHashKvService(
        s,
        () => ({ clusterId: CLUSTER, memberId: B, members: [member(SELF), member(B)] }),
        source,
        { onRejected: (r) => rejected.push(r.details) },
      ),
    );
    cleanups.push(() => stopServer(server));
    return { url: `http://127.0.0.1:${port}`, rejected };
  }

  it("answers a member with its hash and current revision, and etcd's revision errors as such", async () => {
    const { url } = await serve(async (revision) => {
      if (revision === 1) throw new MvccError('compacted');
      if (revision === 99) throw new MvccError('future-revision');
      return { hash: 0xdeadbeef, revision: 20, compactRevision: 3 };
    });
    const caller = { clusterId: CLUSTER, memberId: SELF, dialer: PLAINTEXT_PEER_DIALER };
    await expect(fetchPeerHashKv(caller, url, 10, 2000)).resolves.toEqual({
      memberId: B,
      hash: 0xdeadbeef,
      revision: 20,
      compactRevision: 3,
    });
    await expect(fetchPeerHashKv(caller, url, 1, 2000)).rejects.toMatchObject({ kind: 'compacted' });
    await expect(fetchPeerHashKv(caller, url, 99, 2000)).rejects.toMatchObject({ kind: 'future-revision' });
  });

  it('refuses a caller that is not a member of this cluster, and ends within its deadline when nobody listens', async () => {
    const { url, rejected } = await serve(async () => ({ hash: 1, revision: 1, compactRevision: 0 }));
    const stranger = { clusterId: CLUSTER, memberId: 0x99n, dialer: PLAINTEXT_PEER_DIALER };
    await expect(fetchPeerHashKv(stranger, url, 0, 2000)).rejects.toMatchObject({ kind: 'failed' });
    const otherCluster = { clusterId: CLUSTER + 1n, memberId: SELF, dialer: PLAINTEXT_PEER_DIALER };
    await expect(fetchPeerHashKv(otherCluster, url, 0, 2000)).rejects.toMatchObject({ kind: 'failed' });
    expect(rejected).toEqual([PEER_REJECTIONS.notAMember.details, PEER_REJECTIONS.clusterIdMismatch.details]);
    const started = Date.now();
    const caller = { clusterId: CLUSTER, memberId: SELF, dialer: PLAINTEXT_PEER_DIALER };
    await expect(fetchPeerHashKv(caller, 'http://127.0.0.1:1', 0, 500)).rejects.toMatchObject({
      kind: 'failed',
    });
    expect(Date.now() - started).toBeLessThan(2000);
  });
});

describe("writes while CORRUPT is raised (etcd's applierV3Corrupt)", () => {
  const dirs: string[] = [];
  const nodes: CairnNode[] = [];
  afterEach(async () => {
    for (const node of nodes.splice(0)) await node.close();
    for (const dir of dirs.splice(0)) await rm(dir, { recursive: true, force: true });
  });

  const put = { key: Buffer.from('k'), value: Buffer.from('v'), lease: '0' };
  const alarm = (action: 1 | 2) => ({ alarm: { action, memberID: '0', alarm: AlarmKind.Corrupt } });

  it('refuses writes, compaction and lease grant with "etcdserver: corrupt cluster" until disarmed; reads go on', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'cairn-corrupt-'));
    dirs.push(dir);
    const node = await CairnNode.start(singleMemberConfig(dir, { name: 'corrupt' }));
    nodes.push(node);
    expect((await node.propose({ put }, ANONYMOUS)).error).toBeUndefined();
    const revision = node.kv.currentRevision;

    expect((await node.propose(alarm(1), MEMBER_DUTY)).error).toBeUndefined();
    expect(node.alarms.list()).toEqual([{ memberId: 0n, alarm: AlarmKind.Corrupt }]);
    for (const body of [
      { put },
      { delete_range: { key: Buffer.from('k') } },
      { txn: { compare: [], success: [{ request_put: put }], failure: [] } },
      { compaction: { revision: String(revision), physical: false } },
      { lease_grant: { ID: '7', TTL: '60' } },
      { lease_revoke: { ID: '7' } },
    ]) {
      const { error } = await node.propose(body, ANONYMOUS);
      expect(error, JSON.stringify(Object.keys(body))).toMatchObject({
        message: 'etcdserver: corrupt cluster',
        grpcCode: 15, // DATA_LOSS, as etcd's ErrGRPCCorrupt
      });
    }
    expect(node.kv.currentRevision).toBe(revision);
    const read = node.kv.range({ key: Buffer.from('k') });
    expect(read instanceof Promise ? (await read).kvs : read.kvs).toHaveLength(1);

    // Disarm (etcdctl alarm disarm: DEACTIVATE of the listed alarm): writes are served again.
    expect((await node.propose(alarm(2), MEMBER_DUTY)).error).toBeUndefined();
    expect(node.alarms.list()).toEqual([]);
    expect((await node.propose({ put }, ANONYMOUS)).error).toBeUndefined();
    expect(node.kv.currentRevision).toBe(revision + 1);
  });
});
