// Helpers to set up single nodes in a precise state for unit tests.
import type { Storage } from '../../src/contracts';
import { MemoryStorage } from '../../src/memory-storage';
import { makeMessage } from '../../src/message';
import {
  EntryType,
  MessageType,
  NONE,
  StateType,
  type Entry,
  type Message,
  type NodeId,
} from '../../src/types';
import { TestNode, type NodeOptions } from './network';

export const enc = (s: string): Uint8Array => new TextEncoder().encode(s);
export const dec = (b: Uint8Array): string => new TextDecoder().decode(b);

export function entry(index: number, term: number, data = ''): Entry {
  return { index, term, type: EntryType.Normal, data: enc(data) };
}

/** Entries 1..n with the given terms. */
export function entriesWithTerms(terms: number[], startIndex = 1): Entry[] {
  return terms.map((t, i) => entry(startIndex + i, t));
}

export interface NodeSetup extends NodeOptions {
  voters: NodeId[];
  learners?: NodeId[];
  /** Log entries already persisted (indexes from 1). */
  entries?: Entry[];
  term?: number;
  vote?: NodeId;
  commit?: number;
  seed?: number;
}

export function storageFor(setup: NodeSetup): MemoryStorage {
  const storage = new MemoryStorage();
  storage.setConfState({ voters: setup.voters, learners: setup.learners ?? [] });
  if (setup.entries) storage.append(setup.entries);
  storage.setHardState({ term: setup.term ?? 0, vote: setup.vote ?? NONE, commit: setup.commit ?? 0 });
  return storage;
}

/** A node with a given membership, log and hard state (like etcd's newTestRaft). */
export function makeNode(id: NodeId, setup: NodeSetup): TestNode {
  const {
    voters: _v,
    learners: _l,
    entries: _e,
    term: _t,
    vote: _vo,
    commit: _c,
    seed = Number(id),
    ...options
  } = setup;
  return new TestNode(id, storageFor(setup), options, seed);
}

export function msg(fields: Partial<Message> & { type: MessageType }): Message {
  return makeMessage(fields);
}

/**
 * Makes `tn` leader: campaign, then grant votes from the other voters. Returns what the new leader sent
 * (its first AppendEntries probes).
 */
export function electLeader(tn: TestNode, voters: NodeId[]): Message[] {
  tn.node.campaign();
  const preVotes = tn.process().filter((m) => m.type === MessageType.PreVote);
  for (const m of preVotes) {
    tn.node.step(msg({ type: MessageType.PreVoteResp, from: m.to, to: tn.id, term: m.term }));
  }
  tn.process();
  const term = tn.node.status().hardState.term;
  for (const v of voters) {
    if (v === tn.id || tn.state() === StateType.Leader) continue;
    tn.node.step(msg({ type: MessageType.VoteResp, from: v, to: tn.id, term }));
  }
  const sent = tn.process();
  if (tn.state() !== StateType.Leader) throw new Error(`node ${tn.id} failed to become leader`);
  return sent;
}

/** All entries persisted in `storage` from its first index. */
export function logOf(storage: Storage): Entry[] {
  const first = storage.firstIndex();
  const last = storage.lastIndex();
  if (last < first) return [];
  return storage.entries(first, last + 1, Number.POSITIVE_INFINITY);
}

export function termsOf(entries: Entry[]): number[] {
  return entries.map((e) => e.term);
}

/** Messages of one type from a batch. */
export function ofType(msgs: Message[], type: MessageType): Message[] {
  return msgs.filter((m) => m.type === type);
}

/** Ticks a node `n` times, processing Ready after each tick, and returns all messages produced. */
export function tickN(tn: TestNode, n: number): Message[] {
  const out: Message[] = [];
  for (let i = 0; i < n; i++) {
    tn.node.tick();
    out.push(...tn.process());
  }
  return out;
}
