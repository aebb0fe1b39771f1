// Interaction traces in the style of etcd-io/raft's datadriven tests: each file in test/testdata/ is a
// script of commands, each followed by `----` and the output it must produce (the Readys handled, the
// messages delivered, logs and progress), so a reader can follow the protocol step by step.
//   REWRITE=1 npx vitest run test/interaction.test.ts   rewrites the expected output (review the diff!)
//
// Commands (ids are node numbers):
//   add-nodes <n> [learners=(4,5)] [prevote] [checkquorum] [max-size=<bytes>] [max-inflight=<n>]
//                                 a bootstrapped cluster: voters 1..n, entries 1..n committed
//   set-node <id> voters=(1,2,3) log=(1,1,2) term=<t> [commit=<c>]   a node with exactly that log
//                                 (entry i carries the data "e<i>")
//   campaign <id> | propose <id> <data> | propose-conf-change <id> v<n>|l<n>|r<n>
//   transfer-leadership <from> <to> | read-index <id> <ctx> | report-unreachable <id> <peer>
//   tick-heartbeat <id> | tick-election <id> | compact <id> <index>
//   step <to> <Type> from=<id> term=<t> [index=] [logterm=] [commit=] [entries=(3/t2,4/t3)] [reject] [hint=]
//                                 hand-craft a message (its answers are queued like any other)
//   process-ready <ids...> | deliver-msgs <ids...> | stabilize [ids...]
//   isolate <id> | heal           messages from or to an isolated node are dropped on delivery
//   raft-log <id> | status <id> | raft-state | applied <id>
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { decodeConfChange } from '../src/confchange-codec';
import { describeEntry, describeMessage } from '../src/describe';
import { MemoryStorage } from '../src/memory-storage';
import { RaftNode } from '../src/raft-node';
import {
  ConfChangeType,
  EntryType,
  MessageType,
  NONE,
  ProgressState,
  type Entry,
  type Message,
  type NodeId,
} from '../src/types';
import { makeMessage } from '../src/message';
import { dec, enc, entry } from './support/harness';
import { TestNode, type NodeOptions } from './support/network';

const TESTDATA = join(__dirname, 'testdata');

interface Command {
  line: string;
  name: string;
  args: string[];
  kv: Map<string, string>;
}

function parseCommand(line: string): Command {
  const words = line.trim().split(/\s+/);
  const kv = new Map<string, string>();
  const args: string[] = [];
  for (const w of words.slice(1)) {
    const eq = w.indexOf('=');
    if (eq > 0) kv.set(w.slice(0, eq), w.slice(eq + 1));
    else args.push(w);
  }
  return { line, name: words[0], args, kv };
}

function list(value: string | undefined): string[] {
  if (!value) return [];
  return value
    .replace(/^\(|\)$/g, '')
    .split(',')
    .filter((s) => s.length > 0);
}

function ids(value: string | undefined): NodeId[] {
  return list(value).map((s) => BigInt(s));
}

function entryText(e: Entry): string {
  if (e.type === EntryType.ConfChange || e.data.byteLength === 0) return describeEntry(e);
  return `${e.index}/t${e.term} "${dec(e.data)}"`;
}

/** The nodes of one script, their message queue and the output being built. */
class Interaction {
  readonly nodes = new Map<NodeId, TestNode>();
  queue: Message[] = [];
  private isolated = new Set<NodeId>();
  private out: string[] = [];
  private options: NodeOptions = {};

  run(cmd: Command): string {
    this.out = [];
    this.exec(cmd);
    return this.out.length === 0 ? 'ok' : this.out.join('\n');
  }

  private node(id: string | NodeId | undefined): TestNode {
    const n = this.nodes.get(BigInt(id ?? '0'));
    if (!n) throw new Error(`no node ${id}`);
    return n;
  }

