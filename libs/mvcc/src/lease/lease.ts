/** A read-only view of one lease. TTLs are whole seconds; times are milliseconds of the LeaseClock. */
export interface Lease {
  readonly id: bigint;
  /** Granted TTL in seconds (already raised to the minimum TTL). */
  readonly ttl: number;
  /** Replicated, checkpointed remaining TTL in seconds; 0 when there is none. */
  readonly remainingTtl: number;
  /** When this member would expire the lease: finite only while this member is the primary. */
  readonly expiryMs: number;
  readonly keyCount: number;
  /** Copies of the attached keys, in byte order. */
  keys(): Buffer[];
}

function compareBytes(a: Uint8Array, b: Uint8Array): number {
  return Buffer.compare(a, b);
}

/** Map key for a byte string: latin1 maps each byte to one char, so it is exact and cheap. */
function keyId(key: Uint8Array): string {
  return Buffer.from(key.buffer, key.byteOffset, key.byteLength).toString('latin1');
}

/** The lessor's mutable record behind the Lease view; only LeaseStore changes it. */
export class LeaseRecord implements Lease {
  expiryMs = Number.POSITIVE_INFINITY;
  /**
   * True once a checkpoint for this lease may sit in the replicated state (applied or still in
   * flight) since the last renew, so the next renew must replicate a clear.
   */
  checkpointMayBeStale = false;
  private readonly attached = new Map<string, Buffer>();

  constructor(
    readonly id: bigint,
    public ttl: number,
    public remainingTtl: number,
  ) {}

  get keyCount(): number {
    return this.attached.size;
  }

  attach(key: Uint8Array): void {
    const id = keyId(key);
    if (!this.attached.has(id)) this.attached.set(id, Buffer.from(key));
  }

  detach(key: Uint8Array): void {
    this.attached.delete(keyId(key));
  }

  keys(): Buffer[] {
    return this.sortedKeys().map((key) => Buffer.from(key));
  }

  /** The attached keys themselves (not copies), in byte order; for revoke, which drops the record. */
  sortedKeys(): Buffer[] {
    return [...this.attached.values()].sort(compareBytes);
  }
}
