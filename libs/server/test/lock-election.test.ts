// etcd's Lock and Election services over a bare store (LocalEtcdPort): lockers queue behind the oldest key and
// get the lock when it is unlocked or its lease expires; a wait that ends early leaves no key and no watcher;
// campaign, proclaim, leader, observe and resign with etcd's "not leader" / "no leader". Revisions are only
// compared with each other (never absolute numbers).
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { prefixEnd } from '@cairn/api';
import bcrypt from 'bcryptjs';
import { afterEach, describe, expect, it } from 'vitest';
import { PermissionType } from '../src/auth';
import { ElectionApi } from '../src/etcd/election-api';
import { LockApi } from '../src/etcd/lock-api';
import { type CallContext, type EtcdPort, LocalEtcdPort, type PortWatch, internalContext } from '../src/port';

const b = (text: string): Buffer => Buffer.from(text);
const ctx = internalContext();

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

interface Harness {
  local: LocalEtcdPort;
  port: EtcdPort;
  lock: LockApi;
  election: ElectionApi;
  /** Port watches opened by the recipes and not yet cancelled. */
  openWatches(): number;
  setNow(ms: number): void;
}

/** The store's port with its watches counted, so a test can see that none is left behind. */
function countingWatches(port: EtcdPort): { port: EtcdPort; open: () => number } {
  let open = 0;
  const wrapped = new Proxy(port, {
    get(target, prop) {
      if (prop === 'watch') {
        return (...args: Parameters<EtcdPort['watch']>): PortWatch => {
          const watch = target.watch(...args);
          open++;
          let live = true;
          return {
            id: watch.id,
            isSynced: () => watch.isSynced(),
            cancel: () => {
              if (live) open--;
              live = false;
              watch.cancel();
            },
          };
        };
      }
      const value: unknown = Reflect.get(target, prop, target);
      return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
    },
  });
  return { port: wrapped, open: () => open };
}

async function open(): Promise<Harness> {
  const dir = await mkdtemp(join(tmpdir(), 'cairn-recipes-'));
  cleanups.push(() => rm(dir, { recursive: true, force: true }));
  let now = 0;
  const local = await LocalEtcdPort.open({ dataDir: dir, leaseClock: { now: () => now } });
  cleanups.push(() => local.close());
  const { port, open: openWatches } = countingWatches(local.port);
  const source = {
    port,
    header: (revision: number) => ({ cluster_id: '1', member_id: '1', revision, raft_term: 1 }),
  };
  return {
    local,
    port,
    lock: new LockApi(source),
    election: new ElectionApi(source),
    openWatches,
    setNow: (ms) => {
      now = ms;
    },
  };
}

async function keysUnder(port: EtcdPort, prefix: string): Promise<string[]> {
  const read = await port.range(ctx, { key: b(prefix), rangeEnd: prefixEnd(prefix) });
  return read.kvs.map((kv) => kv.key.toString());
}

/** Whether a promise is still pending after the store has had time to answer. */
async function pending(promise: Promise<unknown>): Promise<boolean> {
  const marker = Symbol('pending');
  const winner = await Promise.race([promise.catch(() => undefined), sleep(50).then(() => marker)]);
  return winner === marker;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

async function errorOf(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
  } catch (err) {
    // Failed inner calls are plain { code, details, message } objects (gRPC Unknown, as etcd answers).
    if (typeof err === 'object' && err !== null && 'message' in err) return String(err.message);
    return String(err);
  }
  return 'no error';
}

const keyOf = (response: object): string => (response as { key: Buffer }).key.toString();
const revisionOf = (response: object): number =>
  (response as { header: { revision: number } }).header.revision;

