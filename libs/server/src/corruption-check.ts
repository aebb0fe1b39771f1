// etcd's data corruption detection (etcdserver/corrupt.go of etcd 3.4.23, which Cairn matches):
// - the initial check (--experimental-initial-corrupt-check): before a member starts Raft, it compares its
//   HashKV with every peer's at its own revision; a different hash at the same compact revision means its
//   data differs from the cluster's and it refuses to start ("<id> found data inconsistency with peers");
// - the periodic check (--experimental-corrupt-check-time): the leader asks every peer for HashKV at its
//   revision and raises the CORRUPT alarm through Raft on any inconsistency (member ID 0, as etcd 3.4.23+:
//   which side is corrupt is not known). While CORRUPT is active the applier refuses writes with
//   "etcdserver: corrupt cluster" (applier.ts); `etcdctl alarm disarm` clears it.
// The verdicts are pure functions; the rest gathers hashes, every call bounded by etcd's request timeout.
import { MEMBER_DUTY } from './port/etcd-port';
import { AlarmKind } from './alarms';
import type { Logger } from './logger';
import type { Member } from './members';
import type { CairnNode } from './node';
import type { RecoveredMember } from './bootstrap';
import type { NodeConfig } from './config';
import { closeStateMachine } from './state-machine';
import { PLAINTEXT_PEER_DIALER } from './peer';
import { type PeerHashKv, PeerHashKvError, fetchPeerHashKv } from './peer/hash-kv-service';
import type { LeaderCaller } from './peer/membership-service';

/** A member's own HashKV at its current revision (etcd's HashByRev(0)). */
export interface LocalHashKv {
  hash: number;
  revision: number;
  compactRevision: number;
}

/** What one peer answered: its HashKV, or why not (no answer from any of its URLs = 'failed'). */
export interface PeerAnswer {
  id: bigint;
  peerUrls: readonly string[];
  hash?: PeerHashKv;
  error?: PeerHashKvError;
}

/** One observation of a check, logged as etcd logs it; `mismatch` ones fail the check. */
export interface Finding {
  level: 'warn' | 'info';
  message: string;
  mismatch: boolean;
  peer?: bigint;
  fields: Record<string, unknown>;
}

/** etcd's CheckInitialHashKV verdict: a peer at the same compact revision with another hash is a mismatch. */
export function initialCheckFindings(local: LocalHashKv, peers: readonly PeerAnswer[]): Finding[] {
  const findings: Finding[] = [];
  const localFields = {
    localRevision: local.revision,
    localCompactRevision: local.compactRevision,
    localHash: local.hash,
  };
  for (const peer of peers) {
    const remote = { remotePeerId: peer.id.toString(16), remotePeerEndpoints: peer.peerUrls };
    if (peer.hash) {
      if (peer.hash.hash === local.hash) continue;
      const fields = {
        ...localFields,
        ...remote,
        remotePeerRevision: peer.hash.revision,
        remotePeerCompactRevision: peer.hash.compactRevision,
        remotePeerHash: peer.hash.hash,
      };
      const sameCompaction = peer.hash.compactRevision === local.compactRevision;
      findings.push({
        level: 'warn',
        message: sameCompaction
          ? 'found different hash values from remote peer'
          : 'found different compact revision values from remote peer',
        mismatch: sameCompaction,
        peer: peer.id,
        fields,
      });
      continue;
    }
    // A peer that is behind or has compacted past our revision cannot be compared: etcd moves on.
    if (peer.error?.kind === 'future-revision' || peer.error?.kind === 'compacted') {
      findings.push({
        level: 'warn',
        message:
          peer.error.kind === 'future-revision'
            ? 'cannot fetch hash from slow remote peer'
            : 'cannot fetch hash from remote peer; local member is behind',
        mismatch: false,
        peer: peer.id,
        fields: { ...localFields, ...remote, error: peer.error.message },
      });
    }
  }
  return findings;
}

/**
 * etcd's checkHashKV verdict on the leader: `before` was hashed before asking the peers, `after` once a
 * linearizable read point was reached. Peers ahead of the leader, compacted further, or with another hash
 * at the leader's first compact revision are inconsistent; so is the leader itself if its own hash changed
 * with neither the revision nor the compaction moving.
 */
