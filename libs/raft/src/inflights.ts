// The flow-control window of one follower: the last indexes of AppendEntries messages sent but not yet
// acknowledged, oldest first. A ring buffer of fixed capacity (maxInflightMsgs).
export class Inflights {
  private readonly buffer: number[];
  private start = 0;
  private count = 0;

  constructor(readonly capacity: number) {
    this.buffer = new Array<number>(capacity).fill(0);
  }

  /** Records a message whose last entry is `index` (indexes must be added in increasing order). */
  add(index: number): void {
    if (this.full()) throw new Error('cannot add into a full inflights window');
    this.buffer[(this.start + this.count) % this.capacity] = index;
    this.count++;
  }

  /** Frees every message whose last index is <= `to` (they are acknowledged). */
  freeLE(to: number): void {
    while (this.count > 0 && this.buffer[this.start] <= to) {
      this.start = (this.start + 1) % this.capacity;
      this.count--;
    }
    if (this.count === 0) this.start = 0;
  }

  /** Frees the oldest message (a heartbeat response proves the follower is alive, so let one more go). */
  freeFirstOne(): void {
    if (this.count > 0) this.freeLE(this.buffer[this.start]);
  }

  full(): boolean {
    return this.count === this.capacity;
  }

  size(): number {
    return this.count;
  }

  reset(): void {
    this.start = 0;
    this.count = 0;
  }
}
