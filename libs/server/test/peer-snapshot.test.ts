// MsgSnap over the Snapshot RPC: the db file streams in chunks beside the message stream, arrives intact
// (size and SHA-256 checked), is acked only once the receiver has taken it, and failures are reported.
import { createHash, randomBytes } from 'node:crypto';
import { readdir } from 'node:fs/promises';
import * as grpc from '@grpc/grpc-js';
import { decodeMessage, encodeMessage } from '@cairn/storage';
import { afterEach, describe, expect, it, vi } from 'vitest';
import {
  createPeerClient,
  peerServiceDefinition,
  type SnapshotAck,
  type SnapshotFrame,
} from '../src/peer/proto';
import {
  CLUSTER,
  connectAll,
  indexesFrom,
  msgApp,
  msgSnap,
  openHandleCounts,
  plainBytes,
  range,
  startMember,
  startServer,
  stopServer,
  waitFor,
  type Member,
  type MemberOptions,
} from './peer-harness';

const A = 0xa1n;
const B = 0xb2n;
const MiB = 1024 * 1024;

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function member(options: MemberOptions): Promise<Member> {
  const m = await startMember(options);
  cleanups.push(() => m.stop());
  return m;
}

/** Yields `data` in pieces of `pieceBytes`, pausing `pauseMs` before each. */
async function* pieces(data: Buffer, pieceBytes: number, pauseMs = 0): AsyncGenerator<Buffer> {
  for (let at = 0; at < data.length; at += pieceBytes) {
    if (pauseMs > 0) await new Promise((resolve) => setTimeout(resolve, pauseMs));
    yield data.subarray(at, at + pieceBytes);
  }
}

const sha256 = (data: Buffer): string => createHash('sha256').update(data).digest('hex');

