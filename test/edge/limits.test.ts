// Issue 14's limits of the client URL, on a real member over loopback with small values: streams per HTTP/2
// connection (--max-concurrent-streams, etcd's flag: past it a stream is refused with RST_STREAM
// REFUSED_STREAM as grpc-go does, the connection and its other streams untouched) and connections per member
// (--max-client-connections: past it a connection is closed at accept), both counted in /metrics.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Member, cleanupAll, currentTarget, startMember } from '../support';
import {
  FrameFlag,
  FrameType,
  RawConnection,
  frame,
  grpcCallHeaders,
  http2Start,
  metric,
  ping,
} from './raw-connection';

const MAX_STREAMS = 2;
const MAX_CONNECTIONS = 6;
const REFUSED_STREAM = 0x7;
const CANCEL = 0x8;

const rstCodes = (conn: RawConnection, streamId: number): number[] =>
  conn
    .framesOf(FrameType.RST_STREAM)
    .filter((f) => f.streamId === streamId)
    .map((f) => f.payload.readUInt32BE(0));

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

describe.skipIf(currentTarget().kind === 'etcd')('client URL limits', () => {
  let member: Member;

  beforeAll(async () => {
    member = await startMember({
      extraFlags: [
        '--max-concurrent-streams',
        String(MAX_STREAMS),
        '--max-client-connections',
        String(MAX_CONNECTIONS),
      ],
    });
  }, 30_000);
  afterAll(() => cleanupAll());

  it('refuses a stream past --max-concurrent-streams with REFUSED_STREAM and keeps the connection and its other streams', async () => {
    const before = (await metric(member, 'cairn_grpc_server_streams_refused_total')) ?? 0;
    const conn = await RawConnection.open(member, true);
    try {
      const watch = '/etcdserverpb.Watch/Watch';
      conn.write(
        Buffer.concat([
          http2Start(),
          grpcCallHeaders(1, watch),
          grpcCallHeaders(3, watch),
          grpcCallHeaders(5, watch),
        ]),
      );
      expect(await conn.until(() => rstCodes(conn, 5).length > 0, 3000), 'stream 5 refused').toBe(true);
      expect(rstCodes(conn, 5)).toEqual([REFUSED_STREAM]);
      await sleep(300);
      expect(rstCodes(conn, 1), 'stream 1 untouched').toEqual([]);
      expect(rstCodes(conn, 3), 'stream 3 untouched').toEqual([]);
      expect(conn.framesOf(FrameType.GOAWAY), 'no GOAWAY: only the stream is refused').toEqual([]);

      expect(await metric(member, 'cairn_grpc_server_streams_refused_total')).toBe(before + 1);
      expect(await metric(member, 'cairn_grpc_server_open_streams')).toBeGreaterThanOrEqual(MAX_STREAMS);

      // A slot freed by the client is a slot again.
      const rst = Buffer.alloc(4);
      rst.writeUInt32BE(CANCEL, 0);
      conn.write(frame(FrameType.RST_STREAM, 0, 1, rst));
      await sleep(200);
      conn.write(grpcCallHeaders(7, watch));
      conn.write(ping(1));
      expect(
        await conn.until(
          () => conn.framesOf(FrameType.PING).some((f) => (f.flags & FrameFlag.ACK) !== 0),
          3000,
        ),
        'the connection still answers',
      ).toBe(true);
      await sleep(300);
      expect(rstCodes(conn, 7), 'stream 7 admitted once stream 1 was gone').toEqual([]);
      expect(conn.closed).toBe(false);
    } finally {
      conn.destroy();
    }
  });

  it('closes connections past --max-client-connections at accept, counts them, and accepts again once there is room', async () => {
    await sleep(300); // the previous test's connections are gone
    const before =
      (await metric(member, 'cairn_network_client_connections_refused_total', 'reason="limit"')) ?? 0;
    const conns: RawConnection[] = [];
    try {
      for (let i = 0; i < MAX_CONNECTIONS + 4; i++) conns.push(await RawConnection.open(member, false));
      await sleep(500);
      const refused = conns.filter((c) => c.closed);
      const held = conns.filter((c) => !c.closed);
      // The test's own HTTP client may hold a pooled connection or two: at least 4 of ours are refused.
      expect(refused.length, `${refused.length} of ${conns.length} refused`).toBeGreaterThanOrEqual(4);
      expect(held.length, 'the member holds up to its limit').toBeLessThanOrEqual(MAX_CONNECTIONS);
      for (const conn of refused) {
        expect(conn.lifetimeMs!, 'refused at accept, not timed out').toBeLessThan(500);
      }
      // The ones held are served: a request on one of them is answered.
      const first = held[0]!;
      first.write('GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n');
      expect(await first.until(() => first.text.includes('"health"'), 3000)).toBe(true);

      for (const conn of conns) conn.destroy();
      await sleep(300);
      const after = await metric(member, 'cairn_network_client_connections_refused_total', 'reason="limit"');
      expect(after, 'refusals counted').toBeGreaterThanOrEqual(before + refused.length);
      expect(
        await metric(member, 'cairn_network_client_connections', 'protocol="undecided"'),
        'no connection left undecided',
      ).toBe(0);
    } finally {
      for (const conn of conns) conn.destroy();
    }
  });
});
