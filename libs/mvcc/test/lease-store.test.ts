import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Backend } from '@cairn/storage';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { LeaseError, type LeaseErrorCode, LeaseStore, type LeaseStoreOptions, MAX_LEASE_TTL } from '../src';

class FakeClock {
  constructor(public ms = 1_000_000) {}
  now(): number {
    return this.ms;
  }
  advance(ms: number): void {
    this.ms += ms;
  }
}

const key = (text: string): Buffer => Buffer.from(text);
const texts = (keys: Uint8Array[]): string[] => keys.map((k) => Buffer.from(k).toString());

function expectLeaseError(run: () => unknown, code: LeaseErrorCode): void {
  let caught: unknown;
  try {
    run();
  } catch (error) {
    caught = error;
  }
  expect(caught, `expected LeaseError(${code})`).toBeInstanceOf(LeaseError);
  expect((caught as LeaseError).code).toBe(code);
}

let dir: string;
let backend: Backend;
let clock: FakeClock;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'cairn-lease-'));
  backend = await Backend.open(join(dir, 'db'));
  clock = new FakeClock();
});

afterEach(async () => {
  await backend.close();
  await rm(dir, { recursive: true, force: true });
});

function open(options: Partial<LeaseStoreOptions> = {}): Promise<LeaseStore> {
  return LeaseStore.open(backend, { clock, minTtlSeconds: 5, ...options });
}

/** Apply `run` in one backend batch and write it, like one Raft apply. */
async function apply<T>(run: (batch: ReturnType<Backend['batch']>) => T): Promise<T> {
  const batch = backend.batch();
  const result = run(batch);
  await batch.write();
  return result;
}

describe('grant', () => {
  it('creates a lease with the requested TTL', async () => {
    const store = await open();
    const lease = await apply((b) => store.grant(7n, 30, b));
    expect(lease.id).toBe(7n);
    expect(lease.ttl).toBe(30);
    expect(store.has(7n)).toBe(true);
    expect(store.lookup(7n)?.ttl).toBe(30);
    expect(store.timeToLive(7n, false)).toEqual({ ttl: 30, grantedTtl: 30, keys: [] });
  });

  it('raises a TTL below the minimum to the minimum', async () => {
    const store = await open();
    expect(store.grant(1n, 1, backend.batch()).ttl).toBe(5);
    expect(store.grant(2n, -10, backend.batch()).ttl).toBe(5);
  });

  it('rejects a TTL above 9,000,000,000 s but accepts exactly that', async () => {
    const store = await open();
    expectLeaseError(() => store.grant(1n, MAX_LEASE_TTL + 1, backend.batch()), 'ttl-too-large');
    expect(store.has(1n)).toBe(false);
    expect(store.grant(2n, MAX_LEASE_TTL, backend.batch()).ttl).toBe(MAX_LEASE_TTL);
  });

  it('rejects an existing ID and keeps the first lease', async () => {
    const store = await open();
    store.grant(1n, 10, backend.batch());
    expectLeaseError(() => store.grant(1n, 60, backend.batch()), 'lease-exists');
    expect(store.lookup(1n)?.ttl).toBe(10);
  });

  it('rejects ID 0 (no lease) as not found, like etcd', async () => {
    const store = await open();
    expectLeaseError(() => store.grant(0n, 10, backend.batch()), 'lease-not-found');
  });

  it('carries etcd error text for the API layer', async () => {
    const store = await open();
    store.grant(1n, 10, backend.batch());
    expect(() => store.grant(1n, 10, backend.batch())).toThrow('etcdserver: lease already exists');
    expect(() => store.revoke(99n, backend.batch())).toThrow('etcdserver: requested lease not found');
  });

  it('accepts negative and extreme int64 IDs and rejects IDs outside int64', async () => {
    const store = await open();
    store.grant(-1n, 10, backend.batch());
    store.grant((1n << 63n) - 1n, 10, backend.batch());
    store.grant(-(1n << 63n), 10, backend.batch());
    expect(() => store.grant(1n << 63n, 10, backend.batch())).toThrow(RangeError);
    expect(store.leases()).toEqual([-(1n << 63n), -1n, (1n << 63n) - 1n]);
  });
});

