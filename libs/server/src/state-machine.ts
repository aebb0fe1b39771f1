// Everything the applied log has built, opened over one LevelDB backend: the MVCC store and its watches, the
// lessor, membership and alarms. Installing a leader's snapshot restores it in place (etcd's
// store.Restore / watchableStore.Restore / lessor.Recover): the KV store, the watchable store and the lessor
// stay the same objects for the member's whole life, so no request handler, stream or timer can be left
// holding a closed store, and every watcher keeps its ID and catches up from its next revision.
import { KvStore, type LeaseClock, LeaseStore, WatchableStore, monotonicLeaseClock } from '@cairn/mvcc';
import { Backend } from '@cairn/storage';
import { AlarmStore } from './alarms';
import { AuthStore } from './auth/auth-store';
import { readConsistentIndex } from './consistent-index';
import { MemberStore } from './members';

export interface StateMachine {
  /** Replaced by a snapshot install (reach it through the state machine, never keep it). */
  backend: Backend;
  readonly kv: KvStore;
  readonly watchable: WatchableStore;
  readonly leases: LeaseStore;
  /** Small, reloaded by a snapshot install: read them through the state machine each time. */
  members: MemberStore;
  alarms: AlarmStore;
  /** Users, roles and permissions: the same object for the member's life (reloaded in place). */
  readonly auth: AuthStore;
  /** Index of the last Raft entry whose effects are in this backend. */
  consistentIndex: number;
}

export interface StateMachineOptions {
  minLeaseTtlSeconds: number;
  /** Lease expiry clock (monotonic by default; tests inject their own). */
  leaseClock?: LeaseClock;
}

export async function openStateMachine(dbPath: string, options: StateMachineOptions): Promise<StateMachine> {
  const backend = await Backend.open(dbPath);
  const kv = await KvStore.open(backend);
  const watchable = new WatchableStore(kv);
  const leases = await LeaseStore.open(backend, {
    clock: options.leaseClock ?? monotonicLeaseClock,
    minTtlSeconds: options.minLeaseTtlSeconds,
  });
  kv.setLeaseChecker((id) => leases.has(id));
  attachLeasedKeys(kv, leases);
  trackLeaseAttachments(kv, leases);
  const members = await MemberStore.load(backend);
  const alarms = await AlarmStore.load(backend);
  const auth = await AuthStore.load(backend);
  const consistentIndex = await readConsistentIndex(backend);
  return { backend, kv, watchable, leases, members, alarms, auth, consistentIndex };
}

/**
 * Replaces the backend under the state machine with the one `replace` puts at `dbPath`, in place. The old
 * backend is closed only once nothing reads it (catch-up turns paused, background compaction stopped).
 * `leaseExtendMs` restarts the expiry of every lease if this member is the lessor's primary.
 */
export async function restoreStateMachine(
  sm: StateMachine,
  dbPath: string,
  replace: () => Promise<void>,
  leaseExtendMs: number,
): Promise<void> {
  await sm.watchable.pause();
  await sm.kv.detach();
  await sm.backend.close();
  await replace();
  sm.backend = await Backend.open(dbPath);
  await sm.kv.restore(sm.backend);
  await sm.leases.restore(sm.backend, leaseExtendMs);
  attachLeasedKeys(sm.kv, sm.leases);
  sm.members = await MemberStore.load(sm.backend);
  sm.alarms = await AlarmStore.load(sm.backend);
  await sm.auth.reload(sm.backend);
  sm.consistentIndex = await readConsistentIndex(sm.backend);
  sm.watchable.restore();
}

export async function closeStateMachine(sm: StateMachine): Promise<void> {
  await sm.watchable.close();
  await sm.kv.close();
  await sm.backend.close();
}

/** The lessor learns which live keys carry which lease (at open and after a restore). */
function attachLeasedKeys(kv: KvStore, leases: LeaseStore): void {
  // keys_only: the lease comes from the key index, so no value is read back from LevelDB.
  const all = kv.range({ key: Buffer.from([0]), rangeEnd: Buffer.from([0]), keysOnly: true });
  if (all instanceof Promise) throw new Error('unexpected history read of the latest revision');
  for (const item of all.kvs)
    if (item.lease !== 0n && leases.has(item.lease)) leases.attach(item.lease, item.key);
}

/** Keeps the lessor's key attachments in step with every write (etcd's lessor Attach/Detach). */
function trackLeaseAttachments(kv: KvStore, leases: LeaseStore): void {
  kv.onChanges((result) => {
    for (const event of result.events) {
      const before = event.prevKv?.lease ?? 0n;
      const after = event.type === 'put' ? event.kv.lease : 0n;
      if (before === after) continue;
      if (before !== 0n) leases.detach(before, event.kv.key);
      if (after !== 0n && leases.has(after)) leases.attach(after, event.kv.key);
    }
  });
}
