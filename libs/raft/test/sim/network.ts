// A seeded, lossy network between simulated nodes. Messages are serialised on send (deep copies, so no
// object is shared between nodes), may be dropped, duplicated or delayed by whole ticks (which reorders
// them), and directed links can be cut, so partitions can be one-way. Due messages come out in a seeded
// order.
import { MessageType, type Message, type NodeId } from '../../src';
import { cloneEntry, cloneSnapshot } from './disk';
import type { SimRandom } from './random';

export interface NetworkWeather {
  /** Probability a sent message is lost. */
  dropRate: number;
  /** Probability a sent message is delivered twice. */
  duplicateRate: number;
  /** Each copy is delivered 0..maxDelay ticks after it was sent. */
  maxDelay: number;
  /** Probability a copy straggles: up to STRAGGLER_DELAY more ticks (it then arrives long out of order). */
  straggleRate: number;
}

const SNAPSHOT_EXTRA_DELAY = 8;
const STRAGGLER_DELAY = 40;

export const CALM: NetworkWeather = { dropRate: 0, duplicateRate: 0, maxDelay: 1, straggleRate: 0 };

export interface InFlight {
  msg: Message;
  deliverAt: number;
  /** The incarnation of the sender when it sent this, so reports go only to the same process. */
  senderIncarnation: number;
  /** Send order over the whole run (a duplicate or a replay keeps the number of its original). */
  seq: number;
}

/** How many recent AppendEntries a replaying network remembers. */
const REPLAY_HISTORY = 64;

export class SimNetwork {
  weather: NetworkWeather = CALM;
  private queue: InFlight[] = [];
  /** Recent AppendEntries (copies, with their send tick), kept only once enableReplay() was called. */
  private history: { msg: Message; sentAt: number; senderIncarnation: number; seq: number }[] | undefined;
  private sent = 0;
  /** Cut directed links, as `from>to`. */
  private readonly cuts = new Set<string>();

  constructor(private readonly rng: SimRandom) {}

  /** Queues `msg` (a copy) unless the weather drops it; returns false when it was dropped. */
  send(msg: Message, now: number, senderIncarnation: number): boolean {
    const seq = ++this.sent;
    if (this.history && msg.type === MessageType.App) {
      this.history.push({ msg: cloneMessage(msg), sentAt: now, senderIncarnation, seq });
      if (this.history.length > REPLAY_HISTORY) this.history.shift();
    }
    if (this.rng.chance(this.weather.dropRate)) return false;
    this.enqueue(msg, now, senderIncarnation, seq);
    if (this.rng.chance(this.weather.duplicateRate)) this.enqueue(msg, now, senderIncarnation, seq);
    return true;
  }

  /** Start remembering AppendEntries so that replayOld() can deliver one again. */
  enableReplay(): void {
    this.history ??= [];
  }

  /**
   * Delivers again, now, a copy of an AppendEntries sent at least `minAge` ticks ago: an old append that
   * arrives after newer ones (a retransmission, a duplicate stuck in a queue). Draws from `rng`, not from
   * the network's own stream. Returns the replayed message.
   */
  replayOld(now: number, minAge: number, rng: SimRandom): Message | undefined {
    const old = (this.history ?? []).filter((h) => now - h.sentAt >= minAge);
    if (old.length === 0) return undefined;
    const pick = rng.pick(old);
    this.queue.push({
      msg: cloneMessage(pick.msg),
      deliverAt: now,
      senderIncarnation: pick.senderIncarnation,
      seq: pick.seq,
    });
    return pick.msg;
  }

  /** Removes and returns the messages due at `now`, in a seeded order. */
  takeDue(now: number): InFlight[] {
    const due: InFlight[] = [];
    const later: InFlight[] = [];
    for (const item of this.queue) (item.deliverAt <= now ? due : later).push(item);
    this.queue = later;
    return this.rng.shuffle(due);
  }

  /** Puts a due message back, to be delivered at `at` (its receiver is paused). */
  hold(item: InFlight, at: number): void {
    item.deliverAt = at;
    this.queue.push(item);
  }

  /** A crash loses every message still in flight to or from the node. */
  removeInvolving(id: NodeId): InFlight[] {
    const lost = this.queue.filter((item) => item.msg.to === id || item.msg.from === id);
    this.queue = this.queue.filter((item) => item.msg.to !== id && item.msg.from !== id);
    return lost;
  }

  inFlight(): number {
    return this.queue.length;
  }

  cut(from: NodeId, to: NodeId): void {
    this.cuts.add(`${from}>${to}`);
  }

  uncut(from: NodeId, to: NodeId): void {
    this.cuts.delete(`${from}>${to}`);
  }

  isCut(from: NodeId, to: NodeId): boolean {
    return this.cuts.size > 0 && this.cuts.has(`${from}>${to}`);
  }

  healAll(): void {
    this.cuts.clear();
  }

  hasCuts(): boolean {
    return this.cuts.size > 0;
  }

  describeCuts(): string {
    return this.cuts.size === 0 ? 'none' : [...this.cuts].sort().join(' ');
  }

  private enqueue(msg: Message, now: number, senderIncarnation: number, seq: number): void {
    let delay = this.rng.int(this.weather.maxDelay + 1);
    // Snapshots are big and slow to stream; and now and then any message is stuck in a retransmit.
    if (msg.type === MessageType.Snap) delay += this.rng.int(SNAPSHOT_EXTRA_DELAY + 1);
    if (this.rng.chance(this.weather.straggleRate)) delay += this.rng.between(1, STRAGGLER_DELAY);
    this.queue.push({ msg: cloneMessage(msg), deliverAt: now + delay, senderIncarnation, seq });
  }
}

/** What the wire would do: a fresh copy of every field. */
export function cloneMessage(msg: Message): Message {
  const copy: Message = { ...msg, entries: msg.entries.map(cloneEntry) };
  if (msg.snapshot) copy.snapshot = cloneSnapshot(msg.snapshot);
  if (msg.context) copy.context = msg.context.slice();
  return copy;
}
