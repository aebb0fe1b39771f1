// The Membership service on the peer URL: a member joining an existing cluster asks a running member for the
// cluster ID and the member list (etcd does the same over its peer HTTP /members), and followers forward
// their clients' lease keep-alives and TTL queries to the leader (etcd's peer /leases). Every call must come
// from a current member of this cluster (peer-call-identity.ts); the cluster view also answers a member that
// was added and is joining.
import * as grpc from '@grpc/grpc-js';
import type { GrpcErrorStatus } from '@cairn/api';
import type { Member } from '../members';
import { type CallRefusalOptions, callRefusalReporter } from './call-refusals';
import {
  type PeerCaller,
  callerMetadata,
  joiningMetadata,
  memberCallRejection,
  viewCallRejection,
} from './peer-call-identity';
import { PLAINTEXT_PEER_DIALER, type PeerDialer } from './peer-dialer';
import { peerServiceConstructor } from './proto';

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

interface LearnerReadyRequest {
  id: string;
}

interface LearnerReadyReply {
  ready: boolean;
}

type Callback<T> = (err: grpc.ServiceError | null, reply?: T) => void;

type MembershipClient = grpc.Client & {
  Members(
    req: object,
    metadata: grpc.Metadata,
    options: grpc.CallOptions,
    callback: Callback<MembersReply>,
  ): void;
  LeaseRenew(
    req: LeaseRequest,
    metadata: grpc.Metadata,
    options: grpc.CallOptions,
    callback: Callback<LeaseReply>,
  ): void;
  LeaseTimeToLive(
    req: LeaseRequest,
    metadata: grpc.Metadata,
    options: grpc.CallOptions,
    callback: Callback<LeaseReply>,
  ): void;
  LeaseRenewBatch(
    req: LeaseRenewBatchRequest,
    metadata: grpc.Metadata,
    options: grpc.CallOptions,
    callback: Callback<LeaseRenewBatchReply>,
  ): void;
  LearnerReady(
    req: LearnerReadyRequest,
    metadata: grpc.Metadata,
    options: grpc.CallOptions,
    callback: Callback<LearnerReadyReply>,
  ): void;
};

type MembershipConstructor = (new (
  target: string,
  credentials: grpc.ChannelCredentials,
) => MembershipClient) & {
  service: grpc.ServiceDefinition;
};

function loadMembership(): MembershipConstructor {
  return peerServiceConstructor('Membership') as unknown as MembershipConstructor;
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

export interface MembershipServiceOptions extends CallRefusalOptions {
  /** The leader's answer to a follower asked to promote a learner (throws when not the leader). */
  learnerReady?(id: bigint): Promise<boolean>;
}

export function registerMembershipService(
  server: grpc.Server,
  view: () => ClusterView,
  leases: LeaseAuthority,
  options: MembershipServiceOptions = {},
): void {
  const report = callRefusalReporter(options);
  /** The refusal for this call (reported), or undefined when its caller may be answered. */
  const refuse = (
    call: grpc.ServerUnaryCall<unknown, unknown>,
    check: typeof memberCallRejection,
  ): GrpcErrorStatus | undefined => report(call, check(call.metadata, view()));
  const answer =
    <Req, Reply>(call: (req: Req) => Promise<Reply>) =>
    (unaryCall: grpc.ServerUnaryCall<Req, Reply>, callback: grpc.sendUnaryData<Reply>) => {
      const rejection = refuse(unaryCall, memberCallRejection);
      if (rejection !== undefined) {
        callback(rejection);
        return;
      }
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
    LearnerReady: answer(async (req: LearnerReadyRequest): Promise<LearnerReadyReply> => {
      if (!options.learnerReady) throw new Error('this member cannot tell whether a learner is ready');
      return { ready: await options.learnerReady(BigInt(req.id)) };
    }),
    Members: (
      call: grpc.ServerUnaryCall<object, MembersReply>,
      callback: grpc.sendUnaryData<MembersReply>,
    ) => {
      const rejection = refuse(call, viewCallRejection);
      if (rejection !== undefined) {
        callback(rejection);
        return;
      }
      const { clusterId, members } = view();
      const json = members.map((m) => ({ ...m, id: m.id.toString() }));
      callback(null, { cluster_id: clusterId.toString(), members: Buffer.from(JSON.stringify(json)) });
    },
  });
}

export interface FetchViewOptions {
  /** The peer URLs this (joining) member was added with: how the answering member recognises it. */
  selfPeerUrls: readonly string[];
  dialer?: PeerDialer;
}

