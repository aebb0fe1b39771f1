// HardState, ConfState and Snapshot.
//   HardState:        uvarint term, u64 vote, uvarint commit
//   ConfState:        uvarint #voters, u64 each; uvarint #learners, u64 each
//   SnapshotMetadata: uvarint index, uvarint term, ConfState
//   Snapshot:         SnapshotMetadata, uvarint data length, data
import type { ConfState, HardState, Snapshot, SnapshotMetadata } from '@cairn/raft';
import { BinaryReader, type DecodeOptions } from './binary-reader';
import { BinaryWriter, bytesSize, checkU64, uvarintSize } from './binary-writer';

export function hardStateSize(hs: HardState): number {
  return (
    uvarintSize(hs.term, 'hardState.term') +
    checkU64(hs.vote, 'hardState.vote') +
    uvarintSize(hs.commit, 'hardState.commit')
  );
}

export function writeHardState(w: BinaryWriter, hs: HardState): void {
  w.uvarint(hs.term);
  w.u64(hs.vote);
  w.uvarint(hs.commit);
}

export function readHardState(r: BinaryReader): HardState {
  const term = r.uvarint('hardState.term');
  const vote = r.u64('hardState.vote');
  const commit = r.uvarint('hardState.commit');
  return { term, vote, commit };
}

function nodeIdsSize(ids: readonly bigint[], field: string): number {
  let size = uvarintSize(ids.length, `${field}.length`);
  for (const id of ids) size += checkU64(id, field);
  return size;
}

function writeNodeIds(w: BinaryWriter, ids: readonly bigint[]): void {
  w.uvarint(ids.length);
  for (const id of ids) w.u64(id);
}

function readNodeIds(r: BinaryReader, field: string): bigint[] {
  const n = r.count(`${field}.length`, 8);
  const ids = new Array<bigint>(n);
  for (let i = 0; i < n; i++) ids[i] = r.u64(field);
  return ids;
}

export function confStateSize(cs: ConfState): number {
  return nodeIdsSize(cs.voters, 'confState.voters') + nodeIdsSize(cs.learners, 'confState.learners');
}

export function writeConfState(w: BinaryWriter, cs: ConfState): void {
  writeNodeIds(w, cs.voters);
  writeNodeIds(w, cs.learners);
}

export function readConfState(r: BinaryReader): ConfState {
  const voters = readNodeIds(r, 'confState.voters');
  const learners = readNodeIds(r, 'confState.learners');
  return { voters, learners };
}

function snapshotMetadataSize(m: SnapshotMetadata): number {
  return (
    uvarintSize(m.index, 'snapshot.index') + uvarintSize(m.term, 'snapshot.term') + confStateSize(m.confState)
  );
}

export function snapshotSize(s: Snapshot): number {
  return snapshotMetadataSize(s.metadata) + bytesSize(s.data, 'snapshot.data');
}

export function writeSnapshot(w: BinaryWriter, s: Snapshot): void {
  w.uvarint(s.metadata.index);
  w.uvarint(s.metadata.term);
  writeConfState(w, s.metadata.confState);
  w.bytes(s.data);
}

export function readSnapshot(r: BinaryReader): Snapshot {
  const index = r.uvarint('snapshot.index');
  const term = r.uvarint('snapshot.term');
  const confState = readConfState(r);
  const data = r.bytes('snapshot.data');
  return { metadata: { index, term, confState }, data };
}

export function encodeHardState(hs: HardState): Uint8Array {
  const w = BinaryWriter.alloc(hardStateSize(hs));
  writeHardState(w, hs);
  return w.finish();
}

export function decodeHardState(bytes: Uint8Array): HardState {
  const r = new BinaryReader(bytes);
  const hs = readHardState(r);
  r.expectEnd('hard state');
  return hs;
}

export function encodeConfState(cs: ConfState): Uint8Array {
  const w = BinaryWriter.alloc(confStateSize(cs));
  writeConfState(w, cs);
  return w.finish();
}

export function decodeConfState(bytes: Uint8Array): ConfState {
  const r = new BinaryReader(bytes);
  const cs = readConfState(r);
  r.expectEnd('conf state');
  return cs;
}

export function encodeSnapshot(s: Snapshot): Uint8Array {
  const w = BinaryWriter.alloc(snapshotSize(s));
  writeSnapshot(w, s);
  return w.finish();
}

export function decodeSnapshot(bytes: Uint8Array, opts?: DecodeOptions): Snapshot {
  const r = new BinaryReader(bytes, 0, bytes.length, opts);
  const s = readSnapshot(r);
  r.expectEnd('snapshot');
  return s;
}