describe('revoke, attach and detach', () => {
  it('revoke returns the attached keys in byte order and forgets the lease', async () => {
    const store = await open();
    store.grant(1n, 10, backend.batch());
    for (const k of ['b', 'a', 'c/2', 'c/10']) store.attach(1n, key(k));
    const keys = store.revoke(1n, backend.batch());
    expect(texts(keys)).toEqual(['a', 'b', 'c/10', 'c/2']);
    expect(store.has(1n)).toBe(false);
    expect(store.timeToLive(1n, true)).toBeUndefined();
  });

  it('revoke of an unknown lease is lease-not-found', async () => {
    const store = await open();
    expectLeaseError(() => store.revoke(5n, backend.batch()), 'lease-not-found');
  });

  it('attach is idempotent, detach removes, detach of unknown lease or key is a no-op', async () => {
    const store = await open();
    store.grant(1n, 10, backend.batch());
    store.attach(1n, key('x'));
    store.attach(1n, key('x'));
    store.attach(1n, key('y'));
    expect(store.lookup(1n)?.keyCount).toBe(2);
    store.detach(1n, key('x'));
    store.detach(1n, key('never'));
    store.detach(42n, key('y'));
    expect(texts(store.timeToLive(1n, true)?.keys ?? [])).toEqual(['y']);
    expect(store.timeToLive(1n, false)?.keys).toEqual([]);
  });

  it('attach to an unknown lease is lease-not-found', async () => {
    const store = await open();
    expectLeaseError(() => store.attach(3n, key('k')), 'lease-not-found');
  });

  it('keeps its own copy of attached keys and hands out copies', async () => {
    const store = await open();
    store.grant(1n, 10, backend.batch());
    const mine = key('abc');
    store.attach(1n, mine);
    mine[0] = 0x7a; // caller reuses its buffer
    const listed = store.lookup(1n)?.keys() ?? [];
    listed[0][0] = 0x7a;
    expect(texts(store.revoke(1n, backend.batch()))).toEqual(['abc']);
  });

  it('tells keys apart byte for byte (binary keys)', async () => {
    const store = await open();
    store.grant(1n, 10, backend.batch());
    store.attach(1n, Uint8Array.of(0xff, 0x00));
    store.attach(1n, Uint8Array.of(0xff));
    store.attach(1n, Uint8Array.of(0x00, 0xff));
    expect(store.revoke(1n, backend.batch()).map((k) => [...k])).toEqual([
      [0x00, 0xff],
      [0xff],
      [0xff, 0x00],
    ]);
  });
});

