// A Cairn member: recovers its durable state, drives Raft through the RaftLoop, applies committed entries
// to the MVCC store, and offers the request API the gRPC/HTTP layers call (propose a write, wait for a
// linearizable read point, read local state).
import { randomInt } from 'node:crypto';
import path from 'node:path';
import {
  ConfChangeType,
  type ConfChange,
  type ConfState,
  type Entry,
  EntryType,
  type MemoryStorage,
  RaftNode,
  ReadOnlyOption,
  type Snapshot,
  type SoftState,
  StateType,
  NONE,
  SnapshotStatus,
  decodeConfChange,
  encodeConfChange,
  seededRandom,
} from '@cairn/raft';
import type { Backend, BackendBatch, Wal } from '@cairn/storage';
import {
  CURRENT_DATA_FORMAT,
  type KvStore,
  type LeaseStore,
  type LeaseTimeToLive,
  type WatchableStore,
} from '@cairn/mvcc';
import { CAIRN_VERSION } from './version';
import {
  type EtcdError,
  type InternalRaftRequest__Output,
  decodeInternalRequest,
  encodeInternalRequest,
  etcdError,
} from '@cairn/api';
import {
  DEFAULT_BACKEND_BATCH_INTERVAL_MS,
  DEFAULT_BACKEND_BATCH_LIMIT,
  DEFAULT_COMMIT_BROADCAST_DELAY_MS,
  type NodeConfig,
} from './config';
import { computeMemberId, RequestIdGenerator } from './ids';
import type { Logger } from './logger';
import { type Member, type MemberStore, decodeConfChangeContext, encodeConfChangeContext } from './members';
import { decodePutProposal, encodePutProposal } from './put-proposal-codec';
import { RaftLoop } from './raft-loop';
import { ReadIndexBatcher } from './read-index';
import type { Transport } from './transport';
import {
  type LeaseAuthority,
  PLAINTEXT_PEER_DIALER,
  PeerTransport,
  callLeaderLearnerReady,
  closeLeaseClients,
} from './peer';
import { WaitRegistry } from './wait';
import { Applier, type ApplyResult } from './applier';
import { AlarmKind, type AlarmStore } from './alarms';
import { AutoCompactor } from './auto-compactor';
import { writeConsistentIndex } from './consistent-index';
import { type StateMachine, closeStateMachine } from './state-machine';
import { type ProposalBody, proposalTimeoutError } from './proposal';
import { MEMBER_DUTY, type Identity } from './port/etcd-port';
import type { AuthStore } from './auth/auth-store';
import { proposalHeader } from './auth/entry-subject';
import { BackendBatcher } from './backend-batcher';
import { type RecoveredMember, recoverMember } from './bootstrap';
import { Snapshots } from './snapshots';
import { LeaseForwarding } from './lease-forwarding';
import { initialCorruptionCheck } from './corruption-check';

const noop = (): void => undefined;

/** Apply batches that may wait for LevelDB before an apply waits for them (back-pressure). */
const MAX_QUEUED_BACKEND_WRITES = 8;

export interface TransportFactory {
  (node: {
    memberId: bigint;
    clusterId: bigint;
    step: (msg: import('@cairn/raft').Message) => void;
  }): Transport;
}

/** Counters and gauges for /metrics (etcd's metric names are given by apps/server). */
export interface NodeStats {
  proposalsCommitted: number;
  proposalsApplied: number;
  proposalsPending: number;
  proposalsFailed: number;
  /** Committed entries that could not be decoded or applied (skipped as an error result). */
  applyErrors: number;
  leaderChanges: number;
  puts: number;
  /** Snapshots sent to / received from each peer (hex member ID), as etcd's etcd_network_snapshot_* count them. */
  snapshotsSent: Map<string, { success: number; failures: number }>;
  snapshotsReceived: Map<string, { success: number; failures: number }>;
}

export interface NodeStatus {
  memberId: bigint;
  clusterId: bigint;
  leader: bigint;
  term: number;
  commitIndex: number;
  appliedIndex: number;
  isLearner: boolean;
  raftState: StateType;
}

export class CairnNode {
  private readonly loop: RaftLoop;
  private readonly transport: Transport;
  private readonly readIndex: ReadIndexBatcher;
  private readonly applier: Applier;
  private readonly snapshots: Snapshots;
  private readonly leaseForwarding: LeaseForwarding;
  private readonly backendBatcher: BackendBatcher;
  private readonly compactor: AutoCompactor;
  private readonly waits = new WaitRegistry<ApplyResult>();
  private readonly ids: RequestIdGenerator;
  private readonly sm: StateMachine;
  private readonly raftStorage: MemoryStorage;
  private readonly wal: Wal;
  readonly memberId: bigint;
  readonly clusterId: bigint;
  private softState: SoftState = { lead: NONE, raftState: StateType.Follower };
  private term = 0;
  private dbSize = 0;
  private publishingAttributes = false;
  /** When this member last saw a new leader (Date.now()); 0 before the first. */
  private leaderElectedAt = 0;
  private dataFormatProposed = false;
  readonly stats: NodeStats = {
    proposalsCommitted: 0,
    proposalsApplied: 0,
    proposalsPending: 0,
    proposalsFailed: 0,
    applyErrors: 0,
    leaderChanges: 0,
    puts: 0,
    snapshotsSent: new Map(),
    snapshotsReceived: new Map(),
  };
  private appliedIndex: number;
  private confState: ConfState = { voters: [], learners: [] };
  private readonly timers: NodeJS.Timeout[] = [];
  private closed = false;
  private fatalError?: unknown;
  private readonly leaderListeners = new Set<(leader: bigint) => void>();
  private readonly appliedListeners = new Set<(index: number) => void>();
  private readonly writeListeners = new Set<(revision: number, user: string) => void>();
  private readonly logger: Logger;

