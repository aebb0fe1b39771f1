// The Raft state machine (etcd-io/raft raft.go): a pure function of (state, input). Inputs are ticks,
// messages and local requests; outputs accumulate in `msgs` and `readStates` and in the log, and the
// RaftNode turns them into Ready batches. No timers, no I/O, no ambient randomness.
//
// Number rule: terms and indexes are JS numbers (they grow by one per election / entry and stay far
// below 2^53); node IDs are bigint.
import { decodeConfChange } from './confchange-codec';
import type { RaftConfig, RaftLogger, RandomSource } from './contracts';
import { ReadOnlyOption } from './contracts';
import { describeMessage } from './describe';
import { RaftError, RaftErrorCode, isRaftError } from './errors';
import { noopLogger } from './logger';
import { makeMessage, voteResponseType } from './message';
import { ReadOnly } from './read-only';
import { NO_LIMIT, RaftLog } from './raft-log';
import { ProgressTracker, VoteResult } from './tracker';
import {
  ConfChangeType,
  EntryType,
  MessageType,
  NONE,
  ProgressState,
  StateType,
  type ConfChange,
  type ConfState,
  type Entry,
  type HardState,
  type Message,
  type NodeId,
  type ReadState,
  type Snapshot,
  type SoftState,
} from './types';

export const DEFAULT_MAX_SIZE_PER_MSG = 1024 * 1024;
export const DEFAULT_MAX_INFLIGHT_MSGS = 256;
export const DEFAULT_MAX_COMMITTED_SIZE_PER_READY = 64 * 1024 * 1024;

/** Context of a Vote sent because of a leadership transfer: voters must not ignore it (leader stickiness). */
export const CAMPAIGN_TRANSFER_CONTEXT = new TextEncoder().encode('CampaignTransfer');

enum CampaignType {
  PreElection = 'pre-election',
  Election = 'election',
  Transfer = 'transfer',
}

const EMPTY = new Uint8Array(0);

function bytesEqual(a: Uint8Array | undefined, b: Uint8Array): boolean {
  if (a === undefined || a.byteLength !== b.byteLength) return false;
  for (let i = 0; i < a.byteLength; i++) if (a[i] !== b[i]) return false;
  return true;
}

function invalidConfig(detail: string): RaftError {
  return new RaftError(RaftErrorCode.InvalidConfig, detail);
}

export class Raft {
  readonly id: NodeId;
  term = 0;
  vote: NodeId = NONE;
  lead: NodeId = NONE;
  state: StateType = StateType.Follower;
  isLearner = false;
  readonly raftLog: RaftLog;
  prs: ProgressTracker;

  /** Outgoing messages since the last Ready. */
  msgs: Message[] = [];
  /** Confirmed reads since the last Ready. */
  readStates: ReadState[] = [];

  /** The node we are handing leadership to (leader only), or NONE. */
  leadTransferee: NodeId = NONE;
  /**
   * Index of the last conf change the leader appended; a new one is refused until the driver has
   * applied past it (at most one pending change).
   */
  pendingConfIndex = 0;
  private readOnly: ReadOnly;
  /** Reads that arrived before this leader committed an entry of its term; answered once it has. */
  private pendingReadIndexMessages: Message[] = [];

  /** Ticks since the last election timeout reset (follower/candidate) or check-quorum round (leader). */
  electionElapsed = 0;
  private heartbeatElapsed = 0;
  private randomizedElectionTimeout = 0;

  readonly electionTimeout: number;
  readonly heartbeatTimeout: number;
  private readonly maxMsgSize: number;
  private readonly checkQuorum: boolean;
  private readonly preVote: boolean;
  private readonly readOnlyOption: ReadOnlyOption;
  private readonly disableProposalForwarding: boolean;
  private readonly deferCommitBroadcast: boolean;
  /** Leader: the commit index advanced and no AppendEntries has carried it to the followers yet. */
  private commitBroadcastPending = false;
  /** Counts the times a commit advance became pending (so a driver can tell one pending advance from the next). */
  private commitBroadcastRound = 0;
  private readonly random: RandomSource;
  private readonly logger: RaftLogger;
  private readonly idText: string;

  constructor(config: RaftConfig) {
    if (config.id === NONE) throw invalidConfig('cannot use none as id');
    if (!(config.heartbeatTick > 0)) throw invalidConfig('heartbeat tick must be greater than 0');
    if (!(config.electionTick > config.heartbeatTick)) {
      throw invalidConfig('election tick must be greater than heartbeat tick');
    }
    const maxInflight = config.maxInflightMsgs ?? DEFAULT_MAX_INFLIGHT_MSGS;
    if (!(maxInflight > 0)) throw invalidConfig('max inflight messages must be greater than 0');
    const readOnlyOption = config.readOnlyOption ?? ReadOnlyOption.Safe;
    if (readOnlyOption === ReadOnlyOption.LeaseBased && !config.checkQuorum) {
      throw invalidConfig('checkQuorum must be enabled when the read-only option is lease-based');
    }

    this.id = config.id;
    this.idText = config.id.toString(16);
    this.electionTimeout = config.electionTick;
    this.heartbeatTimeout = config.heartbeatTick;
    this.maxMsgSize = config.maxSizePerMsg ?? DEFAULT_MAX_SIZE_PER_MSG;
    this.checkQuorum = config.checkQuorum ?? false;
    this.preVote = config.preVote ?? false;
    this.readOnlyOption = readOnlyOption;
    this.disableProposalForwarding = config.disableProposalForwarding ?? false;
    this.deferCommitBroadcast = config.deferCommitBroadcast ?? false;
    this.random = config.random;
    this.logger = config.logger ?? noopLogger;
    this.readOnly = new ReadOnly();

    this.raftLog = new RaftLog(
      config.storage,
      config.maxCommittedSizePerReady ?? DEFAULT_MAX_COMMITTED_SIZE_PER_READY,
    );
    this.prs = new ProgressTracker(maxInflight);
    const { hardState, confState } = config.storage.initialState();
    this.prs.setConfig(confState.voters, confState.learners, this.raftLog.lastIndex() + 1);
    this.isLearner = this.prs.learners.has(this.id);

    if (hardState.term !== 0 || hardState.vote !== NONE || hardState.commit !== 0) this.loadState(hardState);
    const applied = config.applied ?? 0;
    if (applied > 0) {
      if (applied < this.raftLog.applied) {
        throw invalidConfig(
          `applied ${applied} is below the snapshot index ${this.raftLog.applied}: restore the state machine from the snapshot first`,
        );
      }
      if (applied > this.raftLog.committed) {
        throw invalidConfig(`applied ${applied} is beyond the commit index ${this.raftLog.committed}`);
      }
      this.raftLog.appliedTo(applied);
    }
    this.becomeFollower(this.term, NONE);

    this.log('info', 'raft node started', {
      voters: this.prs.confState().voters.map(String),
      learners: this.prs.confState().learners.map(String),
      commit: this.raftLog.committed,
      applied: this.raftLog.applied,
      lastIndex: this.raftLog.lastIndex(),
      lastTerm: this.raftLog.lastTerm(),
    });
  }

