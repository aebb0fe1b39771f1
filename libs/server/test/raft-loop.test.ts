// The RaftLoop over a real RaftNode, MemoryStorage, WAL and Snapshotter in a temp dir. Member 1 of a three-voter
// cluster is driven for real; members 2 and 3 are played by the test (their replies are stepped in by hand).
// Proves: every proposal of one event-loop turn shares one WAL save; a leader's AppendEntries leave before its own
// save (the followers write while it does) but no answer is acted on and nothing applied before that save
// resolved; every other message (a vote, a follower's answer) leaves only after the save it depends on resolved,
// and never when it failed; inputs arriving during a save are batched into the next one, and applyEntries sees
// the committed entries in log order; the WAL on disk holds what was acked. An input arriving after the loop was
// idle is handled in the same event-loop phase (its messages leave a turn sooner); a deferred commit broadcast
// waits its whole delay for each commit advance.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  type Entry,
  EntryType,
  type HardState,
  MemoryStorage,
  type Message,
  MessageType,
  RaftNode,
  type SoftState,
  StateType,
  ConfChangeType,
  decodeConfChange,
  makeMessage,
  seededRandom,
} from '@cairn/raft';
import { Snapshotter, Wal } from '@cairn/storage';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { silentLogger } from '../src/logger';
import { RaftLoop } from '../src/raft-loop';
import type { Transport } from '../src/transport';

const ME = 1n;
const PEER_B = 2n;
const PEER_C = 3n;

type Event =
  | { kind: 'save-start'; entries: number[]; hardState?: HardState }
  | { kind: 'save-done' }
  | { kind: 'send'; messages: Message[]; at: number }
  | { kind: 'flush' }
  /** A mark left by flush() in the event loop's next turn. */
  | { kind: 'next-turn' }
  | { kind: 'apply'; entries: Entry[] };

interface Deferred {
  promise: Promise<void>;
  resolve(): void;
}

function deferred(): Deferred {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}

/**
 * Polls (one macrotask per try) until `cond` holds; fails after `timeoutMs` instead of hanging. Bounded in time,
 * not in tries: a leader's fsync runs on libuv's pool while the event loop spins.
 */
async function until(cond: () => boolean, what: string, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (cond()) return;
    await new Promise((resolve) => setImmediate(resolve));
  }
  throw new Error(`timed out waiting for: ${what}`);
}

/** Lets the loop run for a few macrotasks (to show that something does NOT happen). */
async function spin(turns = 20): Promise<void> {
  for (let i = 0; i < turns; i++) await new Promise((resolve) => setImmediate(resolve));
}

const text = (data: Uint8Array): string => Buffer.from(data).toString();

interface Fixture {
  dir: string;
  walDir: string;
  wal: Wal;
  loop: RaftLoop;
  raft: RaftNode;
  events: Event[];
  applied: Entry[];
  softStates: SoftState[];
  fatal: unknown[];
  /** While set, wal.save waits on it after writing (the write happened; the caller has not been told yet). */
  gate?: Deferred;
  /** When set, the next wal.save rejects with it. */
  failNextSave?: Error;
  saveSpy: ReturnType<typeof vi.spyOn>;
  sends(): Message[];
}

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/**
 * A RaftLoop for member 1 of a cluster of `voters` (default: members 1, 2 and 3); with `commitBroadcastDelayMs`,
 * commits are broadcast deferred (as CairnNode runs it).
 */
