// What the WAL records once at creation: which member of which cluster wrote it. A data dir copied to
// another member or cluster is refused at start.
export interface WalMetadata {
  memberId: bigint;
  clusterId: bigint;
}

export function encodeWalMetadata(meta: WalMetadata): Uint8Array {
  const buf = Buffer.alloc(16);
  buf.writeBigUInt64BE(meta.memberId, 0);
  buf.writeBigUInt64BE(meta.clusterId, 8);
  return buf;
}

export function decodeWalMetadata(bytes: Uint8Array): WalMetadata {
  const buf = Buffer.from(bytes);
  if (buf.length !== 16) throw new Error(`invalid WAL metadata: ${buf.length} bytes, expected 16`);
  return { memberId: buf.readBigUInt64BE(0), clusterId: buf.readBigUInt64BE(8) };
}
