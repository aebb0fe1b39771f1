// An EtcdPort over a bare state machine, without Raft: every write is applied at once by the member's own
// Applier (the same entries, encoded and decoded as a proposal would be), on a real LevelDB backend. It is
// what features are unit-tested against (registry, config center), and a one-process embedded store.
import path from 'node:path';
import {
  decodeInternalRequest,
  encodeInternalRequest,
  etcdError,
  type InternalRaftRequest__Output,
} from '@cairn/api';
import { CURRENT_DATA_FORMAT, DEFAULT_MAX_TXN_OPS, type LeaseClock } from '@cairn/mvcc';
import { Applier, type ApplyResult } from '../applier';
import type { ProposalBody } from '../proposal';
import { type StateMachine, closeStateMachine, openStateMachine } from '../state-machine';
import type { AuthStore } from '../auth/auth-store';
import { proposalHeader } from '../auth/entry-subject';
import type { ProposalBody as AuthProposal } from '../proposal';
import { type EtcdPort, type Identity, MEMBER_DUTY } from './etcd-port';
import { StorePort } from './store-port';

export interface LocalEtcdPortOptions {
  /** Directory for the LevelDB backend (created if missing). */
  dataDir: string;
  /** Lease expiry clock; inject one to move time in tests. */
  leaseClock?: LeaseClock;
  /** Grants below this TTL are raised to it (a member uses ceil(1.5 x election timeout)). Default 1. */
  minLeaseTtlSeconds?: number;
  maxTxnOps?: number;
  name?: string;
}

const LOCAL_MEMBER_ID = 1n;
const LOCAL_CLUSTER_ID = 1n;

export class LocalEtcdPort {
  readonly port: EtcdPort;
  private readonly applier: Applier;
  private applying: Promise<unknown> = Promise.resolve();
  private nextRequestId = 1n;
  private closed = false;
  /** The last identity a write was applied for (what a member's apply would see in the entry header). */
  lastWriter: string | undefined;

  private constructor(
    private readonly sm: StateMachine,
    options: LocalEtcdPortOptions,
  ) {
    const header = (revision: number) => ({
      cluster_id: LOCAL_CLUSTER_ID.toString(),
      member_id: LOCAL_MEMBER_ID.toString(),
      revision,
      raft_term: 1,
    });
    this.applier = new Applier({
      kv: sm.kv,
      leases: sm.leases,
      alarms: sm.alarms,
      members: sm.members,
      auth: sm.auth,
      header,
    });
    // The only member is always the lessor's primary.
    sm.leases.promote(0);
    this.port = new StorePort({
      member: {
        memberId: LOCAL_MEMBER_ID,
        clusterId: LOCAL_CLUSTER_ID,
        name: options.name ?? 'local',
        isLeader: () => true,
        hasLeader: () => true,
        onLeaderChange: () => () => undefined,
      },
      kv: sm.kv,
      watchable: sm.watchable,
      auth: sm.auth,
      maxTxnOps: options.maxTxnOps ?? DEFAULT_MAX_TXN_OPS,
      readBarrier: () => this.applying.then(() => undefined),
      submit: (body, identity) => this.apply(body, identity),
      checkQuota: () => Promise.resolve(),
      leaseExists: (id) => sm.leases.has(id),
      leaseKeys: (id) => sm.leases.lookup(id)?.keys() ?? [],
      renewLease: (id) => Promise.resolve(sm.leases.renew(id)),
      leaseTimeToLive: (id, keys) => Promise.resolve(sm.leases.timeToLive(id, keys)),
      localLeaseTimeToLive: (id, keys) => sm.leases.timeToLive(id, keys),
    });
  }

  static async open(options: LocalEtcdPortOptions): Promise<LocalEtcdPort> {
    const sm = await openStateMachine(path.join(options.dataDir, 'db'), {
      minLeaseTtlSeconds: options.minLeaseTtlSeconds ?? 1,
      leaseClock: options.leaseClock,
    });
    // No Raft log here to carry the format: a fresh store starts in the newest one (etcd's numbering).
    const batch = sm.backend.batch();
    if (sm.kv.upgradeDataFormat(CURRENT_DATA_FORMAT, batch)) await batch.write({ sync: true });
    return new LocalEtcdPort(sm, options);
  }

  /** The store's users, roles and permissions (what its apply checks requests against). */
  get auth(): AuthStore {
    return this.sm.auth;
  }

  /** Revokes every lease whose TTL ran out on the lease clock (a member's leader does this on a timer). */
  async expireLeases(): Promise<bigint[]> {
    const expired = this.sm.leases.expired(Number.MAX_SAFE_INTEGER);
    for (const id of expired) await this.apply({ lease_revoke: { ID: id.toString() } }, MEMBER_DUTY);
    return expired;
  }

  /** Compacts history at `revision` (what etcdctl compact proposes). */
  async compact(revision: number): Promise<void> {
    const result = await this.apply(
      { compaction: { revision: String(revision), physical: true } },
      MEMBER_DUTY,
    );
    if (result.error) throw result.error;
    await result.physicalCompaction;
  }

  /**
   * Applies an auth request (user/role management, enable/disable, authenticate) as `identity` — MEMBER_DUTY
   * by default, so a test can set up users and roles before enabling auth. Returns the wire response.
   */
  async applyAuth(body: AuthProposal, identity: Identity = MEMBER_DUTY): Promise<object> {
    const result = await this.apply(body, identity);
    if (result.error) throw result.error;
    return result.response ?? {};
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.applying.catch(() => undefined);
    await closeStateMachine(this.sm);
  }

  /** Applies one request as a committed entry would be, one at a time, and writes its batch. */
  private apply(body: ProposalBody, identity: Identity): Promise<ApplyResult> {
    if (this.closed) return Promise.reject(etcdError('stopped'));
    const id = this.nextRequestId++;
    const run = async (): Promise<ApplyResult> => {
      const header = proposalHeader(id, identity, this.sm.auth.getRevision());
      const data = encodeInternalRequest({ ...body, header });
      const request = decodeInternalRequest(data) as InternalRaftRequest__Output;
      this.lastWriter = request.header?.username ?? '';
      const batch = this.sm.backend.batch();
      const result = await this.applier.apply(request, batch, Number(id));
      await batch.write();
      return result;
    };
    const done = this.applying.then(run, run);
    this.applying = done.catch(() => undefined);
    return done;
  }
}
