// Issue 15, the peer URL's trust boundary: a process that is not a member of the cluster gets nothing from a
// member's peer URL — no Raft message stepped (a forged MsgApp with a higher term disturbs neither term nor
// leader, and its entry never appears), no snapshot installed, no lease renewed (a lease nobody keeps alive
// still expires), no cluster view — with plaintext peer URLs (the member check on every RPC) and with peer
// mTLS (the handshake refuses it first: no certificate, another CA's, the wrong CN). Also what still holds
// without TLS: whoever claims a current member's ID is taken for that member (docs/security.md ("The peer URL")).
import * as grpc from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  cleanupAll,
  createCertAuthority,
  issueServerCert,
  readPem,
  sleep,
  startCluster,
  type CertAuthority,
  type IssuedCert,
  type Member,
} from '../support';
import {
  RawPeerClient,
  claim,
  forgedAppend,
  gateway,
  localValue,
  status,
  type MemberStatus,
} from './peer-raw-client';

const PERMISSION_DENIED = grpc.status.PERMISSION_DENIED;
const FAILED_PRECONDITION = grpc.status.FAILED_PRECONDITION;
const UNAVAILABLE = grpc.status.UNAVAILABLE;
const STRANGER = 0xdead_beef_0bad_f00dn;
const PEER_CN = 'cairn-peer';

interface Cluster {
  members: Member[];
  byId: Map<bigint, Member>;
  statuses: MemberStatus[];
  clusterId: bigint;
  leader: Member;
  follower: Member;
  followerId: bigint;
}

async function inspect(members: Member[]): Promise<Cluster> {
  const statuses = await Promise.all(members.map((m) => status(m.clientUrl)));
  const byId = new Map(statuses.map((s, i) => [s.memberId, members[i]!]));
  const leaderId = statuses[0]!.leader;
  const leader = byId.get(leaderId)!;
  const followerStatus = statuses.find((s) => s.memberId !== leaderId)!;
  return {
    members,
    byId,
    statuses,
    clusterId: statuses[0]!.clusterId,
    leader,
    follower: byId.get(followerStatus.memberId)!,
    followerId: followerStatus.memberId,
  };
}

const targetOf = (m: Member): string => new URL(m.peerUrl).host;

/** cairn_peer_refusals_total{surface,reason} as a member's /metrics reports it. */
async function refusals(m: Member, surface: string, reason: string): Promise<number> {
  const text = await (await fetch(`${m.clientUrl}/metrics`)).text();
  const line = text
    .split('\n')
    .find((l) => l.startsWith(`cairn_peer_refusals_total{surface="${surface}",reason="${reason}"}`));
  return line === undefined ? 0 : Number(line.split(' ').pop());
}

/** Term and leader of every member are what they were; the forged key is nowhere. */
async function expectUndisturbed(before: Cluster, forgedKey: string): Promise<void> {
  const after = await Promise.all(before.members.map((m) => status(m.clientUrl)));
  expect(after.map((s) => [s.memberId, s.term, s.leader])).toEqual(
    before.statuses.map((s) => [s.memberId, s.term, s.leader]),
  );
  for (const m of before.members) expect(await localValue(m.clientUrl, forgedKey)).toBeUndefined();
}

/** A member added (as a learner, never started) and removed again: its ID is a removed member's. */
async function removedMemberId(c: Cluster): Promise<bigint> {
  const added = await gateway<{ member: { ID: string } }>(c.leader.clientUrl, '/v3/cluster/member/add', {
    peerURLs: ['http://127.0.0.1:9'],
    isLearner: true,
  });
  await gateway(c.leader.clientUrl, '/v3/cluster/member/remove', { ID: added.member.ID });
  await everyMemberApplied(c, `after-remove-${added.member.ID}`);
  return BigInt(added.member.ID);
}

/** A put through the leader, seen by each member's own store: each has applied everything before it. */
async function everyMemberApplied(c: Cluster, key: string): Promise<void> {
  await gateway(c.leader.clientUrl, '/v3/kv/put', {
    key: Buffer.from(key).toString('base64'),
    value: Buffer.from('1').toString('base64'),
  });
  for (const m of c.members) {
    const deadline = Date.now() + 5000;
    while ((await localValue(m.clientUrl, key)) === undefined) {
      if (Date.now() > deadline) throw new Error(`${m.name} did not apply ${key} within 5 s`);
      await sleep(20);
    }
  }
}

/**
 * Everything a non-member can try through `client` (which reached the peer port: plaintext, or TLS with a
 * certificate the member accepts), refused by the member check; the cluster is undisturbed afterwards.
 */