describe('Lock over the EtcdPort', () => {
  it('queues a second locker until the first unlocks, then until the holder’s lease expires', async () => {
    const h = await open();
    const a = await h.port.leaseGrant(ctx, { ttl: 10 });
    const bLease = await h.port.leaseGrant(ctx, { ttl: 10 });
    const c = await h.port.leaseGrant(ctx, { ttl: 100 });

    const first = await h.lock.lock({ name: b('job'), lease: a.id.toString() }, ctx);
    expect(keyOf(first)).toBe(`job/${a.id.toString(16)}`);
    // Locking again with the same lease is the same acquisition, at once.
    expect(keyOf(await h.lock.lock({ name: b('job'), lease: a.id.toString() }, ctx))).toBe(keyOf(first));

    const second = h.lock.lock({ name: b('job'), lease: bLease.id.toString() }, ctx);
    expect(await pending(second)).toBe(true);
    expect(await keysUnder(h.port, 'job/')).toHaveLength(2);
    await h.lock.unlock({ key: (first as { key: Buffer }).key }, ctx);
    const granted = await second;
    expect(keyOf(granted)).toBe(`job/${bLease.id.toString(16)}`);
    // Answered after the unlock: its header is past the revision the first lock answered with.
    expect(revisionOf(granted)).toBeGreaterThan(revisionOf(first));

    const third = h.lock.lock({ name: b('job'), lease: c.id.toString() }, ctx);
    expect(await pending(third)).toBe(true);
    h.setNow(11_000); // the holder (b) stops keeping its lease alive; a's lease is gone too
    expect(await h.local.expireLeases()).toContain(bLease.id);
    expect(keyOf(await third)).toBe(`job/${c.id.toString(16)}`);
    expect(h.openWatches()).toBe(0);
  });

  it('a wait ended by the caller leaves no key and no watcher; a deadline likewise', async () => {
    const h = await open();
    const holder = await h.port.leaseGrant(ctx, { ttl: 100 });
    const waiter = await h.port.leaseGrant(ctx, { ttl: 100 });
    await h.lock.lock({ name: b('res'), lease: holder.id.toString() }, ctx);

    const gone = new AbortController();
    const canceled = h.lock.lock(
      { name: b('res'), lease: waiter.id.toString() },
      { ...ctx, signal: gone.signal },
    );
    expect(await pending(canceled)).toBe(true);
    expect(h.openWatches()).toBe(1);
    gone.abort();
    expect(await errorOf(canceled)).toBe('etcdserver: request canceled');
    expect(await keysUnder(h.port, 'res/')).toEqual([`res/${holder.id.toString(16)}`]);
    expect(h.openWatches()).toBe(0);

    const late: CallContext = { ...ctx, deadline: Date.now() + 100 };
    expect(await errorOf(h.lock.lock({ name: b('res'), lease: waiter.id.toString() }, late))).toBe(
      'etcdserver: context deadline exceeded',
    );
    expect(await keysUnder(h.port, 'res/')).toEqual([`res/${holder.id.toString(16)}`]);
    expect(h.openWatches()).toBe(0);
  });

  it('holds the key with a fresh 60 s lease when none is given, and refuses an unknown lease', async () => {
    const h = await open();
    const locked = await h.lock.lock({ name: b('solo'), lease: '0' }, ctx);
    const [kv] = (await h.port.range(ctx, { key: (locked as { key: Buffer }).key })).kvs;
    expect(kv?.lease).not.toBe(0n);
    expect((await h.port.leaseTimeToLive(ctx, kv?.lease ?? 0n))?.grantedTtl).toBe(60);
    await expect(h.lock.lock({ name: b('solo'), lease: '12345' }, ctx)).rejects.toEqual({
      code: 2,
      details: 'etcdserver: requested lease not found',
      message: 'etcdserver: requested lease not found',
    });
  });
});

