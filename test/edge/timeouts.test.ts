// Issue 14, "Nothing times out": one test per timeout of the client URL, on a real member over loopback with
// short flag values (docs/operations.md, "Timeouts and limits"). Raw sockets for what clients never do by
// accident (send nothing, half a preface, half a request line, a body that never ends, pings unanswered); Node's
// own HTTP/2 client where a well-behaved client is the point (a quiet Watch that answers the member's pings).
import http2 from 'node:http2';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadEtcdServices } from '@cairn/api';
import { type Member, b64, cleanupAll, currentTarget, startMember } from '../support';
import {
  FrameFlag,
  FrameType,
  HTTP2_PREFACE,
  RawConnection,
  frame,
  grpcCallHeaders,
  http2Start,
  metric,
  ping,
} from './raw-connection';

const DECISION_MS = 500;
const HEADERS_MS = 600;
const REQUEST_MS = 1000;
const KEEPALIVE_IDLE_MS = 700;
const PING_INTERVAL_MS = 400;
const PING_TIMEOUT_MS = 400;
const UNARY_MS = 1000;
/** Node checks HTTP/1.1 timeouts on an interval, timers fire late on a busy machine: what a close may lag. */
const SLACK_MS = 1500;

// prettier-ignore
const FLAGS = [
  '--protocol-decision-timeout', `${DECISION_MS}ms`,
  '--http-headers-timeout', `${HEADERS_MS}ms`,
  '--http-request-timeout', `${REQUEST_MS}ms`,
  '--http-keepalive-timeout', `${KEEPALIVE_IDLE_MS}ms`,
  '--grpc-keepalive-interval', `${PING_INTERVAL_MS}ms`,
  '--grpc-keepalive-timeout', `${PING_TIMEOUT_MS}ms`,
  '--unary-request-timeout', `${UNARY_MS}ms`,
];

/** Expects the connection to be closed by the member within [min, max] ms of being opened. */
async function expectClosedWithin(
  conn: RawConnection,
  what: string,
  min: number,
  max: number,
): Promise<void> {
  const closed = await conn.until(() => conn.closed, max + 2000);
  expect(closed, `${what}: still open after ${max + 2000} ms`).toBe(true);
  const lifetime = conn.lifetimeMs!;
  expect(lifetime, `${what}: closed after ${lifetime} ms, expected >= ${min}`).toBeGreaterThanOrEqual(min);
  expect(lifetime, `${what}: closed after ${lifetime} ms, expected <= ${max}`).toBeLessThanOrEqual(max);
}