  /** Opens (or bootstraps) the member's data dir and starts Raft. */
  static async start(config: NodeConfig, transportFactory?: TransportFactory): Promise<CairnNode> {
    const recovered = await recoverMember(config);
    // etcd's CheckInitialHashKV: compared with the peers before Raft starts (corruption-check.ts).
    if (config.initialCorruptCheck) await initialCorruptionCheck(config, recovered);
    const node = new CairnNode(config, recovered, transportFactory);
    await node.run();
    return node;
  }

  private constructor(
    readonly config: NodeConfig,
    recovered: RecoveredMember,
    transportFactory: TransportFactory | undefined,
  ) {
    const { memberId, clusterId, sm, raftStorage, wal, snapshotter, snapshot } = recovered;
    this.memberId = memberId;
    this.clusterId = clusterId;
    this.sm = sm;
    this.raftStorage = raftStorage;
    this.wal = wal;
    this.logger = config.logger.child({ memberId: memberId.toString(16) });
    this.ids = new RequestIdGenerator(memberId, Date.now());
    this.appliedIndex = snapshot?.metadata.index ?? 0;
    if (snapshot) this.confState = snapshot.metadata.confState;
    this.backendBatcher = new BackendBatcher(() => sm.backend, {
      intervalMs: config.backendBatchIntervalMs ?? DEFAULT_BACKEND_BATCH_INTERVAL_MS,
      limit: config.backendBatchLimit ?? DEFAULT_BACKEND_BATCH_LIMIT,
      observe: (seconds) => config.observe?.('backend_commit', seconds),
      onFailed: (err) => this.loop.halt(err),
    });
    this.snapshots = new Snapshots(
      { config, sm, backendBatcher: this.backendBatcher, raftStorage, wal, snapshotter, logger: this.logger },
      snapshot,
    );
    this.leaseForwarding = new LeaseForwarding({
      leases: sm.leases,
      members: () => sm.members,
      isLeader: () => this.isLeader(),
      leaderId: () => this.softState.lead,
      caller: { clusterId, memberId, dialer: config.peerDialer ?? PLAINTEXT_PEER_DIALER },
    });
    this.applier = new Applier({
      kv: sm.kv,
      leases: sm.leases,
      // Reloaded by a snapshot install: read through the state machine each time.
      get alarms() {
        return sm.alarms;
      },
      get members() {
        return sm.members;
      },
      auth: sm.auth,
      tokens: config.authTokens,
      onWrite: (revision, user) => {
        for (const listener of this.writeListeners) listener(revision, user);
      },
      header: (revision) => this.header(revision),
      onPeerUrlsChanged: (id, urls) => {
        if (id === this.memberId) return;
        this.transport.removePeer(id);
        this.transport.addPeer(id, urls);
      },
    });
    sm.kv.onChanges((result) => {
      for (const event of result.events) if (event.type === 'put') this.stats.puts++;
    });
    this.transport = transportFactory
      ? transportFactory({ memberId, clusterId, step: (msg) => this.loop.step(msg) })
      : this.createPeerTransport(path.join(config.dataDir, 'member', 'snap', 'incoming'));
    this.readIndex = new ReadIndexBatcher({
      requestReadIndex: (ctx) => this.loop.readIndex(ctx),
      appliedIndex: () => this.appliedIndex,
      retryIntervalMs: Math.max(50, config.heartbeatIntervalMs * 2),
      timeoutMs: this.requestTimeoutMs(),
      timeoutError: () => etcdError('timeout'),
      now: () => Date.now(),
    });
    this.loop = new RaftLoop(
      this.createRaft(),
      raftStorage,
      wal,
      snapshotter,
      this.transport,
      {
        applyEntries: (entries) => this.applyEntries(entries),
        applySnapshot: (snap) => this.applySnapshot(snap),
        onSoftState: (state) => this.onSoftState(state),
        onHardState: (state) => {
          this.term = state.term;
          this.stats.proposalsCommitted = state.commit;
        },
        onReadStates: (states) => this.readIndex.onReadStates(states),
        onFatal: (err) => this.onFatal(err),
      },
      this.logger,
      {
        observeFsync: (seconds) => config.observe?.('wal_fsync', seconds),
        commitBroadcastDelayMs: config.commitBroadcastDelayMs ?? DEFAULT_COMMIT_BROADCAST_DELAY_MS,
      },
    );
    this.compactor = new AutoCompactor({
      mode: config.autoCompactionMode,
      retention: config.autoCompactionRetention,
      currentRevision: () => this.kv.currentRevision,
      compactRevision: () => this.kv.compactRevision,
      isLeader: () => this.isLeader(),
      compact: (revision) =>
        this.propose({ compaction: { revision: String(revision), physical: false } }, MEMBER_DUTY),
      now: () => Date.now(),
    });
  }

