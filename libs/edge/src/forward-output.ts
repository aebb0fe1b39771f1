// The bytes a client-to-server transform forwards (the :authority normalizer, the gRPC front): pieces of what
// came in, possibly with rewritten parts between them.
const EMPTY = Buffer.alloc(0);

/**
 * Collects output. Consecutive pieces that are adjacent in memory (untouched input) are joined into one view,
 * so a chunk that needs no rewrite is forwarded as the very buffer that came in, without copying.
 */
export class ForwardOutput {
  private readonly parts: Buffer[] = [];
  private run: ArrayBufferLike | undefined;
  private runStart = 0;
  private runEnd = 0;

  /** Adds `source[start, end)`. */
  add(source: Buffer, start = 0, end = source.length): void {
    if (end <= start) return;
    const from = source.byteOffset + start;
    if (source.buffer === this.run && from === this.runEnd) {
      this.runEnd += end - start;
      return;
    }
    this.endRun();
    this.run = source.buffer;
    this.runStart = from;
    this.runEnd = source.byteOffset + end;
  }

  result(): Buffer {
    this.endRun();
    if (this.parts.length <= 1) return this.parts[0] ?? EMPTY;
    return Buffer.concat(this.parts);
  }

  private endRun(): void {
    if (this.run) this.parts.push(Buffer.from(this.run, this.runStart, this.runEnd - this.runStart));
    this.run = undefined;
  }
}
