// etcd's Lease service semantics: grants and revocations go through Raft; keep-alives renew on the leader;
// TimeToLive and Leases read the lessor.
import { randomBytes } from 'node:crypto';
import {
  EtcdError,
  type LeaseGrantRequest__Output,
  type LeaseRevokeRequest__Output,
  type LeaseTimeToLiveRequest__Output,
  etcdError,
} from '@cairn/api';
import { MAX_LEASE_TTL } from '@cairn/mvcc';
import type { CairnNode } from '../node';
import { toEtcdError } from '../applier';
import { checkLeaseRevokePermitted } from '../auth/request-permissions';
import type { CallContext } from '../port/etcd-port';
import { proposeAndUnwrap } from './propose';

export class LeaseApi {
  constructor(private readonly node: CairnNode) {}

  async grant(req: LeaseGrantRequest__Output, ctx: CallContext): Promise<object> {
    if (Number(req.TTL) > MAX_LEASE_TTL) throw etcdError('lease-ttl-too-large');
    await this.node.checkQuota(0);
    let id = BigInt(req.ID);
    // etcd picks a positive 63-bit ID when the client leaves it to the server.
    while (id === 0n || (String(req.ID) === '0' && this.node.leases.has(id))) {
      id = randomBytes(8).readBigUInt64BE() & 0x7fff_ffff_ffff_ffffn;
    }
    return proposeAndUnwrap(this.node, { lease_grant: { ID: id.toString(), TTL: req.TTL } }, ctx);
  }

  async revoke(req: LeaseRevokeRequest__Output, ctx: CallContext): Promise<object> {
    const lease = this.node.leases.lookup(BigInt(req.ID));
    if (!lease) throw etcdError('lease-not-found');
    checkLeaseRevokePermitted(this.node.auth, ctx.identity, lease.keys());
    return proposeAndUnwrap(this.node, { lease_revoke: { ID: req.ID } }, ctx);
  }

  /** One keep-alive: the new TTL, or 0 for a lease that does not exist (not an error, as etcd). */
  async keepAlive(id: string): Promise<object> {
    let ttl = 0;
    try {
      ttl = await this.node.renewLease(BigInt(id));
    } catch (err) {
      const mapped = toEtcdError(err);
      if (!(mapped instanceof EtcdError && mapped.code === 'lease-not-found')) throw mapped;
    }
    return { header: this.node.header(this.node.kv.currentRevision), ID: id, TTL: ttl };
  }

  async timeToLive(req: LeaseTimeToLiveRequest__Output): Promise<object> {
    await this.node.linearizableReadBarrier();
    const info = await this.node.leaseTimeToLive(BigInt(req.ID), req.keys);
    const header = this.node.header(this.node.kv.currentRevision);
    if (!info) return { header, ID: req.ID, TTL: -1, grantedTTL: 0, keys: [] };
    return { header, ID: req.ID, TTL: info.ttl, grantedTTL: info.grantedTtl, keys: info.keys };
  }

  async leases(): Promise<object> {
    await this.node.linearizableReadBarrier();
    return {
      header: this.node.header(this.node.kv.currentRevision),
      leases: this.node.leases.leases().map((id) => ({ ID: id.toString() })),
    };
  }
}
