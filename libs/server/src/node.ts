// A Cairn member: recovers its durable state, drives Raft through the RaftLoop, applies committed entries
// to the MVCC store, and offers the request API the gRPC/HTTP layers call (propose a write, wait for a
// linearizable read point, read local state).
import { createReadStream } from 'node:fs';
import { mkdir, rename, rm } from 'node:fs/promises';
import { randomInt } from 'node:crypto';
import path from 'node:path';
import {
  ConfChangeType,
  type ConfChange,
  type ConfState,
  type Entry,
  type Message,
  EntryType,
  MemoryStorage,
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
import { Backend, type BackendBatch, Snapshotter, Wal } from '@cairn/storage';
import type { KvStore, LeaseStore, WatchableStore } from '@cairn/mvcc';
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
import { computeClusterId, computeMemberId, RequestIdGenerator } from './ids';
import type { Logger } from './logger';
import { type Member, MemberStore, decodeConfChangeContext, encodeConfChangeContext } from './members';
import { RaftLoop } from './raft-loop';
import { ReadIndexBatcher } from './read-index';
import type { Transport } from './transport';
import {
  type LeaseAuthority,
  PeerTransport,
  callLeaderLease,
  callLeaderLeaseRenewBatch,
  LeaseRenewBatcher,
  closeLeaseClients,
  fetchClusterView,
} from './peer';
import { WaitRegistry } from './wait';
import { Applier, type ApplyResult } from './applier';
import { AlarmKind, AlarmStore } from './alarms';
import { AutoCompactor } from './auto-compactor';
import { writeConsistentIndex } from './consistent-index';
import { type StateMachine, closeStateMachine, openStateMachine, restoreStateMachine } from './state-machine';
import type { ProposalBody } from './proposal';
import { ANONYMOUS, type Identity } from './port/etcd-port';
import { finishBackendReplacement, fsyncDir, replaceBackend } from './backend-swap';
import { BackendBatcher } from './backend-batcher';
import { decodeWalMetadata, encodeWalMetadata } from './wal-metadata';

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
  private loop!: RaftLoop;
  private transport!: Transport;
  private compactor?: AutoCompactor;
  private readonly waits = new WaitRegistry<ApplyResult>();
  private readonly ids: RequestIdGenerator;
  private readIndex!: ReadIndexBatcher;
  private applier!: Applier;
  private softState: SoftState = { lead: NONE, raftState: StateType.Follower };
  private term = 0;
  private dbSize = 0;
  private attributesPublished = false;
  readonly stats: NodeStats = {
    proposalsCommitted: 0,
    proposalsApplied: 0,
    proposalsPending: 0,
    proposalsFailed: 0,
    leaderChanges: 0,
    puts: 0,
    snapshotsSent: new Map(),
    snapshotsReceived: new Map(),
  };
  private appliedIndex: number;
  private snapshotIndex: number;
  private confState: ConfState = { voters: [], learners: [] };
  private timers: NodeJS.Timeout[] = [];
  private readonly backendBatcher: BackendBatcher;
  private closed = false;
  private fatalError?: unknown;
  private readonly leaderListeners = new Set<(leader: bigint) => void>();
  private readonly appliedListeners = new Set<(index: number) => void>();

  private constructor(
    readonly config: NodeConfig,
    readonly memberId: bigint,
    readonly clusterId: bigint,
    private readonly sm: StateMachine,
    private readonly raftStorage: MemoryStorage,
    private readonly wal: Wal,
    private readonly snapshotter: Snapshotter,
    snapshot: Snapshot | undefined,
    private readonly logger: Logger,
  ) {
    this.ids = new RequestIdGenerator(memberId, Date.now());
    this.backendBatcher = new BackendBatcher(() => this.sm.backend, {
      intervalMs: config.backendBatchIntervalMs ?? DEFAULT_BACKEND_BATCH_INTERVAL_MS,
      limit: config.backendBatchLimit ?? DEFAULT_BACKEND_BATCH_LIMIT,
      observe: (seconds) => config.observe?.('backend_commit', seconds),
      onFailed: (err) => this.loop.halt(err),
    });
    this.snapshotIndex = snapshot?.metadata.index ?? 0;
    this.appliedIndex = Math.max(this.snapshotIndex, 0);
    if (snapshot) this.confState = snapshot.metadata.confState;
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
  private get backend(): Backend {
    return this.sm.backend;
  }
  private get consistentIndex(): number {
    return this.sm.consistentIndex;
  }
  private set consistentIndex(index: number) {
    this.sm.consistentIndex = index;
  }

  /** Opens (or bootstraps) the member's data dir and starts Raft. */
  static async start(config: NodeConfig, transportFactory?: TransportFactory): Promise<CairnNode> {
    const logger = config.logger;
    const memberDir = path.join(config.dataDir, 'member');
    const walDir = path.join(memberDir, 'wal');
    const snapDir = path.join(memberDir, 'snap');
    await mkdir(snapDir, { recursive: true });
    const snapshotter = new Snapshotter(snapDir);
    const dbPath = path.join(memberDir, 'db');

    const raftStorage = new MemoryStorage();
    const walOptions = { segmentSizeBytes: config.walSegmentBytes ?? 16 * 1024 * 1024 };
    let wal: Wal;
    let memberId: bigint;
    let clusterId: bigint;
    let snapshot: Snapshot | undefined;
    let joinedMembers: Member[] = [];

    if (Wal.exists(walDir)) {
      // The newest snapshot that the WAL also marks: a crash between the two writes leaves an older pair.
      snapshot = await snapshotter.loadNewestAvailable(await Wal.readSnapshotMarks(walDir));
      const from = snapshot
        ? { index: snapshot.metadata.index, term: snapshot.metadata.term }
        : { index: 0, term: 0 };
      const opened = await Wal.open(walDir, from, walOptions);
      wal = opened.wal;
      ({ memberId, clusterId } = decodeWalMetadata(opened.metadata));
      if (snapshot) raftStorage.applySnapshot(snapshot);
      raftStorage.setHardState(opened.hardState);
      raftStorage.append(opened.entries);
      logger.info(
        { memberId: memberId.toString(16), term: opened.hardState.term, commit: opened.hardState.commit },
        'restarting member from its data dir',
      );
    } else if (config.initialClusterState === 'existing') {
      // Joining a running cluster: its members tell us our ID (given by MemberAdd) and the cluster ID.
      const others = config.initialCluster.filter((m) => m.name !== config.name).flatMap((m) => m.peerUrls);
      const view = await fetchClusterView(others, 5000);
      const self = view.members.find((m) => m.peerUrls.some((url) => config.advertisePeerUrls.includes(url)));
      if (!self) {
        throw new Error(
          `this member's peer URLs (${config.advertisePeerUrls.join(',')}) are not in the cluster: add it first with etcdctl member add`,
        );
      }
      memberId = self.id;
      clusterId = view.clusterId;
      wal = await Wal.create(walDir, encodeWalMetadata({ memberId, clusterId }), walOptions);
      joinedMembers = view.members;
      logger.info(
        { memberId: memberId.toString(16), clusterId: clusterId.toString(16) },
        'joining an existing cluster',
      );
    } else {
      const peers: Member[] = config.initialCluster.map((m) => ({
        id: computeMemberId(m.peerUrls, config.initialClusterToken),
        name: m.name,
        peerUrls: m.peerUrls,
        clientUrls: [],
        isLearner: false,
      }));
      const self = peers.find((m) => m.name === config.name);
      if (!self)
        throw new Error(`couldn't find local name "${config.name}" in the initial cluster configuration`);
      memberId = self.id;
      clusterId = computeClusterId(peers.map((m) => m.id));
      wal = await Wal.create(walDir, encodeWalMetadata({ memberId, clusterId }), walOptions);
      {
        RaftNode.bootstrap(
          raftStorage,
          peers.map((m) => ({ id: m.id, context: encodeConfChangeContext({ member: m }) })),
        );
        const first = raftStorage.firstIndex();
        const last = raftStorage.lastIndex();
        const entries = last >= first ? raftStorage.entries(first, last + 1, Number.MAX_SAFE_INTEGER) : [];
        await wal.save(raftStorage.initialState().hardState, entries, true);
      }
      logger.info(
        {
          memberId: memberId.toString(16),
          clusterId: clusterId.toString(16),
          state: config.initialClusterState,
        },
        'starting a new member',
      );
    }

    const minLeaseTtl = Math.ceil((1.5 * config.electionTimeoutMs) / 1000);
    await finishBackendReplacement(dbPath);
    let sm = await openStateMachine(dbPath, { minLeaseTtlSeconds: minLeaseTtl });
    // A crash while installing a leader's snapshot can leave the backend behind the Raft snapshot: the
    // received db file is kept beside the snapshot for exactly this case.
    if (snapshot && sm.consistentIndex < snapshot.metadata.index) {
      await closeStateMachine(sm);
      await replaceBackend(dbPath, snapshotter.dbPath(snapshot.metadata.index));
      sm = await openStateMachine(dbPath, { minLeaseTtlSeconds: minLeaseTtl });
      logger.warn({ index: snapshot.metadata.index }, 'restored the backend from the snapshot db file');
    }
    if (joinedMembers.length > 0) {
      const batch = sm.backend.batch();
      for (const member of joinedMembers) if (!sm.members.get(member.id)) sm.members.upsert(member, batch);
      await batch.write({ sync: true });
    }

    const node = new CairnNode(
      config,
      memberId,
      clusterId,
      sm,
      raftStorage,
      wal,
      snapshotter,
      snapshot,
      logger.child({ memberId: memberId.toString(16) }),
    );
    await node.run(transportFactory);
    return node;
  }

  private async run(transportFactory: TransportFactory | undefined): Promise<void> {
    const electionTick = Math.max(
      2,
      Math.round(this.config.electionTimeoutMs / this.config.heartbeatIntervalMs),
    );
    const raft = new RaftNode({
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
    const transport = transportFactory
      ? transportFactory({
          memberId: this.memberId,
          clusterId: this.clusterId,
          step: (msg) => this.loop.step(msg),
        })
      : this.createPeerTransport();
    this.transport = transport;
    for (const member of this.members.list()) {
      if (member.id !== this.memberId) transport.addPeer(member.id, member.peerUrls);
    }

    this.bindStateMachine();
    this.readIndex = new ReadIndexBatcher({
      requestReadIndex: (ctx) => this.loop.readIndex(ctx),
      appliedIndex: () => this.appliedIndex,
      retryIntervalMs: Math.max(50, this.config.heartbeatIntervalMs * 2),
      timeoutMs: this.requestTimeoutMs(),
      timeoutError: () => etcdError('timeout'),
      now: () => Date.now(),
    });
    this.loop = new RaftLoop(
      raft,
      this.raftStorage,
      this.wal,
      this.snapshotter,
      transport,
      {
        applyEntries: (entries) => this.applyEntries(entries),
        applySnapshot: (snapshot) => this.applySnapshot(snapshot),
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
        observeFsync: (seconds) => this.config.observe?.('wal_fsync', seconds),
        commitBroadcastDelayMs: this.config.commitBroadcastDelayMs ?? DEFAULT_COMMIT_BROADCAST_DELAY_MS,
      },
    );
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
    this.compactor = new AutoCompactor({
      mode: this.config.autoCompactionMode,
      retention: this.config.autoCompactionRetention,
      currentRevision: () => this.kv.currentRevision,
      compactRevision: () => this.kv.compactRevision,
      isLeader: () => this.isLeader(),
      compact: (revision) => this.propose({ compaction: { revision: String(revision), physical: false } }),
      now: () => Date.now(),
    });
    this.compactor.start();
    this.dbSize = await this.backend.size();
    this.timers.push(setInterval(() => void this.refreshDbSize(), 1000));
  }

  /** Wires the applier and the stats to the state machine (once: a snapshot install restores it in place). */
  private bindStateMachine(): void {
    const sm = this.sm;
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
      header: (revision) => this.header(revision),
      onPeerUrlsChanged: (id, urls) => {
        if (id === this.memberId) return;
        this.transport.removePeer(id);
        this.transport.addPeer(id, urls);
      },
    });
    this.kv.onChanges((result) => {
      for (const event of result.events) if (event.type === 'put') this.stats.puts++;
    });
  }

  private createPeerTransport(): PeerTransport {
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
      snapshotSource: (msg) => this.streamBackendForSnapshot(msg),
      onSnapshotReceived: (msg, file) =>
        this.receiveSnapshot(msg, file).then(
          () => countSnapshot(this.stats.snapshotsReceived, msg.from, true),
          (err: unknown) => {
            countSnapshot(this.stats.snapshotsReceived, msg.from, false);
            throw err;
          },
        ),
      snapshotDir: path.join(this.config.dataDir, 'member', 'snap', 'incoming'),
      logger: this.logger,
      dialBackoff: { initialMs: 100, maxMs: 2000 },
    });
  }

  /** The gRPC handlers of the peer service, for the app to serve on the peer URL. */
  get peerTransport(): PeerTransport | undefined {
    return this.transport instanceof PeerTransport ? this.transport : undefined;
  }

  // ---- request API ------------------------------------------------------------------------------------

  /** Proposes a request through Raft and resolves with its apply result once applied on this member. */
  async propose(body: ProposalBody, identity: Identity = ANONYMOUS): Promise<ApplyResult> {
    this.assertRunning();
    const id = this.ids.nextId();
    const header = { ID: id.toString(), username: identity.user };
    const data = encodeInternalRequest({ ...body, header });
    if (data.length > this.config.maxRequestBytes) throw etcdError('request-too-large');
    const done = this.waits.register(id);
    const timer = setTimeout(() => this.waits.fail(id, this.timeoutError()), this.requestTimeoutMs());
    this.stats.proposalsPending++;
    // Dropped: no leader yet (an election is under way) or a leadership transfer. Try again each heartbeat
    // for up to two election timeouts, so a client write rides through an election instead of failing.
    const giveUpAt = Date.now() + 2 * this.config.electionTimeoutMs;
    const submit = (): void =>
      this.loop.propose(data, () => {
        if (Date.now() >= giveUpAt || this.closed) {
          this.waits.fail(id, etcdError(this.softState.lead === NONE ? 'no-leader' : 'timeout'));
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

  /**
   * The backend quota (etcd's --quota-backend-bytes): a request that would grow the store past it raises
   * the NOSPACE alarm and fails with "database space exceeded"; so does every such request while the alarm
   * is active.
   */
  async checkQuota(cost: number): Promise<void> {
    if (this.alarms.has(AlarmKind.NoSpace)) throw etcdError('no-space');
    if (this.dbSize + cost <= this.config.quotaBackendBytes) return;
    this.logger.warn(
      { dbSize: this.dbSize, quota: this.config.quotaBackendBytes },
      'backend quota exceeded: raising NOSPACE',
    );
    await this.propose({
      alarm: { action: 1, memberID: this.memberId.toString(), alarm: AlarmKind.NoSpace },
    }).catch(() => undefined);
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
  async renewLease(id: bigint): Promise<number> {
    this.assertRunning();
    if (this.isLeader()) return this.leases.renew(id);
    const ttl = await this.leaseRenewals.renew(this.leaderPeerUrl(), id);
    if (ttl <= 0) throw etcdError('lease-not-found');
    return ttl;
  }

  /** Remaining TTL as the leader knows it (forwarded from a follower); undefined for an unknown lease. */
  async leaseTimeToLive(
    id: bigint,
    keys: boolean,
  ): Promise<{ ttl: number; grantedTtl: number; keys: Uint8Array[] } | undefined> {
    this.assertRunning();
    if (this.isLeader()) return this.leases.timeToLive(id, keys);
    const reply = await callLeaderLease(
      this.leaderPeerUrl(),
      'LeaseTimeToLive',
      { id: id.toString(), keys },
      2000,
    );
    if (Number(reply.ttl) < 0) return undefined;
    return { ttl: Number(reply.ttl), grantedTtl: Number(reply.granted_ttl), keys: reply.keys };
  }

  /** A follower's forwarded keep-alives, one call to the leader per event-loop turn. */
  private readonly leaseRenewals = new LeaseRenewBatcher(callLeaderLeaseRenewBatch, 2000);

  /** The leader's side of forwarded lease calls (served on the peer URL). */
  readonly leaseAuthority: LeaseAuthority = {
    renewMany: async (ids) => {
      if (!this.isLeader()) throw etcdError('not-leader');
      return ids.map((id) => {
        try {
          return this.leases.renew(id);
        } catch {
          return 0;
        }
      });
    },
    renew: async (id) => {
      const [ttl = 0] = await this.leaseAuthority.renewMany([id]);
      return { ttl, granted_ttl: 0, keys: [] };
    },
    timeToLive: async (id, keys) => {
      if (!this.isLeader()) throw etcdError('not-leader');
      const info = this.leases.timeToLive(id, keys);
      if (!info) return { ttl: -1, granted_ttl: 0, keys: [] };
      return { ttl: info.ttl, granted_ttl: info.grantedTtl, keys: info.keys.map((k) => Buffer.from(k)) };
    },
  };

  private leaderPeerUrl(): string {
    const leader = this.members.get(this.softState.lead);
    if (!leader || leader.peerUrls.length === 0) throw etcdError('no-leader');
    return leader.peerUrls[0];
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

  /** The header of every response: who answered, at which revision and term. */
  header(revision: number): { cluster_id: string; member_id: string; revision: number; raft_term: number } {
    return {
      cluster_id: this.clusterId.toString(),
      member_id: this.memberId.toString(),
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
    const outcomes: { id: bigint; result: ApplyResult }[] = [];
    const waitsForCompaction: Promise<void>[] = [];
    let last = this.appliedIndex;
    for (const entry of entries) {
      last = entry.index;
      if (entry.type === EntryType.ConfChange) {
        const id = this.applyConfChange(entry, batch);
        if (id !== undefined && this.waits.isWaiting(id)) outcomes.push({ id, result: { response: {} } });
        continue;
      }
      if (entry.index <= this.consistentIndex || entry.data.length === 0) continue;
      const request = decodeInternalRequest(entry.data) as InternalRaftRequest__Output;
      const applied = this.applier.apply(request, batch);
      const result = applied instanceof Promise ? await applied : applied;
      if (result.physicalCompaction) waitsForCompaction.push(result.physicalCompaction);
      const id = BigInt(request.header?.ID ?? '0');
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
    if (last - this.snapshotIndex >= this.config.snapshotCount) await this.takeSnapshot();
  }

  /** Applies a membership change; returns the ID of the request that proposed it, if any. */
  private applyConfChange(entry: Entry, batch: BackendBatch): bigint | undefined {
    const change: ConfChange = decodeConfChange(entry.data);
    this.confState = this.loop.raft.applyConfChange(change);
    if (entry.index <= this.consistentIndex) return undefined;
    const { member, requestId } = decodeConfChangeContext(change.context);
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
    // etcd promotes only a learner whose log is within 90% of the leader's (checked where progress is known).
    const progress = this.isLeader() ? this.loop.raft.status().progress?.get(id) : undefined;
    if (this.isLeader() && (!progress || progress.match < 0.9 * this.status().commitIndex)) {
      throw etcdError('learner-not-ready');
    }
    await this.proposeConfChange(ConfChangeType.AddNode, id, member);
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
    const result = await this.propose({ member_update: { ID: id.toString(), peerURLs: urls } });
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
    const done = this.waits.register(requestId);
    const timer = setTimeout(() => this.waits.fail(requestId, this.timeoutError()), this.requestTimeoutMs());
    const context = encodeConfChangeContext({ member, requestId });
    this.loop.proposeConfChange({ type, nodeId, context }, (err) =>
      this.waits.fail(requestId, toConfChangeError(err)),
    );
    try {
      await done;
    } finally {
      clearTimeout(timer);
    }
  }

  // ---- snapshots to and from peers ----------------------------------------------------------------------

  /**
   * The state-machine data that goes with a MsgSnap to a lagging follower: a consistent copy of the backend
   * as it is now (at or past the Raft snapshot's index; the follower skips entries its consistent index
   * already covers), streamed from a temp file that is removed afterwards.
   */
  private async *streamBackendForSnapshot(msg: Message): AsyncGenerator<Buffer> {
    const index = msg.snapshot?.metadata.index ?? 0;
    const file = path.join(this.config.dataDir, 'member', 'snap', `send-${index}-${randomInt(2 ** 31)}.db`);
    try {
      await this.backendBatcher.flush();
      await this.backend.writeSnapshot(file);
      for await (const chunk of createReadStream(file, { highWaterMark: 1 << 20 })) yield chunk as Buffer;
    } finally {
      await rm(file, { force: true });
    }
  }

  /** A leader's snapshot arrived: keep its db file where a restart finds it, then hand the message to Raft. */
  private async receiveSnapshot(msg: Message, file: string): Promise<void> {
    const index = msg.snapshot?.metadata.index ?? 0;
    await rename(file, this.snapshotter.dbPath(index));
    await fsyncDir(path.dirname(this.snapshotter.dbPath(index)));
    this.logger.info({ index, from: msg.from.toString(16) }, 'received a snapshot from the leader');
    this.loop.step(msg);
  }

  /**
   * Raft persisted a leader's snapshot: restore the state machine in place from the db file that came with
   * it. Watchers keep their IDs and catch up from their next revision (or get the compact revision).
   */
  private async applySnapshot(snapshot: Snapshot): Promise<void> {
    const index = snapshot.metadata.index;
    const dbPath = path.join(this.config.dataDir, 'member', 'db');
    await this.backendBatcher.flush();
    await restoreStateMachine(
      this.sm,
      dbPath,
      () => replaceBackend(dbPath, this.snapshotter.dbPath(index)),
      this.config.electionTimeoutMs,
    );
    this.confState = snapshot.metadata.confState;
    this.snapshotIndex = index;
    this.appliedIndex = Math.max(this.appliedIndex, index);
    for (const member of this.members.list()) {
      if (member.id !== this.memberId) this.transport.addPeer(member.id, member.peerUrls);
    }
    this.readIndex.onApplied(this.appliedIndex);
    this.logger.info({ index, consistentIndex: this.consistentIndex }, 'installed the leader snapshot');
  }

  private async takeSnapshot(): Promise<void> {
    const index = this.appliedIndex;
    // The backend must hold everything up to `index` durably before the log behind it is released.
    await this.backendBatcher.flush();
    // Raft may already hold a newer snapshot: one from the leader, persisted while this member was still
    // applying older entries and installed later in the apply chain. Ours is then out of date and not needed
    // (etcd ignores ErrSnapOutOfDate the same way).
    if (index <= this.raftStorage.snapshot().metadata.index) return;
    const batch = this.backend.batch();
    writeConsistentIndex(batch, index);
    await batch.write({ sync: true });
    const snapshot = this.raftStorage.createSnapshot(index, this.confState, Buffer.alloc(0));
    // WAL mark first: a crash before the snapshot file is written leaves an older snapshot to start from,
    // and the WAL still holds everything after it.
    await this.wal.saveSnapshot({ index, term: snapshot.metadata.term });
    await this.snapshotter.save(snapshot);
    const compactTo = index - this.config.snapshotCatchUpEntries;
    if (compactTo > this.raftStorage.firstIndex()) this.raftStorage.compact(compactTo);
    await this.wal.releaseTo(index);
    await this.snapshotter.releaseOlderThan(index);
    this.snapshotIndex = index;
    this.logger.info({ index, term: snapshot.metadata.term }, 'saved snapshot and compacted the raft log');
  }

  // ---- leadership and leases --------------------------------------------------------------------------

  private onSoftState(state: SoftState): void {
    const wasLeader = this.softState.raftState === StateType.Leader;
    const leaderChanged = state.lead !== this.softState.lead;
    this.softState = state;
    const isLeader = state.raftState === StateType.Leader;
    if (isLeader && !wasLeader) this.leases.promote(this.config.electionTimeoutMs);
    if (!isLeader && wasLeader) this.leases.demote();
    if (leaderChanged && state.lead !== NONE && !this.attributesPublished) this.publishAttributes();
    if (leaderChanged && state.lead !== NONE) this.stats.leaderChanges++;
    if (leaderChanged) {
      this.logger.info({ leader: state.lead.toString(16), state: state.raftState }, 'leader changed');
      for (const listener of this.leaderListeners) listener(state.lead);
    }
  }

  /** Tells the cluster this member's name and client URLs (etcd's publish), retrying until it is applied. */
  private publishAttributes(): void {
    this.attributesPublished = true;
    this.propose({
      member_attr_set: {
        member_ID: this.memberId.toString(),
        name: this.config.name,
        client_urls: this.config.advertiseClientUrls,
      },
    }).catch(() => {
      this.attributesPublished = false;
      if (!this.closed)
        setTimeout(
          () => this.hasLeader() && !this.attributesPublished && this.publishAttributes(),
          500,
        ).unref();
    });
  }

  /** Leader duty: propose revocation of expired leases and checkpoints of remaining TTLs. */
  private leaseDuties(): void {
    if (this.closed || !this.isLeader()) return;
    for (const id of this.leases.expired(500)) {
      this.propose({ lease_revoke: { ID: id.toString() } }).catch(() => undefined);
    }
    const checkpoints = this.leases.checkpointsDue(1000);
    if (checkpoints.length > 0) {
      this.propose({
        lease_checkpoint: {
          checkpoints: checkpoints.map((c) => ({ ID: c.id.toString(), remaining_TTL: c.remainingTtl })),
        },
      }).catch(() => undefined);
    }
  }

  // ---- helpers ----------------------------------------------------------------------------------------

  requestTimeoutMs(): number {
    return 5000 + 2 * this.config.electionTimeoutMs;
  }

  /** A request that waited its whole timeout: etcd answers "request timed out" even without a leader. */
  /** A request that waited its whole timeout: etcd answers "request timed out" even without a leader. */
  private timeoutError(): EtcdError {
    return etcdError('timeout');
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
