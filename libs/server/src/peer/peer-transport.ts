// Cairn's peer transport, in the spirit of etcd's rafthttp: per peer, a bounded queue and one long-lived gRPC
// stream that carries batches of Raft messages in order (everything sent in one event-loop turn goes out as
// one frame), a separate Snapshot RPC for MsgSnap and its db file, redial with back-off, and drops reported to
// Raft as unreachable. The receiving side is the Peer service, added to the app's server with
// registerPeerService.
import type * as grpc from '@grpc/grpc-js';
import type { GrpcErrorStatus } from '@cairn/api';
import { MessageType, type Message, type NodeId } from '@cairn/raft';
import type { Logger } from '../logger';
import type { Transport } from '../transport';
import { Backoff } from './backoff';
import { describeGrpcError, PEER_REJECTIONS } from './errors';
import type { Http2StreamRoute } from '@cairn/edge';
import type { PeerFrame } from './frame-codec';
import { InboundStreams, serveGrpcJsStream } from './inbound-streams';
import { LogLimiter } from './log-limiter';
import { MemberLookup } from './member-lookup';
import { fetchMemberIds } from './membership-service';
import { PLAINTEXT_PEER_DIALER, type PeerDialer } from './peer-dialer';
import { MAX_PEER_MESSAGE_BYTES, PEER_DEFAULTS, type PeerTransportOptions } from './options';
import { peerStreamRoute } from './peer-stream-route';
import { PeerStreamWriter, messageTypeName, type DropReason } from './peer-stream-writer';
import type { SnapshotAck, SnapshotFrame } from './proto';
import { SnapshotReceiver } from './snapshot-receiver';
import { SnapshotSender } from './snapshot-sender';

/** The handlers of the cairn.peer.v1.Peer service (see registerPeerService); Stream uses the hand codec. */
export interface PeerServiceHandlers extends grpc.UntypedServiceImplementation {
  Stream: grpc.handleBidiStreamingCall<PeerFrame, bigint>;
  Snapshot: grpc.handleClientStreamingCall<SnapshotFrame, SnapshotAck>;
}

const DROP_MESSAGES: Record<DropReason, string> = {
  'queue-full': 'dropped Raft message since sending buffer is full',
  'not-connected': 'dropped Raft message since the peer is not connected',
  unencodable: 'dropped Raft message the codec cannot encode',
};

export class PeerTransport implements Transport {
  private readonly writers = new Map<NodeId, PeerStreamWriter>();
  private readonly urls = new Map<NodeId, string[]>();
  private readonly removed = new Set<NodeId>();
  /** Peers that lost messages this turn; reported once each, after the turn, never from inside send(). */
  private readonly unreachable = new Set<NodeId>();
  private readonly inbound: InboundStreams;
  private readonly snapshotSender: SnapshotSender;
  private readonly snapshotReceiver: SnapshotReceiver;
  private readonly logger: Logger;
  private readonly logLimiter: LogLimiter;
  private readonly now: () => number;
  private readonly settings: Required<Pick<PeerTransportOptions, keyof typeof PEER_DEFAULTS>>;
  private flushImmediate: NodeJS.Immediate | undefined;
  private readonly keepAliveTimer: NodeJS.Timeout;
  private closing: Promise<void> | undefined;
  private route: Http2StreamRoute | undefined;
  private readonly dialer: PeerDialer;
  private readonly lookup: MemberLookup;
  /** Frames (stream and snapshot) refused, by reason: what a stranger or a stale member tried. */
  private readonly rejectedFrames = new Map<string, number>();

