// One-line, human-readable renderings of entries and messages for traces, logs and test failures.
import { decodeConfChange } from './confchange-codec';
import { ConfChangeType, EntryType, MessageType, type Entry, type Message } from './types';

/** Fixed per-entry overhead added to the data length (term, index, type), so empty entries are not free. */
const ENTRY_OVERHEAD_BYTES = 16;

/** Estimated encoded size of an entry; the unit of maxSizePerMsg and of the per-Ready limit. */
export function entrySize(e: Entry): number {
  return e.data.byteLength + ENTRY_OVERHEAD_BYTES;
}

/** Keeps the longest prefix of `ents` within `maxSize` bytes, but always at least the first entry. */
export function limitSize(ents: Entry[], maxSize: number): Entry[] {
  if (ents.length === 0) return ents;
  let size = entrySize(ents[0]);
  let limit = 1;
  for (; limit < ents.length; limit++) {
    size += entrySize(ents[limit]);
    if (size > maxSize) break;
  }
  return limit === ents.length ? ents : ents.slice(0, limit);
}

function hex(bytes: Uint8Array | undefined): string {
  if (bytes === undefined) return '';
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex');
}

/** e.g. `6/t3 4B`, `1/t1 conf AddNode 2`, `7/t3 noop`. */
export function describeEntry(e: Entry): string {
  const head = `${e.index}/t${e.term}`;
  if (e.type === EntryType.ConfChange) {
    try {
      const cc = decodeConfChange(e.data);
      return `${head} conf ${ConfChangeType[cc.type]} ${cc.nodeId}`;
    } catch {
      return `${head} conf <undecodable ${e.data.byteLength}B>`;
    }
  }
  return e.data.byteLength === 0 ? `${head} noop` : `${head} ${e.data.byteLength}B`;
}

function describeRange(entries: Entry[]): string {
  if (entries.length === 0) return '[]';
  const first = entries[0].index;
  const last = entries[entries.length - 1].index;
  return first === last ? `[${first}]` : `[${first}..${last}]`;
}

/** e.g. `1->2 App t3 li5/t2 [6..8] c5`, `2->1 AppResp t3 i5 rej hint 3/t2`. */
export function describeMessage(m: Message): string {
  let s = `${m.from}->${m.to} ${MessageType[m.type] ?? `type${m.type}`} t${m.term}`;
  switch (m.type) {
    case MessageType.App:
      s += ` li${m.index}/t${m.logTerm} ${describeRange(m.entries)} c${m.commit}`;
      break;
    case MessageType.Prop:
      s += ` ${describeRange(m.entries)} n${m.entries.length}`;
      break;
    case MessageType.AppResp:
      s += ` i${m.index}`;
      if (m.reject) s += ` rej hint ${m.rejectHint}/t${m.logTerm}`;
      break;
    case MessageType.Vote:
    case MessageType.PreVote:
      s += ` li${m.index}/t${m.logTerm}`;
      if (m.context !== undefined) s += ' transfer';
      break;
    case MessageType.VoteResp:
    case MessageType.PreVoteResp:
      s += m.reject ? ' rej' : ' ok';
      break;
    case MessageType.Snap:
      if (m.snapshot) s += ` snap ${m.snapshot.metadata.index}/t${m.snapshot.metadata.term}`;
      break;
    case MessageType.Heartbeat:
      s += ` c${m.commit}`;
      if (m.context !== undefined) s += ` ctx=${hex(m.context)}`;
      break;
    case MessageType.HeartbeatResp:
    case MessageType.ReadIndex:
      if (m.context !== undefined) s += ` ctx=${hex(m.context)}`;
      break;
    case MessageType.ReadIndexResp:
      s += ` i${m.index} ctx=${hex(m.context)}`;
      break;
    case MessageType.SnapStatus:
      s += m.reject ? ' failure' : ' finish';
      break;
    default:
      break;
  }
  return s;
}