  // The applied state: the same stores for the member's whole life (a snapshot install restores them in place).
  get kv(): KvStore {
    return this.sm.kv;
  }
  get watchable(): WatchableStore {
    return this.sm.watchable;
  }
  get leases(): LeaseStore {
    return this.sm.leases;
  }
  get members(): MemberStore {
    return this.sm.members;
  }
  get alarms(): AlarmStore {
    return this.sm.alarms;
  }
  get auth(): AuthStore {
    return this.sm.auth;
  }
  private get backend(): Backend {
    return this.sm.backend;
  }
  private get consistentIndex(): number {
    return this.sm.consistentIndex;
  }
  private set consistentIndex(index: number) {
    this.sm.consistentIndex = index;
  }

  private createRaft(): RaftNode {
    const electionTick = Math.max(
      2,
      Math.round(this.config.electionTimeoutMs / this.config.heartbeatIntervalMs),
    );
    return new RaftNode({
      id: this.memberId,
      electionTick,
      heartbeatTick: 1,
      storage: this.raftStorage,
      random: seededRandom(randomInt(2 ** 31)),
      applied: this.appliedIndex,
      maxSizePerMsg: 1024 * 1024,
      maxInflightMsgs: 256,
      checkQuorum: true,
      preVote: this.config.preVote ?? true,
      readOnlyOption: ReadOnlyOption.Safe,
      // A commit rides on the next AppendEntries (or goes out after commitBroadcastDelayMs): one message and
      // one answer per follower per write instead of two, which at low concurrency is most of the work.
      deferCommitBroadcast: true,
      logger: raftLogger(this.logger),
    });
  }

  private async run(): Promise<void> {
    for (const member of this.members.list()) {
      if (member.id !== this.memberId) this.transport.addPeer(member.id, member.peerUrls);
    }
    this.loop.start(this.config.heartbeatIntervalMs);

    // A lone voter need not wait an election timeout to lead itself: campaign as soon as the configuration
    // (bootstrap or replayed) is applied.
    const campaignIfAlone = (): void => {
      const { voters } = this.confState;
      if (voters.length === 1 && voters[0] === this.memberId && this.softState.lead === NONE) {
        this.loop.call((r) => r.campaign());
      }
    };
    const stop = this.onApplied(() => {
      stop();
      campaignIfAlone();
    });
    campaignIfAlone();

    this.timers.push(setInterval(() => this.leaseDuties(), 500));
    this.timers.push(setInterval(() => this.dataFormatDuty(), 1000));
    this.compactor.start();
    this.dbSize = await this.backend.size();
    this.timers.push(setInterval(() => void this.refreshDbSize(), 1000));
  }

  private createPeerTransport(snapshotDir: string): PeerTransport {
    return new PeerTransport({
      localId: this.memberId,
      clusterId: this.clusterId,
      onMessage: (msg) => this.loop.step(msg),
      onUnreachable: (id) => this.loop.call((r) => r.reportUnreachable(id)),
      // The leader's process died (its stream reset): elect a new one without waiting out its lease.
      onPeerLost: (id) => this.loop.call((r) => r.suspectLeader(id)),
      onSnapshotStatus: (id, ok) => {
        countSnapshot(this.stats.snapshotsSent, id, ok);
        this.loop.call((r) => r.reportSnapshot(id, ok ? SnapshotStatus.Finish : SnapshotStatus.Failure));
      },
      snapshotSource: (msg) => this.snapshots.streamBackend(msg),
      // The db file is kept where an install finds it, then Raft gets the message.
      onSnapshotReceived: (msg, file) =>
        this.snapshots.keepReceived(msg, file).then(
          () => {
            this.loop.step(msg);
            countSnapshot(this.stats.snapshotsReceived, msg.from, true);
          },
          (err: unknown) => {
            countSnapshot(this.stats.snapshotsReceived, msg.from, false);
            throw err;
          },
        ),
      snapshotDir,
      logger: this.logger,
      dialBackoff: { initialMs: 100, maxMs: 2000 },
      dialer: this.config.peerDialer,
      // Removals applied through a snapshot install never reach removePeer: ask the member store itself.
      isRemoved: (id) => this.members.isRemoved(id),
    });
  }

  /** The gRPC handlers of the peer service, for the app to serve on the peer URL. */
  get peerTransport(): PeerTransport | undefined {
    return this.transport instanceof PeerTransport ? this.transport : undefined;
  }

  // ---- request API ------------------------------------------------------------------------------------

