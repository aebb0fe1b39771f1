// Message: u8 type, u64 to, u64 from, uvarint term, logTerm, index, commit, rejectHint, u8 flags,
// entries (uvarint count + entries), then the snapshot if flag SNAPSHOT, then the context (length-prefixed)
// if flag CONTEXT. Presence flags keep `undefined` and an empty context apart, so decode(encode(m)) is m.
import { MessageType } from '@cairn/raft';
import type { Message } from '@cairn/raft';
import { BinaryReader, type DecodeOptions } from './binary-reader';
import { BinaryWriter, bytesSize, checkU64, uvarintSize } from './binary-writer';
import { entriesSize, readEntries, writeEntries } from './entry-codec';
import { CodecError } from './errors';
import { readSnapshot, snapshotSize, writeSnapshot } from './state-codec';

const FLAG_REJECT = 1;
const FLAG_SNAPSHOT = 2;
const FLAG_CONTEXT = 4;
const KNOWN_FLAGS = FLAG_REJECT | FLAG_SNAPSHOT | FLAG_CONTEXT;

/** type + to + from + five 1-byte varints + flags + entry count. */
const MIN_MESSAGE_BYTES = 1 + 8 + 8 + 5 + 1 + 1;

export function messageSize(m: Message): number {
  if (MessageType[m.type] === undefined) throw new CodecError(`unknown message type ${m.type}`);
  let size =
    1 +
    checkU64(m.to, 'message.to') +
    checkU64(m.from, 'message.from') +
    uvarintSize(m.term, 'message.term') +
    uvarintSize(m.logTerm, 'message.logTerm') +
    uvarintSize(m.index, 'message.index') +
    uvarintSize(m.commit, 'message.commit') +
    uvarintSize(m.rejectHint, 'message.rejectHint') +
    1 +
    entriesSize(m.entries);
  if (m.snapshot !== undefined) size += snapshotSize(m.snapshot);
  if (m.context !== undefined) size += bytesSize(m.context, 'message.context');
  return size;
}

export function writeMessage(w: BinaryWriter, m: Message): void {
  w.u8(m.type);
  w.u64(m.to);
  w.u64(m.from);
  w.uvarint(m.term);
  w.uvarint(m.logTerm);
  w.uvarint(m.index);
  w.uvarint(m.commit);
  w.uvarint(m.rejectHint);
  w.u8(
    (m.reject ? FLAG_REJECT : 0) |
      (m.snapshot !== undefined ? FLAG_SNAPSHOT : 0) |
      (m.context !== undefined ? FLAG_CONTEXT : 0),
  );
  writeEntries(w, m.entries);
  if (m.snapshot !== undefined) writeSnapshot(w, m.snapshot);
  if (m.context !== undefined) w.bytes(m.context);
}

export function readMessage(r: BinaryReader): Message {
  const type = r.u8('message.type');
  if (MessageType[type] === undefined) throw new CodecError(`unknown message type ${type}`);
  const to = r.u64('message.to');
  const from = r.u64('message.from');
  const term = r.uvarint('message.term');
  const logTerm = r.uvarint('message.logTerm');
  const index = r.uvarint('message.index');
  const commit = r.uvarint('message.commit');
  const rejectHint = r.uvarint('message.rejectHint');
  const flags = r.u8('message.flags');
  if ((flags & ~KNOWN_FLAGS) !== 0) throw new CodecError(`unknown message flags 0x${flags.toString(16)}`);
  const entries = readEntries(r);
  const m: Message = {
    type: type as MessageType,
    to,
    from,
    term,
    logTerm,
    index,
    entries,
    commit,
    reject: (flags & FLAG_REJECT) !== 0,
    rejectHint,
  };
  if (flags & FLAG_SNAPSHOT) m.snapshot = readSnapshot(r);
  if (flags & FLAG_CONTEXT) m.context = r.bytes('message.context');
  return m;
}

export function encodeMessage(m: Message): Uint8Array {
  const w = BinaryWriter.alloc(messageSize(m));
  writeMessage(w, m);
  return w.finish();
}

export function decodeMessage(bytes: Uint8Array, opts?: DecodeOptions): Message {
  const r = new BinaryReader(bytes, 0, bytes.length, opts);
  const m = readMessage(r);
  r.expectEnd('message');
  return m;
}

/** A batch of messages in one buffer: uvarint count, then the messages back to back. */
export function encodeMessages(messages: readonly Message[]): Uint8Array {
  let size = uvarintSize(messages.length, 'messages.length');
  for (const m of messages) size += messageSize(m);
  const w = BinaryWriter.alloc(size);
  w.uvarint(messages.length);
  for (const m of messages) writeMessage(w, m);
  return w.finish();
}

export function decodeMessages(bytes: Uint8Array, opts?: DecodeOptions): Message[] {
  const r = new BinaryReader(bytes, 0, bytes.length, opts);
  const n = r.count('messages.length', MIN_MESSAGE_BYTES);
  const out = new Array<Message>(n);
  for (let i = 0; i < n; i++) out[i] = readMessage(r);
  r.expectEnd('messages');
  return out;
}
