// The receiving half of the Stream RPC: checks every frame, hands the Raft messages in it to the node in
// order, remembers when each peer was last heard from, and answers the hello so the sender knows its stream
// was accepted. At most one stream per sender: a reconnect replaces the old one. The call itself is either the
// hand-framed route (peer-stream-route.ts) or grpc-js's (serveGrpcJsStream below), behind InboundPeerCall.
import type * as grpc from '@grpc/grpc-js';
import type { GrpcErrorStatus } from '@cairn/api';
import { MessageType, type Message, type NodeId } from '@cairn/raft';
import { decodeMessages } from '@cairn/storage';
import type { Logger } from '../logger';
import { PEER_REJECTIONS, describeGrpcError } from './errors';
import { rejectionOf, type FrameCheckContext } from './frame-check';
import type { PeerFrame } from './frame-codec';
import type { LogLimiter } from './log-limiter';

export interface InboundStreamsDeps {
  localId: NodeId;
  clusterId: bigint;
  isRemoved(id: NodeId): boolean;
  isMember(id: NodeId): boolean;
  /** Counts a refused frame, by reason (for the transport's stats). */
  onRejected?(rejection: GrpcErrorStatus): void;
  onMessage(msg: Message): void;
  logger: Logger;
  logLimiter: LogLimiter;
  now: () => number;
}

/** One inbound Stream call, whichever HTTP/2 layer carries it. */
export interface InboundPeerCall {
  /** Answers the hello: the stream is accepted. */
  accept(memberId: bigint): void;
  /** Ends the call: OK without a status, else with the refusal. Only the first call counts. */
  finish(status?: GrpcErrorStatus): void;
  /** The sender already went away (nothing can be answered). */
  readonly gone: boolean;
  /** The sender's address, for log lines. */
  peerAddress(): string;
}

/** What the carrier of a call reports to InboundStreams. */
export interface InboundCallEvents {
  frame(frame: PeerFrame): void;
  /** The sender half-closed its side. */
  end(): void;
  /** The call broke or was cancelled. */
  gone(): void;
  /** The carrier cannot read what the sender sent. */
  refuse(status: GrpcErrorStatus): void;
}

type InboundCall = InboundPeerCall;

export class InboundStreams {
  private readonly lastHeard = new Map<NodeId, number>();
  private readonly bySender = new Map<NodeId, InboundCall>();
  private readonly live = new Set<InboundCall>();
  private readonly finished = new WeakSet<InboundCall>();
  private readonly check: FrameCheckContext;
  private closed = false;

  constructor(private readonly deps: InboundStreamsDeps) {
    this.check = {
      clusterId: deps.clusterId,
      localId: deps.localId,
      isRemoved: deps.isRemoved,
      isMember: deps.isMember,
    };
  }

  /** When a frame (batch or keep-alive) from `id` last arrived, or undefined. */
  lastHeardFrom(id: NodeId): number | undefined {
    return this.lastHeard.get(id);
  }

  /** Takes a new call; its carrier reports what happens on it through the returned events. */
  serve(call: InboundCall): InboundCallEvents {
    if (this.closed) {
      this.finish(call, PEER_REJECTIONS.transportClosed);
      return IGNORED;
    }
    this.live.add(call);
    let sender: NodeId | undefined;
    return {
      frame: (frame) => {
        if (this.finished.has(call)) return;
        const rejection = rejectionOf(frame, this.check);
        if (rejection !== undefined) {
          this.logRejection(frame, rejection, call);
          this.finish(call, rejection);
          return;
        }
        const from = frame.from;
        if (sender === undefined) {
          sender = from;
          this.adopt(from, call);
        } else if (from !== sender) {
          this.finish(call, PEER_REJECTIONS.malformedFrame);
          return;
        }
        this.lastHeard.set(from, this.deps.now());
        if (frame.messages.length > 0) this.deliver(from, frame.messages, call);
      },
      // The sender half-closed: answer OK.
      end: () => this.finish(call),
      gone: () => this.forget(call),
      refuse: (status) => this.finish(call, status),
    };
  }

  /** Cut the stream from a peer (it was removed from the cluster). */
  disconnect(id: NodeId, status: GrpcErrorStatus): void {
    const call = this.bySender.get(id);
    if (call !== undefined) this.finish(call, status);
    this.lastHeard.delete(id);
  }

  close(): void {
    this.closed = true;
    for (const call of [...this.live]) this.finish(call, PEER_REJECTIONS.transportClosed);
    this.lastHeard.clear();
  }

