// The one place where Raft meets I/O: ticks on a timer, feeds messages and proposals to the state machine,
// and handles each Ready in the order Raft requires: persist (WAL, one fsync) -> send -> apply -> advance, except
// that a leader sends its AppendEntries before persisting (its followers' disks work while its own does).
// Inputs that arrive while a Ready is being handled are queued and fed afterwards, so the pure state
// machine never sees calls between ready() and advance(); a whole event-loop turn of proposals shares
// one WAL write and one fsync (group commit).
import {
  type ConfChange,
  type Entry,
  type HardState,
  type Message,
  type RaftNode,
  type Ready,
  type ReadState,
  type Snapshot,
  type SoftState,
  MemoryStorage,
  StateType,
} from '@cairn/raft';
import type { Snapshotter, SyncMode, Wal } from '@cairn/storage';
import type { Logger } from './logger';
import type { Transport } from './transport';

export interface RaftLoopHandlers {
  /** Apply committed entries to the state machine (in order); resolves when they are applied. */
  applyEntries(entries: Entry[]): Promise<void>;
  /** Install a snapshot received from the leader; resolves when the state machine matches it. */
  applySnapshot(snapshot: Snapshot): Promise<void>;
  onSoftState(state: SoftState): void;
  /** Term, vote or commit changed (after it was persisted). */
  onHardState(state: HardState): void;
  onReadStates(states: ReadState[]): void;
  /** A fatal storage error: the member must stop (it can no longer promise durability). */
  onFatal(err: unknown): void;
}

type Input =
  | { kind: 'tick' }
  | { kind: 'step'; message: Message }
  | { kind: 'propose'; data: Uint8Array; onDropped: (err: unknown) => void }
  | { kind: 'confChange'; change: ConfChange; onDropped: (err: unknown) => void }
  | { kind: 'readIndex'; ctx: Uint8Array }
  | { kind: 'call'; fn: (raft: RaftNode) => void };

export interface RaftLoopOptions {
  /** WAL fsync durations, in seconds (for /metrics). */
  observeFsync?: (seconds: number) => void;
  /**
   * With a Raft configured with deferCommitBroadcast: how long a commit advance may wait for the next
   * AppendEntries to carry it before it is sent to the followers on its own.
   */
  commitBroadcastDelayMs?: number;
}

/**
 * An input arriving after the event loop has sat idle (waiting for I/O) this long (ms) since the last drain is
 * drained at once instead of on the next setImmediate. Shorter than any gap at one write in flight (an answer's
 * round trip, the client's turnaround), longer than the gaps between inputs under concurrent load.
 */
const IDLE_DRAIN_MS = 0.1;

/** How long the event loop has waited for I/O in all (ms): libuv's idle time, 50 ns to read. */
function eventLoopIdleMs(): number {
  return performance.nodeTiming.idleTime;
}

export class RaftLoop {
  private inbox: Input[] = [];
  private handling = false;
  private scheduled = false;
  private ticker?: NodeJS.Timeout;
  private stopped = false;
  private applying: Promise<void> = Promise.resolve();
  private commitBroadcastTimer: NodeJS.Timeout | undefined;
  /** The pending commit advance the timer was armed for (RaftNode.pendingCommitBroadcast). */
  private commitBroadcastRound: number | undefined;
  /** The event loop's idle time (eventLoopIdleMs) when the last drain ended. */
  private idleAtLastDrain = 0;

  constructor(
    readonly raft: RaftNode,
    private readonly storage: MemoryStorage,
    private readonly wal: Wal,
    private readonly snapshotter: Snapshotter,
    private readonly transport: Transport,
    private readonly handlers: RaftLoopHandlers,
    private readonly logger: Logger,
    private readonly options: RaftLoopOptions = {},
  ) {}

