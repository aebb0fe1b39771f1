// Length-prefixed frames in one buffer: how a batch of compact requests (or answers) crosses between threads
// in one message or one ring write. Each frame is a 4-byte little-endian length and its bytes.

/** Pack frames into one fresh buffer (whose ArrayBuffer can be transferred). */
export function packFrames(frames: readonly Uint8Array[]): Uint8Array {
  let size = 0;
  for (const frame of frames) size += 4 + frame.length;
  const out = new Uint8Array(size);
  const view = new DataView(out.buffer);
  let at = 0;
  for (const frame of frames) {
    view.setUint32(at, frame.length, true);
    out.set(frame, at + 4);
    at += 4 + frame.length;
  }
  return out;
}

/** The frames of a packed buffer, as views into it (no copies). */
export function unpackFrames(packed: Uint8Array): Uint8Array[] {
  const view = new DataView(packed.buffer, packed.byteOffset, packed.byteLength);
  const frames: Uint8Array[] = [];
  let at = 0;
  while (at + 4 <= packed.length) {
    const length = view.getUint32(at, true);
    frames.push(packed.subarray(at + 4, at + 4 + length));
    at += 4 + length;
  }
  return frames;
}
