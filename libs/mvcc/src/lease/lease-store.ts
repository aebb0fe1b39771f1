import { DeadlineQueue } from './deadline-queue';
import type { Lease } from './lease';
import { LeaseRecord } from './lease';
import type { LeaseClock } from './lease-clock';
import { LeaseError } from './lease-error';
import {
  assertLeaseId,
  decodeLeaseKey,
  decodeLeaseRecord,
  encodeLeaseKey,
  encodeLeaseRecord,
} from './lease-record-codec';

/** etcd's MaxLeaseTTL, in seconds. */
export const MAX_LEASE_TTL = 9_000_000_000;
/** etcd's default lease checkpoint interval (5 minutes). */
export const DEFAULT_CHECKPOINT_INTERVAL_MS = 300_000;
/** etcd's expiredLeaseRetryInterval: how long an expired lease waits before it is reported again. */
export const DEFAULT_EXPIRED_RETRY_MS = 3_000;

export interface LeaseStoreOptions {
  clock: LeaseClock;
  /** Grants below this TTL (seconds) are raised to it; etcd uses ceil(1.5 × election timeout). */
  minTtlSeconds: number;
  /** How often the primary checkpoints remaining TTLs; 0 turns checkpoints off. Default 5 minutes. */
  checkpointIntervalMs?: number;
  /** An expired lease not yet revoked is reported again after this long. Default 3 s. */
  expiredRetryMs?: number;
}

export interface LeaseCheckpoint {
  id: bigint;
  /** Remaining TTL in seconds; 0 clears a checkpoint (the lease was renewed). */
  remainingTtl: number;
}

export interface LeaseTimeToLive {
  /** Remaining seconds (rounded up; 0 once expired but not yet revoked). */
  ttl: number;
  grantedTtl: number;
  /** Attached keys in byte order, or empty unless asked for. */
  keys: Uint8Array[];
}

/**
 * The part of @cairn/storage's Backend the lessor reads at open; a Backend is one. Declared here (not
 * imported) so the lessor depends only on what it uses.
 */
export interface LeaseBackend {
  iterate(bucket: 'lease'): AsyncIterable<[Buffer, Buffer]>;
}

/** The part of @cairn/storage's BackendBatch the lessor writes to; a BackendBatch is one. */
export interface LeaseBatch {
  put(bucket: 'lease', key: Uint8Array, value: Uint8Array): unknown;
  del(bucket: 'lease', key: Uint8Array): unknown;
}

function assertWholeSeconds(name: string, value: number): void {
  if (!Number.isSafeInteger(value) || value < 0) {
    throw new RangeError(`${name} must be a non-negative integer number of seconds, got ${value}`);
  }
}

function assertMilliseconds(name: string, value: number, allowZero: boolean): void {
  if (!Number.isFinite(value) || value < 0 || (!allowZero && value === 0)) {
    throw new RangeError(
      `${name} must be a ${allowZero ? 'non-negative' : 'positive'} number of ms, got ${value}`,
    );
  }
}

/**
 * The lessor: every member holds the same leases (granted, revoked, attached and checkpointed through
 * Raft apply); only the primary (the Raft leader) runs expiry and keep-alives, on its own clock.
 *
 * Replicated methods (grant, revoke, attach, detach, checkpoint) never read the clock into persisted
 * state, so every member applies them identically. Leader-local methods (promote, demote, renew,
 * expired, checkpointsDue) only touch in-memory expiry bookkeeping.
 */
export class LeaseStore {
  private readonly records = new Map<bigint, LeaseRecord>();
  /** Primary only: when each lease should next be reported (its expiry, then retry times). */
  private readonly expiryQueue = new DeadlineQueue();
  /** Primary only: when each long lease should next have its remaining TTL checkpointed. */
  private readonly checkpointQueue = new DeadlineQueue();
  /** Primary only: renewed leases whose replicated checkpoint must be cleared, in renew order. */
  private readonly pendingClears = new Set<bigint>();
  private primary = false;
  private readonly clock: LeaseClock;
  private readonly minTtl: number;
  private readonly checkpointIntervalMs: number;
  private readonly expiredRetryMs: number;

  private constructor(options: LeaseStoreOptions) {
    if (!Number.isSafeInteger(options.minTtlSeconds) || options.minTtlSeconds < 1) {
      throw new RangeError(`minTtlSeconds must be a positive integer, got ${options.minTtlSeconds}`);
    }
    this.clock = options.clock;
    this.minTtl = options.minTtlSeconds;
    this.checkpointIntervalMs = options.checkpointIntervalMs ?? DEFAULT_CHECKPOINT_INTERVAL_MS;
    this.expiredRetryMs = options.expiredRetryMs ?? DEFAULT_EXPIRED_RETRY_MS;
    assertMilliseconds('checkpointIntervalMs', this.checkpointIntervalMs, true);
    assertMilliseconds('expiredRetryMs', this.expiredRetryMs, false);
  }

