// The cluster's membership as the state machine knows it: who the members are, their URLs, learner or voter.
// Changed only by applied Raft configuration changes and attribute publications; persisted in the backend's
// 'members' bucket so a restarted member knows the cluster before replaying the log.
import type { Backend, BackendBatch } from '@cairn/storage';

export interface Member {
  id: bigint;
  name: string;
  peerUrls: string[];
  clientUrls: string[];
  isLearner: boolean;
  /** The newest data format the member's build can apply, as it published (absent: Cairn 0.1). */
  dataFormat?: number;
  /** The member's Cairn version, as it published. */
  cairnVersion?: string;
}

interface StoredMember {
  id: string;
  name: string;
  peerUrls: string[];
  clientUrls: string[];
  isLearner: boolean;
  dataFormat?: number;
  cairnVersion?: string;
}

const REMOVED_PREFIX = 'removed/';

function memberKey(id: bigint): Buffer {
  return Buffer.from(id.toString(16).padStart(16, '0'));
}

export class MemberStore {
  private readonly members = new Map<bigint, Member>();
  private readonly removed = new Set<bigint>();

  static async load(backend: Backend): Promise<MemberStore> {
    const store = new MemberStore();
    for await (const [key, value] of backend.iterate('members')) {
      const text = key.toString();
      if (text.startsWith(REMOVED_PREFIX)) {
        store.removed.add(BigInt('0x' + text.slice(REMOVED_PREFIX.length)));
        continue;
      }
      const stored = JSON.parse(value.toString()) as StoredMember;
      store.members.set(BigInt(stored.id), { ...stored, id: BigInt(stored.id) });
    }
    return store;
  }

  list(): Member[] {
    return [...this.members.values()].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  }

  get(id: bigint): Member | undefined {
    return this.members.get(id);
  }

  isRemoved(id: bigint): boolean {
    return this.removed.has(id);
  }

  upsert(member: Member, batch: BackendBatch): void {
    this.members.set(member.id, { ...member });
    const stored: StoredMember = { ...member, id: member.id.toString() };
    batch.put('members', memberKey(member.id), Buffer.from(JSON.stringify(stored)));
  }

  remove(id: bigint, batch: BackendBatch): void {
    this.members.delete(id);
    this.removed.add(id);
    batch.del('members', memberKey(id));
    batch.put('members', Buffer.from(REMOVED_PREFIX + id.toString(16).padStart(16, '0')), Buffer.alloc(0));
  }
}

/**
 * What a ConfChange entry's context carries: the member being added or changed, and the ID of the request
 * that proposed it (so the proposer's waiter can be answered when the change is applied).
 */
export interface ConfChangeContext {
  member?: Member;
  requestId?: bigint;
  /**
   * Set on the entries a new cluster bootstraps its log with: the data format its store starts in. Every
   * member that applies the log from the start (a joining one too) formats its store alike; a cluster
   * bootstrapped by Cairn 0.1 has no such field and keeps format 1 until the leader switches it.
   */
  dataFormat?: number;
}

interface StoredContext {
  member?: StoredMember;
  requestId?: string;
  dataFormat?: number;
}

export function encodeConfChangeContext(context: ConfChangeContext): Uint8Array {
  const stored: StoredContext = {
    member: context.member ? { ...context.member, id: context.member.id.toString() } : undefined,
    requestId: context.requestId?.toString(),
    dataFormat: context.dataFormat,
  };
  return Buffer.from(JSON.stringify(stored));
}

export function decodeConfChangeContext(bytes: Uint8Array): ConfChangeContext {
  if (bytes.length === 0) return {};
  const stored = JSON.parse(Buffer.from(bytes).toString()) as StoredContext;
  return {
    member: stored.member ? { ...stored.member, id: BigInt(stored.member.id) } : undefined,
    requestId: stored.requestId !== undefined ? BigInt(stored.requestId) : undefined,
    dataFormat: typeof stored.dataFormat === 'number' ? stored.dataFormat : undefined,
  };
}
