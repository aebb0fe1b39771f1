// Who a member hears on its peer URL: frames only from current members (the frame check), Membership calls
// only from members or a member being added that has not started (peer-call-identity.ts), and a member it
// has not applied yet once a member it knows lists it (member-lookup.ts).
import * as grpc from '@grpc/grpc-js';
import { afterEach, describe, expect, it } from 'vitest';
import { PEER_REJECTIONS } from '../src/peer';
import { rejectionOf } from '../src/peer/frame-check';
import { MemberLookup } from '../src/peer/member-lookup';
import { registerMembershipService, type LeaseAuthority } from '../src/peer/membership-service';
import {
  callerMetadata,
  joiningMetadata,
  memberCallRejection,
  viewCallRejection,
} from '../src/peer/peer-call-identity';
import type { Member as ClusterMember } from '../src/members';
import {
  CLUSTER,
  capturingLogger,
  msgApp,
  startMember,
  startServer,
  stopServer,
  waitFor,
} from './peer-harness';

const A = 0xa1n;
const B = 0xb2n;
const C = 0xc3n;

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

const member = (id: bigint, name: string, url: string): ClusterMember => ({
  id,
  name,
  peerUrls: [url],
  clientUrls: [],
  isLearner: false,
});

describe('the frame check', () => {
  const ctx = {
    clusterId: CLUSTER,
    localId: B,
    isRemoved: (id: bigint) => id === 0x99n,
    isMember: (id: bigint) => id === A,
  };

  it('takes a frame from a current member addressed to us', () => {
    expect(rejectionOf({ clusterId: CLUSTER, from: A, to: B }, ctx)).toBeUndefined();
  });

  it('refuses strangers, ourselves as sender, removed members and other clusters, in that order of checks', () => {
    expect(rejectionOf({ clusterId: CLUSTER, from: C, to: B }, ctx)).toBe(PEER_REJECTIONS.notAMember);
    expect(rejectionOf({ clusterId: CLUSTER, from: B, to: B }, ctx)).toBe(PEER_REJECTIONS.notAMember);
    expect(rejectionOf({ clusterId: CLUSTER, from: 0x99n, to: B }, ctx)).toBe(PEER_REJECTIONS.memberRemoved);
    expect(rejectionOf({ clusterId: CLUSTER + 1n, from: A, to: B }, ctx)).toBe(
      PEER_REJECTIONS.clusterIdMismatch,
    );
    expect(PEER_REJECTIONS.notAMember.code).toBe(grpc.status.PERMISSION_DENIED);
  });
});

describe('Membership call identity', () => {
  const view = {
    clusterId: CLUSTER,
    members: [member(A, 'a', 'http://10.0.0.1:2380'), member(C, '', 'http://10.0.0.3:2380')],
  };

  it('answers a current member of this cluster', () => {
    expect(memberCallRejection(callerMetadata({ clusterId: CLUSTER, memberId: A }), view)).toBeUndefined();
  });

  it('refuses no identity (an older build), a stranger, another cluster', () => {
    expect(memberCallRejection(new grpc.Metadata(), view)).toBe(PEER_REJECTIONS.notAMember);
    expect(memberCallRejection(callerMetadata({ clusterId: CLUSTER, memberId: B }), view)).toBe(
      PEER_REJECTIONS.notAMember,
    );
    expect(memberCallRejection(callerMetadata({ clusterId: 1n, memberId: A }), view)).toBe(
      PEER_REJECTIONS.clusterIdMismatch,
    );
  });

  it('gives the cluster view to a member being added that has not started, by its peer URLs only', () => {
    expect(viewCallRejection(joiningMetadata(['http://10.0.0.3:2380']), view)).toBeUndefined();
    // A started member (its name is published) is no longer "joining"; an unknown URL never was.
    expect(viewCallRejection(joiningMetadata(['http://10.0.0.1:2380']), view)).toBe(
      PEER_REJECTIONS.notAMember,
    );
    expect(viewCallRejection(joiningMetadata(['http://10.0.0.9:2380']), view)).toBe(
      PEER_REJECTIONS.notAMember,
    );
    // Lease calls never accept a joining claim.
    expect(memberCallRejection(joiningMetadata(['http://10.0.0.3:2380']), view)).toBe(
      PEER_REJECTIONS.notAMember,
    );
  });
});

describe('MemberLookup', () => {
  it('asks a known peer once per interval, and lists what it answered', async () => {
    let now = 0;
    const asked: string[] = [];
    const lookup = new MemberLookup({
      fetch: async (url) => {
        asked.push(url);
        return [A, C];
      },
      knownPeerUrls: () => ['http://a', 'http://b'],
      logger: capturingLogger(),
      now: () => now,
      intervalMs: 1000,
    });
    expect(lookup.listedByPeers(C)).toBe(false);
    lookup.consider(C);
    lookup.consider(0x77n);
    await waitFor('answer', () => lookup.listedByPeers(C));
    expect(asked).toEqual(['http://a']);
    lookup.consider(0x77n);
    expect(asked).toHaveLength(1);
    now = 1000;
    lookup.consider(0x77n);
    await waitFor('second lookup', () => asked.length === 2);
    expect(lookup.listedByPeers(0x77n)).toBe(false);
  });

  it('lets a member accept the stream of a member it has not applied yet, once a known member lists it', async () => {
    // "A": a member B knows, whose Membership service lists A, B and C (C was added while B was behind).
    const leases: LeaseAuthority = {
      renew: async () => ({ ttl: 0, granted_ttl: 0, keys: [] }),
      renewMany: async () => [],
      timeToLive: async () => ({ ttl: -1, granted_ttl: 0, keys: [] }),
    };
    const a = await startServer((server) =>
      registerMembershipService(
        server,
        () => ({
          clusterId: CLUSTER,
          members: [member(A, 'a', 'http://a'), member(B, 'b', 'http://b'), member(C, 'c', 'http://c')],
        }),
        leases,
      ),
    );
    cleanups.push(() => stopServer(a.server));
    const b = await startMember({ id: B });
    cleanups.push(() => b.stop());
    b.transport.addPeer(A, [`http://127.0.0.1:${a.port}`]);
    const c = await startMember({ id: C });
    cleanups.push(() => c.stop());
    c.transport.addPeer(B, [b.url]);

    c.transport.send([msgApp(C, B, 1)]);
    await waitFor('C refused first', () => b.log.lines.some((l) => l.msg === 'rejected peer stream'));
    // C redials (its back-off) and keeps sending; B accepts once A's list named C.
    await waitFor(
      'a message from C',
      () => {
        c.transport.send([msgApp(C, B, 2)]);
        return b.received.some((m) => m.from === C);
      },
      8_000,
    );
    expect(b.log.lines.some((l) => l.msg.startsWith('a member this one has not applied yet'))).toBe(true);
  }, 15_000);
});