  // ---- state -------------------------------------------------------------------------------------

  softState(): SoftState {
    return { lead: this.lead, raftState: this.state };
  }

  hardState(): HardState {
    return { term: this.term, vote: this.vote, commit: this.raftLog.committed };
  }

  private loadState(hs: HardState): void {
    if (hs.commit < this.raftLog.committed || hs.commit > this.raftLog.lastIndex()) {
      throw new Error(
        `hard state commit ${hs.commit} is out of range [${this.raftLog.committed}, ${this.raftLog.lastIndex()}]`,
      );
    }
    this.raftLog.committed = hs.commit;
    this.term = hs.term;
    this.vote = hs.vote;
  }

  /** A node may campaign only while it is a voter in its own configuration. */
  promotable(): boolean {
    return this.prs.isVoter(this.id);
  }

  private log(level: keyof RaftLogger, msg: string, fields?: Record<string, unknown>): void {
    this.logger[level](msg, { id: this.idText, term: this.term, ...fields });
  }

  // ---- sending -----------------------------------------------------------------------------------

  private send(m: Message): void {
    if (m.from === NONE) m.from = this.id;
    if (
      m.type === MessageType.Vote ||
      m.type === MessageType.VoteResp ||
      m.type === MessageType.PreVote ||
      m.type === MessageType.PreVoteResp
    ) {
      // Vote messages carry an explicit term: the campaign term (pre-vote: the future term) or, for a
      // grant, the term of the request.
      if (m.term === 0) throw new Error(`term should be set when sending ${MessageType[m.type]}`);
    } else {
      if (m.term !== 0) throw new Error(`term should not be set when sending ${MessageType[m.type]}`);
      // Proposals and read requests forwarded to the leader are local in spirit: they carry no term.
      if (m.type !== MessageType.Prop && m.type !== MessageType.ReadIndex) m.term = this.term;
    }
    this.msgs.push(m);
  }

  /** Sends AppendEntries (or a snapshot) to `to` unless flow control holds it back. */
  private sendAppend(to: NodeId): void {
    this.maybeSendAppend(to, true);
  }

  /**
   * Sends the entries from the follower's next index, or a snapshot when they are compacted away.
   * With sendIfEmpty false nothing is sent when there are no new entries. Returns whether it sent.
   */
  private maybeSendAppend(to: NodeId, sendIfEmpty: boolean): boolean {
    const pr = this.prs.progress.get(to);
    if (!pr || pr.isPaused()) return false;

    const prevIndex = pr.next - 1;
    let prevTerm = 0;
    let ents: Entry[] = [];
    let compacted = false;
    try {
      prevTerm = this.raftLog.term(prevIndex);
      ents = this.raftLog.entries(pr.next, this.maxMsgSize);
    } catch (err) {
      if (!isRaftError(err, RaftErrorCode.Compacted)) throw err;
      compacted = true;
    }
    if (!compacted && ents.length === 0 && !sendIfEmpty) return false;

    if (compacted) {
      if (!pr.recentActive) {
        this.log('debug', 'not sending snapshot to a peer that is not recently active', { to: String(to) });
        return false;
      }
      let snapshot: Snapshot;
      try {
        snapshot = this.raftLog.snapshot();
      } catch (err) {
        if (isRaftError(err, RaftErrorCode.SnapshotTemporarilyUnavailable)) {
          this.log('debug', 'snapshot temporarily unavailable; will retry', { to: String(to) });
          return false;
        }
        throw err;
      }
      if (snapshot.metadata.index === 0) throw new Error('need a non-empty snapshot to catch up a follower');
      this.log('debug', 'sending snapshot', {
        to: String(to),
        snapshotIndex: snapshot.metadata.index,
        snapshotTerm: snapshot.metadata.term,
        match: pr.match,
        next: pr.next,
      });
      pr.becomeSnapshot(snapshot.metadata.index);
      this.send(makeMessage({ type: MessageType.Snap, to, snapshot }));
      return true;
    }

    if (pr.state === ProgressState.Replicate) {
      if (ents.length > 0) {
        const last = ents[ents.length - 1].index;
        pr.optimisticUpdate(last);
        pr.inflights.add(last);
      }
    } else if (pr.state === ProgressState.Probe) {
      pr.probeSent = true;
    } else {
      throw new Error(`sending append in unhandled progress state ${pr.state}`);
    }
    this.send(
      makeMessage({
        type: MessageType.App,
        to,
        index: prevIndex,
        logTerm: prevTerm,
        entries: ents,
        commit: this.raftLog.committed,
      }),
    );
    return true;
  }

