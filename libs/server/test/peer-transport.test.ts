// The peer transport over real gRPC on 127.0.0.1: ordered batches between two and three members, redial of a
// late or restarted peer, bounded queues, cluster ID checks, removed members, active peers, clean close.
import * as grpc from '@grpc/grpc-js';
import { MessageType } from '@cairn/raft';
import { decodeMessages, encodeMessages } from '@cairn/storage';
import { afterEach, describe, expect, it } from 'vitest';
import { PEER_REJECTIONS } from '../src/peer';
import {
  createPeerClient,
  peerServiceDefinition,
  type StreamFrame,
  type StreamReply,
} from '../src/peer/proto';
import {
  connectAll,
  indexesFrom,
  msgApp,
  msgHeartbeat,
  openHandleCounts,
  plainBytes,
  range,
  reservePort,
  startMember,
  startServer,
  stopServer,
  waitFor,
  type Member,
} from './peer-harness';

const A = 0xa1n;
const B = 0xb2n;
const C = 0xc3n;

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function member(...args: Parameters<typeof startMember>): Promise<Member> {
  const m = await startMember(...args);
  let stopped = false;
  const stop = m.stop;
  m.stop = async () => {
    if (stopped) return;
    stopped = true;
    await stop();
  };
  cleanups.push(() => m.stop());
  return m;
}

/** Until `from` has an accepted stream to `to` (the hello reached `to`). */
async function linked(from: Member, to: Member): Promise<void> {
  await waitFor(`${from.id.toString(16)} -> ${to.id.toString(16)} stream`, () =>
    to.transport.activePeers().includes(from.id),
  );
}

