// What each member of a running cluster says about itself, through one etcd3 client per member (so a call
// reaches exactly that member): status (leader, term, indexes, revision), HashKV, and the waits built on
// them: a leader is elected, every member has applied the same index, the hashes agree.
import { noop } from 'cockatiel';
import { Etcd3 } from 'etcd3';
import { waitFor, type Member } from '../../support';
import { hashKV } from './hash-kv';

export interface MemberStatus {
  member: Member;
  /** Member ID, decimal (uint64). */
  id: string;
  /** Leader this member believes in, decimal; '0' for none. */
  leader: string;
  term: bigint;
  raftIndex: bigint;
  appliedIndex: bigint;
  revision: bigint;
  isLearner: boolean;
}

export interface LeaderSighting {
  leader: Member;
  status: MemberStatus;
  /** performance.now() when it was first seen. */
  seenAt: number;
}

export interface HashSample {
  member: Member;
  hash: string;
  compactRevision: string;
  revision: string;
}

const CALL_TIMEOUT_MS = 2000;

/** A client bound to one member: no retries (a failed call says something), quick reconnects. */
export function memberClient(member: Member): Etcd3 {
  return new Etcd3({
    hosts: member.clientUrl,
    dialTimeout: CALL_TIMEOUT_MS,
    faultHandling: { host: () => noop, global: noop },
    grpcOptions: { 'grpc.initial_reconnect_backoff_ms': 100, 'grpc.max_reconnect_backoff_ms': 500 },
  });
}

export class ClusterView {
  private readonly clients = new Map<Member, Etcd3>();
  private readonly ids = new Map<Member, string>();

  /** `members`: the cluster's current members; add and remove as membership changes. */
  constructor(readonly members: Member[]) {}

  client(member: Member): Etcd3 {
    let client = this.clients.get(member);
    if (client === undefined) {
      client = memberClient(member);
      this.clients.set(member, client);
    }
    return client;
  }

  add(member: Member): void {
    if (!this.members.includes(member)) this.members.push(member);
  }

  /** Forgets a member (after it left the cluster) and closes its client. */
  remove(member: Member): void {
    const index = this.members.indexOf(member);
    if (index >= 0) this.members.splice(index, 1);
    this.clients.get(member)?.close();
    this.clients.delete(member);
  }

  running(): Member[] {
    return this.members.filter((m) => m.running);
  }

  async status(member: Member): Promise<MemberStatus> {
    const response = await this.client(member).maintenance.status({
      deadline: Date.now() + CALL_TIMEOUT_MS,
    });
    const status: MemberStatus = {
      member,
      id: response.header.member_id,
      leader: response.leader,
      term: BigInt(response.raftTerm),
      raftIndex: BigInt(response.raftIndex),
      appliedIndex: BigInt(response.raftAppliedIndex),
      revision: BigInt(response.header.revision),
      isLearner: response.isLearner,
    };
    this.ids.set(member, status.id);
    return status;
  }

  /** Status of each member that answers; the others are left out. */
  async statusesOf(members: readonly Member[]): Promise<MemberStatus[]> {
    const settled = await Promise.allSettled(members.map((m) => this.status(m)));
    return settled.flatMap((s) => (s.status === 'fulfilled' ? [s.value] : []));
  }

  /** The member's ID as its status reported it (asks once if not known yet). */
  async idOf(member: Member): Promise<string> {
    return this.ids.get(member) ?? (await this.status(member)).id;
  }

  /** The member with this ID among the known ones. */
  memberWithId(id: string): Member | undefined {
    for (const [member, known] of this.ids) if (known === id && this.members.includes(member)) return member;
    return undefined;
  }

  /**
   * Waits until one of `among` says it is the leader (its status names itself) and every other answering
   * member of `among` agrees; `not` excludes a member (the one just killed). Polls every `intervalMs`.
   */
  async waitForLeader(
    options: { among?: readonly Member[]; not?: Member; timeoutMs?: number; intervalMs?: number } = {},
  ): Promise<LeaderSighting> {
    const among = options.among ?? this.running();
    let last: MemberStatus[] = [];
    return withLastStatuses(
      () => last,
      waitFor(
        async () => {
          const statuses = await this.statusesOf(among);
          last = statuses;
          const leader = statuses.find((s) => s.leader === s.id && s.member !== options.not);
          if (leader === undefined) return undefined;
          if (statuses.some((s) => s.leader !== leader.id)) return undefined;
          return { leader: leader.member, status: leader, seenAt: performance.now() };
        },
        {
          timeoutMs: options.timeoutMs ?? 15_000,
          intervalMs: options.intervalMs ?? 25,
          what: `a leader among ${among.map((m) => m.name).join(', ')}${options.not ? ` other than ${options.not.name}` : ''}`,
        },
      ),
    );
  }