  private sendHeartbeat(to: NodeId, context: Uint8Array | undefined): void {
    const pr = this.prs.progress.get(to);
    if (!pr) return;
    // Never tell a follower to commit beyond what it is known to have: it may not have those entries.
    const commit = Math.min(pr.match, this.raftLog.committed);
    this.send(makeMessage({ type: MessageType.Heartbeat, to, commit, context }));
  }

  private bcastAppend(): void {
    this.commitBroadcastPending = false;
    this.prs.visit((id) => {
      if (id !== this.id) this.sendAppend(id);
    });
  }

  private bcastHeartbeat(): void {
    this.bcastHeartbeatWithContext(this.readOnly.lastPendingRequestCtx());
  }

  private bcastHeartbeatWithContext(context: Uint8Array | undefined): void {
    this.prs.visit((id) => {
      if (id !== this.id) this.sendHeartbeat(id, context);
    });
  }

  private sendTimeoutNow(to: NodeId): void {
    this.send(makeMessage({ type: MessageType.TimeoutNow, to }));
  }

  // ---- log ---------------------------------------------------------------------------------------

  /** Leader: stamps, appends and self-acknowledges new entries (the leader's own write runs in parallel). */
  private appendEntry(entries: Entry[]): void {
    const lastIndex = this.raftLog.lastIndex();
    const stamped = entries.map((e, i) => ({
      term: this.term,
      index: lastIndex + 1 + i,
      type: e.type,
      data: e.data,
    }));
    const newLast = this.raftLog.append(stamped);
    this.prs.progress.get(this.id)?.maybeUpdate(newLast);
    this.maybeCommit();
  }

  /** Leader: advances the commit index to the quorum match, if that entry is from this term. */
  private maybeCommit(): boolean {
    if (!this.raftLog.maybeCommit(this.prs.committed(), this.term)) return false;
    this.releasePendingReadIndexMessages();
    return true;
  }

  private committedEntryInCurrentTerm(): boolean {
    return this.raftLog.termOrZero(this.raftLog.committed) === this.term;
  }

  // ---- role changes ------------------------------------------------------------------------------

  private reset(term: number): void {
    if (this.term !== term) {
      this.term = term;
      this.vote = NONE;
    }
    this.lead = NONE;
    this.electionElapsed = 0;
    this.heartbeatElapsed = 0;
    this.resetRandomizedElectionTimeout();
    this.abortLeaderTransfer();
    this.commitBroadcastPending = false;
    this.prs.resetVotes();
    const lastIndex = this.raftLog.lastIndex();
    this.prs.visit((id, pr) => {
      pr.match = 0;
      pr.next = lastIndex + 1;
      pr.state = ProgressState.Probe;
      pr.pendingSnapshot = 0;
      pr.probeSent = false;
      pr.recentActive = false;
      pr.inflights.reset();
      if (id === this.id) pr.match = lastIndex;
    });
    this.pendingConfIndex = 0;
    this.readOnly = new ReadOnly();
    this.pendingReadIndexMessages = [];
  }

  private resetRandomizedElectionTimeout(): void {
    this.randomizedElectionTimeout = this.electionTimeout + this.random.int(this.electionTimeout);
  }

  becomeFollower(term: number, lead: NodeId): void {
    this.reset(term);
    this.lead = lead;
    this.state = StateType.Follower;
    this.log('info', 'became follower', { lead: String(lead) });
  }

  private becomeCandidate(): void {
    if (this.state === StateType.Leader) throw new Error('invalid transition [leader -> candidate]');
    this.reset(this.term + 1);
    this.vote = this.id;
    this.state = StateType.Candidate;
    this.log('info', 'became candidate');
  }

  private becomePreCandidate(): void {
    if (this.state === StateType.Leader) throw new Error('invalid transition [leader -> pre-candidate]');
    // A pre-candidate changes neither its term nor its vote.
    this.prs.resetVotes();
    this.lead = NONE;
    this.state = StateType.PreCandidate;
    this.log('info', 'became pre-candidate');
  }

  private becomeLeader(): void {
    if (this.state === StateType.Follower) throw new Error('invalid transition [follower -> leader]');
    this.reset(this.term);
    this.lead = this.id;
    this.state = StateType.Leader;
    this.prs.progress.get(this.id)?.becomeReplicate();
    // Conservatively treat every uncommitted entry as a possible pending conf change.
    this.pendingConfIndex = this.raftLog.lastIndex();
    // The no-op of the new term: committing it commits everything before it (Raft §5.4.2, §8).
    this.appendEntry([{ term: 0, index: 0, type: EntryType.Normal, data: EMPTY }]);
    this.log('info', 'became leader', { lastIndex: this.raftLog.lastIndex() });
  }

  /**
   * A failure detector outside Raft (the peer transport lost its connection to `id`) suspects that `id` is
   * gone. A follower of `id` stops honouring its leader's lease: it grants pre-votes at once, and campaigns
   * after only the randomized part of its election timeout instead of the whole timeout counted from the last
   * heartbeat. Only with pre-vote and check-quorum, where a wrong suspicion cannot disrupt a live leader: the
   * followers that still hear it honour its lease and refuse the pre-vote, no term is raised, and its next
   * heartbeat resets this member's timer as usual. (etcd's raft added ForgetLeader for the same purpose.)
   * Never with lease-based reads: the old leader may still serve reads on its lease, which is only sound while
   * no follower votes before a full election timeout has passed without hearing from it.
   */
  suspectLeader(id: NodeId): void {
    if (!this.preVote || !this.checkQuorum || id === NONE) return;
    if (this.readOnlyOption !== ReadOnlyOption.Safe) return;
    if (this.state !== StateType.Follower || this.lead !== id) return;
    if (this.electionElapsed >= this.electionTimeout) return;
    this.electionElapsed = this.electionTimeout;
    this.log('info', 'leader suspected down: its lease is no longer honoured', { lead: id.toString(16) });
  }