describe('renew and expiry on the primary', () => {
  it('renew is refused on a non-primary and for unknown leases', async () => {
    const store = await open();
    store.grant(1n, 10, backend.batch());
    expectLeaseError(() => store.renew(1n), 'not-primary');
    store.promote(0);
    expectLeaseError(() => store.renew(2n), 'lease-not-found');
  });

  it('renew extends expiry to now + TTL and returns the TTL', async () => {
    const store = await open();
    store.promote(0);
    store.grant(1n, 10, backend.batch());
    clock.advance(9_000);
    expect(store.renew(1n)).toBe(10);
    clock.advance(9_999);
    expect(store.expired(10)).toEqual([]);
    expect(store.timeToLive(1n, false)?.ttl).toBe(0);
    clock.advance(1);
    expect(store.expired(10)).toEqual([1n]);
    expect(store.timeToLive(1n, false)?.ttl).toBe(0);
  });

  it('reports expired leases earliest first, within the limit, each once', async () => {
    const store = await open();
    store.promote(0);
    store.grant(30n, 30, backend.batch());
    store.grant(10n, 10, backend.batch());
    store.grant(20n, 20, backend.batch());
    store.grant(11n, 10, backend.batch());
    store.grant(99n, 100, backend.batch());
    clock.advance(30_000);
    expect(store.expired(2)).toEqual([10n, 11n]);
    expect(store.expired(10)).toEqual([20n, 30n]);
    expect(store.expired(10)).toEqual([]);
    clock.advance(1_000);
    expect(store.expired(10)).toEqual([]);
  });

  it('re-reports a lease still not revoked after the retry interval', async () => {
    const store = await open({ expiredRetryMs: 3_000 });
    store.promote(0);
    store.grant(1n, 5, backend.batch());
    store.grant(2n, 5, backend.batch());
    clock.advance(5_000);
    expect(store.expired(10)).toEqual([1n, 2n]);
    store.revoke(2n, backend.batch()); // 2's revoke applied; 1's proposal was lost
    clock.advance(2_999);
    expect(store.expired(10)).toEqual([]);
    clock.advance(1);
    expect(store.expired(10)).toEqual([1n]);
  });

  it('an expired lease can no longer be renewed (its revoke is on the way)', async () => {
    const store = await open();
    store.promote(0);
    store.grant(1n, 5, backend.batch());
    clock.advance(5_000);
    expectLeaseError(() => store.renew(1n), 'lease-not-found');
  });

  it('a revoked or renewed lease is not reported', async () => {
    const store = await open();
    store.promote(0);
    store.grant(1n, 5, backend.batch());
    store.grant(2n, 5, backend.batch());
    clock.advance(4_000);
    store.revoke(1n, backend.batch());
    store.renew(2n);
    clock.advance(4_000);
    expect(store.expired(10)).toEqual([]);
    clock.advance(1_000);
    expect(store.expired(10)).toEqual([2n]);
  });

  it('demote stops expiry and keep-alives; a follower never expires leases', async () => {
    const store = await open();
    store.grant(1n, 5, backend.batch()); // granted while follower: no expiry
    clock.advance(60_000);
    expect(store.expired(10)).toEqual([]);
    store.promote(0);
    store.demote();
    expect(store.isPrimary()).toBe(false);
    clock.advance(60_000);
    expect(store.expired(10)).toEqual([]);
    expect(store.lookup(1n)?.expiryMs).toBe(Number.POSITIVE_INFINITY);
    expectLeaseError(() => store.renew(1n), 'not-primary');
  });

  it('promote starts every lease at now + TTL + extend', async () => {
    const store = await open();
    store.grant(1n, 10, backend.batch());
    store.grant(2n, 20, backend.batch());
    clock.advance(100_000);
    store.promote(2_000);
    expect(store.isPrimary()).toBe(true);
    expect(store.timeToLive(1n, false)?.ttl).toBe(12);
    clock.advance(11_999);
    expect(store.expired(10)).toEqual([]);
    clock.advance(1);
    expect(store.expired(10)).toEqual([1n]);
    store.revoke(1n, backend.batch());
    clock.advance(10_000);
    expect(store.expired(10)).toEqual([2n]);
  });

  it('a re-promoted leader starts afresh (no reports left over from its last term)', async () => {
    const store = await open();
    store.promote(0);
    store.grant(1n, 5, backend.batch());
    clock.advance(5_000);
    store.demote();
    store.promote(1_000);
    clock.advance(5_999);
    expect(store.expired(10)).toEqual([]);
    clock.advance(1);
    expect(store.expired(10)).toEqual([1n]);
  });

  it('timeToLive on a non-primary uses the checkpointed remaining TTL, else the granted TTL', async () => {
    const store = await open();
    store.grant(1n, 600, backend.batch());
    store.grant(2n, 600, backend.batch());
    store.checkpoint(1n, 240, backend.batch());
    expect(store.timeToLive(1n, false)).toEqual({ ttl: 240, grantedTtl: 600, keys: [] });
    expect(store.timeToLive(2n, false)).toEqual({ ttl: 600, grantedTtl: 600, keys: [] });
  });

  it('timeToLive on the primary truncates the remaining time to whole seconds, as etcd', async () => {
    const store = await open();
    store.promote(0);
    store.grant(1n, 10, backend.batch());
    // etcd answers int64(Remaining().Seconds()): 9 right after a grant of 10, 7 after 2.5 s.
    clock.advance(1);
    expect(store.timeToLive(1n, false)?.ttl).toBe(9);
    clock.advance(2_499);
    expect(store.timeToLive(1n, false)?.ttl).toBe(7);
  });
});

