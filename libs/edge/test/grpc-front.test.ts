// The gRPC front (src/grpc-front/): on a connection that opens with one of its calls, the edge frames those
// calls itself while grpc-js (Node's HTTP/2) serves the rest of the same connection. A real grpc-js client and
// server over loopback; the front's method is also registered on grpc-js with a different answer, so every
// answer says which side served it.
import http from 'node:http';
import http2 from 'node:http2';
import net from 'node:net';
import * as grpc from '@grpc/grpc-js';
import { afterEach, describe, expect, it } from 'vitest';
import {
  ClientListener,
  EdgeStats,
  GrpcFront,
  RequestPipeline,
  installGrpcConnectionPolicy,
  type CallContext,
} from '../src';
import { ConnectionOutput } from '../src/grpc-front/connection-output';
import { ServerStreamData } from '../src/grpc-front/server-stream-data';
import { FRAME_HEADER_SIZE, FrameType, frameHeader } from '../src/http2-frames';

interface EchoRequest {
  text: string;
  pad?: string;
  answerBytes?: number;
  waitForCancel?: boolean;
}
interface EchoResponse {
  via: string;
  text: string;
  requestBytes: number;
  pad?: string;
}

const json = {
  serialize: (value: unknown): Buffer => Buffer.from(JSON.stringify(value)),
  deserialize: (bytes: Buffer): never => JSON.parse(bytes.toString()) as never,
};
const echo: grpc.MethodDefinition<EchoRequest, EchoResponse> = {
  path: '/test.Front/Echo',
  requestStream: false,
  responseStream: false,
  requestSerialize: json.serialize,
  requestDeserialize: json.deserialize,
  responseSerialize: json.serialize,
  responseDeserialize: json.deserialize,
};
const count: grpc.MethodDefinition<{ n: number }, { i: number }> = {
  path: '/test.Front/Count',
  requestStream: false,
  responseStream: true,
  requestSerialize: json.serialize,
  requestDeserialize: json.deserialize,
  responseSerialize: json.serialize,
  responseDeserialize: json.deserialize,
};
const service = { Echo: echo, Count: count };
const Client = grpc.makeGenericClientConstructor(service, 'Front');

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** The front's Echo: answers `answerBytes` of padding when asked, or waits for the client to go away. */
function frontEcho(cancelled: AbortSignal[], served: { calls: number }) {
  return (request: unknown, context: CallContext): Promise<EchoResponse> | EchoResponse => {
    served.calls++;
    const req = request as EchoRequest;
    const answer = {
      via: 'front',
      text: req.text,
      requestBytes: JSON.stringify(req).length,
      pad: req.answerBytes ? 'y'.repeat(req.answerBytes) : undefined,
    };
    if (!req.waitForCancel) return answer;
    return new Promise((resolve) => {
      context.signal?.addEventListener('abort', () => {
        cancelled.push(context.signal!);
        resolve(answer);
      });
    });
  };
}

async function start(options: { maxConcurrentStreams?: number; pingRule?: boolean } = {}) {
  const stats = new EdgeStats();
  const cancelled: AbortSignal[] = [];
  const served = { calls: 0 };
  const server = new grpc.Server();
  server.addService(service, {
    Echo: (
      call: grpc.ServerUnaryCall<EchoRequest, EchoResponse>,
      callback: grpc.sendUnaryData<EchoResponse>,
    ) => callback(null, { via: 'grpc-js', text: call.request.text, requestBytes: 0 }),
    Count: (call: grpc.ServerWritableStream<{ n: number }, { i: number }>) => {
      for (let i = 0; i < call.request.n; i++) call.write({ i });
      call.end();
    },
  });
  const injector = server.createConnectionInjector(grpc.ServerCredentials.createInsecure());
  if (options.pingRule) {
    installGrpcConnectionPolicy(server, { maxConcurrentStreams: 100, keepAliveMinTimeMs: 5000 }, stats);
  }
  const front = new GrpcFront({
    methods: [{ definition: echo as never, handler: frontEcho(cancelled, served) }],
    pipeline: new RequestPipeline([]),
    maxReceiveBytes: 4 << 20,
    maxConcurrentStreams: options.maxConcurrentStreams ?? 0,
    stats,
  });
  const listener = new ClientListener({
    grpc: (_socket, connection) => injector.injectConnection(connection),
    http: http.createServer(),
    front,
  });
  const { port } = await listener.listen('127.0.0.1', 0);
  cleanups.push(async () => {
    await listener.close();
    injector.destroy();
    server.forceShutdown();
  });
  const client = new Client(`127.0.0.1:${port}`, grpc.credentials.createInsecure(), {
    'grpc.max_receive_message_length': 8 << 20,
  });
  cleanups.push(() => client.close());
  const call = (request: EchoRequest, deadlineMs = 10_000): Promise<EchoResponse> =>
    new Promise((resolve, reject) =>
      client.makeUnaryRequest(
        echo.path,
        echo.requestSerialize,
        echo.responseDeserialize,
        request,
        { deadline: Date.now() + deadlineMs },
        (err: grpc.ServiceError | null, response?: EchoResponse) => (err ? reject(err) : resolve(response!)),
      ),
    );
  const countTo = (n: number): Promise<number[]> =>
    new Promise((resolve, reject) => {
      const seen: number[] = [];
      const stream = client.makeServerStreamRequest(
        count.path,
        count.requestSerialize,
        count.responseDeserialize,
        {
          n,
        },
      );
      stream.on('data', (m: { i: number }) => seen.push(m.i));
      stream.on('error', reject);
      stream.on('end', () => resolve(seen));
    });
  return { client, call, countTo, stats, cancelled, served, port };
}