describe('PeerTransport between members', () => {
  it('delivers batches between two members in order, both ways', async () => {
    const a = await member({ id: A });
    const b = await member({ id: B });
    connectAll([a, b]);
    await linked(a, b);
    await linked(b, a);

    // Several send() calls in one turn and over several turns.
    for (let turn = 0; turn < 10; turn++) {
      for (let call = 0; call < 5; call++) {
        const first = turn * 100 + call * 20 + 1;
        a.transport.send(range(first, first + 19).map((i) => msgApp(A, B, i)));
        b.transport.send(range(first, first + 19).map((i) => msgApp(B, A, i)));
      }
      await new Promise((resolve) => setImmediate(resolve));
    }

    await waitFor(
      '1000 messages each way',
      () => indexesFrom(b, A).length === 1000 && indexesFrom(a, B).length === 1000,
    );
    expect(indexesFrom(b, A)).toEqual(range(1, 1000));
    expect(indexesFrom(a, B)).toEqual(range(1, 1000));
    const sample = b.received.find((m) => m.type === MessageType.App && m.entries[0].index === 77);
    expect(sample && plainBytes(sample)).toEqual(plainBytes(msgApp(A, B, 77)));
    expect(a.unreachable).toEqual([]);
    expect(b.unreachable).toEqual([]);
  });

  it('delivers in order among three members, every ordered pair', async () => {
    const members = [await member({ id: A }), await member({ id: B }), await member({ id: C })];
    connectAll(members);
    for (const from of members) for (const to of members) if (from !== to) await linked(from, to);

    for (let batch = 0; batch < 20; batch++) {
      for (const from of members) {
        const msgs = members
          .filter((to) => to !== from)
          .flatMap((to) => range(batch * 25 + 1, batch * 25 + 25).map((i) => msgApp(from.id, to.id, i)));
        from.transport.send(msgs);
      }
      await new Promise((resolve) => setImmediate(resolve));
    }

    await waitFor('500 messages on every pair', () =>
      members.every((to) => members.every((from) => from === to || indexesFrom(to, from.id).length === 500)),
    );
    for (const to of members)
      for (const from of members) if (from !== to) expect(indexesFrom(to, from.id)).toEqual(range(1, 500));
  });

  it('reaches a peer that starts late, with back-off, and delivers later messages', async () => {
    const port = await reservePort();
    const a = await member({ id: A });
    a.transport.addPeer(B, [`http://127.0.0.1:${port}`]);

    // B is not there: messages are dropped and reported, A carries on.
    a.transport.send([msgApp(A, B, 1)]);
    await waitFor('unreachable report', () => a.unreachable.includes(B));
    await new Promise((resolve) => setTimeout(resolve, 150));
    expect(a.log.lines.filter((l) => l.msg === 'cannot reach peer').length).toBe(1);

    const b = await member({ id: B, port });
    b.transport.addPeer(A, [a.url]);
    await linked(a, b);
    a.transport.send(range(2, 50).map((i) => msgApp(A, B, i)));
    await waitFor('messages after B started', () => indexesFrom(b, A).length === 49);
    expect(indexesFrom(b, A)).toEqual(range(2, 50));
  });

  it('redials a restarted peer and delivers messages sent after the restart', async () => {
    const a = await member({ id: A });
    const b1 = await member({ id: B });
    connectAll([a, b1]);
    await linked(a, b1);
    a.transport.send([msgApp(A, B, 1)]);
    await waitFor('first message', () => indexesFrom(b1, A).length === 1);

    await b1.stop();
    await waitFor('A notices B is gone', () => a.log.lines.some((l) => l.msg === 'lost peer stream'));
    a.transport.send([msgApp(A, B, 2)]); // lost: B is down
    await waitFor('unreachable while down', () => a.unreachable.includes(B));

    const b2 = await member({ id: B, port: b1.port });
    b2.transport.addPeer(A, [a.url]);
    await linked(a, b2);
    a.transport.send(range(3, 10).map((i) => msgApp(A, B, i)));
    await waitFor('messages after restart', () => indexesFrom(b2, A).length === 8);
    expect(indexesFrom(b2, A)).toEqual(range(3, 10));
    expect(a.log.lines.filter((l) => l.msg === 'peer stream established').length).toBeGreaterThanOrEqual(2);
  });

  it('reports a peer lost once when its established stream breaks (its process went away), not while it was never reached', async () => {
    const lost: bigint[] = [];
    const late = await reservePort();
    const a = await member({ id: A, overrides: { onPeerLost: (id) => lost.push(id) } });
    const b = await member({ id: B });
    connectAll([a, b]);
    a.transport.addPeer(C, [`http://127.0.0.1:${late}`]); // nobody listens there
    await linked(a, b);
    a.transport.send([msgApp(A, C, 1)]);
    await waitFor('C unreachable', () => a.unreachable.includes(C));
    expect(lost).toEqual([]);

    await b.stop();
    await waitFor('B reported lost', () => lost.includes(B));
    await new Promise((resolve) => setTimeout(resolve, 300)); // redials fail meanwhile
    expect(lost).toEqual([B]);
  });

  it('drops what does not fit the queue and reports the peer unreachable once per turn', async () => {
    const a = await member({ id: A, overrides: { maxQueuedMessages: 8 } });
    const b = await member({ id: B });
    connectAll([a, b]);
    await linked(a, b);

    a.transport.send(range(1, 20).map((i) => msgApp(A, B, i)));
    await waitFor('the queued 8 arrive', () => indexesFrom(b, A).length === 8);
    await waitFor('unreachable reported', () => a.unreachable.length > 0);
    expect(indexesFrom(b, A)).toEqual(range(1, 8));
    expect(a.unreachable).toEqual([B]);
    const drops = a.log.lines.filter((l) => l.msg === 'dropped Raft message since sending buffer is full');
    expect(drops).toHaveLength(1); // 12 drops, one (rate-limited) line

    // The queue drains, so the next turn is delivered in full.
    a.transport.send(range(21, 28).map((i) => msgApp(A, B, i)));
    await waitFor('next turn', () => indexesFrom(b, A).length === 16);
    expect(indexesFrom(b, A)).toEqual([...range(1, 8), ...range(21, 28)]);
  });

  it('costs a down peer nothing but a rate-limited log line', async () => {
    const a = await member({ id: A });
    const b = await member({ id: B });
    connectAll([a, b]);
    a.transport.addPeer(C, ['http://127.0.0.1:1']); // nobody listens there
    await linked(a, b);

    for (let i = 1; i <= 200; i++) {
      a.transport.send([msgApp(A, B, i), msgHeartbeat(A, C)]);
      if (i % 20 === 0) await new Promise((resolve) => setTimeout(resolve, 10));
    }
    await waitFor('all 200 to B', () => indexesFrom(b, A).length === 200);
    expect(indexesFrom(b, A)).toEqual(range(1, 200));
    expect(new Set(a.unreachable)).toEqual(new Set([C]));
    const aboutC = a.log.lines.filter(
      (l) => (l.fields as { remotePeerId?: string }).remotePeerId === 'c3' && l.level === 'warn',
    );
    expect(aboutC.length).toBeLessThanOrEqual(2); // one 'cannot reach peer', one 'dropped ... not connected'
  });

  it("rejects a member of another cluster with etcd's cluster ID mismatch error", async () => {
    const a = await member({ id: A, clusterId: 0x1111n });
    const b = await member({ id: B });
    a.transport.addPeer(B, [b.url]);
    a.transport.send([msgApp(A, B, 1)]);
    await waitFor('B logs the rejection', () => b.log.lines.some((l) => l.msg === 'rejected peer stream'));
    await waitFor('A logs it was rejected', () =>
      a.log.lines.some((l) => l.msg === 'peer rejected our stream'),
    );
    expect(b.received).toEqual([]);
    expect(b.transport.activePeers()).toEqual([]);
    const rejection = b.log.lines.find((l) => l.msg === 'rejected peer stream');
    expect(rejection?.fields).toMatchObject({
      reason: 'etcdserver: cluster ID mismatch',
      remoteClusterId: '1111',
    });

    // On the wire: FailedPrecondition with etcd's exact text.
    const client = createPeerClient(`127.0.0.1:${b.port}`, grpc.credentials.createInsecure(), {});
    try {
      const call = client.Stream();
      const status = new Promise<grpc.ServiceError>((resolve) => call.on('error', resolve));
      call.on('data', () => undefined);
      call.write({ cluster_id: '4369', from: A.toString(), to: B.toString(), messages: Buffer.alloc(0) });
      const err = await status;
      expect({ code: err.code, details: err.details }).toEqual({
        code: grpc.status.FAILED_PRECONDITION,
        details: 'etcdserver: cluster ID mismatch',
      });
    } finally {
      client.close();
    }
  });

  it('refuses frames from a removed member and drops messages to it', async () => {
    const a = await member({ id: A });
    const b = await member({ id: B });
    connectAll([a, b]);
    await linked(a, b);
    await linked(b, a);

    b.transport.removePeer(A);
    await waitFor('A is told it was removed', () =>
      a.log.lines.some(
        (l) =>
          l.msg === 'peer rejected our stream' &&
          (l.fields as { error?: string }).error === PEER_REJECTIONS.memberRemoved.details,
      ),
    );
    a.transport.send([msgApp(A, B, 1)]);
    b.transport.send([msgApp(B, A, 1)]);
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(indexesFrom(b, A)).toEqual([]);
    expect(indexesFrom(a, B)).toEqual([]);
    expect(b.unreachable).toEqual([]);
    expect(b.transport.activePeers()).toEqual([]);
  });

  it('lists as active only peers heard from within the window', async () => {
    const a = await member({ id: A, overrides: { activeWindowMs: 500 } });
    const b = await member({ id: B });
    connectAll([a, b]);
    expect(a.transport.activePeers()).toEqual([]);
    await linked(b, a);
    // Idle longer than the window: B's keep-alives (every 100 ms) keep it counted as active.
    await new Promise((resolve) => setTimeout(resolve, 800));
    expect(a.transport.activePeers()).toEqual([B]);
    await b.stop();
    await waitFor('B no longer active', () => a.transport.activePeers().length === 0, 2_000);
  });
});

