// etcd's Maintenance and Cluster services over a CairnNode. With auth on, everything but Status and MemberList
// needs the root role (etcd's IsAdminPermitted; Alarm, MoveLeader and Hash too, as the issue's model has it).
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type {
  AlarmRequest__Output,
  HashKVRequest__Output,
  MemberAddRequest__Output,
  MemberPromoteRequest__Output,
  MemberRemoveRequest__Output,
  MemberUpdateRequest__Output,
  MoveLeaderRequest__Output,
} from '@cairn/api';
import { AlarmKind } from '../alarms';
import { toEtcdError } from '../applier';
import type { Member } from '../members';
import type { CairnNode } from '../node';
import { ETCD_API_VERSION } from '../version';
import { framedSnapshotChunks, framedSnapshotSize } from '../snapshot-file';
import type { CallContext } from '../port/etcd-port';
import { proposeAndUnwrap } from './propose';

export class MaintenanceApi {
  constructor(private readonly node: CairnNode) {}

  status(): object {
    const status = this.node.status();
    return {
      header: this.node.header(this.node.kv.currentRevision),
      version: ETCD_API_VERSION,
      dbSize: this.node.dbSizeBytes,
      leader: status.leader.toString(),
      raftIndex: status.commitIndex,
      raftTerm: status.term,
      raftAppliedIndex: status.appliedIndex,
      errors: this.node.alarms
        .list()
        // etcd's AlarmMember.String(): proto text, where a zero member ID (a CORRUPT alarm) is left out.
        .map(
          (a) =>
            `${a.memberId === 0n ? '' : `memberID:${a.memberId} `}alarm:${AlarmKind[a.alarm].toUpperCase()} `,
        ),
      dbSizeInUse: this.node.dbSizeBytes,
      isLearner: status.isLearner,
      dbSizeQuota: this.node.config.quotaBackendBytes,
    };
  }

  async hashKV(req: HashKVRequest__Output, ctx: CallContext): Promise<object> {
    this.requireAdmin(ctx);
    try {
      const result = await this.node.kv.hashKV(Number(req.revision));
      return {
        header: this.node.header(this.node.kv.currentRevision),
        hash: result.hash,
        // etcd's compactMainRev is -1 until the first compaction.
        compact_revision: result.compactRevision === 0 ? -1 : result.compactRevision,
        hash_revision: result.hashRevision,
      };
    } catch (err) {
      throw toEtcdError(err);
    }
  }

  async hash(ctx: CallContext): Promise<object> {
    this.requireAdmin(ctx);
    const result = await this.node.kv.hashKV(0);
    return { header: this.node.header(this.node.kv.currentRevision), hash: result.hash };
  }

  async defragment(ctx: CallContext): Promise<object> {
    this.requireAdmin(ctx);
    await this.node.defragment();
    return { header: this.node.header(this.node.kv.currentRevision) };
  }

  async alarm(req: AlarmRequest__Output, ctx: CallContext): Promise<object> {
    this.requireAdmin(ctx);
    if (req.action === 0) {
      return {
        header: this.node.header(this.node.kv.currentRevision),
        alarms: this.node.alarms.list().map((a) => ({ memberID: a.memberId.toString(), alarm: a.alarm })),
      };
    }
    return proposeAndUnwrap(this.node, { alarm: req }, ctx);
  }

  /**
   * Streams a consistent copy of the backend, framed the way etcdctl checks an etcd snapshot: the content is
   * padded to a multiple of 512 bytes and followed by its sha256. The padding ends with the real length
   * (8 bytes, big-endian), so a restore can strip the framing and get our backend file back exactly.
   */
  async *snapshot(ctx: CallContext): AsyncGenerator<object> {
    this.requireAdmin(ctx);
    const dir = await mkdtemp(path.join(tmpdir(), 'cairn-snapshot-'));
    try {
      const file = path.join(dir, 'snapshot.db');
      await this.node.writeBackendSnapshot(file);
      const total = framedSnapshotSize((await stat(file)).size);
      let sent = 0;
      const header = this.node.header(this.node.kv.currentRevision);
      for await (const blob of framedSnapshotChunks(file)) {
        sent += blob.length;
        yield { header, remaining_bytes: total - sent, blob, version: ETCD_API_VERSION };
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }

  memberList(): object {
    // A cluster call does not touch the KV store: etcd leaves header.revision at 0.
    return { header: this.node.header(0), members: this.wireMembers() };
  }

  async memberAdd(req: MemberAddRequest__Output, ctx: CallContext): Promise<object> {
    this.requireAdmin(ctx);
    const member = await this.node.addMember(req.peerURLs, req.isLearner);
    return { header: this.node.header(0), member: wireMember(member), members: this.wireMembers() };
  }

  async memberRemove(req: MemberRemoveRequest__Output, ctx: CallContext): Promise<object> {
    this.requireAdmin(ctx);
    await this.node.removeMember(BigInt(req.ID));
    return { header: this.node.header(0), members: this.wireMembers() };
  }

  async memberUpdate(req: MemberUpdateRequest__Output, ctx: CallContext): Promise<object> {
    this.requireAdmin(ctx);
    await this.node.updateMember(BigInt(req.ID), req.peerURLs);
    return { header: this.node.header(0), members: this.wireMembers() };
  }

  async memberPromote(req: MemberPromoteRequest__Output, ctx: CallContext): Promise<object> {
    this.requireAdmin(ctx);
    await this.node.promoteMember(BigInt(req.ID));
    return { header: this.node.header(0), members: this.wireMembers() };
  }

  async moveLeader(req: MoveLeaderRequest__Output, ctx: CallContext): Promise<object> {
    this.requireAdmin(ctx);
    await this.node.moveLeader(BigInt(req.targetID));
    return { header: this.node.header(0) };
  }

  private requireAdmin(ctx: CallContext): void {
    this.node.auth.checkAdmin(ctx.identity);
  }

  private wireMembers(): object[] {
    return this.node.members.list().map(wireMember);
  }
}

function wireMember(m: Member): object {
  return {
    ID: m.id.toString(),
    name: m.name,
    peerURLs: m.peerUrls,
    clientURLs: m.clientUrls,
    isLearner: m.isLearner,
  };
}
