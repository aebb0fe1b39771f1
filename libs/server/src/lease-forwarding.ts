// Lease calls that only the leader can answer: its lessor is the only one whose expiry clock runs. A
// follower forwards keep-alives (batched, one peer call per event-loop turn) and TimeToLive to the leader
// over the peer URL, announcing itself as a member of the cluster (the leader refuses anyone else, see
// peer/peer-call-identity.ts); the leader serves those forwarded calls (its LeaseAuthority).
import { etcdError } from '@cairn/api';
import type { LeaseStore, LeaseTimeToLive } from '@cairn/mvcc';
import type { MemberStore } from './members';
import {
  type LeaderCaller,
  type LeaseAuthority,
  LeaseRenewBatcher,
  callLeaderLease,
  callLeaderLeaseRenewBatch,
} from './peer';

const FORWARD_TIMEOUT_MS = 2000;

export interface LeaseForwardingDeps {
  leases: LeaseStore;
  /** Reloaded by a snapshot install: read each time. */
  members: () => MemberStore;
  isLeader: () => boolean;
  leaderId: () => bigint;
  /** This member (cluster and member ID, announced on each call) and how it dials the leader. */
  caller: LeaderCaller;
}

export class LeaseForwarding {
  /** A follower's forwarded keep-alives, one call to the leader per event-loop turn. */
  private readonly renewals: LeaseRenewBatcher;

  constructor(private readonly deps: LeaseForwardingDeps) {
    this.renewals = new LeaseRenewBatcher(
      (peerUrl, ids, timeoutMs) => callLeaderLeaseRenewBatch(deps.caller, peerUrl, ids, timeoutMs),
      FORWARD_TIMEOUT_MS,
    );
  }

  /** Keep-alive: the new TTL; unknown lease -> 'lease-not-found'. */
  async renew(id: bigint): Promise<number> {
    if (this.deps.isLeader()) return this.deps.leases.renew(id);
    const ttl = await this.renewals.renew(this.leaderPeerUrl(), id);
    if (ttl <= 0) throw etcdError('lease-not-found');
    return ttl;
  }

  /** Remaining TTL as the leader knows it; undefined for an unknown lease. */
  async timeToLive(id: bigint, keys: boolean): Promise<LeaseTimeToLive | undefined> {
    if (this.deps.isLeader()) return this.deps.leases.timeToLive(id, keys);
    const reply = await callLeaderLease(
      this.deps.caller,
      this.leaderPeerUrl(),
      'LeaseTimeToLive',
      { id: id.toString(), keys },
      FORWARD_TIMEOUT_MS,
    );
    if (Number(reply.ttl) < 0) return undefined;
    return { ttl: Number(reply.ttl), grantedTtl: Number(reply.granted_ttl), keys: reply.keys };
  }

  /** The leader's side of forwarded lease calls (served on the peer URL). */
  readonly authority: LeaseAuthority = {
    renewMany: async (ids) => {
      if (!this.deps.isLeader()) throw etcdError('not-leader');
      return ids.map((id) => {
        try {
          return this.deps.leases.renew(id);
        } catch {
          return 0;
        }
      });
    },
    renew: async (id) => {
      const [ttl = 0] = await this.authority.renewMany([id]);
      return { ttl, granted_ttl: 0, keys: [] };
    },
    timeToLive: async (id, keys) => {
      if (!this.deps.isLeader()) throw etcdError('not-leader');
      const info = this.deps.leases.timeToLive(id, keys);
      if (!info) return { ttl: -1, granted_ttl: 0, keys: [] };
      return { ttl: info.ttl, granted_ttl: info.grantedTtl, keys: info.keys.map((k) => Buffer.from(k)) };
    },
  };

  private leaderPeerUrl(): string {
    const leader = this.deps.members().get(this.deps.leaderId());
    if (!leader || leader.peerUrls.length === 0) throw etcdError('no-leader');
    return leader.peerUrls[0];
  }
}