  constructor(private readonly options: PeerTransportOptions) {
    this.now = options.now ?? Date.now;
    this.dialer = options.dialer ?? PLAINTEXT_PEER_DIALER;
    this.logger = options.logger.child({
      component: 'peer-transport',
      localMemberId: options.localId.toString(16),
    });
    this.settings = {
      maxQueuedMessages: options.maxQueuedMessages ?? PEER_DEFAULTS.maxQueuedMessages,
      activeWindowMs: options.activeWindowMs ?? PEER_DEFAULTS.activeWindowMs,
      keepAliveIntervalMs: options.keepAliveIntervalMs ?? PEER_DEFAULTS.keepAliveIntervalMs,
      dialTimeoutMs: options.dialTimeoutMs ?? PEER_DEFAULTS.dialTimeoutMs,
      maxFrameBytes: options.maxFrameBytes ?? PEER_DEFAULTS.maxFrameBytes,
      snapshotChunkBytes: options.snapshotChunkBytes ?? PEER_DEFAULTS.snapshotChunkBytes,
      logIntervalMs: options.logIntervalMs ?? PEER_DEFAULTS.logIntervalMs,
    };
    // Fail at construction, not at the first dial, on a bad back-off.
    new Backoff(options.dialBackoff);
    this.logLimiter = new LogLimiter(this.settings.logIntervalMs, this.now);
    const caller = { clusterId: options.clusterId, memberId: options.localId, dialer: this.dialer };
    this.lookup = new MemberLookup({
      fetch: (url, timeoutMs) => fetchMemberIds(caller, url, timeoutMs),
      knownPeerUrls: () => [...this.urls.values()].flat(),
      logger: this.logger,
      now: this.now,
    });
    const isRemoved = (id: NodeId): boolean => this.removed.has(id) || (options.isRemoved?.(id) ?? false);
    // The member list as the node gave it to us: every member but this one is added with addPeer (at start,
    // on an applied MemberAdd, after a snapshot install), learners included. A member that was just added
    // is known here as soon as its MemberAdd is applied, before its process starts.
    // A sender this member has not applied yet may be listed by the peers it knows (member-lookup.ts).
    const isMember = (id: NodeId): boolean => {
      if (this.urls.has(id) || this.lookup.listedByPeers(id) || (options.isMember?.(id) ?? false))
        return true;
      this.lookup.consider(id);
      return false;
    };
    const onRejected = (rejection: GrpcErrorStatus): void => {
      this.rejectedFrames.set(rejection.details, (this.rejectedFrames.get(rejection.details) ?? 0) + 1);
    };
    this.inbound = new InboundStreams({
      localId: options.localId,
      clusterId: options.clusterId,
      isRemoved,
      isMember,
      onRejected,
      onMessage: options.onMessage,
      logger: this.logger,
      logLimiter: this.logLimiter,
      now: this.now,
    });
    this.snapshotSender = new SnapshotSender({
      localId: options.localId,
      clusterId: options.clusterId,
      dialer: this.dialer,
      chunkBytes: this.settings.snapshotChunkBytes,
      snapshotSource: options.snapshotSource,
      onSnapshotStatus: options.onSnapshotStatus,
      onUnreachable: options.onUnreachable,
      logger: this.logger,
      now: this.now,
    });
    this.snapshotReceiver = new SnapshotReceiver({
      localId: options.localId,
      clusterId: options.clusterId,
      snapshotDir: options.snapshotDir,
      isRemoved,
      isMember,
      onRejected,
      onSnapshotReceived: options.onSnapshotReceived,
      logger: this.logger,
      logLimiter: this.logLimiter,
    });
    this.keepAliveTimer = setInterval(() => this.keepAlive(), this.settings.keepAliveIntervalMs);
  }

  send(messages: Message[]): void {
    if (this.closing !== undefined) return;
    for (const m of messages) {
      if (m.type === MessageType.Snap) {
        this.sendSnapshot(m);
        continue;
      }
      const writer = this.writers.get(m.to);
      if (writer === undefined) {
        this.logUnknownPeer(m);
        continue;
      }
      writer.enqueue(m);
    }
    this.scheduleFlush();
  }

  flush(): void {
    if (this.closing !== undefined) return;
    for (const writer of this.writers.values()) writer.flush();
    // send() scheduled an end-of-turn flush; with everything written and no drop to report it has nothing to do.
    if (this.flushImmediate !== undefined && this.unreachable.size === 0) {
      clearImmediate(this.flushImmediate);
      this.flushImmediate = undefined;
    }
  }

  addPeer(id: NodeId, urls: string[]): void {
    if (this.closing !== undefined || id === this.options.localId) return;
    this.urls.set(id, [...urls]);
    const existing = this.writers.get(id);
    if (existing !== undefined) {
      existing.updateUrls(urls);
      return;
    }
    this.removed.delete(id);
    const writer = new PeerStreamWriter(
      {
        localId: this.options.localId,
        clusterId: this.options.clusterId,
        peerId: id,
        backoff: new Backoff(this.options.dialBackoff, this.options.random),
        dialTimeoutMs: this.settings.dialTimeoutMs,
        maxQueuedMessages: this.settings.maxQueuedMessages,
        maxFrameBytes: this.settings.maxFrameBytes,
        logger: this.logger.child({ remotePeerId: id.toString(16) }),
        logLimiter: this.logLimiter,
        now: this.now,
        onDrop: (peerId, reason, count, sample) => this.onDrop(peerId, reason, count, sample),
        onLost: (peerId) => this.options.onPeerLost?.(peerId),
        dialer: this.dialer,
      },
      urls,
    );
    this.writers.set(id, writer);
    this.logger.info({ remotePeerId: id.toString(16), urls }, 'added peer');
    writer.start();
  }

