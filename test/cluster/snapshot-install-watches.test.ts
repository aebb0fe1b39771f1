// Issue 13: every watch survives a snapshot install (scenarios/snapshot-install-watches.ts). A member
// holding watchers on every surface (etcd gRPC Watch through etcdctl and etcd3, console SSE, registry SSE
// and gRPC, config SSE and gRPC, the SDK's registry and config subscriptions) is frozen while the leader
// compacts its Raft log past it, thawed, and must keep delivering: in revision order, no duplicate, no
// gap; after an MVCC compaction too, each surface reports the compaction and the SDK re-lists.
// Against real etcd (CAIRN_TEST_TARGET=etcd) only the etcd Watch surfaces exist, and etcd 3.4 keeps 5000
// entries behind a snapshot, so the fill is snapshot-catch-up's 5600 parallel puts (slower).
import { afterAll, describe, it } from 'vitest';
import { cleanupAll, currentTarget } from '../support';
import {
  expectEveryWatchSurvived,
  runSnapshotInstallWatches,
  type SnapshotInstallWatchesOptions,
} from './scenarios/snapshot-install-watches';

afterAll(() => cleanupAll());

const onCairn = currentTarget().kind === 'cairn';
const base: Pick<SnapshotInstallWatchesOptions, 'snapshotCount' | 'fillPuts' | 'fillConcurrency'> = onCairn
  ? // Sequential puts past the leader's inflight window (256 messages), then past snapshot-count and the
    // entries kept behind a snapshot (min(5000, snapshot-count)), with margin.
    { snapshotCount: 50, fillPuts: 500, fillConcurrency: 1 }
  : { snapshotCount: 100, fillPuts: 5600, fillConcurrency: 32 };
const TIMEOUT_MS = onCairn ? 60_000 : 120_000;

describe('every watch survives a snapshot install', () => {
  for (const holder of ['follower', 'leader'] as const) {
    const who = holder === 'follower' ? 'a follower' : 'a former leader (frozen, replaced by an election)';
    it(
      `${who} that installs the leader's snapshot (Raft log compacted past it) stays up and every watch ` +
        'surface on it delivers the changes made while it was frozen and the next registration and publish, ' +
        'in revision order, with no duplicate and no gap',
      async () => {
        expectEveryWatchSurvived(await runSnapshotInstallWatches({ ...base, holder, mvccCompaction: false }));
      },
      TIMEOUT_MS,
    );
    it(
      `${who} that installs the leader's snapshot after the KV was compacted past its watchers stays up; ` +
        'each surface reports the compaction (compact_revision, a fresh snapshot, a compacted status), ' +
        'the SDK re-lists, and all then deliver the next registration and publish exactly once',
      async () => {
        expectEveryWatchSurvived(await runSnapshotInstallWatches({ ...base, holder, mvccCompaction: true }));
      },
      TIMEOUT_MS,
    );
  }
  it.runIf(onCairn)(
    'a follower holding only feature watches (console, registry SSE and gRPC, config SSE and gRPC, the config ' +
      'SDK; no etcd Watch stream) keeps every one delivering across its snapshot install, with no gap',
    async () => {
      expectEveryWatchSurvived(
        await runSnapshotInstallWatches({
          ...base,
          holder: 'follower',
          mvccCompaction: false,
          etcdWatchClients: false,
        }),
      );
    },
    TIMEOUT_MS,
  );
});