  /** Leader: whether a commit advance is still waiting for broadcastCommit() (see deferCommitBroadcast). */
  hasPendingCommitBroadcast(): boolean {
    return this.commitBroadcastPending && this.state === StateType.Leader;
  }

  /**
   * Leader: which pending commit advance is waiting for broadcastCommit() (a new number each time one becomes
   * pending after an AppendEntries carried the previous), or undefined when none is.
   */
  pendingCommitBroadcast(): number | undefined {
    return this.hasPendingCommitBroadcast() ? this.commitBroadcastRound : undefined;
  }

  /** Leader: send the followers the commit index that a deferred broadcast held back. */
  broadcastCommit(): void {
    if (!this.hasPendingCommitBroadcast()) return;
    this.bcastAppend();
  }

  // ---- ticks -------------------------------------------------------------------------------------

  tick(): void {
    if (this.state === StateType.Leader) this.tickHeartbeat();
    else this.tickElection();
  }

  private pastElectionTimeout(): boolean {
    return this.electionElapsed >= this.randomizedElectionTimeout;
  }

  private tickElection(): void {
    this.electionElapsed++;
    if (this.promotable() && this.pastElectionTimeout()) {
      this.electionElapsed = 0;
      this.step(makeMessage({ type: MessageType.Hup, from: this.id }));
    }
  }

  private tickHeartbeat(): void {
    this.heartbeatElapsed++;
    this.electionElapsed++;
    if (this.electionElapsed >= this.electionTimeout) {
      this.electionElapsed = 0;
      if (this.checkQuorum) this.step(makeMessage({ type: MessageType.CheckQuorum, from: this.id }));
      // A transfer that did not finish within an election timeout is abandoned.
      if (this.state === StateType.Leader && this.leadTransferee !== NONE) {
        this.log('info', 'leadership transfer timed out', { transferee: String(this.leadTransferee) });
        this.abortLeaderTransfer();
      }
    }
    if (this.state !== StateType.Leader) return;
    if (this.heartbeatElapsed >= this.heartbeatTimeout) {
      this.heartbeatElapsed = 0;
      this.step(makeMessage({ type: MessageType.Beat, from: this.id }));
    }
  }

  // ---- elections ---------------------------------------------------------------------------------

  private hup(type: CampaignType): void {
    if (this.state === StateType.Leader) {
      this.log('debug', 'ignoring campaign: already leader');
      return;
    }
    if (!this.promotable()) {
      this.log('warn', 'is not promotable (not a voter); cannot campaign');
      return;
    }
    if (this.hasUnappliedConfChanges()) {
      this.log('warn', 'cannot campaign: committed configuration changes are not yet applied', {
        applied: this.raftLog.applied,
        commit: this.raftLog.committed,
      });
      return;
    }
    this.log('info', 'starting a new election', { campaign: type });
    this.campaign(type);
  }

  private hasUnappliedConfChanges(): boolean {
    if (this.raftLog.committed <= this.raftLog.applied) return false;
    const lo = Math.max(this.raftLog.applied + 1, this.raftLog.firstIndex());
    if (lo > this.raftLog.committed) return false;
    return this.raftLog
      .slice(lo, this.raftLog.committed + 1, NO_LIMIT)
      .some((e) => e.type === EntryType.ConfChange);
  }

  private campaign(type: CampaignType): void {
    let voteType: MessageType;
    let term: number;
    if (type === CampaignType.PreElection) {
      this.becomePreCandidate();
      voteType = MessageType.PreVote;
      // Pre-votes are requested for the term we would campaign in, without moving to it.
      term = this.term + 1;
    } else {
      this.becomeCandidate();
      voteType = MessageType.Vote;
      term = this.term;
    }
    // Vote for ourselves; a single-voter cluster wins at once.
    this.prs.recordVote(this.id, true);
    if (this.prs.tallyVotes().result === VoteResult.Won) {
      if (type === CampaignType.PreElection) this.campaign(CampaignType.Election);
      else this.becomeLeader();
      return;
    }
    const lastIndex = this.raftLog.lastIndex();
    const lastTerm = this.raftLog.lastTerm();
    const context = type === CampaignType.Transfer ? CAMPAIGN_TRANSFER_CONTEXT : undefined;
    for (const id of this.prs.confState().voters) {
      if (id === this.id) continue;
      this.send(makeMessage({ type: voteType, to: id, term, index: lastIndex, logTerm: lastTerm, context }));
    }
  }

  private poll(id: NodeId, granted: boolean): VoteResult {
    this.prs.recordVote(id, granted);
    return this.prs.tallyVotes().result;
  }

  // ---- step --------------------------------------------------------------------------------------