describe('checkpoints', () => {
  it('checkpoints only leases with TTL longer than the interval, once per interval', async () => {
    const store = await open({ checkpointIntervalMs: 60_000 });
    store.promote(0);
    store.grant(1n, 600, backend.batch());
    store.grant(2n, 60, backend.batch()); // not longer than the interval
    clock.advance(59_999);
    expect(store.checkpointsDue(10)).toEqual([]);
    clock.advance(1);
    expect(store.checkpointsDue(10)).toEqual([{ id: 1n, remainingTtl: 540 }]);
    expect(store.checkpointsDue(10)).toEqual([]);
    clock.advance(60_500);
    expect(store.checkpointsDue(10)).toEqual([{ id: 1n, remainingTtl: 480 }]); // 479.5 rounded up
  });

  it('respects the limit and leaves the rest due', async () => {
    const store = await open({ checkpointIntervalMs: 1_000 });
    store.promote(0);
    for (let id = 1n; id <= 5n; id++) store.grant(id, 100, backend.batch());
    clock.advance(1_000);
    expect(store.checkpointsDue(2).map((c) => c.id)).toEqual([1n, 2n]);
    expect(store.checkpointsDue(10).map((c) => c.id)).toEqual([3n, 4n, 5n]);
  });

  it('skips a lease just renewed to its full TTL', async () => {
    const store = await open({ checkpointIntervalMs: 10_000 });
    store.promote(0);
    store.grant(1n, 100, backend.batch());
    clock.advance(10_000);
    store.renew(1n);
    expect(store.checkpointsDue(10)).toEqual([]);
  });

  it('does nothing when turned off or on a non-primary', async () => {
    const off = await open({ checkpointIntervalMs: 0 });
    off.promote(0);
    off.grant(1n, 1_000, backend.batch());
    clock.advance(500_000);
    expect(off.checkpointsDue(10)).toEqual([]);

    const follower = await open({ checkpointIntervalMs: 1_000 });
    follower.grant(1n, 1_000, backend.batch());
    clock.advance(5_000);
    expect(follower.checkpointsDue(10)).toEqual([]);
  });

  it('ignores a checkpoint for a lease revoked while it was in flight', async () => {
    const store = await open();
    const batch = backend.batch();
    store.checkpoint(77n, 30, batch);
    expect(batch.length).toBe(0);
    expect(store.has(77n)).toBe(false);
  });

  it('a new leader honours the checkpointed remaining TTL: no early expiry, no reset to full TTL', async () => {
    const options = { checkpointIntervalMs: 60_000 };
    const leader = await open(options);
    const follower = await open(options);
    leader.promote(0);
    for (const store of [leader, follower]) await apply((b) => store.grant(1n, 600, b));
    clock.advance(240_000);
    // The leader's periodic checkpoints, each applied on both members through Raft.
    let latest = 0;
    for (let minute = 0; minute < 4; minute++) {
      for (const cp of leader.checkpointsDue(10)) {
        for (const store of [leader, follower])
          await apply((b) => store.checkpoint(cp.id, cp.remainingTtl, b));
        latest = cp.remainingTtl;
      }
      if (minute < 3) clock.advance(60_000);
    }
    expect(latest).toBe(180); // checkpoints at 240 s (a late poll), 300, 360 and 420 s into the 600 s lease
    clock.advance(10_000); // the old leader dies; election takes 10 s
    follower.promote(1_000);
    clock.advance(180_999);
    expect(follower.expired(10)).toEqual([]); // not earlier than the checkpoint (+ extend)
    clock.advance(1);
    expect(follower.expired(10)).toEqual([1n]); // and not reset to the full 600 s
  });

  it('reopened from disk, a lease keeps its checkpointed remaining TTL', async () => {
    const first = await open();
    await apply((b) => first.grant(1n, 600, b));
    await apply((b) => first.checkpoint(1n, 100, b));
    const reopened = await open();
    expect(reopened.lookup(1n)).toMatchObject({ ttl: 600, remainingTtl: 100 });
    reopened.promote(0);
    clock.advance(99_999);
    expect(reopened.expired(10)).toEqual([]);
    clock.advance(1);
    expect(reopened.expired(10)).toEqual([1n]);
  });

  it('renew queues a clear first, so a later leader uses the full TTL again', async () => {
    const options = { checkpointIntervalMs: 60_000 };
    const leader = await open(options);
    const follower = await open(options);
    leader.promote(0);
    for (const store of [leader, follower]) await apply((b) => store.grant(1n, 600, b));
    for (const store of [leader, follower]) await apply((b) => store.checkpoint(1n, 30, b));
    clock.advance(1_000);
    leader.renew(1n);
    expect(leader.lookup(1n)?.remainingTtl).toBe(0);
    const due = leader.checkpointsDue(10);
    expect(due).toEqual([{ id: 1n, remainingTtl: 0 }]);
    for (const store of [leader, follower]) await apply((b) => store.checkpoint(1n, 0, b));
    expect(leader.checkpointsDue(10)).toEqual([]); // the clear is handed out once
    follower.promote(0);
    clock.advance(599_999);
    expect(follower.expired(10)).toEqual([]);
    clock.advance(1);
    expect(follower.expired(10)).toEqual([1n]);
  });

  it('a checkpoint still in flight when the lease is renewed is followed by a clear', async () => {
    const leader = await open({ checkpointIntervalMs: 60_000 });
    leader.promote(0);
    leader.grant(1n, 600, backend.batch());
    clock.advance(60_000);
    const inFlight = leader.checkpointsDue(10);
    expect(inFlight).toEqual([{ id: 1n, remainingTtl: 540 }]);
    leader.renew(1n); // before the checkpoint above is applied
    leader.checkpoint(1n, 540, backend.batch()); // the stale checkpoint applies now
    expect(leader.checkpointsDue(10)).toEqual([{ id: 1n, remainingTtl: 0 }]);
  });

  it('a renew with no checkpoint anywhere proposes nothing', async () => {
    const leader = await open({ checkpointIntervalMs: 60_000 });
    leader.promote(0);
    leader.grant(1n, 600, backend.batch());
    leader.renew(1n);
    expect(leader.checkpointsDue(10)).toEqual([]);
  });

  it('keeps checkpointing a lease promoted with a short remainder once it is renewed', async () => {
    const options = { checkpointIntervalMs: 60_000 };
    const first = await open(options);
    await apply((b) => first.grant(1n, 600, b));
    await apply((b) => first.checkpoint(1n, 30, b));
    const leader = await open(options);
    leader.promote(0);
    clock.advance(20_000);
    leader.renew(1n);
    expect(leader.checkpointsDue(10)).toEqual([{ id: 1n, remainingTtl: 0 }]);
    clock.advance(40_000);
    expect(leader.checkpointsDue(10)).toEqual([{ id: 1n, remainingTtl: 560 }]);
  });
});