  /**
   * Load every lease from the 'lease' bucket. Leases start as on a follower (no expiry); the server
   * re-attaches keys from the KV store's live keys, then calls promote() if it leads.
   */
  static async open(backend: LeaseBackend, options: LeaseStoreOptions): Promise<LeaseStore> {
    const store = new LeaseStore(options);
    await store.load(backend);
    return store;
  }

  /**
   * Replace every lease with those of another backend, in place (a leader's snapshot was installed; etcd's
   * lessor.Recover). Keys are attached again by the caller; a primary restarts every lease's expiry.
   */
  async restore(backend: LeaseBackend, extendMs = 0): Promise<void> {
    this.records.clear();
    this.expiryQueue.clear();
    this.checkpointQueue.clear();
    this.pendingClears.clear();
    await this.load(backend);
    if (this.primary) this.promote(extendMs);
  }

  private async load(backend: LeaseBackend): Promise<void> {
    for await (const [key, value] of backend.iterate('lease')) {
      const id = decodeLeaseKey(key);
      const { ttl, remainingTtl } = decodeLeaseRecord(id, value);
      // Like etcd: a raised minimum TTL applies to leases granted before the change too.
      const record = new LeaseRecord(id, Math.max(ttl, this.minTtl), remainingTtl);
      record.checkpointMayBeStale = remainingTtl > 0;
      this.records.set(id, record);
    }
  }

  // ---- Replicated: applied through Raft on every member ----

  /** Create lease `id`; its record is staged in `batch`. TTLs below the minimum are raised to it. */
  grant(id: bigint, ttl: number, batch: LeaseBatch): Lease {
    // ID 0 means "no lease" on the wire; etcd answers it as not found.
    if (id === 0n) throw new LeaseError('lease-not-found', 'lease ID 0 is reserved');
    assertLeaseId(id);
    if (ttl > MAX_LEASE_TTL) throw new LeaseError('ttl-too-large');
    if (!Number.isSafeInteger(ttl)) throw new RangeError(`lease TTL must be an integer, got ${ttl}`);
    if (this.records.has(id)) throw new LeaseError('lease-exists');

    const record = new LeaseRecord(id, Math.max(ttl, this.minTtl), 0);
    this.records.set(id, record);
    batch.put('lease', encodeLeaseKey(id), encodeLeaseRecord(record));
    if (this.primary) {
      const now = this.clock.now();
      this.startExpiry(record, now, record.ttl, 0);
    }
    return record;
  }

  /**
   * Delete lease `id` (staged in `batch`) and return its attached keys in byte order, for the caller
   * to delete in the same revision (the same order on every member keeps backends identical).
   */
  revoke(id: bigint, batch: LeaseBatch): Uint8Array[] {
    const record = this.records.get(id);
    if (record === undefined) throw new LeaseError('lease-not-found');
    this.records.delete(id);
    this.expiryQueue.remove(id);
    this.checkpointQueue.remove(id);
    this.pendingClears.delete(id);
    batch.del('lease', encodeLeaseKey(id));
    return record.sortedKeys();
  }

  /** Record that `key` now carries lease `id` (a put). Throws lease-not-found for an unknown lease. */
  attach(id: bigint, key: Uint8Array): void {
    const record = this.records.get(id);
    if (record === undefined) throw new LeaseError('lease-not-found');
    record.attach(key);
  }

  /** Record that `key` no longer carries lease `id` (a delete or re-put). No-op when not attached. */
  detach(id: bigint, key: Uint8Array): void {
    this.records.get(id)?.detach(key);
  }

  /**
   * Persist a remaining TTL computed by the primary (0 clears it). Unknown leases are ignored: the
   * lease may have been revoked while the checkpoint was in flight.
   */
  checkpoint(id: bigint, remainingTtl: number, batch: LeaseBatch): void {
    assertWholeSeconds('remainingTtl', remainingTtl);
    const record = this.records.get(id);
    if (record === undefined) return;
    record.remainingTtl = remainingTtl;
    if (remainingTtl > 0) record.checkpointMayBeStale = true;
    batch.put('lease', encodeLeaseKey(id), encodeLeaseRecord(record));
  }

  // ---- Leader-only, local ----

  /**
   * This member became the primary: every lease expires at now + (checkpointed remaining TTL, or the
   * TTL) + extendMs. The extension covers keep-alives that were in flight to the old leader.
   */
  promote(extendMs: number): void {
    assertMilliseconds('extendMs', extendMs, true);
    this.primary = true;
    this.expiryQueue.clear();
    this.checkpointQueue.clear();
    this.pendingClears.clear();
    const now = this.clock.now();
    for (const record of this.records.values()) {
      const seconds = record.remainingTtl > 0 ? record.remainingTtl : record.ttl;
      this.startExpiry(record, now, seconds, extendMs);
    }
  }

  /** This member lost leadership: nothing expires here until it is promoted again. */
  demote(): void {
    this.primary = false;
    for (const record of this.records.values()) record.expiryMs = Number.POSITIVE_INFINITY;
    this.expiryQueue.clear();
    this.checkpointQueue.clear();
    this.pendingClears.clear();
  }