describe('PeerTransport framing', () => {
  it('sends everything queued in one event-loop turn as one frame, split only at the frame size', async () => {
    const frames: number[][] = [];
    const { server, port } = await startServer((s) =>
      s.addService(peerServiceDefinition(), {
        Stream: (call: grpc.ServerDuplexStream<StreamFrame, StreamReply>) => {
          call.on('data', (frame: StreamFrame) => {
            if (frames.length === 0) call.write({ member_id: B.toString() });
            frames.push(
              decodeMessages(frame.messages.length > 0 ? frame.messages : encodeMessages([])).map(
                (m) => m.entries[0]?.index ?? 0,
              ),
            );
          });
          call.on('end', () => call.end());
        },
        Snapshot: (_call: unknown, cb: grpc.sendUnaryData<unknown>) => cb(null, {}),
      }),
    );
    cleanups.push(() => stopServer(server));
    const a = await member({ id: A, overrides: { maxFrameBytes: 4096, keepAliveIntervalMs: 60_000 } });
    a.transport.addPeer(B, [`http://127.0.0.1:${port}`]);
    await waitFor('hello', () => frames.length === 1);
    await waitFor('stream accepted', () => a.log.lines.some((l) => l.msg === 'peer stream established'));

    a.transport.send(range(1, 3).map((i) => msgApp(A, B, i)));
    a.transport.send(range(4, 6).map((i) => msgApp(A, B, i)));
    a.transport.send([msgApp(A, B, 7)]);
    await waitFor('one batch frame', () => frames.length === 2);
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(frames).toEqual([[], range(1, 7)]);

    // 100 messages of ~1 KiB in one turn: frames of at most 4 KiB, three messages each, still in order.
    a.transport.send(range(8, 107).map((i) => msgApp(A, B, i, 1000)));
    await waitFor('all big messages', () => frames.flat().length === 107);
    const bigFrames = frames.slice(2);
    expect(bigFrames.flat()).toEqual(range(8, 107));
    expect(Math.max(...bigFrames.map((f) => f.length))).toBe(3);
  });

  it('closes without leaving sockets, timers or servers behind', async () => {
    const before = openHandleCounts();
    const members = [
      await startMember({ id: A }),
      await startMember({ id: B }),
      await startMember({ id: C }),
    ];
    connectAll(members);
    for (const from of members) for (const to of members) if (from !== to) await linked(from, to);
    members[0].transport.send(range(1, 10).map((i) => msgApp(A, B, i)));
    await waitFor('delivered', () => indexesFrom(members[1], A).length === 10);
    members[0].transport.addPeer(0xd4n, ['http://127.0.0.1:1']); // a peer being redialled at close time

    for (const m of members) await m.stop();
    await new Promise((resolve) => setTimeout(resolve, 50));
    const after = openHandleCounts();
    const grown = Object.keys(after).filter((kind) => after[kind] > (before[kind] ?? 0));
    expect(grown, `open handles before ${JSON.stringify(before)}, after ${JSON.stringify(after)}`).toEqual(
      [],
    );
  });
});
