// The bounded stream writers: a reader that stops reading makes them refuse (nothing more is buffered), a
// reader that reads again gets every event in order and the producer hears of the room ('drain').
import { createServer, type Server, type ServerResponse } from 'node:http';
import { connect, type AddressInfo, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { JsonLinesStream, SseStream } from '../src/sse-stream';

const BOUND = 64 * 1024;

interface Harness {
  server: Server;
  /** The raw client socket: paused (not reading) until the test resumes it. */
  client: Socket;
  res: ServerResponse;
  received: () => string;
}

const servers: Server[] = [];
const sockets: Socket[] = [];

afterEach(async () => {
  for (const socket of sockets.splice(0)) socket.destroy();
  for (const server of servers.splice(0)) {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }
});

/** A server whose one request's response the test drives, and a raw client that sent it and does not read. */
async function harness(): Promise<Harness> {
  let onResponse: (res: ServerResponse) => void = () => undefined;
  const gotResponse = new Promise<ServerResponse>((resolve) => (onResponse = resolve));
  const server = createServer((_req, res) => onResponse(res));
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const client = connect(port, '127.0.0.1');
  sockets.push(client);
  const chunks: Buffer[] = [];
  client.on('data', (chunk: Buffer) => chunks.push(chunk));
  client.pause();
  client.write(`GET /watch HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\n\r\n`);
  const res = await gotResponse;
  return { server, client, res, received: () => Buffer.concat(chunks).toString('utf8') };
}

/** Writes events until the stream refuses one; returns how many were taken. */
function fillUntilRefused(stream: SseStream, from: number, payload: string): number {
  let n = from;
  while (stream.send({ event: 'change', id: n, data: { n, payload } })) n++;
  return n;
}

function eventIds(text: string): number[] {
  return [...text.matchAll(/^id: (\d+)$/gm)].map((m) => Number(m[1]));
}

async function waitFor(check: () => boolean, what: string, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

describe('SseStream', () => {
  it('formats id, event and multi-line data as SSE', () => {
    expect(SseStream.format({ id: 7, event: 'change', data: { a: 1 } })).toBe(
      'id: 7\nevent: change\ndata: {"a":1}\n\n',
    );
    expect(SseStream.format({ data: 'one\ntwo\r\nthree' })).toBe('data: one\ndata: two\ndata: three\n\n');
  });

  it('opens with SSE headers, the opening comment and retry', async () => {
    const h = await harness();
    const stream = new SseStream(h.res, { maxBufferedBytes: BOUND });
    stream.open({ comment: 'hello', retryMs: 1000 });
    expect(stream.send({ event: 'snapshot', id: 1, data: { ok: true } })).toBe(true);
    h.client.resume();
    await waitFor(() => h.received().includes('data: {"ok":true}'), 'the first event');
    const text = h.received();
    expect(text).toMatch(/^HTTP\/1\.1 200 OK\r\n/);
    expect(text.toLowerCase()).toContain('content-type: text/event-stream; charset=utf-8');
    expect(text.toLowerCase()).toContain('cache-control: no-cache, no-transform');
    expect(text).toContain(': hello\nretry: 1000\n\n');
  });

  it('refuses past the bound while the reader stalls, then delivers every event in order once it reads', async () => {
    const h = await harness();
    const stream = new SseStream(h.res, { maxBufferedBytes: BOUND });
    stream.open({ comment: 'test' });
    const payload = 'x'.repeat(1000);
    let drains = 0;
    stream.onDrain(() => drains++);

    // Kernel buffers fill first, then Node's: the stream stops at the bound.
    let next = fillUntilRefused(stream, 1, payload);
    expect(next).toBeGreaterThan(1);
    expect(stream.writable).toBe(false);
    const held = stream.buffered;
    expect(held).toBeGreaterThanOrEqual(BOUND);
    // Less than the bound plus one event: nothing buffered past the refusal.
    expect(held).toBeLessThan(BOUND + 2 * 1100);
    // A stalled producer keeps offering: every offer is refused, the buffer does not grow.
    for (let i = 0; i < 1000; i++)
      expect(stream.send({ event: 'change', id: next, data: { payload } })).toBe(false);
    expect(stream.comment('keep-alive')).toBe(false);
    expect(stream.buffered).toBe(held);

    // The reader reads again: room comes back, the producer hears of it and continues where it stopped.
    const room = stream.drained();
    h.client.resume();
    await room;
    expect(drains).toBe(1);
    next = fillUntilRefused(stream, next, payload);
    const last = next - 1;
    await waitFor(() => eventIds(h.received()).at(-1) === last, `event ${last}`);
    const ids = eventIds(h.received());
    expect(ids).toEqual(Array.from({ length: last }, (_, i) => i + 1));
  });

  it('writes past the bound when told to (data the producer already took)', async () => {
    const h = await harness();
    const stream = new SseStream(h.res, { maxBufferedBytes: BOUND });
    stream.open();
    fillUntilRefused(stream, 1, 'y'.repeat(1000));
    const before = stream.buffered;
    expect(stream.send({ event: 'change', data: 'must go' }, { always: true })).toBe(true);
    expect(stream.buffered).toBeGreaterThan(before);
  });

  it('skips heartbeats while full and sends them otherwise', async () => {
    const h = await harness();
    const stream = new SseStream(h.res, { maxBufferedBytes: BOUND });
    stream.open({ heartbeatMs: 20, heartbeatText: 'ping' });
    fillUntilRefused(stream, 1, 'z'.repeat(1000));
    // A heartbeat is a write like any other: refused while full (so it never adds to a stalled backlog).
    const writes: boolean[] = [];
    const write = h.res.write.bind(h.res) as (chunk: string) => boolean;
    h.res.write = ((chunk: string) => {
      writes.push(stream.buffered < BOUND);
      return write(chunk);
    }) as typeof h.res.write;
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(writes.every((hadRoom) => hadRoom)).toBe(true);
    h.client.resume();
    await waitFor(() => h.received().includes(': ping\n\n'), 'a heartbeat after the drain');
  });

  it('tells its listeners when the reader goes away, and refuses after', async () => {
    const h = await harness();
    const stream = new SseStream(h.res, { maxBufferedBytes: BOUND });
    stream.open();
    let closed = 0;
    stream.onClose(() => closed++);
    fillUntilRefused(stream, 1, 'w'.repeat(1000));
    const waiting = stream.drained();
    h.client.destroy();
    await waiting;
    await waitFor(() => closed === 1, 'the close listener');
    expect(stream.closed).toBe(true);
    expect(stream.send({ data: 'late' }, { always: true })).toBe(false);
  });
});

describe('JsonLinesStream', () => {
  it('writes one JSON object per line and refuses past its bound', async () => {
    const h = await harness();
    h.res.writeHead(200, { 'content-type': 'application/json' });
    const stream = new JsonLinesStream(h.res, { maxBufferedBytes: BOUND });
    let n = 0;
    while (stream.sendJson({ result: { n, pad: 'p'.repeat(500) } })) n++;
    expect(stream.writable).toBe(false);
    expect(stream.sendJson({ result: { n } })).toBe(false);
    const room = stream.drained();
    h.client.resume();
    await room;
    expect(stream.sendJson({ result: { n } })).toBe(true);
    stream.end();
    await waitFor(() => h.received().includes(`{"result":{"n":${n}}}`), 'the last line');
    const body = h.received().split('\r\n\r\n').slice(1).join('\r\n\r\n');
    const seen = [...body.matchAll(/"n":(\d+)/g)].map((m) => Number(m[1]));
    expect(seen).toEqual(Array.from({ length: n + 1 }, (_, i) => i));
  });
});