describe('Election over the EtcdPort', () => {
  it('campaigns, proclaims, reports and streams the leader, resigns; with etcd’s errors', async () => {
    const h = await open();
    const one = await h.port.leaseGrant(ctx, { ttl: 100 });
    const two = await h.port.leaseGrant(ctx, { ttl: 100 });
    expect(await errorOf(h.election.leader({ name: b('e') }, ctx))).toBe('election: no leader');

    const observer = new AbortController();
    const seen: string[] = [];
    const observing = h.election.observe(
      { name: b('e') },
      { ...ctx, signal: observer.signal },
      (response) => {
        seen.push((response as { kv: { value: Buffer } }).kv.value.toString());
      },
    );

    const won = (await h.election.campaign(
      { name: b('e'), lease: one.id.toString(), value: b('v1') },
      ctx,
    )) as {
      leader: { name: Buffer; key: Buffer; rev: number; lease: string };
    };
    expect(won.leader.key.toString()).toBe(`e/${one.id.toString(16)}`);
    expect(won.leader.lease).toBe(one.id.toString());
    const leaderKey = {
      name: won.leader.name,
      key: won.leader.key,
      rev: String(won.leader.rev),
      lease: won.leader.lease,
    };

    const runnerUp = h.election.campaign({ name: b('e'), lease: two.id.toString(), value: b('w1') }, ctx);
    expect(await pending(runnerUp)).toBe(true);

    await h.election.proclaim({ leader: leaderKey, value: b('v2') }, ctx);
    const current = (await h.election.leader({ name: b('e') }, ctx)) as {
      kv: { value: Buffer; key: Buffer };
    };
    expect([current.kv.key.toString(), current.kv.value.toString()]).toEqual([
      `e/${one.id.toString(16)}`,
      'v2',
    ]);
    expect(
      await errorOf(
        h.election.proclaim(
          { leader: { ...leaderKey, rev: String(won.leader.rev + 1) }, value: b('x') },
          ctx,
        ),
      ),
    ).toBe('election: not leader');
    expect(await errorOf(h.election.proclaim({ value: b('x') }, ctx))).toBe(
      '"leader" field must be provided',
    );

    await h.election.resign({ leader: leaderKey }, ctx);
    const next = (await runnerUp) as { leader: { key: Buffer; rev: number } };
    expect(next.leader.key.toString()).toBe(`e/${two.id.toString(16)}`);
    // Resigning a lost leadership is no error; proclaiming with it is.
    await h.election.resign({ leader: leaderKey }, ctx);
    expect(await errorOf(h.election.proclaim({ leader: leaderKey, value: b('v3') }, ctx))).toBe(
      'election: not leader',
    );

    await expect.poll(() => seen).toEqual(['v1', 'v2', 'w1']);
    await h.election.resign(
      {
        leader: {
          name: b('e'),
          key: next.leader.key,
          rev: String(next.leader.rev),
          lease: two.id.toString(),
        },
      },
      ctx,
    );
    expect(await errorOf(h.election.leader({ name: b('e') }, ctx))).toBe('election: no leader');
    observer.abort();
    expect(await errorOf(observing)).toBe('etcdserver: request canceled');
    expect(h.openWatches()).toBe(0);
  });

  it('a campaign ended by the caller withdraws its candidacy', async () => {
    const h = await open();
    const one = await h.port.leaseGrant(ctx, { ttl: 100 });
    const two = await h.port.leaseGrant(ctx, { ttl: 100 });
    await h.election.campaign({ name: b('c'), lease: one.id.toString(), value: b('a') }, ctx);
    const gone = new AbortController();
    const waiting = h.election.campaign(
      { name: b('c'), lease: two.id.toString(), value: b('b') },
      { ...ctx, signal: gone.signal },
    );
    expect(await pending(waiting)).toBe(true);
    gone.abort();
    expect(await errorOf(waiting)).toBe('etcdserver: request canceled');
    expect(await keysUnder(h.port, 'c/')).toEqual([`c/${one.id.toString(16)}`]);
    expect(h.openWatches()).toBe(0);
  });
});

describe('Lock and Election with auth on', () => {
  it('run with the caller’s permissions: a lock outside the caller’s keys is refused and writes nothing', async () => {
    const h = await open();
    const hash = await bcrypt.hash('pw', 4);
    await h.local.applyAuth({ auth_user_add: { name: 'root', hashedPassword: hash } });
    await h.local.applyAuth({ auth_role_add: { name: 'root' } });
    await h.local.applyAuth({ auth_user_grant_role: { user: 'root', role: 'root' } });
    await h.local.applyAuth({ auth_role_add: { name: 'jobs' } });
    await h.local.applyAuth({
      auth_role_grant_permission: {
        name: 'jobs',
        perm: { permType: PermissionType.READWRITE, key: b('jobs/'), range_end: prefixEnd(b('jobs/')) },
      },
    });
    await h.local.applyAuth({ auth_user_add: { name: 'alice', hashedPassword: hash } });
    await h.local.applyAuth({ auth_user_grant_role: { user: 'alice', role: 'jobs' } });
    await h.local.applyAuth({ auth_enable: {} });
    const alice: CallContext = { identity: { user: 'alice' } };
    const lease = await h.port.leaseGrant(alice, { ttl: 100 });

    const locked = await h.lock.lock({ name: b('jobs/nightly'), lease: lease.id.toString() }, alice);
    expect(keyOf(locked)).toBe(`jobs/nightly/${lease.id.toString(16)}`);
    expect(await errorOf(h.lock.lock({ name: b('other'), lease: lease.id.toString() }, alice))).toBe(
      'etcdserver: permission denied',
    );
    expect(await errorOf(h.election.leader({ name: b('other') }, alice))).toBe(
      'etcdserver: permission denied',
    );
    expect(await keysUnder(h.port, 'other/')).toEqual([]);
  });
});