  isPrimary(): boolean {
    return this.primary;
  }

  /**
   * Keep-alive: the lease now expires TTL seconds from now; returns the TTL. A lease whose expiry has
   * passed is as good as revoked (its revoke is on its way), so it answers lease-not-found, like etcd.
   * If a checkpoint of this lease may be in the replicated state, a clear (remainingTtl 0) is queued
   * and handed out first by the next checkpointsDue(), so a new leader does not cut the renewed lease
   * short.
   */
  renew(id: bigint): number {
    if (!this.primary) throw new LeaseError('not-primary');
    const record = this.records.get(id);
    if (record === undefined) throw new LeaseError('lease-not-found');
    const now = this.clock.now();
    if (record.expiryMs <= now) throw new LeaseError('lease-not-found', 'lease expired');
    record.expiryMs = now + record.ttl * 1000;
    this.expiryQueue.schedule(id, record.expiryMs);
    if (record.checkpointMayBeStale || record.remainingTtl > 0) this.pendingClears.add(id);
    record.checkpointMayBeStale = false;
    record.remainingTtl = 0;
    return record.ttl;
  }

  /**
   * Up to `limit` leases whose expiry has passed, earliest first, for the caller to revoke through
   * Raft. Each is reported once, then again every expiredRetryMs while it is still not revoked (the
   * revoke proposal may have been lost). Empty on a non-primary.
   */
  expired(limit: number): bigint[] {
    if (!this.primary) return [];
    const now = this.clock.now();
    const out: bigint[] = [];
    while (out.length < limit) {
      const next = this.expiryQueue.peek();
      if (next === undefined || next.time > now) break;
      out.push(next.id);
      this.expiryQueue.schedule(next.id, now + this.expiredRetryMs);
    }
    return out;
  }

  /**
   * Up to `limit` checkpoints to propose through Raft: first clears for renewed leases, then the
   * remaining TTL of each lease whose checkpoint time has come (only leases with TTL longer than the
   * interval are checkpointed, every interval). Empty on a non-primary.
   */
  checkpointsDue(limit: number): LeaseCheckpoint[] {
    if (!this.primary) return [];
    const out: LeaseCheckpoint[] = [];
    for (const id of this.pendingClears) {
      if (out.length >= limit) return out;
      this.pendingClears.delete(id);
      out.push({ id, remainingTtl: 0 });
    }
    const now = this.clock.now();
    while (out.length < limit) {
      const next = this.checkpointQueue.peek();
      if (next === undefined || next.time > now) break;
      const record = this.records.get(next.id) as LeaseRecord;
      if (record.expiryMs <= now) {
        // Expired: its revoke is due, not a checkpoint.
        this.checkpointQueue.remove(next.id);
        continue;
      }
      // Rescheduled when handed out, so a lost proposal does not end this lease's checkpoints.
      this.checkpointQueue.schedule(next.id, now + this.checkpointIntervalMs);
      const remainingTtl = Math.ceil((record.expiryMs - now) / 1000);
      // A full TTL (just renewed or extended by promote) tells a new leader nothing new.
      if (remainingTtl >= record.ttl) continue;
      record.checkpointMayBeStale = true;
      out.push({ id: next.id, remainingTtl });
    }
    return out;
  }

  // ---- Reads ----

  /**
   * Remaining and granted TTL of `id`, or undefined when unknown. On the primary the remaining TTL
   * comes from its expiry; elsewhere from the checkpointed remaining TTL or else the granted TTL.
   */
  timeToLive(id: bigint, withKeys: boolean): LeaseTimeToLive | undefined {
    const record = this.records.get(id);
    if (record === undefined) return undefined;
    // Whole seconds left, truncated as etcd's int64(Remaining().Seconds()): 9 just after a grant of 10.
    const ttl = this.primary
      ? Math.max(0, Math.floor((record.expiryMs - this.clock.now()) / 1000))
      : record.remainingTtl > 0
        ? record.remainingTtl
        : record.ttl;
    return { ttl, grantedTtl: record.ttl, keys: withKeys ? record.keys() : [] };
  }

  /** Every lease ID, ascending. */
  leases(): bigint[] {
    return [...this.records.keys()].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  }

  has(id: bigint): boolean {
    return this.records.has(id);
  }

  lookup(id: bigint): Lease | undefined {
    return this.records.get(id);
  }

  private startExpiry(record: LeaseRecord, now: number, seconds: number, extendMs: number): void {
    record.expiryMs = now + seconds * 1000 + extendMs;
    this.expiryQueue.schedule(record.id, record.expiryMs);
    // Keyed on the TTL, not on `seconds`: a lease promoted with a short checkpointed remainder still
    // needs checkpoints once a keep-alive restores its full TTL.
    if (this.checkpointIntervalMs > 0 && record.ttl * 1000 > this.checkpointIntervalMs) {
      this.checkpointQueue.schedule(record.id, now + this.checkpointIntervalMs);
    }
  }
}
