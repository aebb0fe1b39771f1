// Who is calling a unary peer RPC (the Membership service: cluster view, forwarded lease calls). Those calls
// carry no frame of their own, so the caller's identity rides in gRPC metadata, checked as a Stream frame is:
// this cluster, a current member. A member joining with --initial-cluster-state existing does not know its
// ID yet (the cluster view is how it learns it): it names the peer URLs it was added with, and is answered
// only if a current member added by MemberAdd that has not started yet (no name published, etcd's
// "unstarted") has one of them.
import * as grpc from '@grpc/grpc-js';
import type { GrpcErrorStatus } from '@cairn/api';
import type { Member } from '../members';
import { PEER_REJECTIONS } from './errors';

const CLUSTER_ID = 'cairn-cluster-id';
const MEMBER_ID = 'cairn-member-id';
const JOINING_PEER_URLS = 'cairn-joining-peer-urls';

/** The calling member, as its calls announce it. */
export interface PeerCaller {
  clusterId: bigint;
  memberId: bigint;
}

export function callerMetadata(caller: PeerCaller): grpc.Metadata {
  const metadata = new grpc.Metadata();
  metadata.set(CLUSTER_ID, caller.clusterId.toString());
  metadata.set(MEMBER_ID, caller.memberId.toString());
  return metadata;
}

/** A member not started yet asking for the cluster view: the peer URLs MemberAdd registered for it. */
export function joiningMetadata(peerUrls: readonly string[]): grpc.Metadata {
  const metadata = new grpc.Metadata();
  metadata.set(JOINING_PEER_URLS, peerUrls.join(','));
  return metadata;
}

export interface CallCheckContext {
  clusterId: bigint;
  members: readonly Member[];
}

/** Why a call from a member must be refused, or undefined (the caller is a current member of this cluster). */
export function memberCallRejection(
  metadata: grpc.Metadata,
  ctx: CallCheckContext,
): GrpcErrorStatus | undefined {
  const clusterId = uint64Of(metadata, CLUSTER_ID);
  const memberId = uint64Of(metadata, MEMBER_ID);
  // A build from before this check sends neither: it is refused as a stranger would be.
  if (clusterId === undefined || memberId === undefined) return PEER_REJECTIONS.notAMember;
  if (clusterId !== ctx.clusterId) return PEER_REJECTIONS.clusterIdMismatch;
  return ctx.members.some((m) => m.id === memberId) ? undefined : PEER_REJECTIONS.notAMember;
}

/** As memberCallRejection, or a joining member whose peer URLs a current member has. */
export function viewCallRejection(
  metadata: grpc.Metadata,
  ctx: CallCheckContext,
): GrpcErrorStatus | undefined {
  const joining = metadata.get(JOINING_PEER_URLS)[0];
  if (typeof joining === 'string' && joining !== '') {
    const claimed = new Set(joining.split(','));
    const unstarted = ctx.members.filter((m) => m.name === '');
    return unstarted.some((m) => m.peerUrls.some((url) => claimed.has(url)))
      ? undefined
      : PEER_REJECTIONS.notAMember;
  }
  return memberCallRejection(metadata, ctx);
}

/** The caller's claimed member ID, for log lines (may be forged). */
export function claimedMemberId(metadata: grpc.Metadata): string {
  const id = uint64Of(metadata, MEMBER_ID);
  const joining = metadata.get(JOINING_PEER_URLS)[0];
  if (id !== undefined) return id.toString(16);
  return typeof joining === 'string' ? `joining ${joining}` : 'none';
}

function uint64Of(metadata: grpc.Metadata, key: string): bigint | undefined {
  const value = metadata.get(key)[0];
  if (typeof value !== 'string' || !/^\d{1,20}$/.test(value)) return undefined;
  return BigInt(value);
}
