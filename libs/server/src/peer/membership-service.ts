// The Membership service on the peer URL: a member joining an existing cluster asks a running member for the
// cluster ID and the member list (etcd does the same over its peer HTTP /members), and followers forward
// their clients' lease keep-alives and TTL queries to the leader (etcd's peer /leases).
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import type { Member } from '../members';
import { findPeerProto } from './proto';

interface MembersReply {
  cluster_id: string;
  members: Buffer;
}

export interface LeaseRequest {
  id: string;
  keys: boolean;
}

export interface LeaseReply {
  ttl: string | number;
  granted_ttl: string | number;
  keys: Buffer[];
}

interface LeaseRenewBatchRequest {
  ids: string[];
}

interface LeaseRenewBatchReply {
  ttls: (string | number)[];
}

type Callback<T> = (err: grpc.ServiceError | null, reply?: T) => void;

type MembershipClient = grpc.Client & {
  Members(req: object, options: grpc.CallOptions, callback: Callback<MembersReply>): void;
  LeaseRenew(req: LeaseRequest, options: grpc.CallOptions, callback: Callback<LeaseReply>): void;
  LeaseTimeToLive(req: LeaseRequest, options: grpc.CallOptions, callback: Callback<LeaseReply>): void;
  LeaseRenewBatch(
    req: LeaseRenewBatchRequest,
    options: grpc.CallOptions,
    callback: Callback<LeaseRenewBatchReply>,
  ): void;
};

type MembershipConstructor = (new (
  target: string,
  credentials: grpc.ChannelCredentials,
) => MembershipClient) & {
  service: grpc.ServiceDefinition;
};

let membership: MembershipConstructor | undefined;

function loadMembership(): MembershipConstructor {
  if (!membership) {
    const definition = protoLoader.loadSync(findPeerProto(), {
      keepCase: true,
      longs: String,
      bytes: Buffer,
      defaults: true,
    });
    const pkg = grpc.loadPackageDefinition(definition) as unknown as {
      cairn: { peer: { v1: { Membership: MembershipConstructor } } };
    };
    membership = pkg.cairn.peer.v1.Membership;
  }
  return membership;
}

export interface ClusterView {
  clusterId: bigint;
  members: Member[];
}

/** What the leader answers for a forwarded lease call (undefined reply = unknown lease). */
export interface LeaseAuthority {
  renew(id: bigint): Promise<LeaseReply>;
  /** Renews each lease; the new TTLs in order, 0 for a lease that does not exist. */
  renewMany(ids: bigint[]): Promise<number[]>;
  timeToLive(id: bigint, keys: boolean): Promise<LeaseReply>;
}

export function registerMembershipService(
  server: grpc.Server,
  view: () => ClusterView,
  leases: LeaseAuthority,
): void {
  const answer =
    <Req, Reply>(call: (req: Req) => Promise<Reply>) =>
    (unaryCall: grpc.ServerUnaryCall<Req, Reply>, callback: grpc.sendUnaryData<Reply>) => {
      call(unaryCall.request).then(
        (reply) => callback(null, reply),
        (err: unknown) =>
          callback({
            code: grpc.status.UNAVAILABLE,
            details: err instanceof Error ? err.message : String(err),
          }),
      );
    };
  server.addService(loadMembership().service, {
    LeaseRenew: answer((req: LeaseRequest) => leases.renew(BigInt(req.id))),
    LeaseTimeToLive: answer((req: LeaseRequest) => leases.timeToLive(BigInt(req.id), req.keys)),
    LeaseRenewBatch: answer(async (req: LeaseRenewBatchRequest): Promise<LeaseRenewBatchReply> => ({
      ttls: await leases.renewMany(req.ids.map((id) => BigInt(id))),
    })),
    Members: (
      _call: grpc.ServerUnaryCall<object, MembersReply>,
      callback: grpc.sendUnaryData<MembersReply>,
    ) => {
      const { clusterId, members } = view();
      const json = members.map((m) => ({ ...m, id: m.id.toString() }));
      callback(null, { cluster_id: clusterId.toString(), members: Buffer.from(JSON.stringify(json)) });
    },
  });
}

/** Asks each peer URL in turn for the cluster view; throws when none answers within the timeout. */
export async function fetchClusterView(peerUrls: string[], timeoutMs: number): Promise<ClusterView> {
  const Membership = loadMembership();
  const errors: string[] = [];
  for (const url of peerUrls) {
    const target = new URL(url).host;
    const client = new Membership(target, grpc.credentials.createInsecure());
    try {
      const reply = await new Promise<MembersReply>((resolve, reject) =>
        client.Members({}, { deadline: Date.now() + timeoutMs }, (err, res) =>
          err || !res ? reject(err) : resolve(res),
        ),
      );
      const parsed = JSON.parse(reply.members.toString()) as (Omit<Member, 'id'> & { id: string })[];
      return {
        clusterId: BigInt(reply.cluster_id),
        members: parsed.map((m) => ({ ...m, id: BigInt(m.id) })),
      };
    } catch (err) {
      errors.push(`${url}: ${err instanceof Error ? err.message : String(err)}`);
    } finally {
      client.close();
    }
  }
  throw new Error(`could not get the cluster's members from any peer (${errors.join('; ')})`);
}

/** Calls a lease RPC on the leader's peer URL (a follower forwarding its client's request). */
export function callLeaderLease(
  peerUrl: string,
  method: 'LeaseRenew' | 'LeaseTimeToLive',
  req: LeaseRequest,
  timeoutMs: number,
): Promise<LeaseReply> {
  return callLeader(peerUrl, timeoutMs, (client, options, callback) =>
    client[method](req, options, callback),
  );
}

/** Renews many leases on the leader in one call (a follower forwarding a turn's keep-alives). */
export async function callLeaderLeaseRenewBatch(
  peerUrl: string,
  ids: bigint[],
  timeoutMs: number,
): Promise<number[]> {
  const reply = await callLeader<LeaseRenewBatchReply>(peerUrl, timeoutMs, (client, options, callback) =>
    client.LeaseRenewBatch({ ids: ids.map((id) => id.toString()) }, options, callback),
  );
  return reply.ttls.map(Number);
}

/** One unary call on the leader's long-lived Membership client, bounded by `timeoutMs`. */
function callLeader<Reply>(
  peerUrl: string,
  timeoutMs: number,
  invoke: (client: MembershipClient, options: grpc.CallOptions, callback: Callback<Reply>) => void,
): Promise<Reply> {
  const client = clientFor(loadMembership(), peerUrl);
  return new Promise<Reply>((resolve, reject) =>
    invoke(client, { deadline: Date.now() + timeoutMs }, (err, res) =>
      err || !res ? reject(err) : resolve(res),
    ),
  );
}

// One long-lived client per leader URL: keep-alives arrive every TTL/3 per lease.
const clients = new Map<string, MembershipClient>();

function clientFor(Membership: MembershipConstructor, peerUrl: string): MembershipClient {
  let client = clients.get(peerUrl);
  if (!client) {
    client = new Membership(new URL(peerUrl).host, grpc.credentials.createInsecure());
    clients.set(peerUrl, client);
  }
  return client;
}

export function closeLeaseClients(): void {
  for (const client of clients.values()) client.close();
  clients.clear();
}