  private adopt(from: NodeId, call: InboundCall): void {
    const previous = this.bySender.get(from);
    this.bySender.set(from, call);
    // The sender dialled again, so its old stream is dead from its side; do not wait for TCP to notice.
    if (previous !== undefined && previous !== call) this.finish(previous, PEER_REJECTIONS.transportClosed);
    call.accept(this.deps.localId);
  }

  private deliver(from: NodeId, bytes: Buffer, call: InboundCall): void {
    let messages: Message[];
    try {
      messages = decodeMessages(bytes);
    } catch (err) {
      this.deps.logger.error(
        { remotePeerId: from.toString(16), error: describeGrpcError(err).details },
        'undecodable batch from peer',
      );
      this.finish(call, PEER_REJECTIONS.malformedFrame);
      return;
    }
    for (const m of messages) {
      if (m.to !== this.deps.localId || m.type === MessageType.Snap) {
        // A MsgSnap without its db file cannot be installed; snapshots come over the Snapshot RPC.
        this.logDropped(from, m);
        continue;
      }
      try {
        this.deps.onMessage(m);
      } catch (err) {
        this.deps.logger.error(
          { remotePeerId: from.toString(16), error: describeGrpcError(err).details },
          'onMessage threw',
        );
      }
    }
  }

  private finish(call: InboundCall, status?: GrpcErrorStatus): void {
    if (this.finished.has(call)) return;
    this.finished.add(call);
    this.forget(call);
    if (!call.gone) call.finish(status);
  }

  private forget(call: InboundCall): void {
    this.live.delete(call);
    for (const [id, current] of this.bySender) {
      if (current === call) this.bySender.delete(id);
    }
  }

  private logRejection(frame: PeerFrame, rejection: GrpcErrorStatus, call: InboundCall): void {
    this.deps.onRejected?.(rejection);
    const gate = this.deps.logLimiter.allow(rejectionLogKey('reject', frame.from, rejection));
    if (!gate.allowed) return;
    this.deps.logger.warn(
      {
        remotePeerId: frame.from.toString(16),
        remoteClusterId: frame.clusterId.toString(16),
        address: call.peerAddress(),
        reason: rejection.details,
        suppressed: gate.suppressed,
      },
      'rejected peer stream',
    );
  }

  private logDropped(from: NodeId, m: Message): void {
    const gate = this.deps.logLimiter.allow(`misrouted:${from}`);
    if (!gate.allowed) return;
    this.deps.logger.warn(
      {
        remotePeerId: from.toString(16),
        to: m.to.toString(16),
        type: MessageType[m.type],
        suppressed: gate.suppressed,
      },
      'dropped message from peer: not for this member or a MsgSnap on the message stream',
    );
  }
}

/**
 * The log limiter's key for a refusal: per sender for members (a removed or misdirected one), per reason only
 * for strangers, whose IDs are whatever they forge (a key per forged ID would grow without bound).
 */
export function rejectionLogKey(kind: string, from: bigint | string, rejection: GrpcErrorStatus): string {
  const stranger =
    rejection === PEER_REJECTIONS.notAMember ||
    rejection === PEER_REJECTIONS.clusterIdMismatch ||
    rejection === PEER_REJECTIONS.malformedFrame;
  return stranger ? `${kind}:${rejection.details}` : `${kind}:${String(from)}:${rejection.details}`;
}

const IGNORED: InboundCallEvents = {
  frame: () => undefined,
  end: () => undefined,
  gone: () => undefined,
  refuse: () => undefined,
};

/** Serves a Stream call that grpc-js carries (the hand-framed route is not installed, see registerPeerService). */
export function serveGrpcJsStream(
  call: grpc.ServerDuplexStream<PeerFrame, bigint>,
  inbound: InboundStreams,
): void {
  const events = inbound.serve({
    accept: (memberId) => call.write(memberId),
    finish: (status) => {
      // grpc-js turns an 'error' event on a server stream into the call's status; end() alone is OK.
      if (status === undefined) call.end();
      else call.emit('error', status);
    },
    get gone() {
      return call.cancelled;
    },
    peerAddress: () => call.getPeer(),
  });
  call.on('data', (frame: PeerFrame) => events.frame(frame));
  call.on('end', () => events.end());
  call.on('cancelled', () => events.gone());
  call.on('error', () => events.gone());
}

/** A uint64 from the wire as hex for logs, or the raw text if it is not a number. */
export function safeHex(decimal: string): string {
  try {
    return BigInt(decimal).toString(16);
  } catch {
    return decimal;
  }
}
