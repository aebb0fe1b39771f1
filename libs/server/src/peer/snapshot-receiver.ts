// The receiving half of the Snapshot RPC: checks every frame, writes the db file to a temp file under the
// snapshot dir while hashing it, verifies size and SHA-256 from the trailer, fsyncs, then hands message and
// file to the node and acks once the node has stepped the message. A failed or aborted transfer leaves no file.
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, open, rm, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import type * as grpc from '@grpc/grpc-js';
import { GrpcStatus, type GrpcErrorStatus } from '@cairn/api';
import { MessageType, type Message, type NodeId } from '@cairn/raft';
import { decodeMessage } from '@cairn/storage';
import type { Logger } from '../logger';
import { PEER_REJECTIONS, describeGrpcError } from './errors';
import { PeerRejection, identityOfDecoded, rejectionOf, type FrameCheckContext } from './frame-check';
import { rejectionLogKey, safeHex } from './inbound-streams';
import type { LogLimiter } from './log-limiter';
import type { SnapshotAck, SnapshotFrame } from './proto';

export interface SnapshotReceiverDeps {
  localId: NodeId;
  clusterId: bigint;
  snapshotDir: string;
  isRemoved(id: NodeId): boolean;
  isMember(id: NodeId): boolean;
  /** Counts a refused frame, by reason (for the transport's stats). */
  onRejected?(rejection: GrpcErrorStatus): void;
  onSnapshotReceived(msg: Message, file: string): Promise<void>;
  logger: Logger;
  logLimiter: LogLimiter;
}

type SnapshotCall = grpc.ServerReadableStream<SnapshotFrame, SnapshotAck>;

interface ReceivedSnapshot {
  msg: Message;
  file: string;
  bytes: number;
}

export class SnapshotReceiver {
  /** Transfers still writing their file: close() aborts and awaits them. */
  private readonly receiving = new Map<SnapshotCall, Promise<unknown>>();
  private readonly check: FrameCheckContext;
  private closed = false;

  constructor(private readonly deps: SnapshotReceiverDeps) {
    this.check = {
      clusterId: deps.clusterId,
      localId: deps.localId,
      isRemoved: deps.isRemoved,
      isMember: deps.isMember,
    };
  }

  handle(call: SnapshotCall, callback: grpc.sendUnaryData<SnapshotAck>): void {
    if (this.closed) {
      callback(PEER_REJECTIONS.transportClosed);
      return;
    }
    const receiving = this.receiveFile(call);
    this.receiving.set(call, receiving);
    receiving
      .finally(() => this.receiving.delete(call))
      .then(async (received) => {
        if (this.closed) throw new PeerRejection(PEER_REJECTIONS.transportClosed);
        await this.handOver(received);
        callback(null, {});
      })
      .catch((err: unknown) => callback(this.statusOf(err, call)));
  }

  async close(): Promise<void> {
    this.closed = true;
    const pending = [...this.receiving];
    for (const [call] of pending) call.destroy(new PeerRejection(PEER_REJECTIONS.transportClosed));
    await Promise.allSettled(pending.map(([, receiving]) => receiving));
  }

  private async handOver({ msg, file, bytes }: ReceivedSnapshot): Promise<void> {
    const log = this.deps.logger.child({
      remotePeerId: msg.from.toString(16),
      snapshotIndex: msg.snapshot?.metadata.index,
    });
    log.info({ bytes }, 'received snapshot');
    try {
      await this.deps.onSnapshotReceived(msg, file);
    } catch (err) {
      log.error({ error: describeGrpcError(err).details }, 'onSnapshotReceived failed');
      await rm(file, { force: true });
      throw err;
    }
  }