  private exec(cmd: Command): void {
    const { name, args, kv } = cmd;
    switch (name) {
      case 'add-nodes':
        return this.addNodes(Number(args[0]), cmd);
      case 'set-node':
        return this.setNode(BigInt(args[0]), kv);
      case 'campaign':
        return this.node(args[0]).node.campaign();
      case 'propose':
        return this.node(args[0]).node.propose(enc(args[1]));
      case 'propose-conf-change': {
        const type = {
          v: ConfChangeType.AddNode,
          l: ConfChangeType.AddLearnerNode,
          r: ConfChangeType.RemoveNode,
        }[args[1][0]];
        if (type === undefined) throw new Error(`bad conf change ${args[1]}`);
        return this.node(args[0]).node.proposeConfChange({
          type,
          nodeId: BigInt(args[1].slice(1)),
          context: new Uint8Array(),
        });
      }
      case 'transfer-leadership':
        return this.node(args[0]).node.transferLeader(BigInt(args[1]));
      case 'read-index':
        return this.node(args[0]).node.readIndex(enc(args[1]));
      case 'report-unreachable':
        return this.node(args[0]).node.reportUnreachable(BigInt(args[1]));
      case 'tick-heartbeat':
        return this.tick(args[0], this.node(args[0]).config(0).heartbeatTick);
      case 'tick-election':
        return this.tick(args[0], this.node(args[0]).config(0).electionTick);
      case 'compact': {
        const tn = this.node(args[0]);
        const index = Number(args[1]);
        tn.storage.createSnapshot(index, tn.confState, enc(`snapshot@${index}`));
        tn.storage.compact(index);
        return;
      }
      case 'step':
        return this.step(cmd);
      case 'process-ready':
        for (const id of args) this.processReady(this.node(id));
        return;
      case 'deliver-msgs':
        for (const id of args) this.deliver(BigInt(id));
        return;
      case 'stabilize':
        return this.stabilize(args.length > 0 ? args.map((a) => BigInt(a)) : [...this.nodes.keys()]);
      case 'isolate':
        this.isolated.add(BigInt(args[0]));
        return;
      case 'heal':
        this.isolated.clear();
        return;
      case 'raft-log':
        return this.raftLog(this.node(args[0]));
      case 'status':
        return this.status(this.node(args[0]));
      case 'raft-state':
        for (const tn of this.nodes.values()) {
          const hs = tn.node.status().hardState;
          this.out.push(
            `${tn.id}: ${tn.state()} term=${hs.term} vote=${hs.vote} commit=${hs.commit} lead=${tn.node.softState().lead}`,
          );
        }
        return;
      case 'applied':
        this.out.push(...this.node(args[0]).applied.map(entryText));
        return;
      default:
        throw new Error(`unknown command ${name}`);
    }
  }

  private addNodes(n: number, cmd: Command): void {
    const { kv, args } = cmd;
    this.options = {
      preVote: args.includes('prevote'),
      checkQuorum: args.includes('checkquorum'),
      ...(kv.has('max-size') ? { maxSizePerMsg: Number(kv.get('max-size')) } : {}),
      ...(kv.has('max-inflight') ? { maxInflightMsgs: Number(kv.get('max-inflight')) } : {}),
    };
    const voters = Array.from({ length: n }, (_, i) => BigInt(i + 1));
    const learners = ids(kv.get('learners'));
    for (const id of [...voters, ...learners]) {
      const storage = new MemoryStorage();
      RaftNode.bootstrap(
        storage,
        voters.map((v) => ({ id: v })),
      );
      if (learners.length > 0) storage.setConfState({ voters, learners });
      const tn = new TestNode(id, storage, this.options, Number(id));
      tn.process();
      this.nodes.set(id, tn);
    }
  }

  private setNode(id: NodeId, kv: Map<string, string>): void {
    const storage = new MemoryStorage();
    storage.setConfState({ voters: ids(kv.get('voters')), learners: [] });
    storage.append(list(kv.get('log')).map((t, i) => entry(i + 1, Number(t), `e${i + 1}`)));
    storage.setHardState({
      term: Number(kv.get('term') ?? 0),
      vote: NONE,
      commit: Number(kv.get('commit') ?? 0),
    });
    const tn = new TestNode(id, storage, this.options, Number(id));
    tn.process();
    this.nodes.set(id, tn);
    this.raftLog(tn);
  }

  private tick(id: string, times: number): void {
    for (let i = 0; i < times; i++) this.node(id).node.tick();
  }

  private step(cmd: Command): void {
    const { args, kv } = cmd;
    const type = MessageType[args[1] as keyof typeof MessageType];
    if (type === undefined) throw new Error(`unknown message type ${args[1]}`);
    const entries = list(kv.get('entries')).map((s) => {
      const [index, term] = s.split('/t').map(Number);
      return entry(index, term, `e${index}`);
    });
    const m = makeMessage({
      type,
      to: BigInt(args[0]),
      from: BigInt(kv.get('from') ?? '0'),
      term: Number(kv.get('term') ?? 0),
      index: Number(kv.get('index') ?? 0),
      logTerm: Number(kv.get('logterm') ?? 0),
      commit: Number(kv.get('commit') ?? 0),
      reject: args.includes('reject'),
      rejectHint: Number(kv.get('hint') ?? 0),
      entries,
    });
    this.out.push(`> ${m.to} receiving ${describeMessage(m)}`);
    this.node(m.to).node.step(m);
  }

