// The checks every incoming frame passes before anything in it is used: right cluster, addressed to us,
// from a member that was not removed and is in this member's current member list. Without peer TLS the
// sender's ID is only what the frame claims (see docs/security.md); with peer mTLS the connection was
// authenticated before any frame is read.
import type { GrpcErrorStatus } from '@cairn/api';
import type { NodeId } from '@cairn/raft';
import { PEER_REJECTIONS } from './errors';

export interface FrameIdentity {
  clusterId: bigint;
  from: bigint;
  to: bigint;
}

export interface FrameCheckContext {
  clusterId: bigint;
  localId: NodeId;
  isRemoved(id: NodeId): boolean;
  /** The sender is in this member's current member list (voter or learner). */
  isMember(id: NodeId): boolean;
}

/** Why the frame must be refused, or undefined when it may be used. */
export function rejectionOf(frame: FrameIdentity, ctx: FrameCheckContext): GrpcErrorStatus | undefined {
  if (frame.clusterId !== ctx.clusterId) return PEER_REJECTIONS.clusterIdMismatch;
  if (frame.to !== ctx.localId) return PEER_REJECTIONS.memberIdMismatch;
  if (ctx.isRemoved(frame.from)) return PEER_REJECTIONS.memberRemoved;
  // A member never streams to itself, so its own ID is as foreign as an unknown one.
  if (frame.from === ctx.localId || !ctx.isMember(frame.from)) return PEER_REJECTIONS.notAMember;
  return undefined;
}

/** The identity of a frame proto-loader decoded (uint64 as decimal strings); undefined if one is not a number. */
export function identityOfDecoded(frame: {
  cluster_id: string;
  from: string;
  to: string;
}): FrameIdentity | undefined {
  try {
    return { clusterId: BigInt(frame.cluster_id), from: BigInt(frame.from), to: BigInt(frame.to) };
  } catch {
    return undefined;
  }
}

/** A refusal on its way to the peer as a gRPC status. */
export class PeerRejection extends Error {
  constructor(
    readonly status: GrpcErrorStatus,
    detail?: string,
  ) {
    super(detail === undefined ? status.details : `${status.details}: ${detail}`);
    this.name = 'PeerRejection';
  }
}
