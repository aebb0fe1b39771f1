// Re-cuts a byte stream into pieces of one size (the last may be shorter), whatever sizes the source yields.

export async function* inChunks(
  source: AsyncIterable<Buffer | Uint8Array>,
  chunkBytes: number,
): AsyncGenerator<Buffer> {
  let pending: Buffer[] = [];
  let pendingBytes = 0;
  for await (const piece of source) {
    let rest = Buffer.isBuffer(piece) ? piece : Buffer.from(piece.buffer, piece.byteOffset, piece.byteLength);
    while (pendingBytes + rest.length >= chunkBytes) {
      const take = chunkBytes - pendingBytes;
      pending.push(rest.subarray(0, take));
      yield Buffer.concat(pending, chunkBytes);
      pending = [];
      pendingBytes = 0;
      rest = rest.subarray(take);
    }
    if (rest.length > 0) {
      pending.push(rest);
      pendingBytes += rest.length;
    }
  }
  if (pendingBytes > 0) yield Buffer.concat(pending, pendingBytes);
}
