// Callers waiting for the outcome of a proposal, keyed by request ID in decimal — the form the entry's header
// carries, so apply looks an entry up without parsing its ID into a bigint (a bigint parse and a bigint hash per
// applied entry on every member before). Apply triggers them; a leader change or shutdown fails them.

interface Waiter<T> {
  resolve(value: T): void;
  reject(err: unknown): void;
}

export class WaitRegistry<T> {
  private readonly waiters = new Map<string, Waiter<T>>();

  register(id: string): Promise<T> {
    return new Promise<T>((resolve, reject) => this.waiters.set(id, { resolve, reject }));
  }

  isWaiting(id: string): boolean {
    return this.waiters.has(id);
  }

  trigger(id: string, value: T): void {
    const waiter = this.waiters.get(id);
    if (!waiter) return;
    this.waiters.delete(id);
    waiter.resolve(value);
  }

  fail(id: string, err: unknown): void {
    const waiter = this.waiters.get(id);
    if (!waiter) return;
    this.waiters.delete(id);
    waiter.reject(err);
  }

  failAll(err: unknown): void {
    const all = [...this.waiters.values()];
    this.waiters.clear();
    for (const waiter of all) waiter.reject(err);
  }

  get size(): number {
    return this.waiters.size;
  }
}
