// etcd's v3electionpb.Election service (server/etcdserver/api/v3election) over the member's EtcdPort, with
// the caller's context so its permissions apply. The algorithm is etcd's client-side Election
// (client/v3/concurrency/election.go) run inside the server: a candidate is the key `<name>/<lease in hex>`
// held by its lease, and the leader is the key under `<name>/` with the lowest create revision.
import { etcdError, prefixEnd } from '@cairn/api';
import type { KeyValue, WatchRequest, WatchResponse } from '@cairn/mvcc';
import { wireKv } from '../kv-codec';
import type { CallContext, EtcdPort, PortWatch } from '../port/etcd-port';
import {
  type RecipeSource,
  boundedWait,
  cleanupContext,
  contenderKey,
  contenderPrefix,
  contextEnded,
  firstCreate,
  int64Of,
  rangeOf,
  recipeCall,
  sessionLease,
  waitDeletes,
} from './lock-api';

/** concurrency.ErrElectionNotLeader: a plain Go error in etcd, so gRPC Unknown with this message. */
export const ELECTION_NOT_LEADER = 'election: not leader';
/** concurrency.ErrElectionNoLeader. */
export const ELECTION_NO_LEADER = 'election: no leader';
/** v3election.ErrMissingLeaderKey, for Proclaim and Resign without a leader. */
export const ELECTION_MISSING_LEADER_KEY = '"leader" field must be provided';

/** The wire shape of v3electionpb.LeaderKey as grpc-js and the gateway decode it. */
export interface LeaderKeyWire {
  name: Buffer;
  key: Buffer;
  rev: string;
  lease: string;
}

export interface CampaignRequestWire {
  name: Buffer;
  lease: string;
  value: Buffer;
}

export interface ProclaimRequestWire {
  leader?: LeaderKeyWire | null;
  value: Buffer;
}

export interface LeaderRequestWire {
  name: Buffer;
}

export interface ResignRequestWire {
  leader?: LeaderKeyWire | null;
}

/** Takes one Observe answer (a LeaderResponse); not flow-controlled, as leader changes are rare. */
export type ObserveSend = (response: object) => void;

/**
 * The next responses of a port watch, one at a time: `next()` answers the next response, or undefined once
 * the watch ended (compaction, lost leader: etcd's Observe then closes its channel and the stream ends), and
 * fails with etcd's error when the caller goes away or its deadline passes.
 */
class WatchQueue {
  private readonly pending: WatchResponse[] = [];
  private ended = false;
  private wake: (() => void) | undefined;
  private readonly watch: PortWatch;

  constructor(port: EtcdPort, ctx: CallContext, req: WatchRequest) {
    this.watch = port.watch(
      ctx,
      req,
      (response) => {
        if (response.compactRevision !== undefined) this.ended = true;
        else this.pending.push(response);
        this.wake?.();
        return true;
      },
      () => {
        this.ended = true;
        this.wake?.();
      },
    );
  }

  async next(ctx: CallContext): Promise<WatchResponse | undefined> {
    const ready = this.pending.shift();
    if (ready !== undefined) return ready;
    if (this.ended) {
      // The port ends a watch itself when its caller goes away: that is the caller's error, not a lost watch.
      if (ctx.signal?.aborted) throw etcdError('canceled');
      return undefined;
    }
    // Only the wait is bounded here: the watch itself lives until close().
    await boundedWait<void>(ctx, (settle) => {
      this.wake = () => settle({ value: undefined });
      return undefined;
    }).finally(() => {
      this.wake = undefined;
    });
    return this.next(ctx);
  }

  close(): void {
    this.watch.cancel();
  }
}

export class ElectionApi {
  constructor(private readonly source: RecipeSource) {}

  /**
   * Enters the election with `value` and waits until this candidate is the oldest. A candidate already
   * standing with the same lease keeps its place (its value is proclaimed if it differs). A wait ended by the
   * caller (gone, deadline) withdraws the candidacy, as etcd's Campaign resigns on ctx.Done().
   */
  campaign(req: CampaignRequestWire, ctx: CallContext): Promise<object> {
    return recipeCall(() => this.campaignNow(req, ctx));
  }

  private async campaignNow(req: CampaignRequestWire, ctx: CallContext): Promise<object> {
    const { port } = this.source;
    const lease = await sessionLease(port, ctx, int64Of(req.lease));
    const prefix = contenderPrefix(req.name);
    const key = contenderKey(prefix, lease);
    const txn = await port.txn(ctx, {
      compare: [{ key, target: 'CREATE', result: 'EQUAL', createRevision: 0 }],
      success: [{ put: { key, value: req.value, lease } }],
      failure: [{ range: { key } }],
    });
    let rev = txn.revision;
    if (!txn.succeeded) {
      const standing = rangeOf(txn.responses[0]).kvs[0];
      rev = standing?.createRevision ?? 0;
      if (standing !== undefined && !standing.value.equals(req.value)) {
        try {
          await this.proclaimAs(ctx, key, rev, lease, req.value);
        } catch (err) {
          await this.resignAs(ctx, key, rev).catch(() => undefined);
          throw err;
        }
      }
    }
    try {
      await waitDeletes(port, ctx, prefix, rev - 1);
    } catch (err) {
      if (contextEnded(ctx)) await this.resignAs(cleanupContext(ctx), key, rev).catch(() => undefined);
      throw err;
    }
    return {
      header: this.source.header(txn.revision),
      leader: { name: req.name, key, rev, lease: lease.toString() },
    };
  }

  /** Replaces the leader's value, if `leader` still holds its key (same create revision). */
  proclaim(req: ProclaimRequestWire, ctx: CallContext): Promise<object> {
    return recipeCall(() => this.proclaimNow(req, ctx));
  }