  /** Proposes a request through Raft and resolves with its apply result once applied on this member. */
  async propose(body: ProposalBody, identity: Identity): Promise<ApplyResult> {
    this.assertRunning();
    const id = this.ids.nextId();
    const header = proposalHeader(id, identity, this.auth.getRevision());
    const data =
      (body.put ? encodePutProposal(body.put, header, id) : undefined) ??
      encodeInternalRequest({ ...body, header });
    if (data.length > this.config.maxRequestBytes) throw etcdError('request-too-large');
    const waitId = header.ID;
    const done = this.waits.register(waitId);
    const proposedAt = Date.now();
    const timer = setTimeout(
      () => this.waits.fail(waitId, this.timeoutError(proposedAt)),
      this.requestTimeoutMs(),
    );
    this.stats.proposalsPending++;
    // Dropped: no leader yet (an election is under way) or a leadership transfer. Try again each heartbeat
    // for up to two election timeouts, so a client write rides through an election instead of failing.
    const giveUpAt = Date.now() + 2 * this.config.electionTimeoutMs;
    const submit = (): void =>
      this.loop.propose(data, () => {
        if (Date.now() >= giveUpAt || this.closed) {
          this.waits.fail(waitId, etcdError(this.softState.lead === NONE ? 'no-leader' : 'timeout'));
          return;
        }
        setTimeout(submit, this.config.heartbeatIntervalMs);
      });
    submit();
    try {
      return await done;
    } catch (err) {
      this.stats.proposalsFailed++;
      throw err;
    } finally {
      this.stats.proposalsPending--;
      clearTimeout(timer);
    }
  }

  /** Whether a request of `cost` bytes fits the backend quota with no alarm raised (checkQuota's quick answer). */
  withinQuota(cost: number): boolean {
    return !this.alarms.has(AlarmKind.NoSpace) && this.dbSize + cost <= this.config.quotaBackendBytes;
  }

  /**
   * The backend quota (etcd's --quota-backend-bytes): a request that would grow the store past it raises
   * the NOSPACE alarm and fails with "database space exceeded"; so does every such request while the alarm
   * is active.
   */
  async checkQuota(cost: number): Promise<void> {
    if (this.withinQuota(cost)) return;
    if (this.alarms.has(AlarmKind.NoSpace)) throw etcdError('no-space');
    this.logger.warn(
      { dbSize: this.dbSize, quota: this.config.quotaBackendBytes },
      'backend quota exceeded: raising NOSPACE',
    );
    await this.propose(
      { alarm: { action: 1, memberID: this.memberId.toString(), alarm: AlarmKind.NoSpace } },
      MEMBER_DUTY,
    ).catch(() => undefined);
    throw etcdError('no-space');
  }

  get dbSizeBytes(): number {
    return this.dbSize;
  }

  private async refreshDbSize(): Promise<void> {
    if (this.closed) return;
    try {
      this.dbSize = await this.backend.size();
    } catch {
      // The data dir can be busy (defragment); keep the last figure.
    }
  }

  /** Resolves when a linearizable read may be served from this member's state. */
  linearizableReadBarrier(): Promise<void> {
    this.assertRunning();
    return this.readIndex.waitReadable();
  }

  /**
   * Keep-alive of a lease: renewed by the leader's lessor (the only one whose clock runs); a follower
   * forwards to the leader over the peer URL. Resolves the TTL; unknown lease -> 'lease-not-found'.
   */
  renewLease(id: bigint): Promise<number> {
    this.assertRunning();
    return this.leaseForwarding.renew(id);
  }

  /** Remaining TTL as the leader knows it (forwarded from a follower); undefined for an unknown lease. */
  leaseTimeToLive(id: bigint, keys: boolean): Promise<LeaseTimeToLive | undefined> {
    this.assertRunning();
    return this.leaseForwarding.timeToLive(id, keys);
  }

  /** The leader's side of forwarded lease calls (served on the peer URL). */
  get leaseAuthority(): LeaseAuthority {
    return this.leaseForwarding.authority;
  }

  status(): NodeStatus {
    const status = this.loop.raft.status();
    return {
      memberId: this.memberId,
      clusterId: this.clusterId,
      leader: status.softState.lead,
      term: status.hardState.term,
      commitIndex: status.hardState.commit,
      appliedIndex: this.appliedIndex,
      isLearner: this.confState.learners.includes(this.memberId),
      raftState: status.softState.raftState,
    };
  }

  private idTexts: { cluster: string; member: string } | undefined;

  /** The header of every response: who answered, at which revision and term. */
  header(revision: number): { cluster_id: string; member_id: string; revision: number; raft_term: number } {
    // The ids' decimal text once, not per answer.
    this.idTexts ??= { cluster: this.clusterId.toString(), member: this.memberId.toString() };
    return {
      cluster_id: this.idTexts.cluster,
      member_id: this.idTexts.member,
      revision,
      raft_term: this.term,
    };
  }

  /** Reads and read-only txns at this member's applied state. */
  get reader(): Applier {
    return this.applier;
  }

