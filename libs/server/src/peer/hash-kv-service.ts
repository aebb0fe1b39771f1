// The Integrity service on the peer URL: etcd's peer /members/hashkv, which the corruption checks
// (corruption-check.ts) call on every other member. Like the Membership calls it answers only a current
// member of this cluster (peer-call-identity.ts) and rides the peer URL's TLS/mTLS (peer-dialer.ts).
import * as grpc from '@grpc/grpc-js';
import { GrpcStatus } from '@cairn/api';
import { type CallRefusalOptions, callRefusalReporter } from './call-refusals';
import type { LeaderCaller, ClusterView } from './membership-service';
import { callerMetadata, memberCallRejection } from './peer-call-identity';
import { peerServiceConstructor } from './proto';

interface HashKvRequestWire {
  revision: string;
}

interface HashKvReplyWire {
  member_id: string;
  revision: string;
  compact_revision: string;
  hash: number;
}

/** One member's HashKV, as etcd's HashByRev gives it (revision = the member's current revision). */
export interface PeerHashKv {
  memberId: bigint;
  revision: number;
  compactRevision: number;
  hash: number;
}

/** What this member answers with; throws an error whose `code` is 'compacted' or 'future-revision'. */
export type HashKvSource = (revision: number) => Promise<Omit<PeerHashKv, 'memberId'>>;

/** Why a peer could not hash at the requested revision (etcd's ErrCompacted / ErrFutureRev), or another error. */
export type PeerHashKvErrorKind = 'compacted' | 'future-revision' | 'failed';

export class PeerHashKvError extends Error {
  override readonly name = 'PeerHashKvError';
  constructor(
    readonly kind: PeerHashKvErrorKind,
    message: string,
  ) {
    super(message);
  }
}

// etcd's mvcc error texts: the answer carries them so the asking member can tell them apart, as etcd's
// getPeerHashKVHTTP does with the body of a 400.
const REVISION_ERRORS: Record<'compacted' | 'future-revision', string> = {
  compacted: 'mvcc: required revision has been compacted',
  'future-revision': 'mvcc: required revision is a future revision',
};

type Callback<T> = (err: grpc.ServiceError | null, reply?: T) => void;

type IntegrityClient = grpc.Client & {
  HashKV(
    req: HashKvRequestWire,
    metadata: grpc.Metadata,
    options: grpc.CallOptions,
    callback: Callback<HashKvReplyWire>,
  ): void;
};

type IntegrityConstructor = (new (
  target: string,
  credentials: grpc.ChannelCredentials,
) => IntegrityClient) & { service: grpc.ServiceDefinition };

function loadIntegrity(): IntegrityConstructor {
  return peerServiceConstructor('Integrity') as unknown as IntegrityConstructor;
}

export type HashKvServiceOptions = CallRefusalOptions;

export function registerHashKvService(
  server: grpc.Server,
  view: () => ClusterView & { memberId: bigint },
  source: HashKvSource,
  options: HashKvServiceOptions = {},
): void {
  const report = callRefusalReporter(options);
  server.addService(loadIntegrity().service, {
    HashKV: (
      call: grpc.ServerUnaryCall<HashKvRequestWire, HashKvReplyWire>,
      callback: grpc.sendUnaryData<HashKvReplyWire>,
    ) => {
      const current = view();
      const rejection = report(call, memberCallRejection(call.metadata, current));
      if (rejection !== undefined) {
        callback(rejection);
        return;
      }
      const revision = Number(call.request.revision);
      if (!Number.isSafeInteger(revision) || revision < 0) {
        callback({ code: GrpcStatus.INVALID_ARGUMENT, details: `invalid revision ${call.request.revision}` });
        return;
      }
      source(revision).then(
        (hash) =>
          callback(null, {
            member_id: current.memberId.toString(),
            revision: String(hash.revision),
            compact_revision: String(hash.compactRevision),
            hash: hash.hash,
          }),
        (err: unknown) => {
          const code = (err as { code?: unknown } | null)?.code;
          const known =
            code === 'compacted' || code === 'future-revision' ? REVISION_ERRORS[code] : undefined;
          callback({
            code: known ? GrpcStatus.OUT_OF_RANGE : GrpcStatus.UNAVAILABLE,
            details: known ?? (err instanceof Error ? err.message : String(err)),
          });
        },
      );
    },
  });
}

/**
 * Asks the member at `peerUrl` for its HashKV at `revision`, as member `caller`, within `timeoutMs`.
 * Rejects with a PeerHashKvError ('compacted', 'future-revision', or 'failed' for anything else).
 */
export async function fetchPeerHashKv(
  caller: LeaderCaller,
  peerUrl: string,
  revision: number,
  timeoutMs: number,
): Promise<PeerHashKv> {
  const client = new (loadIntegrity())(new URL(peerUrl).host, caller.dialer.channelCredentials(peerUrl));
  try {
    const reply = await new Promise<HashKvReplyWire>((resolve, reject) =>
      client.HashKV(
        { revision: String(revision) },
        callerMetadata(caller),
        { deadline: Date.now() + timeoutMs },
        (err, res) => (err || !res ? reject(err ?? new Error('empty answer')) : resolve(res)),
      ),
    );
    return {
      memberId: BigInt(reply.member_id),
      revision: Number(reply.revision),
      compactRevision: Number(reply.compact_revision),
      hash: reply.hash,
    };
  } catch (err) {
    const details = (err as { details?: unknown } | null)?.details;
    const text = typeof details === 'string' ? details : err instanceof Error ? err.message : String(err);
    if (text.includes(REVISION_ERRORS.compacted)) throw new PeerHashKvError('compacted', text);
    if (text.includes(REVISION_ERRORS['future-revision'])) throw new PeerHashKvError('future-revision', text);
    throw new PeerHashKvError('failed', text);
  } finally {
    client.close();
  }
}