  private async proclaimNow(req: ProclaimRequestWire, ctx: CallContext): Promise<object> {
    const leader = req.leader;
    if (!leader) throw new Error(ELECTION_MISSING_LEADER_KEY);
    // etcd resumes the election in a session WithLease(leader.lease): lease 0 gets a fresh lease.
    const lease = await sessionLease(this.source.port, ctx, int64Of(leader.lease));
    const revision = await this.proclaimAs(ctx, leader.key, Number(int64Of(leader.rev)), lease, req.value);
    return { header: this.source.header(revision) };
  }

  /** The current leader's kv (the oldest candidate), or "election: no leader". */
  leader(req: LeaderRequestWire, ctx: CallContext): Promise<object> {
    return recipeCall(() => this.leaderNow(req, ctx));
  }

  private async leaderNow(req: LeaderRequestWire, ctx: CallContext): Promise<object> {
    const read = await this.source.port.range(ctx, firstCreate(contenderPrefix(req.name)));
    const kv = read.kvs[0];
    if (kv === undefined) throw new Error(ELECTION_NO_LEADER);
    return { header: this.source.header(read.revision), kv: wireKv(kv) };
  }

  /** Deletes the leader's key if `leader` still holds it; resigning a lost leadership is not an error. */
  resign(req: ResignRequestWire, ctx: CallContext): Promise<object> {
    return recipeCall(() => this.resignNow(req, ctx));
  }

  private async resignNow(req: ResignRequestWire, ctx: CallContext): Promise<object> {
    const leader = req.leader;
    if (!leader) throw new Error(ELECTION_MISSING_LEADER_KEY);
    const revision = await this.resignAs(ctx, leader.key, Number(int64Of(leader.rev)));
    return { header: this.source.header(revision) };
  }

  /**
   * Streams the leader's kv: the current one (or the first put under the prefix when there is none), then
   * every new value it proclaims; when it goes, the next leader. Ends (resolves) when a watch is lost, as
   * etcd's Observe closes its channel; fails with etcd's error when the caller goes away.
   */
  observe(req: LeaderRequestWire, ctx: CallContext, send: ObserveSend): Promise<void> {
    return recipeCall(() => this.observeNow(req, ctx, send));
  }

  private async observeNow(req: LeaderRequestWire, ctx: CallContext, send: ObserveSend): Promise<void> {
    const { port } = this.source;
    const prefix = contenderPrefix(req.name);
    for (;;) {
      const read = await port.range(ctx, firstCreate(prefix));
      let leader: KeyValue | undefined = read.kvs[0];
      let revision = read.revision;
      if (leader === undefined) {
        const first = await this.firstPut(ctx, prefix, read.revision);
        if (first === undefined) return;
        leader = first;
        // A response may carry several puts; etcd reports the leader's own revision.
        revision = first.modRevision;
      }
      send({ header: this.source.header(revision), kv: wireKv(leader) });
      if (!(await this.followUntilDeleted(ctx, leader.key, revision + 1, send))) return;
    }
  }

  /** The first key put under `prefix` from `revision` on (deletes are skipped, as etcd's observe does). */
  private async firstPut(ctx: CallContext, prefix: Buffer, revision: number): Promise<KeyValue | undefined> {
    const queue = new WatchQueue(this.source.port, ctx, {
      key: prefix,
      rangeEnd: prefixEnd(prefix),
      // From the read's revision, as etcd; at least 1, since a start revision of 0 means "from now on" and
      // would miss a put made between the read and the watch (a read answers 0 only on a store still on data
      // format 1, whose fresh revision is 0; etcd's numbering starts at 1).
      startRevision: Math.max(revision, 1),
    });
    try {
      for (;;) {
        const response = await queue.next(ctx);
        if (response === undefined) return undefined;
        const put = response.events.find((event) => event.type === 'put');
        if (put !== undefined) return put.kv;
      }
    } finally {
      queue.close();
    }
  }

  /** Sends each new value of the leader's key until it is deleted (true) or the watch is lost (false). */
  private async followUntilDeleted(
    ctx: CallContext,
    key: Buffer,
    revision: number,
    send: ObserveSend,
  ): Promise<boolean> {
    const queue = new WatchQueue(this.source.port, ctx, { key, startRevision: revision });
    try {
      for (;;) {
        const response = await queue.next(ctx);
        if (response === undefined) return false;
        for (const event of response.events) {
          if (event.type === 'delete') return true;
          send({ header: this.source.header(response.revision), kv: wireKv(event.kv) });
        }
      }
    } finally {
      queue.close();
    }
  }

  /** etcd's Election.Proclaim: put guarded by the key's create revision; answers the txn's revision. */
  private async proclaimAs(
    ctx: CallContext,
    key: Buffer,
    rev: number,
    lease: bigint,
    value: Buffer,
  ): Promise<number> {
    const txn = await this.source.port.txn(ctx, {
      compare: [{ key, target: 'CREATE', result: 'EQUAL', createRevision: rev }],
      success: [{ put: { key, value, lease } }],
    });
    if (!txn.succeeded) throw new Error(ELECTION_NOT_LEADER);
    return txn.revision;
  }

  /** etcd's Election.Resign: delete guarded by the key's create revision; answers the txn's revision. */
  private async resignAs(ctx: CallContext, key: Buffer, rev: number): Promise<number> {
    const txn = await this.source.port.txn(ctx, {
      compare: [{ key, target: 'CREATE', result: 'EQUAL', createRevision: rev }],
      success: [{ deleteRange: { key } }],
    });
    return txn.revision;
  }
}