  private async receiveFile(call: SnapshotCall): Promise<ReceivedSnapshot> {
    let msg: Message | undefined;
    let file: string | undefined;
    let handle: FileHandle | undefined;
    let complete = false;
    let bytes = 0;
    const hash = createHash('sha256');
    try {
      for await (const frame of call as AsyncIterable<SnapshotFrame>) {
        const identity = identityOfDecoded(frame);
        const rejection =
          identity === undefined ? PEER_REJECTIONS.malformedFrame : rejectionOf(identity, this.check);
        if (rejection !== undefined) {
          this.logRejection(frame, rejection);
          throw new PeerRejection(rejection);
        }
        if (complete) throw malformed('frame after the trailer');
        if (frame.part === 'header' && frame.header) {
          if (msg !== undefined) throw malformed('second header');
          msg = decodeHeader(frame.header.message, this.deps.localId);
          // The message must come from the member the frames name (which passed the member check).
          if (msg.from !== identity?.from) throw malformed('header from another sender than its frames');
          await mkdir(this.deps.snapshotDir, { recursive: true });
          const name = `recv-${msg.from.toString(16)}-${msg.snapshot?.metadata.index ?? 0}-${randomBytes(4).toString('hex')}.snap.db.tmp`;
          file = join(this.deps.snapshotDir, name);
          handle = await open(file, 'wx');
        } else if (frame.part === 'chunk' && frame.chunk !== undefined) {
          if (handle === undefined) throw malformed('chunk before the header');
          hash.update(frame.chunk);
          bytes += frame.chunk.length;
          await writeAll(handle, frame.chunk);
        } else if (frame.part === 'trailer' && frame.trailer) {
          if (handle === undefined) throw malformed('trailer before the header');
          if (frame.trailer.size !== String(bytes))
            throw malformed(`size ${bytes} != trailer's ${frame.trailer.size}`);
          if (!hash.digest().equals(frame.trailer.sha256)) throw malformed('SHA-256 mismatch');
          complete = true;
        } else {
          throw malformed('frame without a part');
        }
      }
      if (msg === undefined || file === undefined || handle === undefined || !complete) {
        throw malformed('stream ended before the trailer');
      }
      await handle.sync();
      await handle.close();
      handle = undefined;
      return { msg, file, bytes };
    } catch (err) {
      await handle?.close().catch(() => undefined);
      if (file !== undefined) await rm(file, { force: true });
      throw err;
    }
  }

  private statusOf(err: unknown, call: SnapshotCall): GrpcErrorStatus {
    if (err instanceof PeerRejection) return { code: err.status.code, details: err.message };
    if (call.cancelled) return { code: PEER_REJECTIONS.transportClosed.code, details: 'cancelled' };
    const { details } = describeGrpcError(err);
    this.deps.logger.warn({ error: details }, 'snapshot receive failed');
    return { code: GrpcStatus.INTERNAL, details: `cairn: snapshot not installed: ${details}` };
  }

  private logRejection(frame: SnapshotFrame, rejection: GrpcErrorStatus): void {
    this.deps.onRejected?.(rejection);
    const gate = this.deps.logLimiter.allow(rejectionLogKey('reject-snap', frame.from, rejection));
    if (!gate.allowed) return;
    this.deps.logger.warn(
      {
        remotePeerId: safeHex(frame.from),
        remoteClusterId: safeHex(frame.cluster_id),
        reason: rejection.details,
        suppressed: gate.suppressed,
      },
      'rejected peer snapshot',
    );
  }
}

function malformed(detail: string): PeerRejection {
  return new PeerRejection(PEER_REJECTIONS.malformedFrame, detail);
}

function decodeHeader(bytes: Buffer, localId: NodeId): Message {
  let msg: Message;
  try {
    msg = decodeMessage(bytes, { copy: true });
  } catch (err) {
    throw malformed(`header: ${describeGrpcError(err).details}`);
  }
  if (msg.type !== MessageType.Snap || msg.snapshot === undefined) throw malformed('header is not a MsgSnap');
  if (msg.to !== localId) throw new PeerRejection(PEER_REJECTIONS.memberIdMismatch);
  return msg;
}

async function writeAll(handle: FileHandle, data: Buffer): Promise<void> {
  let offset = 0;
  while (offset < data.length) {
    const { bytesWritten } = await handle.write(data, offset, data.length - offset);
    offset += bytesWritten;
  }
}
