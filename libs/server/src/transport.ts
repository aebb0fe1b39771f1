// How Raft messages leave this member. The single-member server needs none; the peer transport of the cluster
// implements this over gRPC streams.
import type { Message, NodeId } from '@cairn/raft';

export interface Transport {
  /** Queue messages for delivery; never throws, never blocks (a down peer costs only a log line). */
  send(messages: Message[]): void;
  /**
   * Writes what send() queued now rather than at the end of the event-loop turn: when it returns, the messages
   * are in their sockets (peer-stream-call.ts writes at once), so the raft loop goes on to the WAL write and
   * the apply without waiting a turn for them.
   */
  flush(): void;
  addPeer(id: NodeId, urls: string[]): void;
  removePeer(id: NodeId): void;
  /** Peers heard from recently (for Status and /metrics). */
  activePeers(): NodeId[];
  close(): Promise<void>;
}

/** Transport of a single-member cluster: there is nobody to talk to. */
export class NoPeersTransport implements Transport {
  send(): void {}
  flush(): void {}
  addPeer(): void {}
  removePeer(): void {}
  activePeers(): NodeId[] {
    return [];
  }
  async close(): Promise<void> {}
}
