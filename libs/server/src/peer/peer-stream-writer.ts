// The outgoing half of one ordered peer pair: a bounded queue of Raft messages and the one long-lived Stream
// call that carries them, in order, batched into frames. While the stream is down, messages are dropped (and
// reported, so Raft probes again) instead of piling up; the stream is redialled with back-off.
import type { GrpcErrorStatus } from '@cairn/api';
import { MessageType, type Message, type NodeId } from '@cairn/raft';
import { encodeMessages, messageSize } from '@cairn/storage';
import type { Logger } from '../logger';
import type { Backoff } from './backoff';
import { describeGrpcError, PEER_REJECTIONS } from './errors';
import type { LogLimiter } from './log-limiter';
import { encodeFrameHeader, encodeGrpcStreamFrame } from './frame-codec';
import type { PeerDialer } from './peer-dialer';
import { PeerStreamCall } from './peer-stream-call';
import { PEER_KEEPALIVE, grpcTargetOf } from './peer-urls';

export type DropReason = 'queue-full' | 'not-connected' | 'unencodable';

export interface PeerStreamWriterDeps {
  localId: NodeId;
  clusterId: bigint;
  peerId: NodeId;
  backoff: Backoff;
  dialTimeoutMs: number;
  maxQueuedMessages: number;
  maxFrameBytes: number;
  logger: Logger;
  logLimiter: LogLimiter;
  now: () => number;
  /** Messages for this peer were dropped; `sample` is one of them (for the log line). */
  onDrop(peerId: NodeId, reason: DropReason, count: number, sample: Message): void;
  /** The active stream broke for a network reason (not a rejection by the peer). */
  onLost?(peerId: NodeId): void;
  /** Plaintext or TLS per peer URL (peer-dialer.ts). */
  dialer?: PeerDialer;
}

type WriterState = 'down' | 'connecting' | 'active' | 'closed';

const EMPTY = Buffer.alloc(0);

export class PeerStreamWriter {
  private state: WriterState = 'down';
  private queue: Message[] = [];
  private urls: string[];
  private nextUrl = 0;
  private currentUrl: string | undefined;
  private call: PeerStreamCall | undefined;
  /** The stream's write buffer is full: hold frames until it drains. */
  private blocked = false;
  private redialTimer: NodeJS.Timeout | undefined;
  private dialTimer: NodeJS.Timeout | undefined;
  private lastWriteAt = 0;
  /** cluster_id, from and to of every frame, encoded once. */
  private readonly frameHeader: Buffer;
  private readonly dialFailureLogKey: string;

  constructor(
    private readonly deps: PeerStreamWriterDeps,
    urls: string[],
  ) {
    this.urls = [...urls];
    this.frameHeader = encodeFrameHeader(deps.clusterId, deps.localId, deps.peerId);
    this.dialFailureLogKey = `dial:${deps.peerId}`;
  }

  /** Dial now (the first time); later dials follow failures. */
  start(): void {
    if (this.state === 'down' && this.redialTimer === undefined && this.call === undefined) this.dial();
  }

  isActive(): boolean {
    return this.state === 'active';
  }

  /** Takes the new URLs for later dials; a stream to a URL no longer listed is dropped and redialled. */
  updateUrls(urls: string[]): void {
    this.urls = [...urls];
    this.nextUrl = 0;
    if (this.call !== undefined && this.currentUrl !== undefined && !urls.includes(this.currentUrl)) {
      this.onStreamFailed(this.call, new Error('peer URLs changed'));
    }
  }

  /** Queue one message; drops it (and says why) when the stream is down or the queue is full. */
  enqueue(m: Message): void {
    if (this.state === 'closed') return;
    if (this.state === 'down') {
      this.deps.onDrop(this.deps.peerId, 'not-connected', 1, m);
    } else if (this.queue.length >= this.deps.maxQueuedMessages) {
      this.deps.onDrop(this.deps.peerId, 'queue-full', 1, m);
    } else {
      this.queue.push(m);
    }
  }

  /** Write everything queued, as few frames as the frame size allows, unless grpc asks us to wait. */
  flush(): void {
    while (this.state === 'active' && !this.blocked && this.queue.length > 0) {
      const batch = this.takeBatch();
      if (batch.length > 0) this.writeFrame(encodeMessages(batch));
    }
  }

  /** Send an empty frame on a stream idle for `intervalMs`, so the receiver keeps seeing us as active. */
  keepAlive(intervalMs: number): void {
    if (this.state !== 'active' || this.blocked || this.queue.length > 0) return;
    if (this.deps.now() - this.lastWriteAt >= intervalMs) this.writeFrame(EMPTY);
  }

  close(): void {
    if (this.state === 'closed') return;
    this.state = 'closed';
    this.queue = [];
    clearTimeout(this.redialTimer);
    clearTimeout(this.dialTimer);
    this.redialTimer = this.dialTimer = undefined;
    this.hangUp();
  }

