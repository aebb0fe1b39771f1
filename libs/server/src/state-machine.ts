// Everything the applied log has built, opened over one LevelDB backend: the MVCC store and its watches, the
// lessor, membership and alarms. A member swaps the whole set when it installs a leader's snapshot.
import { KvStore, LeaseStore, WatchableStore, monotonicLeaseClock } from '@cairn/mvcc';
import { Backend } from '@cairn/storage';
import { AlarmStore } from './alarms';
import { readConsistentIndex } from './consistent-index';
import { MemberStore } from './members';

export interface StateMachine {
  backend: Backend;
  kv: KvStore;
  watchable: WatchableStore;
  leases: LeaseStore;
  members: MemberStore;
  alarms: AlarmStore;
  /** Index of the last Raft entry whose effects are in this backend. */
  consistentIndex: number;
}

export async function openStateMachine(dbPath: string, minLeaseTtlSeconds: number): Promise<StateMachine> {
  const backend = await Backend.open(dbPath);
  const kv = await KvStore.open(backend);
  const watchable = new WatchableStore(kv);
  const leases = await LeaseStore.open(backend, {
    clock: monotonicLeaseClock,
    minTtlSeconds: minLeaseTtlSeconds,
  });
  kv.setLeaseChecker((id) => leases.has(id));
  trackLeaseAttachments(kv, leases);
  const members = await MemberStore.load(backend);
  const alarms = await AlarmStore.load(backend);
  const consistentIndex = await readConsistentIndex(backend);
  return { backend, kv, watchable, leases, members, alarms, consistentIndex };
}

export async function closeStateMachine(sm: StateMachine): Promise<void> {
  await sm.watchable.close();
  await sm.kv.close();
  await sm.backend.close();
}

/** Keeps the lessor's key attachments in step with every write (etcd's lessor Attach/Detach). */
function trackLeaseAttachments(kv: KvStore, leases: LeaseStore): void {
  const all = kv.range({ key: Buffer.from([0]), rangeEnd: Buffer.from([0]) });
  if (all instanceof Promise) throw new Error('unexpected history read at startup');
  for (const item of all.kvs)
    if (item.lease !== 0n && leases.has(item.lease)) leases.attach(item.lease, item.key);
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
