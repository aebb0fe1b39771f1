// Loopback throughput of small MsgApp batches between two members. A measurement, not an assertion on
// speed: it only runs with CAIRN_PEER_BENCH=1 and checks that everything arrived in order.
import { afterAll, describe, expect, it } from 'vitest';
import { connectAll, indexesFrom, msgApp, range, startMember, waitFor, type Member } from './peer-harness';

const A = 0xa1n;
const B = 0xb2n;
const TOTAL = Number(process.env.CAIRN_PEER_BENCH_MESSAGES ?? 200_000);
const BATCH = Number(process.env.CAIRN_PEER_BENCH_BATCH ?? 64);
/** send() calls per event-loop turn (each turn's messages go out as one frame). */
const PER_TURN = Number(process.env.CAIRN_PEER_BENCH_PER_TURN ?? 1);
const WINDOW = 2048; // stay below the 4096-message queue bound

describe.runIf(process.env.CAIRN_PEER_BENCH === '1')('peer transport throughput', () => {
  const members: Member[] = [];
  afterAll(async () => {
    for (const m of members) await m.stop();
  });

  it(`moves ${TOTAL} small MsgApps in batches of ${BATCH}, ${PER_TURN} batches per turn`, async () => {
    const a = await startMember({ id: A, overrides: { maxQueuedMessages: 4096 } });
    const b = await startMember({ id: B });
    members.push(a, b);
    connectAll([a, b]);
    await waitFor('stream', () => b.transport.activePeers().includes(A));

    let sent = 0;
    const started = process.hrtime.bigint();
    while (b.received.length < TOTAL) {
      for (let calls = 0; calls < PER_TURN && sent < TOTAL && sent - b.received.length < WINDOW; calls++) {
        const n = Math.min(BATCH, TOTAL - sent);
        a.transport.send(range(sent + 1, sent + n).map((i) => msgApp(A, B, i, 64)));
        sent += n;
      }
      await new Promise((resolve) => setImmediate(resolve));
    }
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    console.log(
      `peer transport: ${TOTAL} MsgApp (1 entry, 64 B) in batches of ${BATCH}, ${PER_TURN} per turn: ${(TOTAL / seconds).toFixed(0)} msg/s (${seconds.toFixed(2)} s)`,
    );
    expect(indexesFrom(b, A)).toEqual(range(1, TOTAL));
    expect(a.unreachable).toEqual([]);
  }, 120_000);
});