async function everyForgeryRefused(c: Cluster, connect: (m: Member) => RawPeerClient): Promise<void> {
  const toFollower = connect(c.follower);
  const toLeader = connect(c.leader);
  try {
    const term = c.statuses[0]!.term;
    const lastIndex = Math.max(...c.statuses.map((s) => s.raftIndex));
    const forge = (from: bigint, clusterId = c.clusterId) => ({ clusterId, from, to: c.followerId });

    // Raft stream: an unknown member ID, another cluster's ID, a removed member's ID.
    const stranger = await toFollower.stream(forge(STRANGER), [
      forgedAppend(forge(STRANGER), term + 10, lastIndex, 'forged-by-stranger'),
    ]);
    expect(stranger).toEqual({
      accepted: false,
      code: PERMISSION_DENIED,
      details: 'cairn: sender is not a member of this cluster',
    });
    const foreign = await toFollower.stream(forge(STRANGER, c.clusterId ^ 1n), [
      forgedAppend(forge(STRANGER), term + 10, lastIndex, 'forged-by-stranger'),
    ]);
    expect(foreign).toMatchObject({ accepted: false, code: FAILED_PRECONDITION });
    expect(foreign.details).toContain('cluster ID mismatch');
    const removedId = await removedMemberId(c);
    const removed = await toFollower.stream(forge(removedId), [
      forgedAppend(forge(removedId), term + 10, lastIndex + 2, 'forged-by-removed'),
    ]);
    expect(removed).toEqual({
      accepted: false,
      code: FAILED_PRECONDITION,
      details: 'the member has been permanently removed from the cluster',
    });

    // Snapshot: a forged MsgSnap with its db file.
    const snap = await toFollower.snapshot(forge(STRANGER), term + 10, lastIndex + 1000);
    expect(snap).toMatchObject({ accepted: false, code: PERMISSION_DENIED });

    // Cluster view: no identity, a stranger's, a started member's peer URL claimed as "joining".
    expect(await toLeader.unary('Members', {}, {})).toMatchObject({
      accepted: false,
      code: PERMISSION_DENIED,
    });
    expect(await toLeader.unary('Members', {}, claim(c.clusterId, STRANGER))).toMatchObject({
      accepted: false,
      code: PERMISSION_DENIED,
    });
    expect(
      await toLeader.unary('Members', {}, { 'cairn-joining-peer-urls': c.follower.peerUrl }),
    ).toMatchObject({ accepted: false, code: PERMISSION_DENIED });

    // Learner readiness (what a follower asks the leader before a promote): members only.
    for (const metadata of [{}, claim(c.clusterId, STRANGER), claim(c.clusterId, removedId)]) {
      expect(await toLeader.unary('LearnerReady', { id: '1' }, metadata)).toMatchObject({
        accepted: false,
        code: PERMISSION_DENIED,
      });
    }
    expect(await toLeader.unary('LearnerReady', { id: '1' }, claim(c.clusterId, c.followerId))).toMatchObject(
      {
        accepted: true,
        reply: { ready: false },
      },
    );

    // Leases: a lease a real client holds, renewed by forged calls only, still expires.
    const grant = await gateway<{ ID: string }>(c.leader.clientUrl, '/v3/lease/grant', { TTL: 3 });
    await gateway(c.leader.clientUrl, '/v3/kv/put', {
      key: Buffer.from('leased').toString('base64'),
      value: Buffer.from('v').toString('base64'),
      lease: grant.ID,
    });
    const renewals = [
      { metadata: {}, code: PERMISSION_DENIED },
      { metadata: claim(c.clusterId, STRANGER), code: PERMISSION_DENIED },
      { metadata: claim(c.clusterId, removedId), code: PERMISSION_DENIED },
      { metadata: claim(c.clusterId ^ 1n, c.followerId), code: FAILED_PRECONDITION },
    ];
    const deadline = Date.now() + 5_500;
    while (Date.now() < deadline) {
      for (const { metadata, code } of renewals) {
        expect(await toLeader.unary('LeaseRenewBatch', { ids: [grant.ID] }, metadata)).toMatchObject({
          accepted: false,
          code,
        });
        expect(await toLeader.unary('LeaseRenew', { id: grant.ID }, metadata)).toMatchObject({
          accepted: false,
          code,
        });
      }
      await sleep(300);
    }
    const ttl = await gateway<{ TTL: string }>(c.leader.clientUrl, '/v3/lease/timetolive', { ID: grant.ID });
    expect(Number(ttl.TTL)).toBe(-1);
    expect(await localValue(c.leader.clientUrl, 'leased')).toBeUndefined();

    await expectUndisturbed(c, 'forged-by-stranger');
    expect(await localValue(c.follower.clientUrl, 'forged-by-removed')).toBeUndefined();
    // Counted where an operator looks.
    expect(await refusals(c.follower, 'stream', 'notAMember')).toBeGreaterThanOrEqual(2);
    expect(await refusals(c.follower, 'stream', 'memberRemoved')).toBeGreaterThanOrEqual(1);
    expect(await refusals(c.leader, 'call', 'notAMember')).toBeGreaterThanOrEqual(10);
  } finally {
    toFollower.close();
    toLeader.close();
  }
}