  start(tickMs: number): void {
    this.ticker = setInterval(() => this.push({ kind: 'tick' }), tickMs);
    this.schedule();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.ticker);
    clearTimeout(this.commitBroadcastTimer);
    while (this.handling) await new Promise((resolve) => setImmediate(resolve));
    await this.applying.catch(() => undefined);
  }

  step(message: Message): void {
    this.push({ kind: 'step', message });
  }

  propose(data: Uint8Array, onDropped: (err: unknown) => void): void {
    this.push({ kind: 'propose', data, onDropped });
  }

  proposeConfChange(change: ConfChange, onDropped: (err: unknown) => void): void {
    this.push({ kind: 'confChange', change, onDropped });
  }

  readIndex(ctx: Uint8Array): void {
    this.push({ kind: 'readIndex', ctx });
  }

  /** Run something against the state machine between Readies (transfer leader, report unreachable...). */
  call(fn: (raft: RaftNode) => void): void {
    this.push({ kind: 'call', fn });
  }

  private push(input: Input): void {
    if (this.stopped) return;
    this.inbox.push(input);
    this.schedule();
  }

  private schedule(): void {
    if (this.scheduled || this.handling) return;
    this.scheduled = true;
    if (eventLoopIdleMs() - this.idleAtLastDrain >= IDLE_DRAIN_MS) {
      // The member has waited for I/O since the last drain: this input is most likely alone (one request in
      // flight, or the answer to the one AppendEntries out), so there is nothing to gather it with. Drained in
      // this event-loop phase, the messages its Ready writes reach the socket now rather than a setImmediate
      // later. Inputs that keep coming (requests in flight, a busy follower) find the loop busy and share a
      // turn — and so do inputs that arrive while the event loop has other work (a watch fan-out): by wall time
      // alone each such poll phase drained its first put on its own, one more fsync per turn, and puts during a
      // 10,000-watcher fan-out fell to half.
      queueMicrotask(this.drainNow);
      return;
    }
    setImmediate(this.drainNow);
  }

  private readonly drainNow = (): void => {
    this.scheduled = false;
    void this.drain();
  };

  private feedInbox(): void {
    const inputs = this.inbox;
    this.inbox = [];
    // All proposals of the turn go to Raft as one batch: one AppendEntries per follower, one WAL write.
    const proposals = inputs.filter((input) => input.kind === 'propose');
    if (proposals.length > 0) {
      try {
        this.raft.proposeBatch(proposals.map((p) => p.data));
      } catch (err) {
        for (const proposal of proposals) proposal.onDropped(err);
      }
    }
    for (const input of inputs) {
      try {
        switch (input.kind) {
          case 'tick':
            this.raft.tick();
            break;
          case 'step':
            this.raft.step(input.message);
            break;
          case 'propose':
            break; // batched above
          case 'confChange':
            try {
              this.raft.proposeConfChange(input.change);
            } catch (err) {
              input.onDropped(err);
            }
            break;
          case 'readIndex':
            try {
              this.raft.readIndex(input.ctx);
            } catch {
              // No leader: the read-index batcher retries on its own timer.
            }
            break;
          case 'call':
            input.fn(this.raft);
            break;
        }
      } catch (err) {
        this.logger.warn({ err: String(err) }, 'raft rejected an input');
      }
    }
  }

  private async drain(): Promise<void> {
    if (this.handling) return;
    this.handling = true;
    try {
      while (!this.stopped) {
        this.feedInbox();
        if (!this.raft.hasReady()) break;
        await this.handleReady();
      }
    } catch (err) {
      this.fail(err);
    } finally {
      this.handling = false;
      this.idleAtLastDrain = eventLoopIdleMs();
    }
    if (this.inbox.length > 0 && !this.stopped) this.schedule();
    this.scheduleCommitBroadcast();
  }

  /**
   * A commit advance no AppendEntries has carried yet goes to the followers after a short wait. The wait is
   * per advance: a timer armed for an advance that an AppendEntries has since carried is dropped, so the next
   * advance gets the whole wait (a timer left from the previous write fired a fraction of a millisecond into
   * the next one's: an extra round trip to every follower at about one write in five at one in flight).
   */
  private scheduleCommitBroadcast(): void {
    if (this.stopped) return;
    const round = this.raft.pendingCommitBroadcast();
    if (round !== undefined && round === this.commitBroadcastRound && this.commitBroadcastTimer !== undefined)
      return;
    clearTimeout(this.commitBroadcastTimer);
    this.commitBroadcastTimer = undefined;
    this.commitBroadcastRound = round;
    if (round === undefined) return;
    this.commitBroadcastTimer = setTimeout(() => {
      this.commitBroadcastTimer = undefined;
      this.call((raft) => raft.broadcastCommit());
    }, this.options.commitBroadcastDelayMs ?? 0);
  }

  private async handleReady(): Promise<void> {
    const rd = this.raft.ready();
    if (rd.softState) this.handlers.onSoftState(rd.softState);

    // 0. A leader's messages leave before its own disk write (Raft thesis 10.2.1, as etcd's raftNode does): the
    // followers write the entries while the leader does. Nothing of this Ready is applied or acknowledged before
    // the save, and answers to these messages are stepped in only after it.
    const sendFirst = rd.messages.length > 0 && this.messagesMayLeaveBeforeSave(rd);
    if (sendFirst) {
      this.transport.send(rd.messages);
      this.transport.flush();
    }

    // 1. Persist: snapshot first, then entries and hard state in one WAL write.
    if (rd.snapshot) {
      await this.snapshotter.save(rd.snapshot);
      await this.wal.saveSnapshot({ index: rd.snapshot.metadata.index, term: rd.snapshot.metadata.term });
      this.storage.applySnapshot(rd.snapshot);
    }
    if (rd.entries.length > 0 || rd.hardState) {
      const started = process.hrtime.bigint();
      // With messages in flight (or requests arriving) the fsync must not block this thread (syncMode).
      await this.wal.save(rd.hardState, rd.entries, rd.mustSync, this.syncMode(rd, sendFirst));
      if (rd.mustSync) this.options.observeFsync?.(Number(process.hrtime.bigint() - started) / 1e9);
    }
    if (rd.hardState) {
      this.storage.setHardState(rd.hardState);
      this.handlers.onHardState(rd.hardState);
    }
    if (rd.entries.length > 0) this.storage.append(rd.entries);

    // 2. Send: only now may messages that depend on what we persisted (votes, answers) leave the member.
    if (rd.messages.length > 0 && !sendFirst) {
      this.transport.send(rd.messages);
      this.transport.flush();
    }
    if (rd.readStates.length > 0) this.handlers.onReadStates(rd.readStates);

    // 3. Apply, in order, on a chain of its own (as etcd's apply goroutine): Raft may go on persisting and
    // sending the next Ready while this one's entries reach the state machine. A snapshot waits for every
    // earlier apply, since it replaces the state they change.
    if (rd.snapshot) {
      const snapshot = rd.snapshot;
      await this.applying;
      await this.handlers.applySnapshot(snapshot);
    }
    if (rd.committedEntries.length > 0) {
      const entries = rd.committedEntries;
      // The messages are on the wire already (Transport.flush writes them out), so the apply holds none back.
      this.applying = this.applying.then(() => this.handlers.applyEntries(entries));
      this.applying.catch((err: unknown) => this.fail(err));
    }

    // 4. Acknowledge: persisted (and handed to apply in order).
    this.raft.advance();
  }

  /**
   * How this Ready waits for its fsync. Off the thread when there is other work for the loop meanwhile: a
   * leader's messages to write out, or (a batch of entries: requests are arriving concurrently) the next
   * requests to parse and the previous batch to apply, so the next Ready gathers every proposal that came in
   * during the fsync (group commit) instead of the loop standing still. A lone entry (one request in flight)
   * waits inline: the thread-pool round trip measured at over twice the CPU per put there.
   */
  private syncMode(rd: Ready, sendFirst: boolean): SyncMode {
    return sendFirst || rd.entries.length > 1 ? 'off-thread' : 'inline';
  }

  /**
   * The Ready of a leader whose messages depend on nothing it is about to persist: no new term or vote (a
   * follower must not see those before they are on disk), and no commit index beyond the entries already on
   * disk (a lone voter commits its own entries as it appends them; a learner told of that commit could apply
   * an entry the leader then loses in a crash).
   */
  private messagesMayLeaveBeforeSave(rd: Ready): boolean {
    // Raft's state cannot change between ready() and advance(); the storage holds what earlier Readies saved.
    if (this.raft.softState().raftState !== StateType.Leader) return false;
    const hs = rd.hardState;
    if (hs === undefined) return true;
    const persisted = this.storage.getHardState();
    return hs.term === persisted.term && hs.vote === persisted.vote && hs.commit <= this.storage.lastIndex();
  }

  /** Resolves when every committed entry handed out so far has been applied. */
  whenApplied(): Promise<void> {
    return this.applying;
  }

  /** A fatal error outside the loop (the backend could not take an apply batch): stop as a WAL failure does. */
  halt(err: unknown): void {
    this.fail(err);
  }

  private fail(err: unknown): void {
    if (this.stopped) return;
    this.stopped = true;
    clearInterval(this.ticker);
    this.handlers.onFatal(err);
  }
}