  /** Each other member and whether its peer stream delivered something recently. */
  peerHealth(): { id: bigint; name: string; active: boolean }[] {
    const active = new Set(this.transport.activePeers());
    return this.members
      .list()
      .filter((m) => m.id !== this.memberId)
      .map((m) => ({ id: m.id, name: m.name, active: active.has(m.id) }));
  }

  hasLeader(): boolean {
    return this.softState.lead !== NONE;
  }

  isLeader(): boolean {
    return this.softState.raftState === StateType.Leader;
  }

  backendSize(): Promise<number> {
    return this.backend.size();
  }

  /** A copy of the backend holding at least every write answered so far. */
  async writeBackendSnapshot(file: string): Promise<{ size: number; sha256: string }> {
    await this.backendBatcher.flush();
    return this.backend.writeSnapshot(file);
  }

  async defragment(): Promise<void> {
    await this.backendBatcher.flush();
    return this.backend.defragment();
  }

  onLeaderChange(listener: (leader: bigint) => void): () => void {
    this.leaderListeners.add(listener);
    return () => this.leaderListeners.delete(listener);
  }

  /** Resolves true once this member applied `index`, false after `timeoutMs` (or when it stops). */
  waitApplied(index: number, timeoutMs: number): Promise<boolean> {
    if (this.appliedIndex >= index) return Promise.resolve(true);
    return new Promise((resolve) => {
      const timer = setTimeout(() => finish(false), timeoutMs);
      const stop = this.onApplied((applied) => {
        if (applied >= index) finish(true);
      });
      const finish = (reached: boolean): void => {
        clearTimeout(timer);
        stop();
        resolve(reached);
      };
    });
  }

  /** Every applied KV write: the revision it made and the user of its entry ('' = none / the member). */
  onAppliedWrite(listener: (revision: number, user: string) => void): () => void {
    this.writeListeners.add(listener);
    return () => this.writeListeners.delete(listener);
  }

