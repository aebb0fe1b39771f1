// Sends a MsgSnap with its state-machine db file over the Snapshot RPC, on a connection of its own so a large
// transfer never holds up the message stream: a header with the encoded message, the file in chunks, a
// trailer with size and SHA-256. Reports the outcome to Raft (and unreachable on failure, as etcd does).
import { createHash } from 'node:crypto';
import { once } from 'node:events';
import type * as grpc from '@grpc/grpc-js';
import type { Message, NodeId } from '@cairn/raft';
import { encodeMessage } from '@cairn/storage';
import type { Logger } from '../logger';
import { inChunks } from './chunks';
import { describeGrpcError } from './errors';
import type { PeerDialer } from './peer-dialer';
import { PEER_CHANNEL_OPTIONS, grpcTargetOf } from './peer-urls';
import { createPeerClient, type SnapshotAck, type SnapshotFrame } from './proto';

export interface SnapshotSenderDeps {
  localId: NodeId;
  clusterId: bigint;
  /** Plaintext or TLS per peer URL, with the certificate current at each transfer. */
  dialer: PeerDialer;
  chunkBytes: number;
  snapshotSource(msg: Message): AsyncIterable<Buffer> | undefined;
  onSnapshotStatus(id: NodeId, ok: boolean): void;
  onUnreachable(id: NodeId): void;
  logger: Logger;
  now: () => number;
}

interface Transfer {
  cancelled: boolean;
  call?: grpc.ClientWritableStream<SnapshotFrame>;
  done: Promise<void>;
}

export class SnapshotSender {
  private readonly transfers = new Map<NodeId, Transfer>();
  private readonly urlTurn = new Map<NodeId, number>();
  private closed = false;

  constructor(private readonly deps: SnapshotSenderDeps) {}

  /** Start sending `msg` to its peer at one of `urls`; the outcome goes to onSnapshotStatus. */
  send(msg: Message, urls: string[]): void {
    if (this.closed) return;
    const to = msg.to;
    const log = this.deps.logger.child({
      remotePeerId: to.toString(16),
      snapshotIndex: msg.snapshot?.metadata.index,
    });
    if (this.transfers.has(to)) {
      // Raft waits for a status before sending another; a second one means a status got lost on our side.
      log.warn({}, 'snapshot already being sent to peer; failing the new one');
      this.report(to, false);
      return;
    }
    let source: AsyncIterable<Buffer> | undefined;
    try {
      source = this.deps.snapshotSource(msg);
    } catch (err) {
      log.error({ error: describeGrpcError(err).details }, 'snapshotSource threw');
    }
    if (source === undefined || urls.length === 0) {
      log.error({ hasUrls: urls.length > 0 }, 'cannot send snapshot: no db file or no peer URL');
      this.report(to, false);
      return;
    }
    const turn = this.urlTurn.get(to) ?? 0;
    this.urlTurn.set(to, turn + 1);
    const transfer: Transfer = { cancelled: false, done: Promise.resolve() };
    transfer.done = this.transfer(msg, urls[turn % urls.length], source, transfer, log).then(
      () => this.finish(to, transfer, true),
      (err: unknown) => {
        if (!transfer.cancelled)
          log.warn({ error: describeGrpcError(err).details }, 'failed to send snapshot');
        this.finish(to, transfer, false);
      },
    );
    this.transfers.set(to, transfer);
  }

  /** Abandon a transfer without reporting (the peer was removed). */
  cancel(to: NodeId): void {
    const transfer = this.transfers.get(to);
    if (transfer === undefined) return;
    transfer.cancelled = true;
    transfer.call?.cancel();
  }

  async close(): Promise<void> {
    this.closed = true;
    const pending = [...this.transfers.values()];
    for (const transfer of pending) {
      transfer.cancelled = true;
      transfer.call?.cancel();
    }
    await Promise.all(pending.map((t) => t.done));
  }

  private finish(to: NodeId, transfer: Transfer, ok: boolean): void {
    if (this.transfers.get(to) === transfer) this.transfers.delete(to);
    if (!transfer.cancelled && !this.closed) this.report(to, ok);
  }

  private report(to: NodeId, ok: boolean): void {
    try {
      if (!ok) this.deps.onUnreachable(to);
      this.deps.onSnapshotStatus(to, ok);
    } catch (err) {
      this.deps.logger.error({ error: describeGrpcError(err).details }, 'snapshot status callback threw');
    }
  }

  private async transfer(
    msg: Message,
    url: string,
    source: AsyncIterable<Buffer>,
    transfer: Transfer,
    log: Logger,
  ): Promise<void> {
    const startedAt = this.deps.now();
    const client = createPeerClient(
      grpcTargetOf(url),
      this.deps.dialer.channelCredentials(url),
      PEER_CHANNEL_OPTIONS,
    );
    try {
      let call: grpc.ClientWritableStream<SnapshotFrame> | undefined;
      const acked = new Promise<SnapshotAck | undefined>((resolve, reject) => {
        call = client.Snapshot((err, ack) => (err ? reject(err) : resolve(ack)));
      });
      if (call === undefined) throw new Error('grpc did not start the Snapshot call');
      const stream = call;
      transfer.call = stream;
      // If writing fails first, the ack's rejection (CANCELLED) has nobody else to catch it.
      acked.catch(() => undefined);
      const identity = {
        cluster_id: this.deps.clusterId.toString(),
        from: this.deps.localId.toString(),
        to: msg.to.toString(),
      };
      const write = async (frame: SnapshotFrame): Promise<void> => {
        if (transfer.cancelled) throw new Error('snapshot transfer cancelled');
        if (!stream.write(frame)) await Promise.race([once(stream, 'drain'), acked]);
      };
      try {
        await write({ ...identity, header: { message: Buffer.from(encodeMessage(msg)) } });
        const hash = createHash('sha256');
        let size = 0;
        for await (const chunk of inChunks(source, this.deps.chunkBytes)) {
          hash.update(chunk);
          size += chunk.length;
          await write({ ...identity, chunk });
        }
        await write({ ...identity, trailer: { size: size.toString(), sha256: hash.digest() } });
        stream.end();
        await acked;
        log.info({ bytes: size, tookMs: this.deps.now() - startedAt }, 'sent snapshot');
      } catch (err) {
        stream.cancel();
        throw err;
      }
    } finally {
      client.close();
    }
  }
}