async function fixture(
  voters: bigint[] = [ME, PEER_B, PEER_C],
  commitBroadcastDelayMs?: number,
): Promise<Fixture> {
  const dir = await mkdtemp(join(tmpdir(), 'cairn-raft-loop-'));
  const walDir = join(dir, 'wal');
  const wal = await Wal.create(walDir, Buffer.from('raft-loop-test'), {
    segmentSizeBytes: 256 * 1024,
    preallocate: false,
  });
  const snapshotter = new Snapshotter(join(dir, 'snap'));
  const storage = new MemoryStorage();
  RaftNode.bootstrap(
    storage,
    voters.map((id) => ({ id })),
  );
  // As CairnNode does for a new member: the bootstrap entries go to the WAL before Raft starts.
  await wal.save(
    storage.initialState().hardState,
    storage.entries(1, storage.lastIndex() + 1, Number.MAX_SAFE_INTEGER),
    true,
  );
  const raft = new RaftNode({
    id: ME,
    electionTick: 10,
    heartbeatTick: 1,
    storage,
    random: seededRandom(7),
    checkQuorum: false,
    preVote: false,
    deferCommitBroadcast: commitBroadcastDelayMs !== undefined,
  });

  const events: Event[] = [];
  const f = {} as Fixture;
  const realSave = wal.save.bind(wal);
  const saveSpy = vi.spyOn(wal, 'save').mockImplementation(async (hardState, entries, sync, mode) => {
    events.push({ kind: 'save-start', entries: entries.map((e) => e.index), hardState });
    const failure = f.failNextSave;
    if (failure) {
      f.failNextSave = undefined;
      throw failure;
    }
    await realSave(hardState, entries, sync, mode);
    if (f.gate) await f.gate.promise;
    events.push({ kind: 'save-done' });
  });
  const transport: Transport = {
    send: (messages) => events.push({ kind: 'send', messages: [...messages], at: performance.now() }),
    flush: () => {
      events.push({ kind: 'flush' });
      setImmediate(() => events.push({ kind: 'next-turn' }));
    },
    addPeer: () => undefined,
    removePeer: () => undefined,
    activePeers: () => [],
    close: async () => undefined,
  };
  const applied: Entry[] = [];
  const softStates: SoftState[] = [];
  const fatal: unknown[] = [];
  const loop = new RaftLoop(
    raft,
    storage,
    wal,
    snapshotter,
    transport,
    {
      applyEntries: async (entries) => {
        events.push({ kind: 'apply', entries });
        for (const entry of entries) {
          if (entry.type === EntryType.ConfChange) raft.applyConfChange(decodeConfChange(entry.data));
          applied.push(entry);
        }
      },
      applySnapshot: async () => undefined,
      onSoftState: (state) => softStates.push(state),
      onHardState: () => undefined,
      onReadStates: () => undefined,
      onFatal: (err) => fatal.push(err),
    },
    silentLogger,
    { commitBroadcastDelayMs },
  );
  Object.assign(f, {
    dir,
    walDir,
    wal,
    loop,
    raft,
    events,
    applied,
    softStates,
    fatal,
    saveSpy,
    sends: () => events.flatMap((e) => (e.kind === 'send' ? e.messages : [])),
  });
  cleanups.push(async () => {
    f.gate?.resolve();
    await loop.stop();
    await wal.close();
    await rm(dir, { recursive: true, force: true });
  });
  // A tick interval far longer than any test: elections and heartbeats happen only when the test asks.
  loop.start(60 * 60 * 1000);
  return f;
}

/** Campaigns and wins with PEER_B's vote; resolves once member 1 leads and its no-op entry is persisted. */
async function becomeLeader(f: Fixture): Promise<{ term: number; noopIndex: number }> {
  await until(() => f.applied.length === 3, 'the bootstrap conf changes are applied');
  f.loop.call((raft) => raft.campaign());
  await until(() => f.sends().some((m) => m.type === MessageType.Vote), 'vote requests are sent');
  const vote = f.sends().find((m) => m.type === MessageType.Vote)!;
  f.loop.step(makeMessage({ type: MessageType.VoteResp, from: PEER_B, to: ME, term: vote.term }));
  await until(() => f.softStates.some((s) => s.raftState === StateType.Leader), 'member 1 leads');
  await until(() => f.sends().some((m) => m.type === MessageType.App), 'the no-op is replicated');
  const { term, commit } = f.raft.status().hardState;
  const noopIndex = commit + 1;
  // PEER_B acknowledges the no-op: that commits it (B and member 1 are a quorum) and moves B's progress from
  // probe to replicate, so later entries are pipelined to B without waiting for each answer.
  f.loop.step(makeMessage({ type: MessageType.AppResp, from: PEER_B, to: ME, term, index: noopIndex }));
  await until(() => f.applied.some((e) => e.index === noopIndex), 'the no-op is committed and applied');
  return { term, noopIndex };
}

function entry(index: number, term: number, data: string): Entry {
  return { index, term, type: EntryType.Normal, data: Buffer.from(data) };
}

/** An AppendEntries from PEER_B as leader of `term`, after the bootstrap entries (index 3, term 1). */
function appendFromB(term: number, entries: Entry[], commit: number): Message {
  const prev = entries[0].index - 1;
  return makeMessage({
    type: MessageType.App,
    from: PEER_B,
    to: ME,
    term,
    logTerm: prev <= 3 ? 1 : term,
    index: prev,
    entries,
    commit,
  });
}