  /** Feeds one message (network or local) into the state machine. May throw RaftError(ProposalDropped). */
  step(m: Message): void {
    if (m.term === 0) {
      // Local message, or a proposal / read forwarded by a follower.
    } else if (m.term > this.term) {
      if (m.type === MessageType.Vote || m.type === MessageType.PreVote) {
        const force = bytesEqual(m.context, CAMPAIGN_TRANSFER_CONTEXT);
        const inLease = this.checkQuorum && this.lead !== NONE && this.electionElapsed < this.electionTimeout;
        if (!force && inLease) {
          // Leader stickiness: we heard from a live leader within the election timeout, so a node
          // asking for votes is likely partitioned or disruptive; do not let it bump our term.
          this.log('info', 'ignoring vote request: lease is not expired', {
            from: String(m.from),
            msgTerm: m.term,
            type: MessageType[m.type],
            remainingTicks: this.electionTimeout - this.electionElapsed,
          });
          return;
        }
      }
      if (m.type === MessageType.PreVote) {
        // Never change our term in response to a pre-vote.
      } else if (m.type === MessageType.PreVoteResp && !m.reject) {
        // A granted pre-vote carries the future term; we move to it only if we win the pre-election.
      } else {
        this.log('info', 'received a message with a higher term', {
          from: String(m.from),
          msgTerm: m.term,
          type: MessageType[m.type],
        });
        const leaderMessage =
          m.type === MessageType.App || m.type === MessageType.Heartbeat || m.type === MessageType.Snap;
        this.becomeFollower(m.term, leaderMessage ? m.from : NONE);
      }
    } else if (m.term < this.term) {
      if (
        (this.checkQuorum || this.preVote) &&
        (m.type === MessageType.Heartbeat || m.type === MessageType.App)
      ) {
        // A stale leader (e.g. after a partition) would never learn of the new term if we ignored it,
        // and with check-quorum / pre-vote nobody would ever bump its term: tell it.
        this.send(makeMessage({ type: MessageType.AppResp, to: m.from }));
      } else if (m.type === MessageType.PreVote) {
        // Reject with our term so the pre-candidate learns it is behind.
        this.send(makeMessage({ type: MessageType.PreVoteResp, to: m.from, term: this.term, reject: true }));
      } else {
        this.log('debug', 'ignored a message with a lower term', { msg: describeMessage(m) });
      }
      return;
    }

    switch (m.type) {
      case MessageType.Hup:
        this.hup(this.preVote ? CampaignType.PreElection : CampaignType.Election);
        return;
      case MessageType.Vote:
      case MessageType.PreVote:
        this.handleVoteRequest(m);
        return;
      default:
        break;
    }
    switch (this.state) {
      case StateType.Leader:
        this.stepLeader(m);
        return;
      case StateType.Candidate:
      case StateType.PreCandidate:
        this.stepCandidate(m);
        return;
      case StateType.Follower:
        this.stepFollower(m);
        return;
    }
  }

  private handleVoteRequest(m: Message): void {
    const canVote =
      // A repeated request from the node we voted for (e.g. our response was lost).
      this.vote === m.from ||
      // We have not voted this term and know of no leader.
      (this.vote === NONE && this.lead === NONE) ||
      // A pre-vote for a future term.
      (m.type === MessageType.PreVote && m.term > this.term);
    const respType = voteResponseType(m.type);
    if (canVote && this.raftLog.isUpToDate(m.index, m.logTerm)) {
      this.log('info', 'granting vote', {
        type: MessageType[m.type],
        candidate: String(m.from),
        candidateLast: `${m.index}/t${m.logTerm}`,
      });
      // Reply with the request's term: for a pre-vote that is the future term the candidate polls for.
      this.send(makeMessage({ type: respType, to: m.from, term: m.term }));
      if (m.type === MessageType.Vote) {
        // Only real votes are recorded (one per term) and hold back our own election timer.
        this.electionElapsed = 0;
        this.vote = m.from;
      }
    } else {
      this.log('info', 'rejecting vote', {
        type: MessageType[m.type],
        candidate: String(m.from),
        candidateLast: `${m.index}/t${m.logTerm}`,
        vote: String(this.vote),
        lastIndex: this.raftLog.lastIndex(),
        lastTerm: this.raftLog.lastTerm(),
      });
      this.send(makeMessage({ type: respType, to: m.from, term: this.term, reject: true }));
    }
  }

  private stepLeader(m: Message): void {
    switch (m.type) {
      case MessageType.Beat:
        this.bcastHeartbeat();
        return;
      case MessageType.CheckQuorum:
        if (!this.prs.quorumActive(this.id)) {
          this.log('warn', 'stepped down to follower since quorum is not active');
          this.becomeFollower(this.term, NONE);
        }
        // Every follower must prove it is alive again during the next round.
        this.prs.visit((id, pr) => {
          if (id !== this.id) pr.recentActive = false;
        });
        return;
      case MessageType.Prop:
        this.leaderPropose(m);
        return;
      case MessageType.ReadIndex:
        this.leaderReadIndex(m);
        return;
      default:
        break;
    }

    // The rest are responses or reports about a particular peer.
    const pr = this.prs.progress.get(m.from);
    if (!pr) {
      this.log('debug', 'no progress available for peer', {
        from: String(m.from),
        type: MessageType[m.type],
      });
      return;
    }
    switch (m.type) {
      case MessageType.AppResp:
        this.handleAppendResponse(m);
        return;
      case MessageType.HeartbeatResp:
        this.handleHeartbeatResponse(m);
        return;
      case MessageType.SnapStatus:
        if (pr.state !== ProgressState.Snapshot) return;
        if (m.reject) {
          this.log('debug', 'snapshot failed, resumed sending replication messages', { to: String(m.from) });
          pr.pendingSnapshot = 0;
        } else {
          this.log('debug', 'snapshot succeeded, resumed sending replication messages', {
            to: String(m.from),
          });
        }
        pr.becomeProbe();
        // Wait for the follower's answer (or a heartbeat response) before the next AppendEntries.
        pr.probeSent = true;
        return;
      case MessageType.Unreachable:
        // The follower may have dropped in-flight appends; fall back to probing.
        if (pr.state === ProgressState.Replicate) pr.becomeProbe();
        this.log('debug', 'failed to send message to peer because it is unreachable', { to: String(m.from) });
        return;
      case MessageType.TransferLeader:
        this.handleTransferLeader(m.from);
        return;
      default:
        return;
    }
  }

