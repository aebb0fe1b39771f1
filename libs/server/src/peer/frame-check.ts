// The checks every incoming frame passes before anything in it is used: right cluster, addressed to us,
// from a member that was not removed.
import type { GrpcErrorStatus } from '@cairn/api';
import type { NodeId } from '@cairn/raft';
import { PEER_REJECTIONS } from './errors';

export interface FrameIdentity {
  cluster_id: string;
  from: string;
  to: string;
}

export interface FrameCheckContext {
  clusterId: string;
  localId: string;
  isRemoved(id: NodeId): boolean;
}

/** Why the frame must be refused, or undefined when it may be used. */
export function rejectionOf(frame: FrameIdentity, ctx: FrameCheckContext): GrpcErrorStatus | undefined {
  if (frame.cluster_id !== ctx.clusterId) return PEER_REJECTIONS.clusterIdMismatch;
  if (frame.to !== ctx.localId) return PEER_REJECTIONS.memberIdMismatch;
  let from: NodeId;
  try {
    from = BigInt(frame.from);
  } catch {
    return PEER_REJECTIONS.malformedFrame;
  }
  if (ctx.isRemoved(from)) return PEER_REJECTIONS.memberRemoved;
  return undefined;
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
