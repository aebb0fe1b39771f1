// The hand-framed Stream RPC on the wire (real HTTP/2 on 127.0.0.1): the route refuses what it cannot use with
// gRPC statuses, a member whose Stream calls grpc-js serves (route not installed, or a previous build) still
// talks to one with the route, and the sending end gives up on a peer that stopped answering.
import { once } from 'node:events';
import http2 from 'node:http2';
import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import type { GrpcErrorStatus } from '@cairn/api';
import { PEER_REJECTIONS } from '../src/peer';
import { encodeFrameHeader, encodeGrpcStreamFrame } from '../src/peer/frame-codec';
import { FrameType, frameHeader, statusOfTrailers } from '@cairn/edge';
import { PEER_STREAM_PATH } from '../src/peer/proto';
import { MAX_PEER_MESSAGE_BYTES } from '../src/peer/options';
import { PeerStreamCall } from '../src/peer/peer-stream-call';
import {
  CLUSTER,
  connectAll,
  indexesFrom,
  msgApp,
  range,
  startMember,
  waitFor,
  type Member,
} from './peer-harness';

const A = 0xa1n;
const B = 0xb2n;

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function member(...args: Parameters<typeof startMember>): Promise<Member> {
  const m = await startMember(...args);
  cleanups.push(() => m.stop());
  return m;
}

/** Sends `chunks` on a Stream call made by hand and returns the status the member answers with. */
async function rawStreamCall(port: number, chunks: Buffer[]): Promise<GrpcErrorStatus | undefined> {
  const session = http2.connect(`http://127.0.0.1:${port}`);
  cleanups.push(() => session.destroy());
  const call = session.request({
    ':method': 'POST',
    ':path': PEER_STREAM_PATH,
    'content-type': 'application/grpc',
    te: 'trailers',
  });
  let status: GrpcErrorStatus | undefined;
  call.on('response', (headers) => (status ??= statusOfTrailers(headers)));
  call.on('trailers', (trailers) => (status = statusOfTrailers(trailers)));
  call.on('data', () => undefined);
  call.on('error', () => undefined);
  for (const chunk of chunks) call.write(chunk);
  call.end();
  await once(call, 'close');
  return status;
}

function grpcPrefix(flag: number, length: number): Buffer {
  const prefix = Buffer.alloc(5);
  prefix[0] = flag;
  prefix.writeUInt32BE(length, 1);
  return prefix;
}

