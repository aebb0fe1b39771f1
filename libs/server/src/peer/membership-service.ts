// The Membership RPC on the peer URL: a member joining an existing cluster asks a running member for the
// cluster ID and the member list (etcd does the same over its peer HTTP /members).
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import type { Member } from '../members';
import { findPeerProto } from './proto';

interface MembersReply {
  cluster_id: string;
  members: Buffer;
}

type MembershipClient = grpc.Client & {
  Members(
    req: object,
    options: grpc.CallOptions,
    callback: (err: grpc.ServiceError | null, reply?: MembersReply) => void,
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

export function registerMembershipService(server: grpc.Server, view: () => ClusterView): void {
  server.addService(loadMembership().service, {
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