  private leaderPropose(m: Message): void {
    if (m.entries.length === 0) throw new Error(`${this.idText} stepped an empty proposal`);
    const local = m.from === this.id;
    if (!this.prs.progress.has(this.id)) {
      // We were removed from the configuration but are still leading until we step down.
      throw new RaftError(RaftErrorCode.ProposalDropped, 'leader is not in the configuration');
    }
    if (this.leadTransferee !== NONE) {
      throw new RaftError(
        RaftErrorCode.ProposalDropped,
        `leadership transfer to ${this.leadTransferee} is in progress`,
      );
    }
    const entries = m.entries.slice();
    let confIndex = this.pendingConfIndex;
    for (let i = 0; i < entries.length; i++) {
      const e = entries[i];
      if (e.type !== EntryType.ConfChange) continue;
      const refusal =
        confIndex > this.raftLog.applied
          ? `possible unapplied conf change at index ${confIndex} (applied to ${this.raftLog.applied})`
          : this.confChangeRefusal(e.data);
      if (refusal !== undefined) {
        if (local) throw new RaftError(RaftErrorCode.ProposalDropped, `conf change refused: ${refusal}`);
        // A forwarded batch keeps its other entries; the refused change becomes a no-op.
        this.log('info', 'refusing forwarded conf change', { reason: refusal, from: String(m.from) });
        entries[i] = { term: 0, index: 0, type: EntryType.Normal, data: EMPTY };
      } else {
        confIndex = this.raftLog.lastIndex() + i + 1;
      }
    }
    this.pendingConfIndex = confIndex;
    this.appendEntry(entries);
    this.bcastAppend();
  }

  /** Why a conf change proposal must be refused now, or undefined if it is acceptable. */
  private confChangeRefusal(data: Uint8Array): string | undefined {
    let cc: ConfChange;
    try {
      cc = decodeConfChange(data);
    } catch (err) {
      return `undecodable conf change (${(err as Error).message})`;
    }
    const { voters } = this.configAfter(cc);
    if (voters.size === 0) return 'it would remove the last voter';
    return undefined;
  }

  private configAfter(cc: ConfChange): { voters: Set<NodeId>; learners: Set<NodeId> } {
    const voters = new Set(this.prs.voters);
    const learners = new Set(this.prs.learners);
    switch (cc.type) {
      case ConfChangeType.AddNode:
        learners.delete(cc.nodeId);
        voters.add(cc.nodeId);
        break;
      case ConfChangeType.AddLearnerNode:
        voters.delete(cc.nodeId);
        learners.add(cc.nodeId);
        break;
      case ConfChangeType.RemoveNode:
        voters.delete(cc.nodeId);
        learners.delete(cc.nodeId);
        break;
    }
    return { voters, learners };
  }

  private leaderReadIndex(m: Message): void {
    if (this.prs.isSingleton()) {
      // Alone, our commit index is always up to date.
      this.respondToReadIndex(m, this.raftLog.committed);
      return;
    }
    if (!this.committedEntryInCurrentTerm()) {
      // Until an entry of our term commits we may not know the latest commit index (Raft §6.4).
      this.pendingReadIndexMessages.push(m);
      return;
    }
    this.serveReadIndex(m);
  }

  private serveReadIndex(m: Message): void {
    if (this.readOnlyOption === ReadOnlyOption.LeaseBased) {
      this.respondToReadIndex(m, this.raftLog.committed);
      return;
    }
    const context = m.context ?? EMPTY;
    this.readOnly.addRequest(this.raftLog.committed, { ...m, context });
    this.readOnly.recvAck(this.id, context);
    this.bcastHeartbeatWithContext(context);
  }

  private respondToReadIndex(req: Message, index: number): void {
    const requestCtx = req.context ?? EMPTY;
    if (req.from === NONE || req.from === this.id) {
      this.readStates.push({ index, requestCtx });
      return;
    }
    this.send(makeMessage({ type: MessageType.ReadIndexResp, to: req.from, index, context: requestCtx }));
  }

  private releasePendingReadIndexMessages(): void {
    if (this.pendingReadIndexMessages.length === 0) return;
    if (!this.committedEntryInCurrentTerm()) return;
    const waiting = this.pendingReadIndexMessages;
    this.pendingReadIndexMessages = [];
    for (const m of waiting) this.serveReadIndex(m);
  }

  private handleAppendResponse(m: Message): void {
    const pr = this.prs.progress.get(m.from);
    if (!pr) return;
    pr.recentActive = true;
    if (m.reject) {
      this.log('debug', 'received append rejection', {
        from: String(m.from),
        rejected: m.index,
        hint: `${m.rejectHint}/t${m.logTerm}`,
        next: pr.next,
      });
      // Fast back-off: the follower says its log has nothing newer than term m.logTerm up to
      // m.rejectHint; skip to the last index where our log has a term <= that.
      let nextProbeIndex = m.rejectHint;
      if (m.logTerm > 0) nextProbeIndex = this.raftLog.findConflictByTerm(m.rejectHint, m.logTerm).index;
      if (pr.maybeDecrTo(m.index, nextProbeIndex)) {
        if (pr.state === ProgressState.Replicate) pr.becomeProbe();
        this.sendAppend(m.from);
      }
      return;
    }

    const wasPaused = pr.isPaused();
    if (!pr.maybeUpdate(m.index)) return;
    if (pr.state === ProgressState.Probe) {
      pr.becomeReplicate();
    } else if (pr.state === ProgressState.Snapshot && pr.match + 1 >= this.raftLog.firstIndex()) {
      // The follower caught up through the snapshot (or the log): the rest can come from the log.
      this.log('debug', 'recovered from needing snapshot', { from: String(m.from), match: pr.match });
      pr.becomeProbe();
      pr.becomeReplicate();
    } else if (pr.state === ProgressState.Replicate) {
      pr.inflights.freeLE(m.index);
    }

    const committed = this.maybeCommit();
    if (committed && !this.deferCommitBroadcast) {
      this.bcastAppend();
    } else {
      // Deferred: the next AppendEntries, or broadcastCommit(), tells the followers.
      if (committed && !this.commitBroadcastPending) {
        this.commitBroadcastPending = true;
        this.commitBroadcastRound++;
      }
      // The window opened: send what was held back.
      if (wasPaused) this.sendAppend(m.from);
    }
    // Fill the window with whatever is left.
    while (this.maybeSendAppend(m.from, false)) {
      // keep sending
    }
    if (m.from === this.leadTransferee && pr.match === this.raftLog.lastIndex()) {
      this.log('info', 'transferee is up to date; sending TimeoutNow', { to: String(m.from) });
      this.sendTimeoutNow(m.from);
    }
  }

