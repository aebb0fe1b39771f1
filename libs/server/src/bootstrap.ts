// Bootstrap: brings a member's durable state up before it runs. A new member bootstraps its Raft log from the
// initial cluster; a joining one learns its ID and the cluster from running members; a restarting one replays
// its newest usable snapshot and WAL. Either way the result is a recovered member, ready to start Raft.
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { CURRENT_DATA_FORMAT } from '@cairn/mvcc';
import { MemoryStorage, RaftNode, type Snapshot } from '@cairn/raft';
import { Snapshotter, Wal } from '@cairn/storage';
import type { NodeConfig } from './config';
import { computeClusterId, computeMemberId } from './ids';
import { type Member, encodeConfChangeContext } from './members';
import { fetchClusterView } from './peer';
import { type StateMachine, closeStateMachine, openStateMachine } from './state-machine';
import { finishBackendReplacement, replaceBackend } from './backend-swap';
import { decodeWalMetadata, encodeWalMetadata } from './wal-metadata';

/** Everything a member needs to run, recovered (or created) from its data dir. */
export interface RecoveredMember {
  memberId: bigint;
  clusterId: bigint;
  sm: StateMachine;
  raftStorage: MemoryStorage;
  wal: Wal;
  snapshotter: Snapshotter;
  /** The snapshot the Raft storage starts from, if any. */
  snapshot: Snapshot | undefined;
}

/** The smallest lease TTL a member grants (etcd: ceil(1.5 x election timeout)). */
export function minLeaseTtlSeconds(config: NodeConfig): number {
  return Math.ceil((1.5 * config.electionTimeoutMs) / 1000);
}

/** Opens (or bootstraps) the member's data dir: new, joining or restarting. */
export async function recoverMember(config: NodeConfig): Promise<RecoveredMember> {
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
    if (opened.repairedTail) {
      const { segment, offset, bytes } = opened.repairedTail;
      logger.warn(
        { segment, offset, bytes },
        'WAL: repaired a torn tail (a write that never completed): zeroed the bytes from the offset on',
      );
    }
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
    const view = await fetchClusterView(others, 5000, {
      selfPeerUrls: config.advertisePeerUrls,
      dialer: config.peerDialer,
    });
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
    await bootstrapLog(raftStorage, wal, peers, CURRENT_DATA_FORMAT);
    logger.info(
      {
        memberId: memberId.toString(16),
        clusterId: clusterId.toString(16),
        state: config.initialClusterState,
      },
      'starting a new member',
    );
  }

  const minLeaseTtl = minLeaseTtlSeconds(config);
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

  return { memberId, clusterId, sm, raftStorage, wal, snapshotter, snapshot };
}

/**
 * Writes a new cluster's first log entries (one AddNode per member, at indexes 1..n) into `raftStorage` and
 * the WAL. Their contexts carry each member and the data format the store is in (or starts in): a restore
 * from a snapshot bootstraps its log the same way, with the snapshot's format (restore/restore.ts).
 */
export async function bootstrapLog(
  raftStorage: MemoryStorage,
  wal: Wal,
  peers: Member[],
  dataFormat: number,
): Promise<void> {
  RaftNode.bootstrap(
    raftStorage,
    peers.map((m) => ({ id: m.id, context: encodeConfChangeContext({ member: m, dataFormat }) })),
  );
  const first = raftStorage.firstIndex();
  const last = raftStorage.lastIndex();
  const entries = last >= first ? raftStorage.entries(first, last + 1, Number.MAX_SAFE_INTEGER) : [];
  await wal.save(raftStorage.initialState().hardState, entries, true);
}