describe('RaftLoop persistence and sending', () => {
  it('saves the new term and vote to the WAL before any vote request leaves', async () => {
    const f = await fixture();
    await until(() => f.applied.length === 3, 'bootstrap applied');
    f.gate = deferred();
    f.loop.call((raft) => raft.campaign());
    await until(
      () => f.events.some((e) => e.kind === 'save-start' && e.hardState?.vote === ME),
      'the vote is saved',
    );
    await spin();
    expect(f.sends().filter((m) => m.type === MessageType.Vote)).toEqual([]);

    f.gate.resolve();
    f.gate = undefined;
    await until(() => f.sends().some((m) => m.type === MessageType.Vote), 'vote requests are sent');
    const saveDone = f.events.findIndex((e) => e.kind === 'save-done');
    const firstVote = f.events.findIndex(
      (e) => e.kind === 'send' && e.messages.some((m) => m.type === MessageType.Vote),
    );
    expect(saveDone).toBeGreaterThanOrEqual(0);
    expect(firstVote).toBeGreaterThan(saveDone);
    const votes = f.sends().filter((m) => m.type === MessageType.Vote);
    expect(votes.map((m) => m.to).sort()).toEqual([PEER_B, PEER_C]);
  });

  it("shares one WAL save among a turn's proposals, sends the leader's AppendEntries before it, and acts on no answer until it resolved", async () => {
    const f = await fixture();
    const { term } = await becomeLeader(f);
    await spin();
    const savesBefore = f.saveSpy.mock.calls.length;
    const eventsBefore = f.events.length;
    const appliedBefore = f.applied.length;

    f.gate = deferred();
    const dropped: unknown[] = [];
    for (let i = 0; i < 10; i++) f.loop.propose(Buffer.from(`p${i}`), (err) => dropped.push(err));
    await until(() => f.saveSpy.mock.calls.length > savesBefore, 'the proposals are saved');
    await spin();

    // Exactly one save holds all ten entries; their AppendEntries left before it started (Raft thesis 10.2.1).
    const later = (): Event[] => f.events.slice(eventsBefore);
    const saves = later().filter((e) => e.kind === 'save-start');
    expect(saves).toHaveLength(1);
    const saved = saves[0] as Extract<Event, { kind: 'save-start' }>;
    expect(saved.entries).toHaveLength(10);
    const firstIndex = saved.entries[0];
    expect(saved.entries).toEqual(Array.from({ length: 10 }, (_, i) => firstIndex + i));
    const saveAt = later().indexOf(saved);
    const appAt = later().findIndex(
      (e) => e.kind === 'send' && e.messages.some((m) => m.type === MessageType.App && m.to === PEER_B),
    );
    expect(appAt).toBeGreaterThanOrEqual(0);
    expect(appAt).toBeLessThan(saveAt);

    // B's answer arrives while the leader's own save is in flight: it waits, so nothing commits or applies on
    // the strength of entries the leader has not yet made durable.
    const lastOfFirst = firstIndex + 9;
    f.loop.step(makeMessage({ type: MessageType.AppResp, from: PEER_B, to: ME, term, index: lastOfFirst }));
    // Proposals made while that save is in flight wait and then share the next save.
    for (let i = 10; i < 13; i++) f.loop.propose(Buffer.from(`p${i}`), (err) => dropped.push(err));
    await spin();
    expect(f.saveSpy.mock.calls.length).toBe(savesBefore + 1);
    expect(f.applied.length).toBe(appliedBefore);
    expect(f.raft.status().hardState.commit).toBeLessThan(firstIndex);

    f.gate.resolve();
    f.gate = undefined;
    await until(() => f.applied.some((e) => e.index === lastOfFirst), 'the first batch commits and applies');
    await until(
      () =>
        f.sends().some((m) => m.type === MessageType.App && m.entries.some((e) => text(e.data) === 'p12')),
      'the second batch is sent',
    );
    await until(() => f.saveSpy.mock.calls.length === savesBefore + 2, 'the second batch is saved');
    const secondSave = later().filter((e) => e.kind === 'save-start')[1] as Extract<
      Event,
      { kind: 'save-start' }
    >;
    expect(secondSave.entries).toEqual([firstIndex + 10, firstIndex + 11, firstIndex + 12]);
    const firstSaveDone = later().findIndex((e) => e.kind === 'save-done');
    const firstApply = later().findIndex((e) => e.kind === 'apply');
    expect(firstApply).toBeGreaterThan(firstSaveDone);

    const toB = f.sends().filter((m) => m.type === MessageType.App && m.to === PEER_B);
    const sentToB = toB.flatMap((m) => m.entries.map((e) => text(e.data))).filter((d) => d.startsWith('p'));
    expect(sentToB).toEqual(Array.from({ length: 13 }, (_, i) => `p${i}`));
    expect(dropped).toEqual([]);
  });

  it('as a follower, answers an AppendEntries only after the save of its entries resolved, in a new term and within one', async () => {
    const f = await fixture();
    await until(() => f.applied.length === 3, 'bootstrap applied');
    // The first AppendEntries brings term 2 (a hard state to save); the second changes neither term nor vote.
    for (const index of [4, 5]) {
      f.gate = deferred();
      const eventsBefore = f.events.length;
      f.loop.step(appendFromB(2, [entry(index, 2, `x${index}`)], 3));
      await until(
        () => f.events.slice(eventsBefore).some((e) => e.kind === 'save-start' && e.entries.includes(index)),
        `entry ${index} is saved`,
      );
      await spin();
      const answers = (): Message[] =>
        f.events
          .slice(eventsBefore)
          .flatMap((e) => (e.kind === 'send' ? e.messages : []))
          .filter((m) => m.type === MessageType.AppResp);
      expect(answers()).toEqual([]);

      f.gate.resolve();
      f.gate = undefined;
      await until(() => answers().length > 0, `the answer for entry ${index} is sent`);
      const later = f.events.slice(eventsBefore);
      const saveDone = later.findIndex((e) => e.kind === 'save-done');
      const answerAt = later.findIndex(
        (e) => e.kind === 'send' && e.messages.some((m) => m.type === MessageType.AppResp),
      );
      expect(saveDone).toBeGreaterThanOrEqual(0);
      expect(answerAt).toBeGreaterThan(saveDone);
      const resp = answers()[0];
      expect({ to: resp.to, index: resp.index, reject: resp.reject }).toEqual({
        to: PEER_B,
        index,
        reject: false,
      });
    }
  });

  it("as a lone voter, tells a learner of a commit only after the entries it covers are on the leader's disk", async () => {
    // A lone voter commits its entries as it appends them: the Ready that saves x also commits x, and an
    // AppendEntries leaving before that save would let the learner apply an entry a crash could still erase.
    const f = await fixture([ME]);
    await until(() => f.applied.length === 1, 'bootstrap applied');
    f.loop.call((raft) => raft.campaign());
    await until(() => f.softStates.some((s) => s.raftState === StateType.Leader), 'member 1 leads');
    f.loop.proposeConfChange(
      { type: ConfChangeType.AddLearnerNode, nodeId: PEER_B, context: new Uint8Array(0) },
      () => undefined,
    );
    await until(
      () => f.sends().some((m) => m.type === MessageType.App && m.to === PEER_B),
      'the learner is probed',
    );
    const probe = f.sends().find((m) => m.type === MessageType.App && m.to === PEER_B)!;
    const caughtUp = probe.index + probe.entries.length;
    const term = f.raft.status().hardState.term;
    f.loop.step(makeMessage({ type: MessageType.AppResp, from: PEER_B, to: ME, term, index: caughtUp }));
    await until(() => f.raft.status().progress?.get(PEER_B)?.match === caughtUp, 'the learner is caught up');
    await spin();

    const from = f.events.length;
    f.loop.propose(Buffer.from('x'), () => undefined);
    await until(() => f.applied.some((e) => text(e.data) === 'x'), 'x commits and applies');
    await until(
      () => f.sends().some((m) => m.to === PEER_B && m.entries.some((e) => text(e.data) === 'x')),
      'x is sent to the learner',
    );
    const later = f.events.slice(from);
    const savedAt = later.findIndex((e) => e.kind === 'save-start' && e.entries.length > 0);
    const doneAt = later.findIndex((e, i) => e.kind === 'save-done' && i > savedAt);
    const sentAt = later.findIndex(
      (e) => e.kind === 'send' && e.messages.some((m) => m.entries.some((x) => text(x.data) === 'x')),
    );
    expect(savedAt).toBeGreaterThanOrEqual(0);
    expect(sentAt).toBeGreaterThan(doneAt);
  });

  it("never sends a follower's answer when its save failed, and reports the failure as fatal", async () => {
    const f = await fixture();
    await until(() => f.applied.length === 3, 'bootstrap applied');
    const boom = new Error('disk on fire');
    f.failNextSave = boom;
    f.loop.step(appendFromB(2, [entry(4, 2, 'doomed')], 3));
    await until(() => f.fatal.length > 0, 'the failure is reported');
    await spin();
    expect(f.fatal).toEqual([boom]);
    expect(f.sends()).toEqual([]);

    // A stopped loop takes no more input: nothing else is saved or sent.
    const saves = f.saveSpy.mock.calls.length;
    f.loop.step(appendFromB(2, [entry(5, 2, 'after')], 3));
    f.loop.call((raft) => raft.tick());
    await spin();
    expect(f.saveSpy.mock.calls.length).toBe(saves);
    expect(f.sends()).toEqual([]);
  });

  it('as a leader whose save failed, applies nothing more, reports the failure as fatal and stops', async () => {
    const f = await fixture();
    const { term } = await becomeLeader(f);
    await spin();
    const appliedBefore = f.applied.length;
    const boom = new Error('disk on fire');
    f.failNextSave = boom;
    f.loop.propose(Buffer.from('doomed'), () => undefined);
    await until(() => f.fatal.length > 0, 'the failure is reported');
    // Its AppendEntries may have left (they went out before the save); B's answer changes nothing now.
    const doomed = f.sends().find((m) => m.entries.some((e) => text(e.data) === 'doomed'));
    if (doomed) {
      const index = doomed.entries[doomed.entries.length - 1].index;
      f.loop.step(makeMessage({ type: MessageType.AppResp, from: PEER_B, to: ME, term, index }));
    }
    await spin();
    expect(f.fatal).toEqual([boom]);
    expect(f.applied.length).toBe(appliedBefore);

    const saves = f.saveSpy.mock.calls.length;
    const sends = f.sends().length;
    f.loop.propose(Buffer.from('after'), () => undefined);
    f.loop.call((raft) => raft.tick());
    await spin();
    expect(f.saveSpy.mock.calls.length).toBe(saves);
    expect(f.sends().length).toBe(sends);
  });
});