/** Without TLS the ID is only a claim: a call claiming a current member's ID is answered as that member. */
async function aClaimedMemberIdIsBelieved(c: Cluster, connect: (m: Member) => RawPeerClient): Promise<void> {
  const toLeader = connect(c.leader);
  try {
    const answer = await toLeader.unary(
      'LeaseTimeToLive',
      { id: '1', keys: false },
      claim(c.clusterId, c.followerId),
    );
    expect(answer).toMatchObject({ accepted: true, code: 0 });
  } finally {
    toLeader.close();
  }
}

describe('peer port without TLS: only current members are heard', () => {
  let cluster: Cluster;
  beforeAll(async () => {
    cluster = await inspect(await startCluster({ size: 3 }));
  }, 30_000);
  afterAll(() => cleanupAll());

  it('refuses forged Raft streams, snapshots, lease renewals and cluster views from non-members', async () => {
    await everyForgeryRefused(cluster, (m) => new RawPeerClient(targetOf(m)));
  }, 30_000);

  it('believes whoever claims a current member ID (what only peer mTLS closes)', async () => {
    await aClaimedMemberIdIsBelieved(cluster, (m) => new RawPeerClient(targetOf(m)));
  });
});

describe('peer port with mTLS (--peer-client-cert-auth, --peer-cert-allowed-cn)', () => {
  let cluster: Cluster;
  let ca: CertAuthority;
  let peerCert: IssuedCert;
  const tlsTo = (cert?: IssuedCert, authority: CertAuthority = ca) =>
    grpc.credentials.createSsl(
      readPem(authority.certFile),
      cert ? readPem(cert.keyFile) : null,
      cert ? readPem(cert.certFile) : null,
    );

  beforeAll(async () => {
    ca = createCertAuthority({ name: 'peer-ca' });
    peerCert = issueServerCert(ca, PEER_CN);
    // prettier-ignore
    const flags = [
      '--peer-cert-file', peerCert.certFile, '--peer-key-file', peerCert.keyFile,
      '--peer-trusted-ca-file', ca.certFile, '--peer-client-cert-auth',
      '--peer-cert-allowed-cn', PEER_CN,
    ];
    cluster = await inspect(await startCluster({ size: 3, extraFlags: flags, peerTls: true }));
  }, 30_000);
  afterAll(() => cleanupAll());

  it('fails the handshake of a plaintext, cert-less, other-CA or wrong-CN connection', async () => {
    const other = createCertAuthority({ name: 'other-ca' });
    const attempts: Array<[string, grpc.ChannelCredentials]> = [
      ['plaintext', grpc.credentials.createInsecure()],
      ['TLS without a certificate', tlsTo()],
      ['a certificate of another CA', tlsTo(issueServerCert(other, PEER_CN), ca)],
      ['the right CA, the wrong CN', tlsTo(issueServerCert(ca, 'intruder'))],
    ];
    const f = { clusterId: cluster.clusterId, from: STRANGER, to: cluster.followerId };
    for (const [label, creds] of attempts) {
      const client = new RawPeerClient(targetOf(cluster.follower), creds);
      try {
        const outcome = await client.stream(f, []);
        expect({ label, accepted: outcome.accepted, code: outcome.code }).toEqual({
          label,
          accepted: false,
          code: UNAVAILABLE,
        });
        const members = await client.unary('Members', {}, claim(cluster.clusterId, cluster.followerId));
        expect({ label, accepted: members.accepted, code: members.code }).toEqual({
          label,
          accepted: false,
          code: UNAVAILABLE,
        });
      } finally {
        client.close();
      }
    }
    await expectUndisturbed(cluster, 'forged-by-stranger');
    expect(await refusals(cluster.follower, 'connection', 'tls')).toBeGreaterThanOrEqual(3);
  }, 30_000);

  it('still refuses forged member IDs from a holder of a valid peer certificate', async () => {
    await everyForgeryRefused(cluster, (m) => new RawPeerClient(targetOf(m), tlsTo(peerCert)));
  }, 30_000);
});
