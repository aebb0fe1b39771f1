// The gRPC front (src/grpc-front/): on a connection that opens with one of its calls, the edge frames those
// calls itself while grpc-js (Node's HTTP/2) serves the rest of the same connection. A real grpc-js client and
// server over loopback; the front's method is also registered on grpc-js with a different answer, so every
// answer says which side served it.
import http from 'node:http';
import http2 from 'node:http2';
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
function frontEcho(cancelled: AbortSignal[]) {
  return (request: unknown, context: CallContext): Promise<EchoResponse> | EchoResponse => {
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
    methods: [{ definition: echo as never, handler: frontEcho(cancelled) }],
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
  return { client, call, countTo, stats, cancelled, port };
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
