// A member's snapshots: taking its own (every snapshotCount applied entries, then compacting the Raft log and
// releasing WAL segments), sending its backend with a MsgSnap to a lagging follower, keeping a leader's
// snapshot when one arrives, and installing it (restoring the state machine in place).
import { createReadStream } from 'node:fs';
import { rename, rm } from 'node:fs/promises';
import { randomInt } from 'node:crypto';
import path from 'node:path';
import type { ConfState, MemoryStorage, Message, Snapshot } from '@cairn/raft';
import type { Snapshotter, Wal } from '@cairn/storage';
import { fsyncDir, replaceBackend } from './backend-swap';
import type { BackendBatcher } from './backend-batcher';
import type { NodeConfig } from './config';
import { writeConsistentIndex } from './consistent-index';
import type { Logger } from './logger';
import { type StateMachine, restoreStateMachine } from './state-machine';

export interface SnapshotsDeps {
  config: Pick<NodeConfig, 'dataDir' | 'snapshotCount' | 'snapshotCatchUpEntries' | 'electionTimeoutMs'>;
  sm: StateMachine;
  backendBatcher: BackendBatcher;
  raftStorage: MemoryStorage;
  wal: Wal;
  snapshotter: Snapshotter;
  logger: Logger;
}

export class Snapshots {
  /** Index of the newest snapshot this member holds (its own or a leader's). */
  private lastIndex: number;

  constructor(
    private readonly deps: SnapshotsDeps,
    startingSnapshot: Snapshot | undefined,
  ) {
    this.lastIndex = startingSnapshot?.metadata.index ?? 0;
  }

  /** Takes a snapshot when `applied` is snapshotCount entries past the last one. */
  async takeIfDue(applied: number, confState: ConfState): Promise<void> {
    if (applied - this.lastIndex >= this.deps.config.snapshotCount) await this.take(applied, confState);
  }

  private async take(index: number, confState: ConfState): Promise<void> {
    const { backendBatcher, raftStorage, wal, snapshotter, config, logger } = this.deps;
    // The backend must hold everything up to `index` durably before the log behind it is released.
    await backendBatcher.flush();
    // Raft may already hold a newer snapshot: one from the leader, persisted while this member was still
    // applying older entries and installed later in the apply chain. Ours is then out of date and not needed
    // (etcd ignores ErrSnapOutOfDate the same way).
    if (index <= raftStorage.snapshot().metadata.index) return;
    const batch = this.deps.sm.backend.batch();
    writeConsistentIndex(batch, index);
    await batch.write({ sync: true });
    const snapshot = raftStorage.createSnapshot(index, confState, Buffer.alloc(0));
    // WAL mark first: a crash before the snapshot file is written leaves an older snapshot to start from,
    // and the WAL still holds everything after it.
    await wal.saveSnapshot({ index, term: snapshot.metadata.term });
    await snapshotter.save(snapshot);
    const compactTo = index - config.snapshotCatchUpEntries;
    if (compactTo > raftStorage.firstIndex()) raftStorage.compact(compactTo);
    await wal.releaseTo(index);
    await snapshotter.releaseOlderThan(index);
    this.lastIndex = index;
    logger.info({ index, term: snapshot.metadata.term }, 'saved snapshot and compacted the raft log');
  }

  /**
   * The state-machine data that goes with a MsgSnap to a lagging follower: a consistent copy of the backend
   * as it is now (at or past the Raft snapshot's index; the follower skips entries its consistent index
   * already covers), streamed from a temp file that is removed afterwards.
   */
  async *streamBackend(msg: Message): AsyncGenerator<Buffer> {
    const index = msg.snapshot?.metadata.index ?? 0;
    const file = path.join(
      this.deps.config.dataDir,
      'member',
      'snap',
      `send-${index}-${randomInt(2 ** 31)}.db`,
    );
    try {
      await this.deps.backendBatcher.flush();
      await this.deps.sm.backend.writeSnapshot(file);
      for await (const chunk of createReadStream(file, { highWaterMark: 1 << 20 })) yield chunk as Buffer;
    } finally {
      await rm(file, { force: true });
    }
  }

  /** A leader's snapshot arrived: keep its db file where an install (or a restart after a crash) finds it. */
  async keepReceived(msg: Message, file: string): Promise<void> {
    const index = msg.snapshot?.metadata.index ?? 0;
    const kept = this.deps.snapshotter.dbPath(index);
    await rename(file, kept);
    await fsyncDir(path.dirname(kept));
    this.deps.logger.info({ index, from: msg.from.toString(16) }, 'received a snapshot from the leader');
  }

  /**
   * Raft persisted a leader's snapshot: restore the state machine in place from the db file that came with
   * it. Watchers keep their IDs and catch up from their next revision (or get the compact revision).
   */
  async install(snapshot: Snapshot): Promise<void> {
    const { sm, backendBatcher, snapshotter, config, logger } = this.deps;
    const index = snapshot.metadata.index;
    const dbPath = path.join(config.dataDir, 'member', 'db');
    await backendBatcher.flush();
    await restoreStateMachine(
      sm,
      dbPath,
      () => replaceBackend(dbPath, snapshotter.dbPath(index)),
      config.electionTimeoutMs,
    );
    this.lastIndex = index;
    logger.info({ index, consistentIndex: sm.consistentIndex }, 'installed the leader snapshot');
  }
}
