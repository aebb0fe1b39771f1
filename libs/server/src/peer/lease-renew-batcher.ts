// A follower forwards its clients' keep-alives to the leader. With thousands of leases (10,000 registry
// instances renewing at TTL/3 are ~3,000 keep-alives a second) one call per keep-alive costs more than the
// renewals themselves, so every keep-alive asked for in one event-loop turn goes in one LeaseRenewBatch call.

/** Sends one batch: the TTLs in the order of `ids` (0 = unknown lease). */
export type RenewBatchCall = (peerUrl: string, ids: bigint[], timeoutMs: number) => Promise<number[]>;

interface Waiter {
  id: bigint;
  resolve(ttl: number): void;
  reject(err: unknown): void;
}

export class LeaseRenewBatcher {
  /** Keep-alives waiting for this turn's call, per leader peer URL. */
  private readonly pending = new Map<string, Waiter[]>();

  constructor(
    private readonly call: RenewBatchCall,
    private readonly timeoutMs: number,
  ) {}

  /** Resolves the lease's new TTL as the leader answers it (0 for a lease the leader does not know). */
  renew(peerUrl: string, id: bigint): Promise<number> {
    return new Promise<number>((resolve, reject) => {
      let waiters = this.pending.get(peerUrl);
      if (!waiters) {
        waiters = [];
        this.pending.set(peerUrl, waiters);
        setImmediate(() => this.flush(peerUrl));
      }
      waiters.push({ id, resolve, reject });
    });
  }

  private flush(peerUrl: string): void {
    const waiters = this.pending.get(peerUrl) ?? [];
    this.pending.delete(peerUrl);
    if (waiters.length === 0) return;
    this.call(
      peerUrl,
      waiters.map((w) => w.id),
      this.timeoutMs,
    ).then(
      (ttls) => waiters.forEach((w, i) => w.resolve(ttls[i] ?? 0)),
      (err: unknown) => waiters.forEach((w) => w.reject(err)),
    );
  }
}