describe('persistence', () => {
  it('restores granted leases and forgets revoked ones across reopen', async () => {
    const first = await open();
    await apply((b) => {
      first.grant(1n, 10, b);
      first.grant(2n, 20, b);
      first.grant(-3n, 30, b);
    });
    await apply((b) => first.revoke(2n, b));
    const reopened = await open();
    expect(reopened.leases()).toEqual([-3n, 1n]);
    expect(reopened.lookup(1n)).toMatchObject({ id: 1n, ttl: 10, remainingTtl: 0, keyCount: 0 });
    expect(reopened.isPrimary()).toBe(false);
  });

  it('nothing is persisted until the apply batch is written', async () => {
    const first = await open();
    first.grant(1n, 10, backend.batch()); // batch dropped, as if the apply crashed before its write
    const reopened = await open();
    expect(reopened.leases()).toEqual([]);
  });

  it('a raised minimum TTL applies to restored leases', async () => {
    const first = await open({ minTtlSeconds: 2 });
    await apply((b) => first.grant(1n, 3, b));
    const reopened = await open({ minTtlSeconds: 6 });
    expect(reopened.lookup(1n)?.ttl).toBe(6);
  });

  it('keys are re-attached by the caller after reopen, then revoke returns them', async () => {
    const first = await open();
    await apply((b) => first.grant(1n, 10, b));
    first.attach(1n, key('svc/a'));
    const reopened = await open();
    expect(reopened.lookup(1n)?.keyCount).toBe(0);
    reopened.attach(1n, key('svc/a'));
    expect(texts(await apply((b) => reopened.revoke(1n, b)))).toEqual(['svc/a']);
  });

  it('a corrupt record fails open with record-corrupt naming the lease', async () => {
    const id = Buffer.alloc(8);
    id.writeBigInt64BE(9n);
    await apply((b) => b.put('lease', id, Buffer.from('garbage')));
    await expect(open()).rejects.toMatchObject({
      code: 'record-corrupt',
      message: expect.stringContaining('lease 9'),
    });
  });
});

describe('options', () => {
  it('rejects a minimum TTL below one second and non-positive retry intervals', async () => {
    await expect(open({ minTtlSeconds: 0 })).rejects.toThrow(RangeError);
    await expect(open({ expiredRetryMs: 0 })).rejects.toThrow(RangeError);
    await expect(open({ checkpointIntervalMs: -1 })).rejects.toThrow(RangeError);
  });

  it('rejects fractional or negative checkpoint TTLs', async () => {
    const store = await open();
    store.grant(1n, 10, backend.batch());
    expect(() => store.checkpoint(1n, 1.5, backend.batch())).toThrow(RangeError);
    expect(() => store.checkpoint(1n, -1, backend.batch())).toThrow(RangeError);
  });
});
