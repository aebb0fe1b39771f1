// Why a receiver turns a peer's frame away, as gRPC statuses. The cluster ID mismatch is etcd's own error
// (same text and code as etcd sends), from the shared error table.
import { GrpcStatus, etcdError, type GrpcErrorStatus } from '@cairn/api';

const clusterIdMismatch = etcdError('cluster-id-mismatch');

export const PEER_REJECTIONS = {
  clusterIdMismatch: { code: clusterIdMismatch.grpcCode, details: clusterIdMismatch.message },
  /** The frame names another member as its receiver: the sender has a stale URL for us. */
  memberIdMismatch: {
    code: GrpcStatus.FAILED_PRECONDITION,
    details: 'cairn: peer frame addressed to another member',
  },
  /** etcd's rafthttp text for a member that was removed and must not rejoin under the same ID. */
  memberRemoved: {
    code: GrpcStatus.FAILED_PRECONDITION,
    details: 'the member has been permanently removed from the cluster',
  },
  /**
   * The sender is not in this member's member list: a process that is not part of the cluster, or a member
   * this one has not learned of yet (it retries; see README "Who may talk to a member").
   */
  notAMember: {
    code: GrpcStatus.PERMISSION_DENIED,
    details: 'cairn: sender is not a member of this cluster',
  },
  malformedFrame: { code: GrpcStatus.INVALID_ARGUMENT, details: 'cairn: malformed peer frame' },
  transportClosed: { code: GrpcStatus.UNAVAILABLE, details: 'cairn: peer transport is closed' },
} as const satisfies Record<string, GrpcErrorStatus>;

/** The error a grpc-js call reports, narrowed to what we log and match on. */
export function describeGrpcError(err: unknown): { code?: number; details: string } {
  if (typeof err === 'object' && err !== null) {
    const { code, details, message } = err as { code?: unknown; details?: unknown; message?: unknown };
    return {
      code: typeof code === 'number' ? code : undefined,
      details: typeof details === 'string' ? details : typeof message === 'string' ? message : String(err),
    };
  }
  return { details: String(err) };
}
