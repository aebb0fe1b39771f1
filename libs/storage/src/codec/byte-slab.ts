// Copies of small byte ranges, carved out of shared 256 KiB slabs. Replaying a WAL copies the data of
// every entry out of a segment buffer; a Uint8Array with its own ArrayBuffer per entry costs several
// times more (allocation and GC) than one memcpy plus a view. A copy keeps its slab alive, which bounds
// the waste to one slab per long-lived survivor.

const SLAB_BYTES = 256 * 1024;
/** Larger copies get a buffer of their own, so a big value never pins a slab or wastes its tail. */
const MAX_SLAB_COPY = SLAB_BYTES / 16;

let slab: Buffer = Buffer.allocUnsafeSlow(0);
let slabUsed = 0;

/** A copy of `src[start, end)` that shares no memory with `src`. */
export function copyBytes(src: Buffer, start: number, end: number): Uint8Array {
  const n = end - start;
  if (n > MAX_SLAB_COPY) {
    const own = Buffer.allocUnsafeSlow(n);
    src.copy(own, 0, start, end);
    return own;
  }
  if (slabUsed + n > slab.length) {
    slab = Buffer.allocUnsafeSlow(SLAB_BYTES);
    slabUsed = 0;
  }
  src.copy(slab, slabUsed, start, end);
  const out = new Uint8Array(slab.buffer, slab.byteOffset + slabUsed, n);
  slabUsed += n;
  return out;
}