  onApplied(listener: (index: number) => void): () => void {
    this.appliedListeners.add(listener);
    return () => this.appliedListeners.delete(listener);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const timer of this.timers) clearInterval(timer);
    this.compactor?.stop();
    await this.loop.stop();
    await this.transport.close();
    const stopped = etcdError('stopped');
    this.readIndex.close(stopped);
    this.waits.failAll(stopped);
    await this.backendBatcher.flush().catch(noop);
    await closeStateMachine(this.sm);
    closeLeaseClients();
    await this.wal.close();
  }

  // ---- apply ------------------------------------------------------------------------------------------

  private async applyEntries(entries: Entry[]): Promise<void> {
    const batch = this.backendBatcher.batch();
    const outcomes: { id: string; result: ApplyResult }[] = [];
    const waitsForCompaction: Promise<void>[] = [];
    let last = this.appliedIndex;
    for (const entry of entries) {
      last = entry.index;
      if (entry.type === EntryType.ConfChange) {
        let id: string | undefined;
        try {
          id = this.applyConfChange(entry, batch)?.toString();
        } catch (err) {
          this.applyFailed(entry, 'conf change', err);
          continue;
        }
        if (id !== undefined && this.waits.isWaiting(id)) outcomes.push({ id, result: { response: {} } });
        continue;
      }
      if (entry.index <= this.consistentIndex || entry.data.length === 0) continue;
      // A committed entry that cannot be decoded or applied is an error result for that entry, alike on every
      // member (the same bytes fail the same way everywhere), never a fatal stop: a member that stopped here
      // would replay the entry and stop again on every restart.
      let request: InternalRaftRequest__Output;
      try {
        request =
          decodePutProposal(entry.data) ?? (decodeInternalRequest(entry.data) as InternalRaftRequest__Output);
      } catch (err) {
        this.applyFailed(entry, 'decode', err);
        continue;
      }
      const id = request.header?.ID ?? '0';
      let result: ApplyResult;
      try {
        const applied = this.applier.apply(request, batch, entry.index);
        result = applied instanceof Promise ? await applied : applied;
      } catch (err) {
        this.applyFailed(entry, 'apply', err);
        result = {
          error: new Error(`etcdserver: the committed request could not be applied: ${String(err)}`),
        };
      }
      if (result.physicalCompaction) waitsForCompaction.push(result.physicalCompaction);
      if (this.waits.isWaiting(id)) outcomes.push({ id, result });
    }
    if (last > this.consistentIndex) {
      writeConsistentIndex(batch, last);
      this.consistentIndex = last;
    }
    // The applied state is in memory now (latest versions, key index, leases; history still on its way to
    // LevelDB is served from mvcc's read buffer), so the waiting requests are answered before the LevelDB batch
    // is written, as etcd answers before its backend commits. No acknowledged write depends on this batch: its
    // entries were made durable by the WAL before they were handed to apply, and a restart re-applies every
    // entry after the consistent index this batch would have recorded.
    this.stats.proposalsCommitted = Math.max(this.stats.proposalsCommitted, last);
    this.stats.proposalsApplied = last;
    this.appliedIndex = last;
    this.readIndex.onApplied(last);
    for (const { id, result } of outcomes) {
      if (result.physicalCompaction) {
        const waitOn = result.physicalCompaction;
        void waitOn.then(
          () => this.waits.trigger(id, result),
          (err: unknown) => this.waits.fail(id, err),
        );
      } else {
        this.waits.trigger(id, result);
      }
    }
    for (const listener of this.appliedListeners) listener(last);
    // The batch goes to LevelDB later (BackendBatcher), without holding up the next apply unless the disk has
    // fallen behind. A physical compaction waits for it, so that one is written now.
    if (waitsForCompaction.length > 0) void this.backendBatcher.flush();
    else this.backendBatcher.staged();
    if (this.backendBatcher.pendingWrites > MAX_QUEUED_BACKEND_WRITES) await this.backendBatcher.flush();
    await this.snapshots.takeIfDue(last, this.confState);
  }

  /** A committed entry that could not be decoded or applied: logged and counted, then skipped. */
  private applyFailed(entry: Entry, stage: 'decode' | 'apply' | 'conf change', err: unknown): void {
    this.stats.applyErrors++;
    this.logger.error(
      { index: entry.index, term: entry.term, bytes: entry.data.length, stage, err: String(err) },
      'a committed entry could not be applied: it is skipped (an error for its proposer) on every member',
    );
  }

  /** Applies a membership change; returns the ID of the request that proposed it, if any. */
  private applyConfChange(entry: Entry, batch: BackendBatch): bigint | undefined {
    const change: ConfChange = decodeConfChange(entry.data);
    this.confState = this.loop.raft.applyConfChange(change);
    if (entry.index <= this.consistentIndex) return undefined;
    const { member, requestId, dataFormat } = decodeConfChangeContext(change.context);
    // A new cluster's bootstrap entries say which format its store starts in (members.ts).
    if (dataFormat !== undefined && dataFormat <= CURRENT_DATA_FORMAT)
      this.sm.kv.upgradeDataFormat(dataFormat, batch);
    switch (change.type) {
      case ConfChangeType.AddNode:
      case ConfChangeType.AddLearnerNode: {
        const existing = this.members.get(change.nodeId);
        const isLearner = change.type === ConfChangeType.AddLearnerNode;
        if (existing) this.members.upsert({ ...existing, isLearner }, batch);
        else if (member) this.members.upsert({ ...member, isLearner }, batch);
        const added = this.members.get(change.nodeId);
        if (added && added.id !== this.memberId) this.transport.addPeer(added.id, added.peerUrls);
        break;
      }
      case ConfChangeType.RemoveNode:
        this.members.remove(change.nodeId, batch);
        if (change.nodeId !== this.memberId) this.transport.removePeer(change.nodeId);
        else this.logger.warn({}, 'this member was removed from the cluster');
        break;
    }
    return requestId;
  }

  // ---- membership -------------------------------------------------------------------------------------

  /** MemberAdd: a new voter or learner; the member process then starts with --initial-cluster-state existing. */
  async addMember(peerUrls: string[], isLearner: boolean): Promise<Member> {
    this.assertRunning();
    const urls = normalizePeerUrls(peerUrls);
    const inUse = new Set(this.members.list().flatMap((m) => m.peerUrls));
    if (urls.some((url) => inUse.has(url))) throw etcdError('peer-url-exist');
    if (!isLearner) this.checkQuorumAfterAdding();
    const member: Member = {
      id: computeMemberId(urls, this.config.initialClusterToken, Date.now()),
      name: '',
      peerUrls: urls,
      clientUrls: [],
      isLearner,
    };
    const type = isLearner ? ConfChangeType.AddLearnerNode : ConfChangeType.AddNode;
    await this.proposeConfChange(type, member.id, member);
    return member;
  }

  async removeMember(id: bigint): Promise<void> {
    this.assertRunning();
    if (!this.members.get(id)) throw etcdError('member-not-found');
    await this.proposeConfChange(ConfChangeType.RemoveNode, id);
  }

  async promoteMember(id: bigint): Promise<void> {
    this.assertRunning();
    const member = this.members.get(id);
    if (!member) throw etcdError('member-not-found');
    if (!member.isLearner) throw etcdError('member-not-learner');
    // etcd promotes only a learner whose log is within 90% of the leader's. Only the leader knows that: a
    // follower asks it over the peer URL (etcd forwards the whole MemberPromote to the leader).
    if (!(await this.learnerReadyOnLeader(id))) throw etcdError('learner-not-ready');
    await this.proposeConfChange(ConfChangeType.AddNode, id, member);
  }

  /** On the leader: whether learner `id`'s log is within 90% of the leader's (etcd's isLearnerReady). */
  async learnerReady(id: bigint): Promise<boolean> {
    if (!this.isLeader()) throw etcdError('not-leader');
    const progress = this.loop.raft.status().progress?.get(id);
    return progress !== undefined && progress.match >= 0.9 * this.status().commitIndex;
  }

  private async learnerReadyOnLeader(id: bigint): Promise<boolean> {
    if (this.isLeader()) return this.learnerReady(id);
    const leader = this.members.get(this.softState.lead);
    if (this.softState.lead === NONE || !leader || leader.peerUrls.length === 0) throw etcdError('no-leader');
    const caller = {
      clusterId: this.clusterId,
      memberId: this.memberId,
      dialer: this.config.peerDialer ?? PLAINTEXT_PEER_DIALER,
    };
    try {
      return await callLeaderLearnerReady(caller, leader.peerUrls[0]!, id, this.requestTimeoutMs());
    } catch (err) {
      this.logger.warn(
        { err: String(err), learner: id.toString(16) },
        'could not ask the leader about a learner',
      );
      throw etcdError('timeout', err);
    }
  }

  async updateMember(id: bigint, peerUrls: string[]): Promise<void> {
    this.assertRunning();
    const member = this.members.get(id);
    if (!member) throw etcdError('member-not-found');
    const urls = normalizePeerUrls(peerUrls);
    const inUse = new Set(
      this.members
        .list()
        .filter((m) => m.id !== id)
        .flatMap((m) => m.peerUrls),
    );
    if (urls.some((url) => inUse.has(url))) throw etcdError('peer-url-exist');
    // Who may do this was checked by the caller (MaintenanceApi: root only).
    const result = await this.propose({ member_update: { ID: id.toString(), peerURLs: urls } }, MEMBER_DUTY);
    if (result.error) throw result.error;
  }

  /** Leadership transfer (etcdctl move-leader): only the leader can hand over. */
  async moveLeader(target: bigint): Promise<void> {
    this.assertRunning();
    if (!this.isLeader()) throw etcdError('not-leader');
    const member = this.members.get(target);
    if (!member || member.isLearner) throw etcdError('bad-leader-transferee');
    if (target === this.memberId) return;
    this.loop.call((r) => r.transferLeader(target));
    const deadline = Date.now() + this.requestTimeoutMs();
    while (this.softState.lead !== target) {
      if (Date.now() > deadline) throw etcdError('timeout');
      await new Promise((resolve) => setTimeout(resolve, this.config.heartbeatIntervalMs));
    }
  }

  /** etcd's strict reconfiguration check: adding a voter must not leave the cluster without a quorum. */
  private checkQuorumAfterAdding(): void {
    const voters = this.members.list().filter((m) => !m.isLearner);
    const active = new Set([this.memberId, ...this.transport.activePeers()]);
    const started = voters.filter((m) => active.has(m.id)).length;
    if (started < Math.floor((voters.length + 1) / 2) + 1) throw etcdError('member-not-enough-started');
  }

  private async proposeConfChange(type: ConfChangeType, nodeId: bigint, member?: Member): Promise<void> {
    const requestId = this.ids.nextId();
    const waitId = requestId.toString();
    const done = this.waits.register(waitId);
    const proposedAt = Date.now();
    const timer = setTimeout(
      () => this.waits.fail(waitId, this.timeoutError(proposedAt)),
      this.requestTimeoutMs(),
    );
    const context = encodeConfChangeContext({ member, requestId });
    this.loop.proposeConfChange({ type, nodeId, context }, (err) =>
      this.waits.fail(waitId, toConfChangeError(err)),
    );
    try {
      await done;
    } finally {
      clearTimeout(timer);
    }
  }

  // ---- snapshots ----------------------------------------------------------------------------------------

  /** Raft persisted a leader's snapshot: install it (in place), then catch the member's own view up. */
  private async applySnapshot(snapshot: Snapshot): Promise<void> {
    await this.snapshots.install(snapshot);
    this.confState = snapshot.metadata.confState;
    this.appliedIndex = Math.max(this.appliedIndex, snapshot.metadata.index);
    for (const member of this.members.list()) {
      if (member.id !== this.memberId) this.transport.addPeer(member.id, member.peerUrls);
    }
    this.readIndex.onApplied(this.appliedIndex);
  }

  // ---- leadership and leases --------------------------------------------------------------------------

  private onSoftState(state: SoftState): void {
    const wasLeader = this.softState.raftState === StateType.Leader;
    const leaderChanged = state.lead !== this.softState.lead;
    this.softState = state;
    const isLeader = state.raftState === StateType.Leader;
    if (isLeader && !wasLeader) this.leases.promote(this.config.electionTimeoutMs);
    if (!isLeader && wasLeader) this.leases.demote();
    if (leaderChanged && state.lead !== NONE && !this.publishingAttributes) this.publishAttributes();
    if (leaderChanged && state.lead !== NONE) {
      this.stats.leaderChanges++;
      this.leaderElectedAt = Date.now();
    }
    if (leaderChanged) {
      this.logger.info({ leader: state.lead.toString(16), state: state.raftState }, 'leader changed');
      for (const listener of this.leaderListeners) listener(state.lead);
    }
  }

  /**
   * Tells the cluster this member's name, client URLs, Cairn version and data format (etcd's publish),
   * retrying until it is applied. Published again after every leader change: a member on an older build
   * applies the entry without the fields it does not know, so after a rolling upgrade the new leader may hold
   * a record without them; a fresh publication after the election it won fills them in.
   */
  private publishAttributes(): void {
    this.publishingAttributes = true;
    this.propose(
      {
        member_attr_set: {
          member_ID: this.memberId.toString(),
          name: this.config.name,
          client_urls: this.config.advertiseClientUrls,
          data_format: CURRENT_DATA_FORMAT,
          cairn_version: CAIRN_VERSION,
        },
      },
      MEMBER_DUTY,
    ).then(
      () => (this.publishingAttributes = false),
      () => {
        if (this.closed) return;
        setTimeout(() => {
          if (this.hasLeader()) this.publishAttributes();
          else this.publishingAttributes = false;
        }, 500).unref();
      },
    );
  }

  /**
   * Leader duty: once every member has published that its build can apply a newer data format, switch the
   * cluster to it with one entry, so all members change at the same log index (members with old and new
   * revision numbering never mix). Applying it again is a no-op, so a retry after a lost proposal is safe.
   */
  private dataFormatDuty(): void {
    if (this.closed || !this.isLeader() || this.dataFormatProposed) return;
    if (this.sm.kv.dataFormat >= CURRENT_DATA_FORMAT) return;
    const members = this.members.list();
    if (!members.every((m) => (m.dataFormat ?? 0) >= CURRENT_DATA_FORMAT)) return;
    this.dataFormatProposed = true;
    this.logger.info(
      { from: this.sm.kv.dataFormat, to: CURRENT_DATA_FORMAT, revision: this.sm.kv.currentRevision },
      "every member can apply the new data format: switching the cluster to etcd's revision numbering",
    );
    this.propose({ data_format_set: { format: CURRENT_DATA_FORMAT } }, MEMBER_DUTY)
      .catch((err: unknown) =>
        this.logger.warn({ err: String(err) }, 'data format switch not applied; retrying'),
      )
      .finally(() => (this.dataFormatProposed = false));
  }

  /** Leader duty: propose revocation of expired leases and checkpoints of remaining TTLs. */
  private leaseDuties(): void {
    if (this.closed || !this.isLeader()) return;
    for (const id of this.leases.expired(500)) {
      this.propose({ lease_revoke: { ID: id.toString() } }, MEMBER_DUTY).catch(() => undefined);
    }
    const checkpoints = this.leases.checkpointsDue(1000);
    if (checkpoints.length > 0) {
      this.propose(
        {
          lease_checkpoint: {
            checkpoints: checkpoints.map((c) => ({ ID: c.id.toString(), remaining_TTL: c.remainingTtl })),
          },
        },
        MEMBER_DUTY,
      ).catch(() => undefined);
    }
  }

  // ---- helpers ----------------------------------------------------------------------------------------

  requestTimeoutMs(): number {
    return 5000 + 2 * this.config.electionTimeoutMs;
  }

  /** The error of a proposal that waited its whole timeout (proposal.ts). */
  private timeoutError(proposedAt: number): EtcdError {
    return proposalTimeoutError(proposedAt, this.leaderElectedAt, this.config.electionTimeoutMs);
  }

  private assertRunning(): void {
    if (this.closed || this.fatalError) throw etcdError('stopped');
  }

  private onFatal(err: unknown): void {
    this.fatalError = err;
    this.logger.error({ err: String(err) }, 'fatal storage error: the member stops serving');
    const stopped = etcdError('stopped');
    this.readIndex.close(stopped);
    this.waits.failAll(stopped);
  }
}