describe('RaftLoop apply', () => {
  it('hands committed entries to applyEntries once, in log order, after they were saved', async () => {
    const f = await fixture();
    const { noopIndex } = await becomeLeader(f);
    const payloads = Array.from({ length: 25 }, (_, i) => `v${i}`);
    // Three turns of proposals.
    for (const chunk of [payloads.slice(0, 10), payloads.slice(10, 11), payloads.slice(11)]) {
      for (const p of chunk) f.loop.propose(Buffer.from(p), () => undefined);
      await spin(3);
    }
    const last = noopIndex + payloads.length;
    await until(
      () => f.sends().some((m) => m.type === MessageType.App && m.entries.some((e) => e.index === last)),
      'all sent',
    );
    expect(f.applied.filter((e) => e.index > noopIndex)).toEqual([]); // nothing commits without a quorum

    const term = f.raft.status().hardState.term;
    f.loop.step(makeMessage({ type: MessageType.AppResp, from: PEER_B, to: ME, term, index: last }));
    await until(() => f.applied.some((e) => e.index === last), 'the last entry is applied');

    const indexes = f.applied.map((e) => e.index);
    expect(indexes).toEqual(Array.from({ length: last }, (_, i) => i + 1));
    const appliedPayloads = f.applied
      .filter((e) => e.type === EntryType.Normal && e.data.length > 0)
      .map((e) => text(e.data));
    expect(appliedPayloads).toEqual(payloads);

    // Every applied entry had been handed to a save that completed before the apply call.
    for (const [at, event] of f.events.entries()) {
      if (event.kind !== 'apply') continue;
      for (const entry of event.entries) {
        if (entry.index <= 3) continue; // bootstrap entries were saved by the fixture, before the loop
        const savedAt = f.events.findIndex((e) => e.kind === 'save-start' && e.entries.includes(entry.index));
        const doneAt = f.events.findIndex((e, i) => e.kind === 'save-done' && i > savedAt);
        expect(savedAt).toBeGreaterThanOrEqual(0);
        expect(doneAt).toBeLessThan(at);
      }
    }

    // What the WAL holds on disk: every proposed entry and the commit that covers them.
    await f.loop.stop();
    await f.wal.close();
    const reopened = await Wal.open(f.walDir, { index: 0, term: 0 });
    try {
      expect(reopened.entries.map((e) => e.index)).toEqual(Array.from({ length: last }, (_, i) => i + 1));
      const onDisk = reopened.entries
        .filter((e) => e.type === EntryType.Normal && e.data.length > 0)
        .map((e) => text(e.data));
      expect(onDisk).toEqual(payloads);
      expect(reopened.hardState.commit).toBe(last);
      expect(reopened.hardState.term).toBe(term);
      expect(reopened.hardState.vote).toBe(ME);
    } finally {
      await reopened.wal.close();
    }
  });

  it('as a follower, writes its answer out before applying the entries the same Ready committed, without waiting a turn for the write', async () => {
    const f = await fixture();
    await until(() => f.applied.length === 3, 'bootstrap applied');
    const from = f.events.length;
    // One AppendEntries brings entry 4 and commits it: the Ready saves it, answers B and applies it.
    f.loop.step(appendFromB(2, [entry(4, 2, 'x')], 4));
    await until(() => f.applied.some((e) => e.index === 4), 'x is applied');
    const kinds = f.events.slice(from).map((e) => e.kind);
    const readyAt = kinds.indexOf('save-start');
    const applyAt = kinds.indexOf('apply');
    // flush() leaves the answer in its socket (Transport.flush): nothing waits for the turn to end.
    expect(kinds.slice(readyAt, applyAt)).toEqual(['save-start', 'save-done', 'send', 'flush']);
  });

  it('as a leader with a lone write, sends first, then saves in the same turn, then applies what that Ready committed', async () => {
    const f = await fixture();
    const { noopIndex } = await becomeLeader(f);
    await new Promise((resolve) => setTimeout(resolve, 5)); // idle: this write is alone
    f.loop.propose(Buffer.from('x'), () => undefined);
    const index = noopIndex + 1;
    await until(
      () => f.sends().some((m) => m.type === MessageType.App && m.entries.some((e) => e.index === index)),
      'x is sent',
    );
    await until(() => {
      const savedAt = f.events.findIndex((e) => e.kind === 'save-start' && e.entries.includes(index));
      return savedAt >= 0 && f.events.some((e, i) => e.kind === 'save-done' && i > savedAt);
    }, 'x is saved');
    const term = f.raft.status().hardState.term;
    // B's answer commits x; the leader tells B of the new commit in the same Ready (commit broadcast). It
    // arrives at an idle loop: a lone Ready, whose messages are in their sockets when flush() returns, so its
    // save starts before the turn ends.
    await new Promise((resolve) => setTimeout(resolve, 5));
    const from = f.events.length;
    f.loop.step(makeMessage({ type: MessageType.AppResp, from: PEER_B, to: ME, term, index }));
    await until(() => f.applied.some((e) => e.index === index), 'x is applied');
    const kinds = f.events.slice(from).map((e) => e.kind);
    const applyAt = kinds.indexOf('apply');
    expect(kinds.slice(0, 3)).toEqual(['send', 'flush', 'save-start']);
    expect(applyAt).toBeGreaterThan(kinds.indexOf('save-done'));
  });

  it('stop() waits for the Ready being handled and then takes no more input', async () => {
    const f = await fixture();
    await becomeLeader(f);
    f.gate = deferred();
    const eventsBefore = f.events.length;
    f.loop.propose(Buffer.from('in-flight'), () => undefined);
    await until(
      () => f.events.slice(eventsBefore).some((e) => e.kind === 'save-start' && e.entries.length > 0),
      'save started',
    );
    let stopped = false;
    const stopping = f.loop.stop().then(() => (stopped = true));
    await spin();
    expect(stopped).toBe(false);
    f.gate.resolve();
    f.gate = undefined;
    await stopping;
    expect(stopped).toBe(true);
    const saves = f.saveSpy.mock.calls.length;
    f.loop.propose(Buffer.from('after-stop'), () => undefined);
    await spin();
    expect(f.saveSpy.mock.calls.length).toBe(saves);
  });
});

