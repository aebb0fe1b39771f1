// Pending linearizable reads on the leader (etcd-io/raft read_only.go). In Safe mode each read waits for
// a heartbeat round carrying its context; when a quorum acknowledges a context, that read and every
// read queued before it are confirmed (one round serves a whole batch).
import type { Message, NodeId } from './types';

export interface ReadIndexStatus {
  /** The MsgReadIndex request (from the leader itself or forwarded by a follower). */
  req: Message;
  /** The commit index when the read arrived: the read may be served once applied >= index. */
  index: number;
  /** Members that acknowledged the heartbeat carrying this context (the leader included). */
  acks: Set<NodeId>;
}

function contextKey(ctx: Uint8Array | undefined): string {
  if (ctx === undefined) return '';
  return Buffer.from(ctx.buffer, ctx.byteOffset, ctx.byteLength).toString('hex');
}

export class ReadOnly {
  private readonly pending = new Map<string, ReadIndexStatus>();
  private queue: string[] = [];

  /** Queues a read at commit index `index`. A context already pending is ignored (contexts must be unique). */
  addRequest(index: number, m: Message): void {
    const key = contextKey(m.context);
    if (this.pending.has(key)) return;
    this.pending.set(key, { req: m, index, acks: new Set() });
    this.queue.push(key);
  }

  /** Records that `id` acknowledged the round for `context`; returns the acks so far (undefined if unknown). */
  recvAck(id: NodeId, context: Uint8Array | undefined): Set<NodeId> | undefined {
    const rs = this.pending.get(contextKey(context));
    if (!rs) return undefined;
    rs.acks.add(id);
    return rs.acks;
  }

  /** Confirms the read with `context` and every read queued before it; returns them in order. */
  advance(context: Uint8Array | undefined): ReadIndexStatus[] {
    const key = contextKey(context);
    const at = this.queue.indexOf(key);
    if (at < 0) return [];
    const confirmed: ReadIndexStatus[] = [];
    for (const k of this.queue.slice(0, at + 1)) {
      const rs = this.pending.get(k);
      if (!rs) throw new Error('read-only queue and pending map are out of sync');
      confirmed.push(rs);
      this.pending.delete(k);
    }
    this.queue = this.queue.slice(at + 1);
    return confirmed;
  }

  /** The context of the newest pending read: the next heartbeat round carries it. */
  lastPendingRequestCtx(): Uint8Array | undefined {
    if (this.queue.length === 0) return undefined;
    return this.pending.get(this.queue[this.queue.length - 1])?.req.context ?? new Uint8Array(0);
  }

  pendingCount(): number {
    return this.queue.length;
  }
}