describe('PeerTransport snapshots', () => {
  it('streams a few MiB db file with its MsgSnap and it arrives intact', async () => {
    const db = randomBytes(3.5 * MiB);
    const a = await member({ id: A, overrides: { snapshotSource: () => pieces(db, 100_000) } });
    const b = await member({ id: B });
    connectAll([a, b]);

    const snap = msgSnap(A, B, 4242);
    a.transport.send([snap]);
    await waitFor('snapshot status', () => a.snapshotStatus.length === 1);

    expect(a.snapshotStatus).toEqual([{ id: B, ok: true }]);
    expect(b.snapshots).toHaveLength(1);
    const { msg, ...file } = b.snapshots[0];
    expect(plainBytes(msg)).toEqual(plainBytes(snap));
    expect(file).toEqual({ bytes: db.length, sha256: sha256(db) });
    expect(b.received).toEqual([]); // a MsgSnap reaches the node only through onSnapshotReceived
    expect(await readdir(b.snapshotDir)).toEqual([]);
  });

  it('cuts the file into 1 MiB chunks between a header and a trailer', async () => {
    const frames: SnapshotFrame[] = [];
    const { server, port } = await startServer((s) =>
      s.addService(peerServiceDefinition(), {
        Stream: (call: grpc.ServerDuplexStream<unknown, unknown>) => call.on('data', () => undefined),
        Snapshot: (
          call: grpc.ServerReadableStream<SnapshotFrame, SnapshotAck>,
          callback: grpc.sendUnaryData<SnapshotAck>,
        ) => {
          call.on('data', (frame: SnapshotFrame) => frames.push(frame));
          call.on('end', () => callback(null, {}));
        },
      }),
    );
    cleanups.push(() => stopServer(server));
    const db = randomBytes(2.5 * MiB);
    const a = await member({ id: A, overrides: { snapshotSource: () => pieces(db, 300_000) } });
    a.transport.addPeer(B, [`http://127.0.0.1:${port}`]);
    const snap = msgSnap(A, B, 7);
    a.transport.send([snap]);
    await waitFor('snapshot status', () => a.snapshotStatus.length === 1);

    expect(a.snapshotStatus).toEqual([{ id: B, ok: true }]);
    expect(frames.map((f) => f.part)).toEqual(['header', 'chunk', 'chunk', 'chunk', 'trailer']);
    for (const f of frames)
      expect({ cluster: f.cluster_id, from: f.from, to: f.to }).toEqual({
        cluster: CLUSTER.toString(),
        from: A.toString(),
        to: B.toString(),
      });
    expect(plainBytes(decodeMessage(frames[0].header!.message))).toEqual(plainBytes(snap));
    expect(frames.slice(1, 4).map((f) => f.chunk!.length)).toEqual([MiB, MiB, 0.5 * MiB]);
    expect(Buffer.concat(frames.slice(1, 4).map((f) => f.chunk!)).equals(db)).toBe(true);
    expect(frames[4].trailer!.size).toBe(String(db.length));
    expect(frames[4].trailer!.sha256.toString('hex')).toBe(sha256(db));
  });

  it('keeps the message stream flowing while a snapshot is on its way', async () => {
    const db = randomBytes(2 * MiB);
    const a = await member({ id: A, overrides: { snapshotSource: () => pieces(db, 256 * 1024, 40) } });
    const b = await member({ id: B });
    connectAll([a, b]);
    await waitFor('stream up', () => b.transport.activePeers().includes(A));

    a.transport.send([msgSnap(A, B, 10)]);
    a.transport.send(range(11, 20).map((i) => msgApp(A, B, i)));
    await waitFor('messages', () => indexesFrom(b, A).length === 10);
    expect(b.snapshots).toEqual([]); // the snapshot (8 pieces, 40 ms apart) is still streaming
    await waitFor('snapshot acked', () => a.snapshotStatus.length === 1);
    expect(b.snapshots).toHaveLength(1);
    expect(a.snapshotStatus).toEqual([{ id: B, ok: true }]);
  });

  it('acks only after the receiver has taken the snapshot', async () => {
    let release: () => void = () => undefined;
    const taken = new Promise<void>((resolve) => (release = resolve));
    const a = await member({ id: A, overrides: { snapshotSource: () => pieces(randomBytes(1000), 1000) } });
    const b = await member({ id: B, overrides: { onSnapshotReceived: () => taken } });
    connectAll([a, b]);
    a.transport.send([msgSnap(A, B, 3)]);
    await waitFor('file handed over', () => b.log.lines.some((l) => l.msg === 'received snapshot'));
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(a.snapshotStatus).toEqual([]);
    release();
    await waitFor('status', () => a.snapshotStatus.length === 1);
    expect(a.snapshotStatus).toEqual([{ id: B, ok: true }]);
  });

  it('reports failure when the receiver cannot take the snapshot, and leaves no file', async () => {
    const a = await member({
      id: A,
      overrides: { snapshotSource: () => pieces(randomBytes(MiB), 64 * 1024) },
    });
    const b = await member({
      id: B,
      overrides: {
        onSnapshotReceived: async () => {
          throw new Error('disk full');
        },
      },
    });
    connectAll([a, b]);
    a.transport.send([msgSnap(A, B, 3)]);
    await waitFor('status', () => a.snapshotStatus.length === 1);
    expect(a.snapshotStatus).toEqual([{ id: B, ok: false }]);
    await waitFor('unreachable', () => a.unreachable.includes(B));
    expect(await readdir(b.snapshotDir)).toEqual([]);
  });

  it('reports failure when there is no db file or the peer is down', async () => {
    const a = await member({ id: A }); // snapshotSource gives undefined
    a.transport.addPeer(B, ['http://127.0.0.1:1']);
    a.transport.send([msgSnap(A, B, 3)]);
    expect(a.snapshotStatus).toEqual([{ id: B, ok: false }]);

    const db = randomBytes(1000);
    const c = await member({ id: 0xc3n, overrides: { snapshotSource: () => pieces(db, 100) } });
    c.transport.addPeer(B, ['http://127.0.0.1:1']);
    c.transport.send([msgSnap(0xc3n, B, 3)]);
    await waitFor('status', () => c.snapshotStatus.length === 1);
    expect(c.snapshotStatus).toEqual([{ id: B, ok: false }]);
  });

  it('rejects a corrupted file and a foreign cluster, keeping nothing', async () => {
    const b = await member({ id: B, overrides: { isMember: (id) => id === A } });
    const client = createPeerClient(`127.0.0.1:${b.port}`, grpc.credentials.createInsecure(), {});
    cleanups.push(async () => client.close());
    const send = (frames: SnapshotFrame[]): Promise<grpc.ServiceError | null> =>
      new Promise((resolve) => {
        const call = client.Snapshot((err) => resolve(err));
        for (const f of frames) call.write(f);
        call.end();
      });
    const id = { cluster_id: CLUSTER.toString(), from: A.toString(), to: B.toString() };
    const data = randomBytes(5000);
    const header = { ...id, header: { message: Buffer.from(encodeMessage(msgSnap(A, B, 9))) } };

    const corrupted = await send([
      header,
      { ...id, chunk: data },
      { ...id, trailer: { size: '5000', sha256: createHash('sha256').update('other').digest() } },
    ]);
    expect(corrupted?.code).toBe(grpc.status.INVALID_ARGUMENT);
    expect(corrupted?.details).toContain('SHA-256 mismatch');

    const truncated = await send([header, { ...id, chunk: data }]);
    expect(truncated?.details).toContain('ended before the trailer');

    const foreign = await send([{ ...header, cluster_id: '77' }]);
    expect({ code: foreign?.code, details: foreign?.details }).toEqual({
      code: grpc.status.FAILED_PRECONDITION,
      details: 'etcdserver: cluster ID mismatch',
    });

    expect(b.snapshots).toEqual([]);
    expect(await readdir(b.snapshotDir)).toEqual([]);
  });

  it('close() during a transfer cancels it and leaves no handles or files', async () => {
    const before = openHandleCounts();
    const db = randomBytes(4 * MiB);
    const a = await startMember({ id: A, overrides: { snapshotSource: () => pieces(db, 256 * 1024, 30) } });
    const b = await startMember({ id: B });
    connectAll([a, b]);
    a.transport.send([msgSnap(A, B, 5)]);
    await waitFor('transfer under way', () => b.log.lines.length > 0 && a.log.lines.length > 0);
    await new Promise((resolve) => setTimeout(resolve, 100));
    await b.transport.close();
    expect(await readdir(b.snapshotDir)).toEqual([]);
    await waitFor('sender hears failure', () => a.snapshotStatus.length === 1);
    expect(a.snapshotStatus).toEqual([{ id: B, ok: false }]);
    await a.stop();
    await b.stop();
    // Sockets and files close asynchronously after stop(): retried for up to 2 s, then every kind must be back.
    await vi.waitFor(
      () => {
        const after = openHandleCounts();
        const grown = Object.keys(after).filter((kind) => after[kind] > (before[kind] ?? 0));
        expect(
          grown,
          `open handles before ${JSON.stringify(before)}, after ${JSON.stringify(after)}`,
        ).toEqual([]);
      },
      { timeout: 2_000, interval: 20 },
    );
  });
});