  /**
   * Waits until every member of `members` answers with the same applied index and revision (writes must
   * have stopped), and returns that revision.
   */
  async waitConverged(members: readonly Member[] = this.members, timeoutMs = 30_000): Promise<bigint> {
    let last: MemberStatus[] = [];
    return withLastStatuses(
      () => last,
      waitFor(
        async () => {
          const statuses = await Promise.all(members.map((m) => this.status(m)));
          last = statuses;
          const [first, ...rest] = statuses;
          if (first === undefined) return undefined;
          const same = rest.every(
            (s) => s.appliedIndex === first.appliedIndex && s.revision === first.revision,
          );
          return same ? first.revision : undefined;
        },
        {
          timeoutMs,
          intervalMs: 100,
          what: `${members.map((m) => m.name).join(', ')} to apply the same index`,
        },
      ),
      members,
    );
  }

  /**
   * Waits until `member` reports a term above `term`. etcd 3.4's Status gives the term of the last applied
   * entry, so a new leader shows its term only once the empty entry of its election is applied.
   */
  async waitForTermAbove(member: Member, term: bigint, timeoutMs = 10_000): Promise<MemberStatus> {
    let last: MemberStatus[] = [];
    return withLastStatuses(
      () => last,
      waitFor(
        async () => {
          const status = await this.status(member);
          last = [status];
          return status.term > term ? status : undefined;
        },
        { timeoutMs, intervalMs: 25, what: `${member.name} to report a term above ${term}` },
      ),
    );
  }

  /** Waits until `member` has applied at least what `reference` had applied when this was called. */
  async waitCaughtUp(member: Member, reference: Member, timeoutMs = 30_000): Promise<void> {
    const target = (await this.status(reference)).appliedIndex;
    let last: MemberStatus[] = [];
    await withLastStatuses(
      () => last,
      waitFor(
        async () => {
          const status = await this.status(member);
          last = [status];
          return status.appliedIndex >= target ? true : undefined;
        },
        {
          timeoutMs,
          intervalMs: 100,
          what: `${member.name} to apply index ${target} (${reference.name}'s applied index)`,
        },
      ),
      [member],
    );
  }

  async hashKV(member: Member, revision: bigint): Promise<HashSample> {
    return { member, ...(await hashKV(member.clientUrl, revision)) };
  }

  /** HashKV of every member at one revision. */
  async hashes(revision: bigint, members: readonly Member[] = this.members): Promise<HashSample[]> {
    return Promise.all(members.map((m) => this.hashKV(m, revision)));
  }

  close(): void {
    for (const client of this.clients.values()) client.close();
    this.clients.clear();
  }
}

/** Adds the statuses seen last (and the output of `outputOf`) to a wait's timeout message. */
async function withLastStatuses<T>(
  last: () => MemberStatus[],
  wait: Promise<T>,
  outputOf: readonly Member[] = [],
): Promise<T> {
  try {
    return await wait;
  } catch (error) {
    if (error instanceof Error) {
      error.message += `\nlast statuses: ${describeStatuses(last())}`;
      for (const member of outputOf) error.message += `\n${member.process?.describeOutput(1500) ?? ''}`;
    }
    throw error;
  }
}

export function describeStatuses(statuses: readonly MemberStatus[]): string {
  if (statuses.length === 0) return 'none answered';
  return statuses
    .map(
      (s) =>
        `${s.member.name}{id ${s.id}, leader ${s.leader}, term ${s.term}, index ${s.raftIndex}, applied ${s.appliedIndex}, rev ${s.revision}${s.isLearner ? ', learner' : ''}}`,
    )
    .join(' ');
}

/** Member name → hash, for an assertion that prints every member's hash. */
export function hashTable(samples: readonly HashSample[]): Record<string, string> {
  return Object.fromEntries(samples.map((s) => [s.member.name, `${s.hash} (compact ${s.compactRevision})`]));
}