  private takeBatch(): Message[] {
    const queue = this.queue;
    const batch: Message[] = [];
    let bytes = 0;
    let consumed = 0;
    for (; consumed < queue.length; consumed++) {
      const m = queue[consumed];
      let size: number;
      try {
        size = messageSize(m);
      } catch {
        // A message the codec refuses (a bug upstream) must not take the rest of the batch with it.
        this.deps.onDrop(this.deps.peerId, 'unencodable', 1, m);
        continue;
      }
      if (batch.length > 0 && bytes + size > this.deps.maxFrameBytes) break;
      batch.push(m);
      bytes += size;
    }
    this.queue = consumed === queue.length ? [] : queue.slice(consumed);
    return batch;
  }

  private writeFrame(messages: Uint8Array): void {
    const call = this.call;
    if (call === undefined) return;
    this.lastWriteAt = this.deps.now();
    if (!call.write(encodeGrpcStreamFrame(this.frameHeader, messages))) this.blocked = true;
  }

  private dial(): void {
    if (this.state === 'closed') return;
    if (this.urls.length === 0) {
      this.logDialFailure('peer has no URLs');
      this.scheduleRedial();
      return;
    }
    const url = this.urls[this.nextUrl % this.urls.length];
    this.currentUrl = url;
    let call: PeerStreamCall;
    try {
      call = new PeerStreamCall(
        grpcTargetOf(url),
        {
          onAccepted: () => this.onAccepted(call),
          onDrain: () => {
            if (call !== this.call) return;
            this.blocked = false;
            this.flush();
          },
          onClosed: (status) => this.onStreamFailed(call, closedStatus(status)),
        },
        { ...PEER_KEEPALIVE, dialer: this.deps.dialer, peerUrl: url },
      );
    } catch (err) {
      // A URL that cannot be dialled at all (bad scheme or host): a failed dial.
      this.logDialFailure(describeGrpcError(err).details);
      this.nextUrl++;
      this.scheduleRedial();
      return;
    }
    this.call = call;
    this.state = 'connecting';
    this.blocked = false;
    this.dialTimer = setTimeout(() => {
      this.dialTimer = undefined;
      this.onStreamFailed(call, new Error(`stream not accepted within ${this.deps.dialTimeoutMs} ms`));
    }, this.deps.dialTimeoutMs);
    // The hello: the receiver checks cluster and member IDs on it and answers when it accepts the stream.
    this.writeFrame(EMPTY);
  }

  private onAccepted(call: PeerStreamCall): void {
    if (call !== this.call || this.state !== 'connecting') return;
    clearTimeout(this.dialTimer);
    this.dialTimer = undefined;
    this.state = 'active';
    this.deps.backoff.reset();
    this.deps.logLimiter.reset(this.dialFailureLogKey);
    this.deps.logger.info({ url: this.currentUrl }, 'peer stream established');
    this.flush();
  }

  private onStreamFailed(call: PeerStreamCall, err: unknown): void {
    if (call !== this.call || this.state === 'closed') return;
    const wasActive = this.state === 'active';
    clearTimeout(this.dialTimer);
    this.dialTimer = undefined;
    this.hangUp();
    this.state = 'down';
    const dropped = this.queue;
    this.queue = [];
    if (dropped.length > 0) this.deps.onDrop(this.deps.peerId, 'not-connected', dropped.length, dropped[0]);
    this.nextUrl++;
    const { code, details } = describeGrpcError(err);
    if (
      details === PEER_REJECTIONS.clusterIdMismatch.details ||
      details === PEER_REJECTIONS.memberRemoved.details
    ) {
      // Not a network problem: a misconfiguration an operator must see.
      const gate = this.deps.logLimiter.allow(`rejected:${this.deps.peerId}`);
      if (gate.allowed)
        this.deps.logger.error(
          { url: this.currentUrl, code, error: details, suppressed: gate.suppressed },
          'peer rejected our stream',
        );
    } else if (wasActive) {
      this.deps.logger.warn({ url: this.currentUrl, code, error: details }, 'lost peer stream');
      this.deps.onLost?.(this.deps.peerId);
    } else {
      this.logDialFailure(details, code);
    }
    this.scheduleRedial();
  }

  private logDialFailure(error: string, code?: number): void {
    const gate = this.deps.logLimiter.allow(this.dialFailureLogKey);
    if (gate.allowed) {
      this.deps.logger.warn(
        { url: this.currentUrl, code, error, suppressed: gate.suppressed },
        'cannot reach peer',
      );
    }
  }

  private scheduleRedial(): void {
    if (this.state === 'closed') return;
    const delayMs = this.deps.backoff.next();
    this.redialTimer = setTimeout(() => {
      this.redialTimer = undefined;
      this.dial();
    }, delayMs);
  }

  private hangUp(): void {
    const call = this.call;
    this.call = undefined;
    this.blocked = false;
    call?.cancel();
  }
}

/** An OK status ends the stream too, but as a failure of ours to keep it: say so. */
function closedStatus(status: GrpcErrorStatus): GrpcErrorStatus {
  return status.code === 0 ? { code: 0, details: 'stream closed by peer' } : status;
}

/** Only used for log lines: which Raft message type a sample was. */
export function messageTypeName(m: Message): string {
  return MessageType[m.type] ?? String(m.type);
}