  removePeer(id: NodeId): void {
    const writer = this.writers.get(id);
    this.removed.add(id);
    this.urls.delete(id);
    this.unreachable.delete(id);
    this.snapshotSender.cancel(id);
    this.inbound.disconnect(id, PEER_REJECTIONS.memberRemoved);
    if (writer === undefined) return;
    writer.close();
    this.writers.delete(id);
    this.logger.info({ remotePeerId: id.toString(16) }, 'removed peer');
  }

  activePeers(): NodeId[] {
    const since = this.now() - this.settings.activeWindowMs;
    return [...this.writers.keys()].filter((id) => (this.inbound.lastHeardFrom(id) ?? -Infinity) >= since);
  }

  /** How many incoming frames were refused, by reason (the refusal's text). */
  rejections(): ReadonlyMap<string, number> {
    return this.rejectedFrames;
  }

  /** The Peer service's handlers, bound to this transport. */
  serviceHandlers(): PeerServiceHandlers {
    return {
      Stream: (call) => serveGrpcJsStream(call, this.inbound),
      Snapshot: (call, callback) => this.snapshotReceiver.handle(call, callback),
    };
  }

  /** Serves Stream calls hand-framed, in front of grpc-js (see routePeerStreams). */
  streamRoute(): Http2StreamRoute {
    this.route ??= peerStreamRoute(this.inbound, MAX_PEER_MESSAGE_BYTES);
    return this.route;
  }

  close(): Promise<void> {
    this.closing ??= this.shutDown();
    return this.closing;
  }

  private async shutDown(): Promise<void> {
    clearInterval(this.keepAliveTimer);
    if (this.flushImmediate !== undefined) clearImmediate(this.flushImmediate);
    this.flushImmediate = undefined;
    for (const writer of this.writers.values()) writer.close();
    this.writers.clear();
    this.unreachable.clear();
    this.inbound.close();
    await Promise.all([this.snapshotSender.close(), this.snapshotReceiver.close()]);
  }

  private sendSnapshot(m: Message): void {
    const urls = this.urls.get(m.to);
    if (urls === undefined) {
      this.logUnknownPeer(m);
      return;
    }
    this.snapshotSender.send(m, urls);
  }

  private scheduleFlush(): void {
    if (this.flushImmediate !== undefined || this.closing !== undefined) return;
    this.flushImmediate = setImmediate(() => {
      this.flushImmediate = undefined;
      for (const writer of this.writers.values()) writer.flush();
      this.reportUnreachable();
    });
  }

  private onDrop(peerId: NodeId, reason: DropReason, count: number, sample: Message): void {
    this.unreachable.add(peerId);
    this.scheduleFlush();
    const gate = this.logLimiter.allow(`drop:${peerId}:${reason}`);
    if (!gate.allowed) return;
    this.logger.warn(
      {
        remotePeerId: peerId.toString(16),
        messageType: messageTypeName(sample),
        dropped: count,
        suppressed: gate.suppressed,
        remotePeerActive: this.writers.get(peerId)?.isActive() ?? false,
      },
      DROP_MESSAGES[reason],
    );
  }

  private reportUnreachable(): void {
    if (this.unreachable.size === 0) return;
    const ids = [...this.unreachable];
    this.unreachable.clear();
    for (const id of ids) {
      if (!this.writers.has(id)) continue;
      try {
        this.options.onUnreachable(id);
      } catch (err) {
        this.logger.error(
          { remotePeerId: id.toString(16), error: describeGrpcError(err).details },
          'onUnreachable threw',
        );
      }
    }
  }

  private keepAlive(): void {
    for (const writer of this.writers.values()) writer.keepAlive(this.settings.keepAliveIntervalMs);
  }

  private logUnknownPeer(m: Message): void {
    const gate = this.logLimiter.allow(`unknown:${m.to}`);
    if (!gate.allowed) return;
    const removed = this.removed.has(m.to);
    this.logger.debug(
      {
        remotePeerId: m.to.toString(16),
        messageType: messageTypeName(m),
        removed,
        suppressed: gate.suppressed,
      },
      removed ? 'dropped Raft message to a removed peer' : 'dropped Raft message to an unknown peer',
    );
  }
}