export function periodicCheckFindings(
  before: LocalHashKv,
  after: LocalHashKv,
  peers: readonly PeerAnswer[],
): Finding[] {
  const findings: Finding[] = [];
  if (
    after.hash !== before.hash &&
    after.revision === before.revision &&
    after.compactRevision === before.compactRevision
  ) {
    findings.push({
      level: 'warn',
      message: 'found hash mismatch',
      mismatch: true,
      fields: {
        revision1: before.revision,
        compactRevision1: before.compactRevision,
        hash1: before.hash,
        revision2: after.revision,
        compactRevision2: after.compactRevision,
        hash2: after.hash,
      },
    });
  }
  for (const peer of peers) {
    if (!peer.hash) continue;
    const followerPeerId = peer.id.toString(16);
    if (peer.hash.revision > after.revision) {
      findings.push({
        level: 'warn',
        message: "revision from follower must be less than or equal to leader's",
        mismatch: true,
        peer: peer.id,
        fields: { leaderRevision: after.revision, followerRevision: peer.hash.revision, followerPeerId },
      });
    }
    if (peer.hash.compactRevision > after.compactRevision) {
      findings.push({
        level: 'warn',
        message: "compact revision from follower must be less than or equal to leader's",
        mismatch: true,
        peer: peer.id,
        fields: {
          leaderCompactRevision: after.compactRevision,
          followerCompactRevision: peer.hash.compactRevision,
          followerPeerId,
        },
      });
    }
    if (peer.hash.compactRevision === before.compactRevision && peer.hash.hash !== before.hash) {
      findings.push({
        level: 'warn',
        message: 'same compact revision then hashes must match',
        mismatch: true,
        peer: peer.id,
        fields: {
          leaderCompactRevision: after.compactRevision,
          leaderHash: before.hash,
          followerCompactRevision: peer.hash.compactRevision,
          followerHash: peer.hash.hash,
          followerPeerId,
        },
      });
    }
  }
  return findings;
}

/** Asks every other member (each URL in turn, each call within `timeoutMs`) for its HashKV at `revision`. */
export async function gatherPeerHashes(
  caller: LeaderCaller,
  members: readonly Member[],
  revision: number,
  timeoutMs: number,
  logger: Logger,
  fetch: typeof fetchPeerHashKv = fetchPeerHashKv,
): Promise<PeerAnswer[]> {
  const peers = members.filter((m) => m.id !== caller.memberId && m.peerUrls.length > 0);
  return Promise.all(
    peers.map(async (member): Promise<PeerAnswer> => {
      let lastError: PeerHashKvError | undefined;
      for (const url of member.peerUrls) {
        try {
          return {
            id: member.id,
            peerUrls: member.peerUrls,
            hash: await fetch(caller, url, revision, timeoutMs),
          };
        } catch (err) {
          lastError = err instanceof PeerHashKvError ? err : new PeerHashKvError('failed', String(err));
          logger.warn(
            { requestedRevision: revision, remotePeerEndpoint: url, error: lastError.message },
            'failed hash kv request',
          );
        }
      }
      return { id: member.id, peerUrls: member.peerUrls, error: lastError };
    }),
  );
}

function logFindings(logger: Logger, findings: readonly Finding[]): void {
  for (const finding of findings) logger[finding.level](finding.fields, finding.message);
}

export interface InitialCheckDeps {
  caller: LeaderCaller;
  members: readonly Member[];
  localHash: () => Promise<LocalHashKv>;
  timeoutMs: number;
  logger: Logger;
  fetch?: typeof fetchPeerHashKv;
}

/** The initial check; throws etcd's "<id> found data inconsistency with peers" on a mismatch. */
export async function checkInitialHashKV(deps: InitialCheckDeps): Promise<void> {
  const { caller, logger } = deps;
  const id = caller.memberId.toString(16);
  logger.info({ localMemberId: id, timeoutMs: deps.timeoutMs }, 'starting initial corruption check');
  let local: LocalHashKv;
  try {
    local = await deps.localHash();
  } catch (err) {
    throw new Error(`${id} failed to fetch hash (${err instanceof Error ? err.message : String(err)})`, {
      cause: err,
    });
  }
  // An empty store (a member joining with no data yet) has no revision to name: a peer would take 0 for "your
  // current revision" and hash everything it has. Nothing to compare (etcd's first revision is empty too).
  if (local.revision === 0) {
    logger.info({ localMemberId: id }, 'initial corruption check skipped: the store is empty');
    return;
  }
  const peers = await gatherPeerHashes(
    caller,
    deps.members,
    local.revision,
    deps.timeoutMs,
    logger,
    deps.fetch,
  );
  const findings = initialCheckFindings(local, peers);
  logFindings(logger, findings);
  if (findings.some((f) => f.mismatch)) throw new Error(`${id} found data inconsistency with peers`);
  logger.info({ localMemberId: id }, 'initial corruption checking passed; no corruption');
}

export interface PeriodicCheckDeps {
  caller: LeaderCaller;
  members: () => readonly Member[];
  isLeader: () => boolean;
  localHash: () => Promise<LocalHashKv>;
  /** Resolves once this member applied everything committed when it was called (a linearizable read point). */
  readBarrier: () => Promise<void>;
  /** Proposes the CORRUPT alarm (ACTIVATE, member ID 0). */
  raiseAlarm: () => Promise<void>;
  timeoutMs: number;
  logger: Logger;
  fetch?: typeof fetchPeerHashKv;
}