  private handleHeartbeatResponse(m: Message): void {
    const pr = this.prs.progress.get(m.from);
    if (!pr) return;
    pr.recentActive = true;
    pr.probeSent = false;
    // The follower is alive: let one more message into a full window so replication cannot stall.
    if (pr.state === ProgressState.Replicate && pr.inflights.full()) pr.inflights.freeFirstOne();
    if (pr.match < this.raftLog.lastIndex()) this.sendAppend(m.from);

    if (this.readOnlyOption !== ReadOnlyOption.Safe || m.context === undefined) return;
    const acks = this.readOnly.recvAck(m.from, m.context);
    if (!acks || !this.prs.hasQuorum(acks)) return;
    for (const rs of this.readOnly.advance(m.context)) this.respondToReadIndex(rs.req, rs.index);
  }

  private handleTransferLeader(transferee: NodeId): void {
    const pr = this.prs.progress.get(transferee);
    if (!pr) return;
    if (pr.isLearner) {
      this.log('debug', 'ignoring leadership transfer to a learner', { transferee: String(transferee) });
      return;
    }
    const previous = this.leadTransferee;
    if (previous !== NONE) {
      if (previous === transferee) {
        this.log('info', 'leadership transfer to this node is already in progress; ignored', {
          transferee: String(transferee),
        });
        return;
      }
      this.abortLeaderTransfer();
      this.log('info', 'aborted the previous leadership transfer', { previous: String(previous) });
    }
    if (transferee === this.id) {
      this.log('debug', 'already leader; leadership transfer to self ignored');
      return;
    }
    this.log('info', 'starting leadership transfer', { transferee: String(transferee) });
    // The transfer must finish within an election timeout.
    this.electionElapsed = 0;
    this.leadTransferee = transferee;
    if (pr.match === this.raftLog.lastIndex()) {
      this.sendTimeoutNow(transferee);
    } else {
      this.sendAppend(transferee);
    }
  }

  private abortLeaderTransfer(): void {
    this.leadTransferee = NONE;
  }

  private stepCandidate(m: Message): void {
    const myRespType = this.state === StateType.PreCandidate ? MessageType.PreVoteResp : MessageType.VoteResp;
    switch (m.type) {
      case MessageType.Prop:
        throw new RaftError(RaftErrorCode.ProposalDropped, `no leader at term ${this.term}`);
      case MessageType.ReadIndex:
        if (m.from === this.id)
          throw new RaftError(RaftErrorCode.ProposalDropped, 'no leader for read index');
        return;
      case MessageType.App:
        this.becomeFollower(m.term, m.from);
        this.handleAppendEntries(m);
        return;
      case MessageType.Heartbeat:
        this.becomeFollower(m.term, m.from);
        this.handleHeartbeat(m);
        return;
      case MessageType.Snap:
        this.becomeFollower(m.term, m.from);
        this.handleSnapshot(m);
        return;
      case MessageType.TimeoutNow:
        this.log('debug', 'ignored TimeoutNow as a candidate', { from: String(m.from) });
        return;
      default:
        break;
    }
    if (m.type !== myRespType) return;
    const result = this.poll(m.from, !m.reject);
    const tally = this.prs.tallyVotes();
    this.log('info', 'received vote response', {
      type: MessageType[m.type],
      from: String(m.from),
      granted: tally.granted,
      rejected: tally.rejected,
    });
    if (result === VoteResult.Won) {
      if (this.state === StateType.PreCandidate) {
        this.campaign(CampaignType.Election);
      } else {
        this.becomeLeader();
        this.bcastAppend();
      }
    } else if (result === VoteResult.Lost) {
      // A rejected pre-vote / vote at a higher term already made us a follower in step().
      this.becomeFollower(this.term, NONE);
    }
  }

  private stepFollower(m: Message): void {
    switch (m.type) {
      case MessageType.Prop:
        if (this.lead === NONE) {
          throw new RaftError(RaftErrorCode.ProposalDropped, `no leader at term ${this.term}`);
        }
        if (this.disableProposalForwarding) {
          throw new RaftError(RaftErrorCode.ProposalDropped, 'proposal forwarding is disabled');
        }
        this.send({ ...m, to: this.lead, term: 0 });
        return;
      case MessageType.App:
        this.electionElapsed = 0;
        this.lead = m.from;
        this.handleAppendEntries(m);
        return;
      case MessageType.Heartbeat:
        this.electionElapsed = 0;
        this.lead = m.from;
        this.handleHeartbeat(m);
        return;
      case MessageType.Snap:
        this.electionElapsed = 0;
        this.lead = m.from;
        this.handleSnapshot(m);
        return;
      case MessageType.TransferLeader:
        if (this.lead === NONE) {
          this.log('info', 'no leader; dropping leadership transfer request');
          return;
        }
        this.send({ ...m, to: this.lead, term: 0 });
        return;
      case MessageType.TimeoutNow:
        this.log('info', 'received TimeoutNow; campaigning to take over leadership', {
          from: String(m.from),
        });
        // A transfer skips pre-vote: the old leader asked for it, so nobody should be disrupted.
        this.hup(CampaignType.Transfer);
        return;
      case MessageType.ReadIndex:
        if (this.lead === NONE) {
          if (m.from === this.id)
            throw new RaftError(RaftErrorCode.ProposalDropped, 'no leader for read index');
          this.log('info', 'no leader; dropping read index request');
          return;
        }
        this.send({ ...m, to: this.lead, term: 0 });
        return;
      case MessageType.ReadIndexResp:
        this.readStates.push({ index: m.index, requestCtx: m.context ?? EMPTY });
        return;
      default:
        return;
    }
  }

