// The RaftLoop over a real RaftNode, MemoryStorage, WAL and Snapshotter in a temp dir. Member 1 of a three-voter
// cluster is driven for real; members 2 and 3 are played by the test (their replies are stepped in by hand).
// Proves: every proposal of one event-loop turn shares one WAL save, messages leave only after the save that
// they depend on has resolved (and never when it failed), inputs arriving during a save are batched into the
// next one, and applyEntries sees the committed entries in log order; the WAL on disk holds what was acked.
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
  | { kind: 'send'; messages: Message[] }
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

/** Polls (one macrotask per try) until `cond` holds; fails after `tries` tries instead of hanging. */
async function until(cond: () => boolean, what: string, tries = 2000): Promise<void> {
  for (let i = 0; i < tries; i++) {
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

async function fixture(): Promise<Fixture> {
  const dir = await mkdtemp(join(tmpdir(), 'cairn-raft-loop-'));
  const walDir = join(dir, 'wal');
  const wal = await Wal.create(walDir, Buffer.from('raft-loop-test'), {
    segmentSizeBytes: 256 * 1024,
    preallocate: false,
  });
  const snapshotter = new Snapshotter(join(dir, 'snap'));
  const storage = new MemoryStorage();
  RaftNode.bootstrap(storage, [{ id: ME }, { id: PEER_B }, { id: PEER_C }]);
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
  });

  const events: Event[] = [];
  const f = {} as Fixture;
  const realSave = wal.save.bind(wal);
  const saveSpy = vi.spyOn(wal, 'save').mockImplementation(async (hardState, entries, sync) => {
    events.push({ kind: 'save-start', entries: entries.map((e) => e.index), hardState });
    const failure = f.failNextSave;
    if (failure) {
      f.failNextSave = undefined;
      throw failure;
    }
    await realSave(hardState, entries, sync);
    if (f.gate) await f.gate.promise;
    events.push({ kind: 'save-done' });
  });
  const transport: Transport = {
    send: (messages) => events.push({ kind: 'send', messages: [...messages] }),
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

describe('RaftLoop persistence before sending', () => {
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

  it('shares one WAL save among all proposals of a turn and sends their AppendEntries only after it resolved', async () => {
    const f = await fixture();
    await becomeLeader(f);
    await spin();
    const savesBefore = f.saveSpy.mock.calls.length;
    const eventsBefore = f.events.length;

    f.gate = deferred();
    const dropped: unknown[] = [];
    for (let i = 0; i < 10; i++) f.loop.propose(Buffer.from(`p${i}`), (err) => dropped.push(err));
    await until(() => f.saveSpy.mock.calls.length > savesBefore, 'the proposals are saved');
    await spin();

    // Exactly one save holds all ten entries, and nothing has been sent since it started.
    const saves = f.events.slice(eventsBefore).filter((e) => e.kind === 'save-start');
    expect(saves).toHaveLength(1);
    const saved = saves[0] as Extract<Event, { kind: 'save-start' }>;
    expect(saved.entries).toHaveLength(10);
    const firstIndex = saved.entries[0];
    expect(saved.entries).toEqual(Array.from({ length: 10 }, (_, i) => firstIndex + i));
    expect(f.events.slice(eventsBefore).filter((e) => e.kind === 'send')).toEqual([]);

    // Proposals made while that save is in flight wait and then share the next save.
    for (let i = 10; i < 13; i++) f.loop.propose(Buffer.from(`p${i}`), (err) => dropped.push(err));
    await spin();
    expect(f.saveSpy.mock.calls.length).toBe(savesBefore + 1);

    f.gate.resolve();
    f.gate = undefined;
    await until(() => f.saveSpy.mock.calls.length === savesBefore + 2, 'the second batch is saved');
    await until(
      () =>
        f.sends().some((m) => m.type === MessageType.App && m.entries.some((e) => text(e.data) === 'p12')),
      'the second batch is sent',
    );
    const later = f.events.slice(eventsBefore);
    const secondSave = later.filter((e) => e.kind === 'save-start')[1] as Extract<
      Event,
      { kind: 'save-start' }
    >;
    expect(secondSave.entries).toEqual([firstIndex + 10, firstIndex + 11, firstIndex + 12]);

    // Each AppendEntries carrying a proposal comes after the save-done of the save that wrote it.
    const firstSaveDone = later.findIndex((e) => e.kind === 'save-done');
    later.forEach((event, at) => {
      if (event.kind !== 'send') return;
      for (const m of event.messages) {
        if (m.type !== MessageType.App || m.entries.length === 0) continue;
        expect(at).toBeGreaterThan(firstSaveDone);
        const last = m.entries[m.entries.length - 1].index;
        if (last >= firstIndex + 10) {
          const secondDone = later.findIndex((e, i) => e.kind === 'save-done' && i > firstSaveDone);
          expect(at).toBeGreaterThan(secondDone);
        }
      }
    });
    const toB = f.sends().filter((m) => m.type === MessageType.App && m.to === PEER_B);
    const sentToB = toB.flatMap((m) => m.entries.map((e) => text(e.data))).filter((d) => d.startsWith('p'));
    expect(sentToB).toEqual(Array.from({ length: 13 }, (_, i) => `p${i}`));
    expect(dropped).toEqual([]);
  });

  it('never sends the messages of a Ready whose save failed, and reports the failure as fatal', async () => {
    const f = await fixture();
    await becomeLeader(f);
    await spin();
    const sendsBefore = f.sends().length;
    const boom = new Error('disk on fire');
    f.failNextSave = boom;
    f.loop.propose(Buffer.from('doomed'), () => undefined);
    await until(() => f.fatal.length > 0, 'the failure is reported');
    await spin();
    expect(f.fatal).toEqual([boom]);
    const sentAfter = f.sends().slice(sendsBefore);
    expect(sentAfter.some((m) => m.entries.some((e) => text(e.data) === 'doomed'))).toBe(false);

    // A stopped loop takes no more input: nothing else is saved or sent.
    const saves = f.saveSpy.mock.calls.length;
    f.loop.propose(Buffer.from('after'), () => undefined);
    f.loop.call((raft) => raft.tick());
    await spin();
    expect(f.saveSpy.mock.calls.length).toBe(saves);
    expect(f.sends().length).toBe(sendsBefore);
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

  it("writes a Ready's messages out before applying its committed entries, which wait for the next turn", async () => {
    const f = await fixture();
    const { noopIndex } = await becomeLeader(f);
    f.loop.propose(Buffer.from('x'), () => undefined);
    const index = noopIndex + 1;
    await until(
      () => f.sends().some((m) => m.type === MessageType.App && m.entries.some((e) => e.index === index)),
      'x is sent',
    );
    const from = f.events.length;
    const term = f.raft.status().hardState.term;
    // B's answer commits x; the leader tells B of the new commit in the same Ready (commit broadcast).
    f.loop.step(makeMessage({ type: MessageType.AppResp, from: PEER_B, to: ME, term, index }));
    await until(() => f.applied.some((e) => e.index === index), 'x is applied');
    const kinds = f.events.slice(from).map((e) => e.kind);
    const readyAt = kinds.indexOf('save-start');
    const applyAt = kinds.indexOf('apply');
    expect(kinds.slice(readyAt, applyAt)).toEqual(['save-start', 'save-done', 'send', 'flush', 'next-turn']);
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