function countSnapshot(counts: NodeStats['snapshotsSent'], peer: bigint, ok: boolean): void {
  const key = peer.toString(16);
  const entry = counts.get(key) ?? { success: 0, failures: 0 };
  if (ok) entry.success++;
  else entry.failures++;
  counts.set(key, entry);
}

function normalizePeerUrls(urls: string[]): string[] {
  if (urls.length === 0) throw etcdError('member-bad-urls');
  return urls.map((text) => {
    let url: URL;
    try {
      url = new URL(text);
    } catch {
      throw etcdError('member-bad-urls');
    }
    if ((url.protocol !== 'http:' && url.protocol !== 'https:') || !url.port)
      throw etcdError('member-bad-urls');
    return `${url.protocol}//${url.host}`;
  });
}

/** A conf change Raft refused (no leader, one already pending) surfaces as etcd's errors. */
function toConfChangeError(err: unknown): EtcdError {
  const text = err instanceof Error ? err.message : String(err);
  if (text.includes('no leader')) return etcdError('no-leader');
  // One change is already pending (or a transfer is under way): etcd's proposal would time out.
  return etcdError('timeout', err);
}

function raftLogger(logger: Logger): import('@cairn/raft').RaftLogger {
  return {
    debug: (msg, fields) => logger.debug(fields ?? {}, msg),
    info: (msg, fields) => logger.info(fields ?? {}, msg),
    warn: (msg, fields) => logger.warn(fields ?? {}, msg),
    error: (msg, fields) => logger.error(fields ?? {}, msg),
  };
}

export { encodeConfChange };
