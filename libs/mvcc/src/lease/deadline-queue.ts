interface Slot {
  readonly id: bigint;
  time: number;
  /** Position in the heap array, kept current on every move so updates and removals are O(log n). */
  index: number;
}

/**
 * A min-heap of lease IDs keyed by a time in milliseconds (ties broken by ID, so the order is
 * deterministic). Each ID appears at most once: scheduling an ID that is already queued moves it in
 * place, so keep-alives on 10k leases leave no stale entries behind and the heap stays at one slot per
 * lease.
 */
export class DeadlineQueue {
  private readonly heap: Slot[] = [];
  private readonly slots = new Map<bigint, Slot>();

  get size(): number {
    return this.heap.length;
  }

  has(id: bigint): boolean {
    return this.slots.has(id);
  }

  /** The time `id` is queued for, or undefined when it is not queued. */
  timeOf(id: bigint): number | undefined {
    return this.slots.get(id)?.time;
  }

  /** Queue `id` at `time`, or move it there if already queued. O(log n). */
  schedule(id: bigint, time: number): void {
    const slot = this.slots.get(id);
    if (slot === undefined) {
      const added: Slot = { id, time, index: this.heap.length };
      this.heap.push(added);
      this.slots.set(id, added);
      this.siftUp(added.index);
      return;
    }
    const earlier = time < slot.time;
    slot.time = time;
    if (earlier) this.siftUp(slot.index);
    else this.siftDown(slot.index);
  }

  /** Remove `id` if queued. O(log n). */
  remove(id: bigint): boolean {
    const slot = this.slots.get(id);
    if (slot === undefined) return false;
    this.slots.delete(id);
    const last = this.heap.pop() as Slot;
    if (last !== slot) {
      this.heap[slot.index] = last;
      last.index = slot.index;
      this.siftUp(last.index);
      this.siftDown(last.index);
    }
    return true;
  }

  /** The earliest entry without removing it. */
  peek(): { id: bigint; time: number } | undefined {
    const top = this.heap[0];
    return top === undefined ? undefined : { id: top.id, time: top.time };
  }

  /** Remove and return the earliest entry. */
  pop(): { id: bigint; time: number } | undefined {
    const top = this.heap[0];
    if (top === undefined) return undefined;
    this.remove(top.id);
    return { id: top.id, time: top.time };
  }

  clear(): void {
    this.heap.length = 0;
    this.slots.clear();
  }

  private before(a: Slot, b: Slot): boolean {
    return a.time < b.time || (a.time === b.time && a.id < b.id);
  }

  private siftUp(start: number): void {
    const heap = this.heap;
    const moving = heap[start];
    let index = start;
    while (index > 0) {
      const parentIndex = (index - 1) >> 1;
      const parent = heap[parentIndex];
      if (!this.before(moving, parent)) break;
      heap[index] = parent;
      parent.index = index;
      index = parentIndex;
    }
    heap[index] = moving;
    moving.index = index;
  }

  private siftDown(start: number): void {
    const heap = this.heap;
    const length = heap.length;
    const moving = heap[start];
    let index = start;
    for (;;) {
      const left = 2 * index + 1;
      if (left >= length) break;
      const right = left + 1;
      const child = right < length && this.before(heap[right], heap[left]) ? right : left;
      if (!this.before(heap[child], moving)) break;
      heap[index] = heap[child];
      heap[index].index = index;
      index = child;
    }
    heap[index] = moving;
    moving.index = index;
  }
}