describe('the gRPC front', () => {
  it('serves its calls itself and leaves the rest of the connection to grpc-js', async () => {
    const { call, countTo } = await start();
    const first = await call({ text: 'first' });
    expect(first).toMatchObject({ via: 'front', text: 'first' });
    const many = await Promise.all(Array.from({ length: 200 }, (_, i) => call({ text: `call ${i}` })));
    expect(many.map((r) => r.via)).toEqual(Array(200).fill('front'));
    expect(many.map((r) => r.text)).toEqual(Array.from({ length: 200 }, (_, i) => `call ${i}`));
    // A server stream on the same connection goes to grpc-js, interleaved with the front's answers.
    const [counted, during] = await Promise.all([countTo(500), call({ text: 'during' })]);
    expect(counted).toEqual(Array.from({ length: 500 }, (_, i) => i));
    expect(during.via).toBe('front');
  });

  it('sends and reads messages larger than the HTTP/2 windows whole', async () => {
    const { call } = await start();
    const big = await call({ text: 'big', pad: 'x'.repeat(300_000), answerBytes: 2_000_000 });
    expect(big.via).toBe('front');
    expect(big.requestBytes).toBeGreaterThan(300_000);
    expect(big.pad).toBe('y'.repeat(2_000_000));
    // Several at once share the connection window with each other.
    const answers = await Promise.all([1, 2, 3, 4].map((i) => call({ text: `b${i}`, answerBytes: 500_000 })));
    for (const a of answers) expect(a.pad?.length).toBe(500_000);
  });

  it('refuses streams past --max-concurrent-streams with REFUSED_STREAM and counts them', async () => {
    const { call, client, stats } = await start({ maxConcurrentStreams: 2 });
    await call({ text: 'opens the connection' });
    const waiting = [1, 2].map(() =>
      call({ text: 'held', waitForCancel: true }, 1500).catch((e: grpc.ServiceError) => e),
    );
    await new Promise((r) => setTimeout(r, 200));
    const refused = await call({ text: 'third' }, 2000).catch((e: grpc.ServiceError) => e);
    expect(stats.streamsRefused).toBeGreaterThanOrEqual(1);
    expect((refused as grpc.ServiceError).code).toBeDefined();
    await Promise.all(waiting);
    client.close();
  });

  it('tells a call that its client went away', async () => {
    const { call, cancelled, stats } = await start();
    await call({ text: 'opens the connection' });
    const err = await call({ text: 'held', waitForCancel: true }, 300).catch((e: grpc.ServiceError) => e);
    expect((err as grpc.ServiceError).code).toBe(grpc.status.DEADLINE_EXCEEDED);
    for (let i = 0; i < 100 && cancelled.length === 0; i++) await new Promise((r) => setTimeout(r, 10));
    expect(cancelled.length).toBe(1);
    expect(stats.streams).toBe(0);
  });
});