  /** Handles one Ready of `tn` (persist, apply, advance) and prints it; returns whether there was one. */
  private processReady(tn: TestNode): boolean {
    if (!tn.node.hasReady()) return false;
    const rd = tn.node.ready();
    const lines = [`> ${tn.id} handling Ready`];
    if (rd.softState) lines.push(`  State: ${rd.softState.raftState} lead=${rd.softState.lead}`);
    if (rd.hardState) {
      const hs = rd.hardState;
      lines.push(`  HardState term=${hs.term} vote=${hs.vote} commit=${hs.commit}`);
    }
    if (rd.snapshot) {
      const md = rd.snapshot.metadata;
      lines.push(`  Snapshot ${md.index}/t${md.term} voters=(${md.confState.voters.join(',')})`);
    }
    if (rd.entries.length > 0) lines.push(`  Entries: ${rd.entries.map(entryText).join(', ')}`);
    if (rd.committedEntries.length > 0) {
      lines.push(`  CommittedEntries: ${rd.committedEntries.map(entryText).join(', ')}`);
    }
    for (const rs of rd.readStates) lines.push(`  ReadState index=${rs.index} ctx=${dec(rs.requestCtx)}`);
    if (rd.messages.length > 0)
      lines.push('  Messages:', ...rd.messages.map((m) => `  ${describeMessage(m)}`));
    this.out.push(...lines);
    // The driver contract: persist, send, apply, advance.
    if (rd.snapshot) tn.storage.applySnapshot(rd.snapshot);
    tn.storage.append(rd.entries);
    if (rd.hardState) tn.storage.setHardState(rd.hardState);
    this.queue.push(...rd.messages);
    if (rd.snapshot) tn.confState = rd.snapshot.metadata.confState;
    for (const e of rd.committedEntries) {
      tn.applied.push(e);
      if (e.type === EntryType.ConfChange) tn.confState = tn.node.applyConfChange(decodeConfChange(e.data));
    }
    tn.node.advance();
    return true;
  }

  /** Delivers every queued message addressed to `id`; returns whether there was one. */
  private deliver(id: NodeId): boolean {
    const mine = this.queue.filter((m) => m.to === id);
    if (mine.length === 0) return false;
    this.queue = this.queue.filter((m) => m.to !== id);
    this.out.push(`> ${id} receiving messages`);
    const tn = this.nodes.get(id);
    for (const m of mine) {
      if (!tn || this.isolated.has(m.from) || this.isolated.has(m.to)) {
        this.out.push(`  ${describeMessage(m)} DROPPED`);
        continue;
      }
      this.out.push(`  ${describeMessage(m)}`);
      tn.node.step(m);
    }
    return true;
  }

  private stabilize(which: NodeId[]): void {
    for (let round = 0; round < 1000; round++) {
      let busy = false;
      for (const id of which) while (this.processReady(this.node(id))) busy = true;
      for (const id of which) if (this.deliver(id)) busy = true;
      if (!busy) return;
    }
    throw new Error('stabilize did not settle');
  }

  private raftLog(tn: TestNode): void {
    const first = tn.storage.firstIndex();
    const last = tn.storage.lastIndex();
    if (last < first) this.out.push(`log is empty: first index=${first}, last index=${last}`);
    else this.out.push(...tn.storage.entries(first, last + 1, Number.POSITIVE_INFINITY).map(entryText));
  }

  private status(tn: TestNode): void {
    const progress = tn.node.status().progress;
    if (!progress) {
      this.out.push(`${tn.id} is not the leader`);
      return;
    }
    for (const [id, pr] of [...progress].sort(([a], [b]) => (a < b ? -1 : 1))) {
      const learner = pr.isLearner ? ' learner' : '';
      const inflight = pr.state === ProgressState.Replicate ? ` inflight=${pr.inflight}` : '';
      this.out.push(`${id}: ${pr.state} match=${pr.match} next=${pr.next}${learner}${inflight}`);
    }
  }
}

interface Block {
  comments: string[];
  command: string;
  expected: string;
}

/** Splits a script into blocks: comment lines, a command line, `----`, expected output up to a blank line. */
function parseScript(text: string): Block[] {
  const lines = text.split('\n');
  const blocks: Block[] = [];
  let comments: string[] = [];
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i];
    if (line.startsWith('#') || line.trim() === '') {
      comments.push(line);
      continue;
    }
    if (lines[i + 1] !== '----') throw new Error(`line ${i + 1}: expected ---- after "${line}"`);
    const expected: string[] = [];
    let j = i + 2;
    for (; j < lines.length && lines[j] !== ''; j++) expected.push(lines[j]);
    blocks.push({ comments, command: line, expected: expected.join('\n') });
    comments = [];
    i = j;
  }
  return blocks;
}

function render(blocks: Block[], outputs: string[]): string {
  const parts: string[] = [];
  blocks.forEach((b, i) => {
    const comments = b.comments.filter((c, k) => !(k === 0 && c === '' && i > 0));
    parts.push([...comments, b.command, '----', outputs[i]].join('\n'));
  });
  return `${parts.join('\n\n')}\n`;
}

describe('interaction traces (test/testdata)', () => {
  for (const file of readdirSync(TESTDATA).filter((f) => f.endsWith('.txt'))) {
    it(`${file} runs as written`, () => {
      const path = join(TESTDATA, file);
      const blocks = parseScript(readFileSync(path, 'utf8'));
      const interaction = new Interaction();
      const outputs: string[] = [];
      for (const b of blocks) {
        let output: string;
        try {
          output = interaction.run(parseCommand(b.command));
        } catch (err) {
          output = `error: ${(err as Error).message}`;
        }
        outputs.push(output);
        if (!process.env.REWRITE) expect(output, `${file}: ${b.command}`).toBe(b.expected);
      }
      if (process.env.REWRITE) writeFileSync(path, render(blocks, outputs));
    });
  }
});