describe('RaftLoop scheduling', () => {
  it('handles an input that arrives after the loop was idle in the same event-loop phase, not on a later turn', async () => {
    const f = await fixture();
    const { noopIndex } = await becomeLeader(f);
    await new Promise((resolve) => setTimeout(resolve, 5)); // idle for longer than IDLE_DRAIN_MS
    const from = f.events.length;
    f.loop.propose(Buffer.from('x'), () => undefined);
    // Microtasks only: a drain left to setImmediate would not have run yet.
    for (let i = 0; i < 5; i++) await Promise.resolve();
    const sent = f.events
      .slice(from)
      .some(
        (e) =>
          e.kind === 'send' &&
          e.messages.some(
            (m) => m.type === MessageType.App && m.entries.some((x) => x.index === noopIndex + 1),
          ),
      );
    expect(sent).toBe(true);
  });

  it('leaves an input that arrives while the event loop is busy (no I/O wait since the last drain) to the next turn, with those that come with it', async () => {
    const f = await fixture();
    const { noopIndex } = await becomeLeader(f);
    await new Promise((resolve) => setTimeout(resolve, 5));
    // A Ready drained, then work on the event loop that never waits for I/O (a watch fan-out's turns).
    f.loop.propose(Buffer.from('w'), () => undefined);
    await until(() => f.saveSpy.mock.calls.length > 0 && !f.loop['handling'], 'w drained');
    await new Promise<void>((resolve) => {
      const busyUntil = performance.now() + 5;
      const spin = (): void => {
        if (performance.now() < busyUntil) setImmediate(spin);
        else resolve();
      };
      setImmediate(spin);
    });
    const from = f.events.length;
    f.loop.propose(Buffer.from('x'), () => undefined);
    f.loop.propose(Buffer.from('y'), () => undefined);
    for (let i = 0; i < 5; i++) await Promise.resolve();
    expect(f.events.slice(from).some((e) => e.kind === 'send')).toBe(false);
    await until(() => f.events.slice(from).some((e) => e.kind === 'send'), 'x and y sent');
    const apps = f.events
      .slice(from)
      .filter((e) => e.kind === 'send')
      .flatMap((e) => e.messages.filter((m) => m.type === MessageType.App && m.entries.length > 0));
    // One AppendEntries per follower carries both: they shared a Ready.
    expect(apps[0].entries.map((e) => e.index)).toEqual([noopIndex + 2, noopIndex + 3]);
  });

  it('gives each deferred commit its whole broadcast delay: a timer left from a commit an AppendEntries already carried does not send the next one early', async () => {
    const delayMs = 300;
    const f = await fixture(undefined, delayMs);
    const { term, noopIndex } = await becomeLeader(f);
    const commitOf = async (data: string, index: number): Promise<number> => {
      f.loop.propose(Buffer.from(data), () => undefined);
      await until(
        () => f.events.some((e) => e.kind === 'save-start' && e.entries.includes(index)),
        `${data} saved`,
      );
      await until(() => f.events.some((e) => e.kind === 'save-done'), `${data} save done`);
      await spin();
      const steppedAt = performance.now();
      f.loop.step(makeMessage({ type: MessageType.AppResp, from: PEER_B, to: ME, term, index }));
      await until(() => f.applied.some((e) => e.index === index), `${data} committed and applied`);
      return steppedAt;
    };
    // The no-op's commit may still be waiting for its broadcast: let it go first.
    await until(
      () =>
        f.sends().some((m) => m.type === MessageType.App && m.entries.length === 0 && m.commit >= noopIndex),
      'the no-op commit is broadcast',
    );
    await commitOf('x1', noopIndex + 1); // arms the broadcast timer for x1's commit
    await new Promise((resolve) => setTimeout(resolve, delayMs / 3));
    const x2CommittedFrom = await commitOf('x2', noopIndex + 2); // x2's AppendEntries carried x1's commit
    await until(
      () =>
        f.events.some(
          (e) =>
            e.kind === 'send' &&
            e.messages.some(
              (m) => m.type === MessageType.App && m.entries.length === 0 && m.commit >= noopIndex + 2,
            ),
        ),
      "x2's commit is broadcast",
    );
    // Every AppendEntries without entries after x2's commit went out no sooner than the delay after it.
    const emptyAfter = f.events.filter(
      (e): e is Extract<Event, { kind: 'send' }> =>
        e.kind === 'send' &&
        e.at >= x2CommittedFrom &&
        e.messages.some((m) => m.type === MessageType.App && m.entries.length === 0),
    );
    expect(emptyAfter.length).toBeGreaterThan(0);
    for (const e of emptyAfter) expect(e.at - x2CommittedFrom).toBeGreaterThanOrEqual(delayMs - 2);
  });
});