/** A TCP server on 127.0.0.1 that reads and ignores everything; `onSocket` may write. Returns its port. */
async function fakeReceiver(onSocket: (socket: net.Socket) => void): Promise<number> {
  const sockets: net.Socket[] = [];
  const server = net.createServer((socket) => {
    sockets.push(socket);
    socket.on('data', () => undefined);
    socket.on('error', () => undefined);
    onSocket(socket);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  cleanups.push(
    () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  );
  return (server.address() as net.AddressInfo).port;
}

/** A PeerStreamCall to `port` that sends its hello; resolves with the status it closes with. */
function callUntilClosed(
  port: number,
  keepAlive: { keepAliveTimeMs: number; keepAliveTimeoutMs: number },
): Promise<GrpcErrorStatus> {
  return new Promise<GrpcErrorStatus>((resolve) => {
    const call = new PeerStreamCall(
      `127.0.0.1:${port}`,
      { onAccepted: () => undefined, onDrain: () => undefined, onClosed: resolve },
      keepAlive,
    );
    call.write(encodeGrpcStreamFrame(encodeFrameHeader(CLUSTER, A, B), Buffer.alloc(0)));
  });
}

describe('the hand-framed Stream route', () => {
  const hello = encodeGrpcStreamFrame(encodeFrameHeader(CLUSTER, A, B), Buffer.alloc(0));

  it('answers a hello and ends a stream the sender closed with OK', async () => {
    const b = await member({ id: B, overrides: { isMember: (id) => id === A } });
    expect(await rawStreamCall(b.port, [hello])).toEqual({ code: 0, details: '' });
  });

  it.each([
    [
      'a message above the receive limit',
      [grpcPrefix(0, MAX_PEER_MESSAGE_BYTES + 1)],
      {
        code: 8,
        details: `Received message larger than max (${MAX_PEER_MESSAGE_BYTES + 1} vs. ${MAX_PEER_MESSAGE_BYTES})`,
      },
    ],
    [
      'a compressed message',
      [grpcPrefix(1, 2), Buffer.from([0x08, 0x01])],
      { code: 13, details: 'Received compressed message but "grpc-encoding" header was identity' },
    ],
    [
      'a frame that is not a StreamFrame',
      [grpcPrefix(0, 2), Buffer.from([0x08, 0xff])],
      PEER_REJECTIONS.malformedFrame,
    ],
    [
      'a stream cut in the middle of a message',
      [grpcPrefix(0, 10), Buffer.from([0x08])],
      PEER_REJECTIONS.malformedFrame,
    ],
    [
      "another cluster's frame (etcd's error)",
      [encodeGrpcStreamFrame(encodeFrameHeader(0x1111n, A, B), Buffer.alloc(0))],
      { code: 9, details: 'etcdserver: cluster ID mismatch' },
    ],
  ])('refuses %s with a gRPC status and delivers nothing', async (_name, chunks, expected) => {
    const b = await member({ id: B });
    expect(await rawStreamCall(b.port, chunks)).toEqual(expected);
    expect(b.received).toEqual([]);
    expect(b.transport.activePeers()).toEqual([]);
  });
});

describe('grpc-js on either end', () => {
  it('delivers in order both ways between a member with the route and one whose grpc-js serves Stream', async () => {
    const a = await member({ id: A });
    const b = await member({ id: B, grpcJsStreams: true });
    connectAll([a, b]);
    a.transport.send(range(1, 50).map((i) => msgApp(A, B, i)));
    b.transport.send(range(1, 50).map((i) => msgApp(B, A, i)));
    await waitFor('both ways', () => indexesFrom(b, A).length === 50 && indexesFrom(a, B).length === 50);
    expect(indexesFrom(b, A)).toEqual(range(1, 50));
    expect(indexesFrom(a, B)).toEqual(range(1, 50));
  });
});

describe('PeerStreamCall', () => {
  it.each([
    ['the hand-framed route', false],
    ['grpc-js', true],
  ])(
    "sends batches far beyond the receiver's windows and frame size whole and in order (HTTP/2 flow control; %s receiving)",
    async (_name, grpcJsStreams) => {
      const a = await member({ id: A });
      const b = await member({ id: B, grpcJsStreams });
      connectAll([a, b]);
      // 3 MiB in all, in frames of up to 1 MiB: each is many DATA frames, many times the 64 KiB windows.
      const sent = range(1, 24).map((i) => msgApp(A, B, i, 128 * 1024));
      a.transport.send(sent.slice(0, 12));
      a.transport.send(sent.slice(12));
      await waitFor('all delivered', () => indexesFrom(b, A).length === 24, 10_000);
      expect(indexesFrom(b, A)).toEqual(range(1, 24));
      const received = b.received.filter((m) => m.from === A);
      expect(
        received.every((m, k) => Buffer.from(m.entries[0].data).equals(Buffer.from(sent[k].entries[0].data))),
      ).toBe(true);
    },
  );

  it('gives up on a peer that took the connection but answers nothing (keep-alive ping), and says so', async () => {
    const port = await fakeReceiver(() => undefined);
    const started = Date.now();
    const closed = callUntilClosed(port, { keepAliveTimeMs: 50, keepAliveTimeoutMs: 100 });
    expect(await closed).toEqual({ code: 14, details: 'keepalive ping not answered' });
    expect(Date.now() - started).toBeLessThan(2_000);
  });

  it('gives up on a receiver whose header block never ends (CONTINUATION past 64 KiB), and says so', async () => {
    const port = await fakeReceiver((socket) => {
      const frame = (type: number, flags: number, payload: Buffer): Buffer =>
        Buffer.concat([
          frameHeader(payload.length, type, flags, type === FrameType.SETTINGS ? 0 : 1),
          payload,
        ]);
      // SETTINGS, then HEADERS without END_HEADERS and CONTINUATIONs of literal bytes that never end the block.
      const parts = [
        frame(FrameType.SETTINGS, 0, Buffer.alloc(0)),
        frame(FrameType.HEADERS, 0, Buffer.alloc(16, 0x40)),
      ];
      for (let i = 0; i < 10; i++) parts.push(frame(FrameType.CONTINUATION, 0, Buffer.alloc(16_000, 0x41)));
      socket.write(Buffer.concat(parts));
    });
    const closed = callUntilClosed(port, { keepAliveTimeMs: 5_000, keepAliveTimeoutMs: 5_000 });
    expect(await closed).toEqual({
      code: 14,
      details: 'HTTP/2 protocol error from the receiver: a header block past 64 KiB',
    });
  });

  it('reports the receiver refusing the stream, and nothing after cancel()', async () => {
    const b = await member({ id: B, overrides: { isMember: (id) => id === A } });
    const reported: GrpcErrorStatus[] = [];
    const call = new PeerStreamCall(
      `127.0.0.1:${b.port}`,
      { onAccepted: () => undefined, onDrain: () => undefined, onClosed: (s) => reported.push(s) },
      { keepAliveTimeMs: 5_000, keepAliveTimeoutMs: 5_000 },
    );
    call.write(encodeGrpcStreamFrame(encodeFrameHeader(CLUSTER, A, 0x99n), Buffer.alloc(0)));
    await waitFor('refusal', () => reported.length > 0);
    expect(reported).toEqual([PEER_REJECTIONS.memberIdMismatch]);

    const accepted: bigint[] = [];
    const second = new PeerStreamCall(
      `127.0.0.1:${b.port}`,
      { onAccepted: (id) => accepted.push(id), onDrain: () => undefined, onClosed: (s) => reported.push(s) },
      { keepAliveTimeMs: 5_000, keepAliveTimeoutMs: 5_000 },
    );
    second.write(encodeGrpcStreamFrame(encodeFrameHeader(CLUSTER, A, B), Buffer.alloc(0)));
    await waitFor('accepted', () => accepted.length === 1);
    expect(accepted).toEqual([B]);
    second.cancel();
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(reported).toHaveLength(1);
  });
});
