// The EtcdPort of a running member: writes go through Raft, linearizable reads wait for the ReadIndex
// barrier, keep-alives and TimeToLive go to the leader (forwarded by a follower).
import type { CairnNode } from '../node';
import type { EtcdPort } from './etcd-port';
import { StorePort } from './store-port';

export function createNodeEtcdPort(node: CairnNode, maxTxnOps: number): EtcdPort {
  return new StorePort({
    member: {
      memberId: node.memberId,
      clusterId: node.clusterId,
      name: node.config.name,
      isLeader: () => node.isLeader(),
      hasLeader: () => node.hasLeader(),
      onLeaderChange: (listener) => node.onLeaderChange(listener),
    },
    kv: node.kv,
    watchable: node.watchable,
    auth: node.auth,
    maxTxnOps,
    readBarrier: () => node.linearizableReadBarrier(),
    submit: (body, identity) => node.propose(body, identity),
    checkQuota: (cost) => node.checkQuota(cost),
    leaseExists: (id) => node.leases.has(id),
    leaseKeys: (id) => node.leases.lookup(id)?.keys() ?? [],
    renewLease: (id) => node.renewLease(id),
    leaseTimeToLive: (id, keys) => node.leaseTimeToLive(id, keys),
    localLeaseTimeToLive: (id, keys) => node.leases.timeToLive(id, keys),
  });
}