describe.skipIf(currentTarget().kind === 'etcd')('client URL timeouts', () => {
  let member: Member;

  beforeAll(async () => {
    member = await startMember({ extraFlags: FLAGS });
  }, 30_000);
  afterAll(() => cleanupAll());

  it('closes connections that show no protocol within --protocol-decision-timeout: silent, half a preface, the magic without SETTINGS', async () => {
    const label = 'reason="protocol_decision_timeout"';
    const before = (await metric(member, 'cairn_network_client_connections_closed_total', label)) ?? 0;
    const silent = await RawConnection.open(member, false);
    const halfPreface = await RawConnection.open(member, true);
    halfPreface.write(HTTP2_PREFACE.subarray(0, 12));
    const magicOnly = await RawConnection.open(member, true);
    magicOnly.write(HTTP2_PREFACE);
    await Promise.all([
      expectClosedWithin(silent, 'silent connection', DECISION_MS - 50, DECISION_MS + SLACK_MS),
      expectClosedWithin(halfPreface, 'half HTTP/2 preface', DECISION_MS - 50, DECISION_MS + SLACK_MS),
      expectClosedWithin(
        magicOnly,
        'preface magic without SETTINGS',
        DECISION_MS - 50,
        DECISION_MS + SLACK_MS,
      ),
    ]);
    expect(halfPreface.frames, 'nothing is answered before the protocol is known').toEqual([]);
    const after = await metric(member, 'cairn_network_client_connections_closed_total', label);
    expect(after, 'protocol decision timeouts counted').toBeGreaterThanOrEqual(before + 3);
  });

  it('answers 408 and closes half an HTTP/1.1 request line after --http-headers-timeout', async () => {
    const conn = await RawConnection.open(member, false);
    conn.write('GET /health HT');
    await expectClosedWithin(conn, 'half request line', HEADERS_MS - 50, HEADERS_MS + SLACK_MS);
    expect(conn.text).toMatch(/^HTTP\/1\.1 408 /);
  });

  it('answers 408 and closes headers that trickle in and never end, after --http-headers-timeout', async () => {
    const conn = await RawConnection.open(member, false);
    conn.write('GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n');
    const drip = setInterval(() => conn.write('X-Slow: 1\r\n'), 100);
    try {
      await expectClosedWithin(conn, 'slow headers', HEADERS_MS - 50, HEADERS_MS + SLACK_MS);
    } finally {
      clearInterval(drip);
    }
    expect(conn.text).toMatch(/^HTTP\/1\.1 408 /);
  });

  it('answers and closes an HTTP/1.1 request whose body never ends, after the request bound', async () => {
    const conn = await RawConnection.open(member, false);
    conn.write(
      'POST /v3/kv/put HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n' +
        'Content-Length: 100\r\n\r\n{"key":"',
    );
    await expectClosedWithin(conn, 'body that never ends', REQUEST_MS - 50, REQUEST_MS + SLACK_MS);
    expect(conn.text, 'an error answer, not silence').toMatch(/^HTTP\/1\.1 (408|5\d\d) /);
  });

  it('closes an idle HTTP/1.1 keep-alive connection after --http-keepalive-timeout', async () => {
    const conn = await RawConnection.open(member, false);
    conn.write('GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: keep-alive\r\n\r\n');
    expect(await conn.until(() => conn.text.includes('"health"'), 5000), 'the /health answer').toBe(true);
    const answeredAt = Date.now();
    expect(await conn.until(() => conn.closed, KEEPALIVE_IDLE_MS + SLACK_MS + 2000)).toBe(true);
    const idle = conn.closedAt! - answeredAt;
    expect(idle, `closed ${idle} ms after its answer`).toBeGreaterThanOrEqual(KEEPALIVE_IDLE_MS - 100);
    expect(idle).toBeLessThanOrEqual(KEEPALIVE_IDLE_MS + SLACK_MS);
    expect(conn.text).toMatch(/^HTTP\/1\.1 200 /);
  });

  // KV Put takes the fast path; LeaseGrant is served by grpc-js (its interceptor bounds the body).
  it.each(['/etcdserverpb.KV/Put', '/etcdserverpb.Lease/LeaseGrant'])(
    'answers a unary gRPC call %s whose body never ends "request timed out" after --unary-request-timeout, and resets its stream',
    async (path) => {
      const session = http2.connect(member.clientUrl);
      session.on('error', () => undefined);
      try {
        const started = Date.now();
        const stream = session.request({
          ':method': 'POST',
          ':path': path,
          'content-type': 'application/grpc',
          te: 'trailers',
        });
        stream.on('error', () => undefined);
        const status: Record<string, string> = {};
        const keep = (headers: http2.IncomingHttpHeaders): void => {
          for (const name of ['grpc-status', 'grpc-message']) {
            const value = headers[name];
            if (typeof value === 'string') status[name] = decodeURIComponent(value);
          }
        };
        stream.on('response', keep);
        stream.on('trailers', keep);
        stream.write(Buffer.from([0, 0, 0, 0, 40, 0x0a, 0x03])); // a message announced as 40 bytes, 2 sent
        const closed = await new Promise<number>((resolve) =>
          stream.once('close', () => resolve(Date.now())),
        );
        const elapsed = closed - started;
        expect(status, `answer of ${path}`).toEqual({
          'grpc-status': '14',
          'grpc-message': 'etcdserver: request timed out',
        });
        expect(elapsed, `${path} answered after ${elapsed} ms`).toBeGreaterThanOrEqual(UNARY_MS - 50);
        expect(elapsed).toBeLessThanOrEqual(UNARY_MS + SLACK_MS);
        expect(stream.rstCode, 'the stream is reset (NO_ERROR) after the trailers').toBe(
          http2.constants.NGHTTP2_NO_ERROR,
        );
      } finally {
        session.destroy();
      }
    },
  );

  it('keeps a quiet Watch stream whose client answers the member’s pings open past every timeout', async () => {
    const watch = loadEtcdServices().etcdserverpb.Watch.service.Watch;
    const session = http2.connect(member.clientUrl);
    session.on('error', () => undefined);
    let pings = 0;
    session.on('ping', () => pings++);
    try {
      const stream = session.request({
        ':method': 'POST',
        ':path': watch.path,
        'content-type': 'application/grpc',
        te: 'trailers',
      });
      stream.on('error', () => undefined);
      let received = Buffer.alloc(0);
      stream.on('data', (chunk: Buffer) => (received = Buffer.concat([received, chunk])));
      const key = '/edge-timeouts/quiet-watch';
      const request = watch.requestSerialize({ create_request: { key: Buffer.from(key) } });
      const header = Buffer.alloc(5);
      header.writeUInt32BE(request.length, 1);
      stream.write(Buffer.concat([header, request]));

      const quietMs =
        Math.max(DECISION_MS, HEADERS_MS, REQUEST_MS, UNARY_MS, PING_INTERVAL_MS + PING_TIMEOUT_MS) * 3;
      await new Promise((resolve) => setTimeout(resolve, quietMs));
      expect(stream.closed || session.closed, `watch closed within ${quietMs} quiet ms`).toBe(false);
      expect(pings, 'the member checked the connection by PING').toBeGreaterThanOrEqual(2);

      const put = await fetch(`${member.clientUrl}/v3/kv/put`, {
        method: 'POST',
        body: JSON.stringify({ key: b64(key), value: b64('after-the-quiet') }),
        signal: AbortSignal.timeout(5000),
      });
      expect(put.status).toBe(200);
      const sawEvent = await new Promise<boolean>((resolve) => {
        const deadline = setTimeout(() => resolve(false), 5000);
        const check = (): void => {
          if (received.includes(Buffer.from('after-the-quiet'))) {
            clearTimeout(deadline);
            resolve(true);
          } else setTimeout(check, 20);
        };
        check();
      });
      expect(sawEvent, 'the put reached the quiet watch').toBe(true);
    } finally {
      session.destroy();
    }
  });

  it('closes a connection that stops answering pings after --grpc-keepalive-interval + --grpc-keepalive-timeout', async () => {
    const conn = await RawConnection.open(member, true);
    conn.write(Buffer.concat([http2Start(), grpcCallHeaders(1, '/etcdserverpb.Watch/Watch')]));
    const budget = PING_INTERVAL_MS + PING_TIMEOUT_MS;
    await expectClosedWithin(conn, 'unanswered pings', budget - 100, budget + SLACK_MS + 1000);
    const pings = conn.framesOf(FrameType.PING).filter((f) => (f.flags & FrameFlag.ACK) === 0);
    expect(pings.length, 'the member pinged before giving up').toBeGreaterThanOrEqual(1);
  });

  it('answers a client that pings faster than --grpc-keepalive-min-time with GOAWAY ENHANCE_YOUR_CALM "too_many_pings"', async () => {
    const label = 'reason="too_many_pings"';
    const before = (await metric(member, 'cairn_network_client_connections_closed_total', label)) ?? 0;
    const conn = await RawConnection.open(member, true);
    conn.write(Buffer.concat([http2Start(), grpcCallHeaders(1, '/etcdserverpb.Watch/Watch')]));
    await new Promise((resolve) => setTimeout(resolve, 100));
    for (let i = 1; i <= 6 && !conn.closed; i++) {
      conn.write(ping(i));
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    expect(await conn.until(() => conn.closed, 3000), 'connection closed').toBe(true);
    const goaway = conn.framesOf(FrameType.GOAWAY)[0];
    expect(goaway, 'a GOAWAY before the close').toBeDefined();
    expect(goaway!.payload.readUInt32BE(4), 'GOAWAY error code').toBe(0xb);
    expect(goaway!.payload.subarray(8).toString(), 'GOAWAY debug data').toBe('too_many_pings');
    expect(await metric(member, 'cairn_network_client_connections_closed_total', label)).toBe(before + 1);
  });

  it('is still serving after all of the above', async () => {
    const response = await fetch(`${member.clientUrl}/health`, { signal: AbortSignal.timeout(5000) });
    expect(response.status).toBe(200);
    expect(member.running).toBe(true);
    // A well-formed HTTP/2 connection that sends its preface, a request and a ping in time gets an answer.
    const conn = await RawConnection.open(member, true);
    conn.write(Buffer.concat([http2Start(), grpcCallHeaders(1, '/etcdserverpb.Watch/Watch'), ping(7)]));
    expect(
      await conn.until(
        () => conn.framesOf(FrameType.PING).some((f) => (f.flags & FrameFlag.ACK) !== 0),
        3000,
      ),
    ).toBe(true);
    conn.write(frame(FrameType.GOAWAY, 0, 0, Buffer.alloc(8)));
    conn.destroy();
  });
});