describe('client PINGs on a front connection', () => {
  it('are answered, and the ping rule (fed by the front, which answers them) still ends a connection that pings too often', async () => {
    const { port, stats } = await start({ pingRule: true });
    const session = http2.connect(`http://127.0.0.1:${port}`);
    session.on('error', () => undefined);
    cleanups.push(() => session.destroy());
    // The first request is the front's: the connection goes through it.
    const answer = await new Promise<string>((resolve, reject) => {
      const stream = session.request({
        ':method': 'POST',
        ':path': echo.path,
        'content-type': 'application/grpc',
      });
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('end', () => resolve(Buffer.concat(chunks).subarray(5).toString()));
      stream.on('error', reject);
      const body = Buffer.from(JSON.stringify({ text: 'ping test' }));
      const framed = Buffer.alloc(5 + body.length);
      framed.writeUInt32BE(body.length, 1);
      body.copy(framed, 5);
      stream.end(framed);
    });
    expect(JSON.parse(answer)).toMatchObject({ via: 'front' });
    const payload = Buffer.from('12345678');
    const echoed = await new Promise<Buffer>((resolve, reject) =>
      session.ping(payload, (err, _ms, ack) => (err ? reject(err) : resolve(ack))),
    );
    expect(echoed).toEqual(payload);
    // No stream open and nothing said by the member since: the third early ping after that ends the connection.
    const goaway = new Promise<number>((resolve) => session.once('goaway', (code: number) => resolve(code)));
    for (let i = 0; i < 4; i++) session.ping(() => undefined);
    expect(await goaway).toBe(http2.constants.NGHTTP2_ENHANCE_YOUR_CALM);
    expect(stats.connectionsClosed.too_many_pings).toBe(1);
  });
});

describe('the front’s connection output', () => {
  function fakeSocket() {
    const written: Buffer[] = [];
    const socket = {
      cork: () => undefined,
      uncork: () => undefined,
      write: (chunk: Buffer, callback?: () => void) => {
        written.push(chunk);
        callback?.();
        return true;
      },
    };
    return { socket: socket as never, bytes: () => Buffer.concat(written) };
  }
  const hooks = (highest = 0) => ({
    highestFrontStream: () => highest,
    serverInitialWindow: () => undefined,
    goingAway: () => undefined,
    windowOpened: () => undefined,
    backlogged: () => undefined,
    serverHeaders: () => true,
    serverReset: () => undefined,
  });

  it('sends nothing of its own before nghttp2’s SETTINGS, the server preface', async () => {
    const { socket, bytes } = fakeSocket();
    const output = new ConnectionOutput(socket, hooks());
    const ours = frameHeader(0, FrameType.WINDOW_UPDATE, 0, 0);
    output.send(ours);
    await new Promise((r) => setImmediate(r));
    expect(bytes().length, 'held until the server preface').toBe(0);
    const settings = frameHeader(0, FrameType.SETTINGS, 0, 0);
    output.fromServer([settings], () => undefined);
    expect(bytes()).toEqual(Buffer.concat([settings, ours]));
  });

  it('raises a GOAWAY’s last stream to the highest stream the front took', async () => {
    const { socket, bytes } = fakeSocket();
    const output = new ConnectionOutput(socket, hooks(7));
    const payload = Buffer.alloc(8);
    payload.writeUInt32BE(3, 0);
    output.fromServer([Buffer.concat([frameHeader(8, FrameType.GOAWAY, 0, 0), payload])], () => undefined);
    expect(bytes().readUInt32BE(FRAME_HEADER_SIZE)).toBe(7);
  });

  it('lets nghttp2’s output go on when a stream whose trailers it held for the front’s DATA is reset', () => {
    const { socket, bytes } = fakeSocket();
    const host = { output: undefined as unknown as ConnectionOutput, clientMaxFrameSize: 16_384 };
    const data = new ServerStreamData(host);
    const output = new ConnectionOutput(socket, {
      ...hooks(),
      serverHeaders: (id, endStream) => data.serverHeaders(id, endStream),
      serverReset: (id) => data.reset(id),
    });
    host.output = output;
    output.fromServer([frameHeader(0, FrameType.SETTINGS, 0, 0)], () => undefined);
    data.opened(1, 0); // the client's stream window is closed: the front's DATA waits
    output.fromServer([frameHeader(0, FrameType.HEADERS, 0x4, 1)], () => undefined);
    expect(data.send(1, Buffer.alloc(10), () => undefined)).toBe(true);
    // nghttp2's trailers wait for that DATA, and so does what nghttp2 writes after them.
    let done = false;
    const trailers = frameHeader(0, FrameType.HEADERS, 0x5, 1);
    const ping = Buffer.concat([frameHeader(8, FrameType.PING, 0, 0), Buffer.alloc(8)]);
    output.fromServer([trailers, ping], () => (done = true));
    expect(done).toBe(false);
    const before = bytes().length;
    // The client resets the stream: its DATA is dropped, nghttp2's output goes on.
    data.reset(1);
    expect(done).toBe(true);
    expect(bytes().length).toBe(before + trailers.length + ping.length);
  });

  it('holds nghttp2’s DATA the window cannot take, and takes the front’s spending out of WINDOW_UPDATEs', () => {
    const { socket, bytes } = fakeSocket();
    const output = new ConnectionOutput(socket, hooks());
    output.spend(65_530); // the front's answers took nearly all the window
    let done = false;
    const data = Buffer.concat([frameHeader(10, FrameType.DATA, 0, 1), Buffer.alloc(10)]);
    output.fromServer([data], () => (done = true));
    expect(done).toBe(false);
    expect(bytes().length).toBe(0);
    // The client gives back 100: nghttp2 hears nothing of it (the front's debt), the held frame goes out.
    expect(output.clientWindowUpdate(100)).toBe(0);
    expect(done).toBe(true);
    expect(bytes().length).toBe(19);
    expect(output.clientWindowUpdate(70_000)).toBe(70_000 - (65_530 - 100));
  });
});

