// What a PeerTransport is built from, and the defaults of its knobs.
import type * as grpc from '@grpc/grpc-js';
import type { Message, NodeId } from '@cairn/raft';
import type { Logger } from '../logger';
import type { BackoffOptions } from './backoff';
import type { PeerDialer } from './peer-dialer';

export interface PeerTransportOptions {
  localId: NodeId;
  clusterId: bigint;
  /** A Raft message from a peer, in the order the peer sent it. Never a MsgSnap (see onSnapshotReceived). */
  onMessage(msg: Message): void;
  /** Messages to `id` were dropped (queue full, or no connection): Raft should probe it again. */
  onUnreachable(id: NodeId): void;
  /**
   * The established stream to `id` broke (connection reset or closed by the peer, as when its process dies):
   * a hint for failure detection, not proof (see Raft.suspectLeader).
   */
  onPeerLost?(id: NodeId): void;
  /** The outcome of sending a MsgSnap to `id` (true once the receiver has stepped it). */
  onSnapshotStatus(id: NodeId, ok: boolean): void;
  /**
   * The state-machine db file that goes with an outgoing MsgSnap, read in order. `undefined` means there is
   * none to send: the snapshot is reported failed (a follower must never install Raft state without its data).
   */
  snapshotSource(msg: Message): AsyncIterable<Buffer> | undefined;
  /**
   * Receiver side of a MsgSnap: `file` is a temp file under `snapshotDir` holding the db file, complete and
   * checksum-verified and fsynced. The callee takes the file over (renames it into place) and steps `msg` into
   * Raft; the sender hears success when this resolves. If it rejects, the transport deletes the file if it
   * is still there and the sender hears failure.
   */
  onSnapshotReceived(msg: Message, file: string): Promise<void>;
  /** Where received db files are written (created if missing). */
  snapshotDir: string;
  logger: Logger;
  dialBackoff: BackoffOptions;

  /** Outgoing messages queued per peer before new ones are dropped (etcd's stream buffer: 4096). */
  maxQueuedMessages?: number;
  /** A peer is active while its stream delivered something (a batch or a keep-alive) this recently. */
  activeWindowMs?: number;
  /** An idle stream sends an empty frame this often, so the receiver sees the link is alive. */
  keepAliveIntervalMs?: number;
  /** A stream not accepted by the peer within this long is abandoned and redialled. */
  dialTimeoutMs?: number;
  /** The largest batch frame; a single bigger message still goes alone. Keep below the server's receive limit. */
  maxFrameBytes?: number;
  /** Size of the db file chunks of a snapshot. */
  snapshotChunkBytes?: number;
  /** One log line per peer and kind of trouble per this interval. */
  logIntervalMs?: number;
  /**
   * Plaintext or TLS per peer URL for every outgoing connection (message streams, snapshots); default:
   * plaintext, https:// URLs refused.
   */
  dialer?: PeerDialer;
  /**
   * Whether `id` is in the member list (voter or learner). Peers added with addPeer always are; this widens
   * the check (a test, or a member list the node knows before it adds peers). Default: addPeer's peers only.
   */
  isMember?: (id: NodeId) => boolean;
  /** Members removed before this process started (the transport also remembers removePeer calls). */
  isRemoved?: (id: NodeId) => boolean;
  now?: () => number;
  random?: () => number;
}

export const PEER_DEFAULTS = {
  maxQueuedMessages: 4096,
  activeWindowMs: 5_000,
  keepAliveIntervalMs: 1_000,
  dialTimeoutMs: 5_000,
  maxFrameBytes: 1024 * 1024,
  snapshotChunkBytes: 1024 * 1024,
  logIntervalMs: 10_000,
} as const;

/**
 * The largest message a member takes on its peer URL: frames up to a MiB plus the occasional single large Raft
 * message must fit (grpc's default of 4 MiB would not).
 */
export const MAX_PEER_MESSAGE_BYTES = 64 * 1024 * 1024;

/** Options for the grpc.Server the app binds to its peer URL. */
export const PEER_SERVER_OPTIONS: grpc.ServerOptions = {
  'grpc.max_receive_message_length': MAX_PEER_MESSAGE_BYTES,
};