/** Asks each peer URL in turn for the cluster view; throws when none answers within the timeout. */
export async function fetchClusterView(
  peerUrls: string[],
  timeoutMs: number,
  options: FetchViewOptions,
): Promise<ClusterView> {
  const Membership = loadMembership();
  const dialer = options.dialer ?? PLAINTEXT_PEER_DIALER;
  const errors: string[] = [];
  for (const url of peerUrls) {
    let client: MembershipClient | undefined;
    try {
      client = new Membership(new URL(url).host, dialer.channelCredentials(url));
      const stub = client;
      const reply = await new Promise<MembersReply>((resolve, reject) =>
        stub.Members(
          {},
          joiningMetadata(options.selfPeerUrls),
          { deadline: Date.now() + timeoutMs },
          (err, res) => (err || !res ? reject(err) : resolve(res)),
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
      client?.close();
    }
  }
  throw new Error(`could not get the cluster's members from any peer (${errors.join('; ')})`);
}

/** The current members' IDs as the member at `peerUrl` lists them, asked as member `caller`. */
export async function fetchMemberIds(
  caller: LeaderCaller,
  peerUrl: string,
  timeoutMs: number,
): Promise<bigint[]> {
  const client = new (loadMembership())(new URL(peerUrl).host, caller.dialer.channelCredentials(peerUrl));
  try {
    const reply = await new Promise<MembersReply>((resolve, reject) =>
      client.Members({}, callerMetadata(caller), { deadline: Date.now() + timeoutMs }, (err, res) =>
        err || !res ? reject(err) : resolve(res),
      ),
    );
    if (BigInt(reply.cluster_id) !== caller.clusterId) throw new Error('the peer is in another cluster');
    const parsed = JSON.parse(reply.members.toString()) as { id: string }[];
    return parsed.map((m) => BigInt(m.id));
  } finally {
    client.close();
  }
}

/** A member calling the leader: who it is (announced on every call) and how it dials. */
export interface LeaderCaller extends PeerCaller {
  dialer: PeerDialer;
}

/** Calls a lease RPC on the leader's peer URL (a follower forwarding its client's request). */
export function callLeaderLease(
  caller: LeaderCaller,
  peerUrl: string,
  method: 'LeaseRenew' | 'LeaseTimeToLive',
  req: LeaseRequest,
  timeoutMs: number,
): Promise<LeaseReply> {
  return callLeader(caller, peerUrl, timeoutMs, (client, metadata, options, callback) =>
    client[method](req, metadata, options, callback),
  );
}

/** Renews many leases on the leader in one call (a follower forwarding a turn's keep-alives). */
export async function callLeaderLeaseRenewBatch(
  caller: LeaderCaller,
  peerUrl: string,
  ids: bigint[],
  timeoutMs: number,
): Promise<number[]> {
  const reply = await callLeader<LeaseRenewBatchReply>(
    caller,
    peerUrl,
    timeoutMs,
    (client, metadata, options, callback) =>
      client.LeaseRenewBatch({ ids: ids.map((id) => id.toString()) }, metadata, options, callback),
  );
  return reply.ttls.map(Number);
}

/** Asks the leader whether learner `id` has caught up enough to be promoted. */
export async function callLeaderLearnerReady(
  caller: LeaderCaller,
  peerUrl: string,
  id: bigint,
  timeoutMs: number,
): Promise<boolean> {
  const reply = await callLeader<LearnerReadyReply>(
    caller,
    peerUrl,
    timeoutMs,
    (client, metadata, options, cb) => client.LearnerReady({ id: id.toString() }, metadata, options, cb),
  );
  return reply.ready;
}

/** One unary call on the leader's long-lived Membership client, bounded by `timeoutMs`. */
function callLeader<Reply>(
  caller: LeaderCaller,
  peerUrl: string,
  timeoutMs: number,
  invoke: (
    client: MembershipClient,
    metadata: grpc.Metadata,
    options: grpc.CallOptions,
    callback: Callback<Reply>,
  ) => void,
): Promise<Reply> {
  let client: MembershipClient;
  try {
    client = clientFor(caller, peerUrl);
  } catch (err) {
    return Promise.reject(err instanceof Error ? err : new Error(String(err)));
  }
  return new Promise<Reply>((resolve, reject) =>
    invoke(client, callerMetadata(caller), { deadline: Date.now() + timeoutMs }, (err, res) =>
      err || !res ? reject(err) : resolve(res),
    ),
  );
}

// One long-lived client per (calling member, leader URL): keep-alives arrive every TTL/3 per lease. A client
// made before the peer certificate changed is replaced, so a rotation reaches forwarded lease calls too.
const clients = new Map<string, { generation: number; client: MembershipClient }>();

function clientFor(caller: LeaderCaller, peerUrl: string): MembershipClient {
  const key = `${caller.memberId}|${peerUrl}`;
  const generation = caller.dialer.generation();
  const existing = clients.get(key);
  if (existing?.generation === generation) return existing.client;
  existing?.client.close();
  const client = new (loadMembership())(new URL(peerUrl).host, caller.dialer.channelCredentials(peerUrl));
  clients.set(key, { generation, client });
  return client;
}

export function closeLeaseClients(): void {
  for (const { client } of clients.values()) client.close();
  clients.clear();
}