// What a client can send that nghttp2 would bound but the front reads first (issue 18's fuzzing, test/fuzz
// h2front): raw frames on a connection that opens with the front's call.
describe('the front against abusive clients', () => {
  const END_STREAM = 0x1;
  const END_HEADERS = 0x4;
  const literal = (name: string, value: string | Buffer): Buffer => {
    const v = typeof value === 'string' ? Buffer.from(value) : value;
    const int = (n: number): Buffer => {
      if (n < 127) return Buffer.from([n]);
      const out = [127];
      for (n -= 127; n >= 128; n = Math.floor(n / 128)) out.push((n % 128) + 128);
      out.push(n);
      return Buffer.from(out);
    };
    return Buffer.concat([Buffer.from([0]), int(name.length), Buffer.from(name), int(v.length), v]);
  };
  const frame = (type: number, flags: number, id: number, payload: Buffer): Buffer =>
    Buffer.concat([frameHeader(payload.length, type, flags, id), payload]);
  const callHeaders = (path = echo.path): Buffer =>
    Buffer.concat([
      literal(':method', 'POST'),
      literal(':scheme', 'http'),
      literal(':path', path),
      literal('content-type', 'application/grpc'),
    ]);
  const echoCall = (id: number, request: EchoRequest): Buffer => {
    const body = Buffer.from(JSON.stringify(request));
    const message = Buffer.alloc(5 + body.length);
    message.writeUInt32BE(body.length, 1);
    body.copy(message, 5);
    return Buffer.concat([
      frame(FrameType.HEADERS, END_HEADERS, id, callHeaders()),
      frame(FrameType.DATA, END_STREAM, id, message),
    ]);
  };
  const settings = (entries: [number, number][] = []): Buffer => {
    const p = Buffer.alloc(6 * entries.length);
    entries.forEach(([id, v], i) => {
      p.writeUInt16BE(id, 6 * i);
      p.writeUInt32BE(v, 6 * i + 2);
    });
    return frame(FrameType.SETTINGS, 0, 0, p);
  };
  const PREFACE = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n');

  /** A raw connection: every frame the member sent, and whether it closed. */
  async function raw(port: number) {
    const socket = net.connect(port, '127.0.0.1');
    await new Promise((r) => socket.once('connect', r));
    cleanups.push(() => void socket.destroy());
    // Parsed as they come (DATA payloads dropped): a non-reading client's backlog is tens of MB.
    const parsed: { type: number; flags: number; id: number; payload: Buffer }[] = [];
    let rest: Buffer = Buffer.alloc(0);
    const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
    socket.on('error', () => undefined);
    const frames = () => parsed;
    const take = (chunk: Buffer): void => {
      rest = rest.length === 0 ? chunk : Buffer.concat([rest, chunk]);
      let at = 0;
      while (at + 9 <= rest.length) {
        const length = rest.readUIntBE(at, 3);
        if (at + 9 + length > rest.length) break;
        const type = rest[at + 3]!;
        parsed.push({
          type,
          flags: rest[at + 4]!,
          id: rest.readUInt32BE(at + 5) & 0x7fffffff,
          payload:
            type === FrameType.DATA ? Buffer.alloc(0) : Buffer.from(rest.subarray(at + 9, at + 9 + length)),
        });
        at += 9 + length;
      }
      rest = rest.subarray(at);
    };
    const read = () => socket.on('data', take);
    return { socket, frames, closed, read };
  }
  const goawayCode = (frames: { type: number; payload: Buffer }[]): number | undefined =>
    frames.find((f) => f.type === FrameType.GOAWAY)?.payload.readUInt32BE(4);

  it('ends a connection whose header block runs past 8 CONTINUATIONs (a CONTINUATION flood) with ENHANCE_YOUR_CALM', async () => {
    const { port } = await start();
    const c = await raw(port);
    c.read();
    const flood = Array.from({ length: 10_000 }, () => frame(FrameType.CONTINUATION, 0, 3, Buffer.alloc(0)));
    c.socket.write(
      Buffer.concat([
        PREFACE,
        settings(),
        echoCall(1, { text: 'opens' }),
        frame(FrameType.HEADERS, END_STREAM, 3, callHeaders()),
        ...flood,
      ]),
    );
    await c.closed;
    expect(goawayCode(c.frames())).toBe(http2.constants.NGHTTP2_ENHANCE_YOUR_CALM);
  });

  it('ends a connection whose header block decodes past 1 MiB (one-octet references to a large entry) before re-encoding it', async () => {
    const { port } = await start();
    const c = await raw(port);
    c.read();
    // Stream 3 goes to grpc-js: its block would be re-encoded for nghttp2 — 16,000 × 4,000 octets (64 MB).
    const block = Buffer.concat([
      callHeaders('/test.Front/Count'),
      Buffer.from([0x40]), // literal with incremental indexing, new name: dynamic table entry 62
      literal('x-big', Buffer.alloc(4000, 0x62)).subarray(1),
      Buffer.alloc(16_000, 0x80 | 62),
    ]);
    const before = process.memoryUsage().arrayBuffers;
    let peak = before;
    const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage().arrayBuffers)), 1);
    c.socket.write(
      Buffer.concat([
        PREFACE,
        settings(),
        echoCall(1, { text: 'opens' }),
        frame(FrameType.HEADERS, END_STREAM, 3, block.subarray(0, 16_384)),
        frame(FrameType.CONTINUATION, END_HEADERS, 3, block.subarray(16_384)),
      ]),
    );
    await c.closed;
    clearInterval(sampler);
    expect(goawayCode(c.frames())).toBe(http2.constants.NGHTTP2_ENHANCE_YOUR_CALM);
    expect(peak - before, 'the 64 MB block was never built').toBeLessThan(32 << 20);
  });

  it.each([
    ['requests of 2 KB (many reads)', 2000],
    ['small requests (one read)', 0],
  ])(
    'stops reading a client that does not read its answers, and serves it all once it reads again: %s',
    async (_, padBytes) => {
      const { port, served } = await start();
      const c = await raw(port);
      // Windows opened as far as they go: flow control bounds nothing here.
      const calls = 300;
      const answerBytes = 64 << 10;
      const wu = Buffer.alloc(4);
      wu.writeUInt32BE(0x7fffffff - 65_535);
      const requests: Buffer[] = [
        PREFACE,
        settings([[4, 0x7fffffff]]),
        frame(FrameType.WINDOW_UPDATE, 0, 0, wu),
      ];
      for (let i = 0; i < calls; i++) {
        requests.push(echoCall(1 + 2 * i, { text: `${i}`, pad: 'x'.repeat(padBytes), answerBytes }));
      }
      c.socket.write(Buffer.concat(requests));
      // Not reading: the member answers what it read before its output backed up, then reads no more.
      let seen = -1;
      while (served.calls !== seen) {
        seen = served.calls;
        await new Promise((r) => setTimeout(r, 300));
      }
      expect(served.calls, `${calls} × ${answerBytes} octets asked`).toBeLessThan(calls / 2);
      // Reading again: every call is answered (HEADERS with END_STREAM on each stream).
      c.read();
      const ended = () =>
        new Set(
          c
            .frames()
            .filter((f) => f.type === FrameType.HEADERS && f.flags & END_STREAM)
            .map((f) => f.id),
        );
      for (let i = 0; i < 400 && ended().size < calls; i++) await new Promise((r) => setTimeout(r, 25));
      expect(ended().size).toBe(calls);
      expect(served.calls).toBe(calls);
    },
  );

  // The front forwards frames of a stream it closed once grpc-js has a higher stream (it keeps no list of closed
  // ids); nghttp2 ignores them (HEADERS below its highest stream: NGHTTP2_ERR_IGN_HEADER_BLOCK), as RFC 9113
  // §5.1 asks of frames sent before the sender saw the stream's end.
  it('ignores frames the client had in flight on a stream the front closed, after grpc-js took a higher one', async () => {
    const { port, call } = await start();
    await call({ text: 'warm' }); // the listener and grpc-js are up
    const c = await raw(port);
    c.read();
    // Stream 3 is answered early (its deadline passes before its body ends): the front resets it, NO_ERROR.
    const early = Buffer.concat([
      literal(':method', 'POST'),
      literal(':scheme', 'http'),
      literal(':path', echo.path),
      literal('content-type', 'application/grpc'),
      literal('grpc-timeout', '1m'),
    ]);
    c.socket.write(
      Buffer.concat([
        PREFACE,
        settings(),
        echoCall(1, { text: 'opens' }),
        frame(FrameType.HEADERS, END_HEADERS, 3, early),
      ]),
    );
    const has = (type: number, id: number) => c.frames().some((f) => f.type === type && f.id === id);
    for (let i = 0; i < 200 && !has(FrameType.RST_STREAM, 3); i++)
      await new Promise((r) => setTimeout(r, 10));
    expect(has(FrameType.RST_STREAM, 3)).toBe(true);
    // grpc-js serves stream 5; then the client's late trailers and DATA for stream 3 arrive.
    const count = Buffer.concat([
      frame(FrameType.HEADERS, END_HEADERS, 5, callHeaders('/test.Front/Count')),
      frame(
        FrameType.DATA,
        END_STREAM,
        5,
        Buffer.concat([Buffer.from([0, 0, 0, 0, 7]), Buffer.from('{"n":1}')]),
      ),
    ]);
    c.socket.write(count);
    for (let i = 0; i < 200 && !has(FrameType.HEADERS, 5); i++) await new Promise((r) => setTimeout(r, 10));
    c.socket.write(
      Buffer.concat([
        frame(FrameType.DATA, 0, 3, Buffer.alloc(10)),
        frame(FrameType.HEADERS, END_HEADERS | END_STREAM, 3, literal('x-trailer', 'late')),
        echoCall(7, { text: 'after' }),
      ]),
    );
    for (let i = 0; i < 200 && !has(FrameType.DATA, 7); i++) await new Promise((r) => setTimeout(r, 10));
    expect(goawayCode(c.frames()), 'the connection lives on').toBeUndefined();
    expect(has(FrameType.DATA, 7)).toBe(true);
  });

  it('resets a stream of the front on a WINDOW_UPDATE of 0 or past 2^31-1, and passes malformed ones to nghttp2', async () => {
    const { port } = await start();
    const c = await raw(port);
    c.read();
    const inc = (n: number) => {
      const b = Buffer.alloc(4);
      b.writeUInt32BE(n);
      return b;
    };
    const open = (id: number) => frame(FrameType.HEADERS, END_HEADERS, id, callHeaders());
    c.socket.write(
      Buffer.concat([
        PREFACE,
        settings(),
        echoCall(1, { text: 'opens' }),
        open(3),
        frame(FrameType.WINDOW_UPDATE, 0, 3, inc(0)),
        open(5),
        frame(FrameType.WINDOW_UPDATE, 0, 5, inc(0x7fffffff)),
      ]),
    );
    const rst = (id: number) =>
      c
        .frames()
        .find((f) => f.type === FrameType.RST_STREAM && f.id === id)
        ?.payload.readUInt32BE(0);
    for (let i = 0; i < 200 && (rst(3) === undefined || rst(5) === undefined); i++) {
      await new Promise((r) => setTimeout(r, 10));
    }
    expect(rst(3)).toBe(http2.constants.NGHTTP2_PROTOCOL_ERROR);
    expect(rst(5)).toBe(http2.constants.NGHTTP2_FLOW_CONTROL_ERROR);
    // A WINDOW_UPDATE of 3 octets on a front stream: nghttp2's FRAME_SIZE_ERROR ends the connection.
    c.socket.write(Buffer.concat([open(7), frame(FrameType.WINDOW_UPDATE, 0, 7, Buffer.alloc(3))]));
    for (let i = 0; i < 200 && goawayCode(c.frames()) === undefined; i++) {
      await new Promise((r) => setTimeout(r, 10));
    }
    expect(goawayCode(c.frames())).toBe(http2.constants.NGHTTP2_FRAME_SIZE_ERROR);
  });
});