/**
 * etcd's monitorKVHash: every `intervalMs` after the previous check ended, the leader checks its peers.
 * A check never overlaps the next; stop() ends the loop (a check under way finishes within its bounds).
 */
export class CorruptionMonitor {
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;

  constructor(
    private readonly deps: PeriodicCheckDeps,
    private readonly intervalMs: number,
  ) {}

  start(): void {
    this.deps.logger.info(
      { localMemberId: this.deps.caller.memberId.toString(16), intervalMs: this.intervalMs },
      'enabled corruption checking',
    );
    this.schedule();
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
  }

  /** One check (whether leader or not); the findings, and whether the alarm was proposed. */
  async checkOnce(): Promise<{ findings: Finding[]; alarmed: boolean }> {
    const { deps } = this;
    const before = await deps.localHash();
    // Revision 0 would ask the peers for their current revision: nothing was written yet, nothing to check.
    if (before.revision === 0) return { findings: [], alarmed: false };
    const peers = await gatherPeerHashes(
      deps.caller,
      deps.members(),
      before.revision,
      deps.timeoutMs,
      deps.logger,
      deps.fetch,
    );
    await deps.readBarrier();
    const after = await deps.localHash();
    const findings = periodicCheckFindings(before, after, peers);
    logFindings(deps.logger, findings);
    const alarmed = findings.some((f) => f.mismatch);
    // etcd proposes once per check, whatever the number of inconsistent peers, and does not wait for it.
    if (alarmed) {
      deps
        .raiseAlarm()
        .catch((err: unknown) =>
          deps.logger.warn({ error: String(err) }, 'failed to raise the CORRUPT alarm'),
        );
    }
    deps.logger.info(
      { numberOfPeersChecked: peers.filter((p) => p.hash).length },
      'finished peer corruption check',
    );
    return { findings, alarmed };
  }

  private schedule(): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      const run = this.deps.isLeader() ? this.checkOnce() : Promise.resolve();
      run
        .catch((err: unknown) =>
          this.deps.logger.warn(
            { error: err instanceof Error ? err.message : String(err) },
            'failed to check hash KV',
          ),
        )
        .finally(() => this.schedule());
    }, this.intervalMs);
    this.timer.unref();
  }
}

/** The member's HashKV source: etcd's HashByRev (the reply's revision is the current one, as etcd's). */
export async function memberHashKv(node: Pick<CairnNode, 'kv'>, revision: number): Promise<LocalHashKv> {
  const current = node.kv.currentRevision;
  const result = await node.kv.hashKV(revision);
  return { hash: result.hash, revision: current, compactRevision: result.compactRevision };
}

/** The calling identity of a node on the peer URL. */
export function nodeCaller(node: Pick<CairnNode, 'memberId' | 'clusterId' | 'config'>): LeaderCaller {
  return {
    clusterId: node.clusterId,
    memberId: node.memberId,
    dialer: node.config.peerDialer ?? PLAINTEXT_PEER_DIALER,
  };
}

/** Starts the periodic check of a running member (--experimental-corrupt-check-time); stop it before close. */
export function startCorruptionMonitor(node: CairnNode, intervalMs: number): CorruptionMonitor {
  const monitor = new CorruptionMonitor(
    {
      caller: nodeCaller(node),
      members: () => node.members.list(),
      isLeader: () => node.isLeader(),
      localHash: () => memberHashKv(node, 0),
      readBarrier: () => node.linearizableReadBarrier(),
      raiseAlarm: async () => {
        await node.propose({ alarm: { action: 1, memberID: '0', alarm: AlarmKind.Corrupt } }, MEMBER_DUTY);
      },
      timeoutMs: node.requestTimeoutMs(),
      logger: node.config.logger.child({ memberId: node.memberId.toString(16) }),
    },
    intervalMs,
  );
  monitor.start();
  return monitor;
}

/**
 * --experimental-initial-corrupt-check for a member recovered from its data dir, before its Raft starts (as
 * etcd checks before serving): the backend as persisted against the peers. On a mismatch (or any failure)
 * the member's backend and WAL are closed and the error is thrown: the member does not start.
 */
export async function initialCorruptionCheck(config: NodeConfig, recovered: RecoveredMember): Promise<void> {
  const { memberId, clusterId, sm } = recovered;
  try {
    await checkInitialHashKV({
      caller: { clusterId, memberId, dialer: config.peerDialer ?? PLAINTEXT_PEER_DIALER },
      members: sm.members.list(),
      localHash: () => memberHashKv(sm, 0),
      // etcd's ReqTimeout(): 5 s + 2 election timeouts, per peer URL.
      timeoutMs: 5000 + 2 * config.electionTimeoutMs,
      logger: config.logger.child({ memberId: memberId.toString(16) }),
    });
  } catch (err) {
    await closeStateMachine(sm).catch(() => undefined);
    await recovered.wal.close().catch(() => undefined);
    throw err;
  }
}