  private handleAppendEntries(m: Message): void {
    if (m.index < this.raftLog.committed) {
      // Everything up to our commit index is known to match: tell the leader where we are.
      this.send(makeMessage({ type: MessageType.AppResp, to: m.from, index: this.raftLog.committed }));
      return;
    }
    const lastNew = this.raftLog.maybeAppend(m.index, m.logTerm, m.commit, m.entries);
    if (lastNew !== undefined) {
      this.send(makeMessage({ type: MessageType.AppResp, to: m.from, index: lastNew }));
      return;
    }
    // Reject with a hint so the leader can skip a whole term of mismatching entries at once: the
    // largest index <= the probed one whose term is <= the probed term.
    const hint = this.raftLog.findConflictByTerm(Math.min(m.index, this.raftLog.lastIndex()), m.logTerm);
    this.log('debug', 'rejected append', {
      from: String(m.from),
      index: m.index,
      logTerm: m.logTerm,
      ourTerm: this.raftLog.termOrZero(m.index),
      hint: `${hint.index}/t${hint.term}`,
    });
    this.send(
      makeMessage({
        type: MessageType.AppResp,
        to: m.from,
        index: m.index,
        reject: true,
        rejectHint: hint.index,
        logTerm: hint.term,
      }),
    );
  }

  private handleHeartbeat(m: Message): void {
    this.raftLog.commitTo(m.commit);
    this.send(makeMessage({ type: MessageType.HeartbeatResp, to: m.from, context: m.context }));
  }

  private handleSnapshot(m: Message): void {
    const snap = m.snapshot;
    if (!snap) {
      this.log('warn', 'received a snapshot message without a snapshot', { from: String(m.from) });
      return;
    }
    const { index, term } = snap.metadata;
    if (this.restore(snap)) {
      this.log('info', 'restored snapshot', { snapshotIndex: index, snapshotTerm: term });
      this.send(makeMessage({ type: MessageType.AppResp, to: m.from, index: this.raftLog.lastIndex() }));
    } else {
      this.log('info', 'ignored snapshot', { snapshotIndex: index, snapshotTerm: term });
      this.send(makeMessage({ type: MessageType.AppResp, to: m.from, index: this.raftLog.committed }));
    }
  }

  /**
   * Installs a snapshot if it is newer than our commit index and not already matched by our log.
   * Returns whether the log was replaced.
   */
  private restore(snap: Snapshot): boolean {
    const { index, term, confState } = snap.metadata;
    if (index <= this.raftLog.committed) return false;
    if (this.state !== StateType.Follower) {
      // Defense in depth: only followers take snapshots. Step down into the next term.
      this.log('warn', 'attempted to restore a snapshot while not a follower; stepping down');
      this.becomeFollower(this.term + 1, NONE);
      return false;
    }
    if (this.raftLog.matchTerm(index, term)) {
      // Our log already has the snapshot's last entry: just fast-forward the commit index.
      this.log('info', 'fast-forwarded commit to snapshot', { snapshotIndex: index, snapshotTerm: term });
      this.raftLog.commitTo(index);
      return false;
    }
    // A node not (yet) in the snapshot's configuration still takes it: it joins through the conf
    // change entries that follow the snapshot.
    this.raftLog.restore(snap);
    this.prs = new ProgressTracker(this.prs.maxInflight);
    this.prs.setConfig(confState.voters, confState.learners, this.raftLog.lastIndex() + 1);
    this.isLearner = this.prs.learners.has(this.id);
    this.prs.progress.get(this.id)?.maybeUpdate(index);
    return true;
  }

  // ---- membership --------------------------------------------------------------------------------

  /** Applies a committed conf change (called by the driver when it applies the entry). */
  applyConfChange(cc: ConfChange): ConfState {
    const { voters, learners } = this.configAfter(cc);
    if (voters.size === 0) {
      // Every node applies the same log, so every node refuses the same change.
      this.log('error', 'refusing a conf change that would remove the last voter', {
        type: ConfChangeType[cc.type],
        node: String(cc.nodeId),
      });
      return this.prs.confState();
    }
    this.prs.setConfig(voters, learners, Math.max(this.raftLog.lastIndex(), 1));
    this.log('info', 'applied conf change', {
      type: ConfChangeType[cc.type],
      node: String(cc.nodeId),
      voters: [...this.prs.confState().voters].map(String),
      learners: [...this.prs.confState().learners].map(String),
    });
    return this.switchToConfig();
  }

  private switchToConfig(): ConfState {
    const cs = this.prs.confState();
    this.isLearner = this.prs.learners.has(this.id);
    if (this.state !== StateType.Leader) return cs;

    if (!this.prs.isVoter(this.id)) {
      // We were removed or demoted: step down, and hand over to a voter that has our whole log so the
      // cluster does not wait an election timeout.
      const lastIndex = this.raftLog.lastIndex();
      let successor: NodeId = NONE;
      this.prs.visit((id, pr) => {
        if (successor === NONE && this.prs.isVoter(id) && pr.match === lastIndex) successor = id;
      });
      this.log('info', 'removed from the configuration; stepping down', { successor: String(successor) });
      this.becomeFollower(this.term, NONE);
      if (successor !== NONE) this.sendTimeoutNow(successor);
      return cs;
    }

    // The quorum changed: maybe more is committed now; new members need the log.
    if (this.maybeCommit()) {
      this.bcastAppend();
    } else {
      this.prs.visit((id) => {
        if (id !== this.id) this.maybeSendAppend(id, false);
      });
    }
    if (this.leadTransferee !== NONE && !this.prs.isVoter(this.leadTransferee)) this.abortLeaderTransfer();
    return cs;
  }
}
