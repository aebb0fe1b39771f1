// A small in-test cluster: each node has a MemoryStorage "disk", a driver loop that follows the Ready
// contract (persist -> send -> apply -> advance), and a message queue delivered in FIFO order.
import { decodeConfChange } from '../../src/confchange-codec';
import type { RaftConfig } from '../../src/contracts';
import { MemoryStorage } from '../../src/memory-storage';
import { seededRandom } from '../../src/random';
import { RaftNode } from '../../src/raft-node';
import {
  EntryType,
  MessageType,
  NONE,
  StateType,
  type ConfState,
  type Entry,
  type Message,
  type NodeId,
  type ReadState,
} from '../../src/types';

export type NodeOptions = Partial<Omit<RaftConfig, 'id' | 'storage' | 'random'>>;

export class TestNode {
  node: RaftNode;
  /** Every committed entry applied, in order. */
  applied: Entry[] = [];
  readStates: ReadState[] = [];
  confState: ConfState;
  /** When set, the driver applies committed entries but does not apply conf changes. */
  skipConfChanges = false;

  constructor(
    readonly id: NodeId,
    readonly storage: MemoryStorage,
    readonly options: NodeOptions,
    seed: number,
  ) {
    this.confState = storage.getConfState();
    this.node = new RaftNode(this.config(seed));
  }

  config(seed: number, applied?: number): RaftConfig {
    return {
      id: this.id,
      electionTick: 10,
      heartbeatTick: 1,
      storage: this.storage,
      random: seededRandom(seed),
      ...this.options,
      ...(applied !== undefined ? { applied } : {}),
    };
  }

  /** Runs the driver loop until there is nothing ready; returns the messages to send. */
  process(): Message[] {
    const out: Message[] = [];
    while (this.node.hasReady()) {
      const rd = this.node.ready();
      if (rd.snapshot) this.storage.applySnapshot(rd.snapshot);
      this.storage.append(rd.entries);
      if (rd.hardState) this.storage.setHardState(rd.hardState);
      out.push(...rd.messages);
      if (rd.snapshot) {
        this.confState = rd.snapshot.metadata.confState;
        this.applied = this.applied.filter((e) => e.index <= rd.snapshot!.metadata.index);
      }
      for (const e of rd.committedEntries) {
        this.applied.push(e);
        if (e.type === EntryType.ConfChange && !this.skipConfChanges) {
          this.confState = this.node.applyConfChange(decodeConfChange(e.data));
        }
      }
      this.readStates.push(...rd.readStates);
      this.node.advance();
    }
    return out;
  }

  /** Application data applied so far (non-empty normal entries), as strings. */
  appliedData(): string[] {
    return this.applied
      .filter((e) => e.type === EntryType.Normal && e.data.byteLength > 0)
      .map((e) => new TextDecoder().decode(e.data));
  }

  state(): StateType {
    return this.node.softState().raftState;
  }
}

export interface NetworkOptions extends NodeOptions {
  seed?: number;
  learners?: NodeId[];
}

export class Network {
  readonly nodes = new Map<NodeId, TestNode>();
  queue: Message[] = [];
  /** Every message delivered or dropped, for assertions. */
  readonly trace: Message[] = [];
  private cut = new Set<string>();
  /** Optional filter: return false to drop a message. */
  filter: ((m: Message) => boolean) | undefined;

  /** A bootstrapped cluster of `ids` voters (plus learners), all followers at term 1. */
  static bootstrap(ids: NodeId[], options: NetworkOptions = {}): Network {
    const net = new Network();
    const { seed = 1, learners = [], ...nodeOptions } = options;
    for (const id of [...ids, ...learners]) {
      const storage = new MemoryStorage();
      RaftNode.bootstrap(
        storage,
        ids.map((p) => ({ id: p })),
      );
      if (learners.length > 0) storage.setConfState({ voters: ids, learners });
      const node = new TestNode(id, storage, nodeOptions, seed * 1000 + Number(id));
      net.nodes.set(id, node);
    }
    for (const n of net.nodes.values()) n.process();
    return net;
  }

  get(id: NodeId): TestNode {
    const n = this.nodes.get(id);
    if (!n) throw new Error(`no node ${id}`);
    return n;
  }

  add(node: TestNode): void {
    this.nodes.set(node.id, node);
  }

  isolate(id: NodeId): void {
    for (const other of this.nodes.keys()) {
      if (other === id) continue;
      this.cut.add(`${id}-${other}`);
      this.cut.add(`${other}-${id}`);
    }
  }

  cutLink(a: NodeId, b: NodeId): void {
    this.cut.add(`${a}-${b}`);
    this.cut.add(`${b}-${a}`);
  }

  heal(): void {
    this.cut.clear();
  }

  private collect(): void {
    for (const n of this.nodes.values()) this.queue.push(...n.process());
  }

  /** Delivers messages until the network is quiet (bounded so a livelock fails fast). */
  deliverAll(maxMessages = 100_000): void {
    let delivered = 0;
    this.collect();
    while (this.queue.length > 0) {
      if (++delivered > maxMessages) throw new Error('network did not quiesce');
      const m = this.queue.shift()!;
      this.trace.push(m);
      const target = this.nodes.get(m.to);
      if (!target) continue;
      if (this.cut.has(`${m.from}-${m.to}`)) continue;
      if (this.filter && !this.filter(m)) continue;
      target.node.step(m);
      this.queue.push(...target.process());
      if (this.queue.length === 0) this.collect();
    }
  }

  tick(id: NodeId, times = 1): void {
    for (let i = 0; i < times; i++) this.get(id).node.tick();
  }

  tickAll(times = 1): void {
    for (let i = 0; i < times; i++) {
      for (const n of this.nodes.values()) n.node.tick();
      this.deliverAll();
    }
  }

  campaign(id: NodeId): void {
    this.get(id).node.campaign();
    this.deliverAll();
  }

  propose(id: NodeId, data: string): void {
    this.get(id).node.propose(new TextEncoder().encode(data));
    this.deliverAll();
  }

  leaders(): NodeId[] {
    return [...this.nodes.values()].filter((n) => n.state() === StateType.Leader).map((n) => n.id);
  }

  leaderOf(id: NodeId): NodeId {
    return this.get(id).node.softState().lead;
  }

  countType(type: MessageType): number {
    return this.trace.filter((m) => m.type === type).length;
  }
}

export { NONE };
