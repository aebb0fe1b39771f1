// gRPC's message framing on HTTP/2 (the "Length-Prefixed-Message" of the gRPC-over-HTTP2
// protocol): a compressed flag byte, a 4-byte big-endian length, then the message.

const PREFIX_BYTES = 5;

export function frameMessage(message: Buffer): Buffer {
  const frame = Buffer.allocUnsafe(PREFIX_BYTES + message.length);
  frame[0] = 0; // not compressed
  frame.writeUInt32BE(message.length, 1);
  message.copy(frame, PREFIX_BYTES);
  return frame;
}

/**
 * Splits a stream of DATA chunks back into messages. A message may span chunks and a chunk may
 * hold several messages; the common case (one whole message in one chunk) costs no copy.
 */
export class MessageDeframer {
  private pending: Buffer[] = [];
  private pendingBytes = 0;

  constructor(private readonly onMessage: (message: Buffer) => void) {}

  push(chunk: Buffer): void {
    let data = chunk;
    if (this.pendingBytes > 0) {
      this.pending.push(chunk);
      data = Buffer.concat(this.pending, this.pendingBytes + chunk.length);
      this.pending = [];
      this.pendingBytes = 0;
    }
    let offset = 0;
    while (data.length - offset >= PREFIX_BYTES) {
      if (data[offset] !== 0) throw new Error('compressed gRPC messages are not supported');
      const length = data.readUInt32BE(offset + 1);
      const end = offset + PREFIX_BYTES + length;
      if (end > data.length) break;
      this.onMessage(data.subarray(offset + PREFIX_BYTES, end));
      offset = end;
    }
    if (offset < data.length) {
      const rest = data.subarray(offset);
      this.pending.push(rest);
      this.pendingBytes = rest.length;
    }
  }

  /** Bytes of an incomplete message still waiting for the rest. */
  get leftover(): number {
    return this.pendingBytes;
  }
}
