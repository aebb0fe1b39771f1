// The session guards. Client GOAWAY: the 226 bytes that make Node 20's nghttp2 abort the process (test/fuzz FINDINGS F3)
// end only their own session, and a client that closes gracefully with a request in flight still gets its
// answer. (Without the guard the first test aborts the test worker itself: vitest reports it as a crash.)
import http2 from 'node:http2';
import net, { type AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { guardSessionsOf } from '../src/session-guards';

// Preface; SETTINGS; a client GOAWAY (no stream open); HEADERS on stream 1; a SETTINGS frame of length 4.
const F3 =
  '505249202a20485454502f322e300d0a0d0a534d0d0a0d0a000000040000000000000016070000000000aed4a90a00000000' +
  '000000000000000000000000000000008c01040000000100073a6d6574686f6404504f535400073a736368656d6504687474' +
  '7000053a706174681f2f636169726e2e636f6e6669672e76312e436f6e6669672f4765744974656d000a3a617574686f7269' +
  '74790f3132372e302e302e313a3431353233000c636f6e74656e742d74797065116170706c69636174696f6e2f6772706378' +
  '0002746508747261696c657273000004040000000000be582888';

let server: http2.Http2Server | undefined;
afterEach(async () => {
  await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
  server = undefined;
});

async function listen(onStream: (stream: http2.ServerHttp2Stream) => void): Promise<number> {
  server = http2.createServer();
  guardSessionsOf(server, 300);
  server.on('session', (session) => session.on('error', () => undefined));
  server.on('stream', (stream) => {
    stream.on('error', () => undefined);
    onStream(stream);
  });
  await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
  return (server!.address() as AddressInfo).port;
}

describe('session guards', () => {
  it('ends the session of a client GOAWAY with nothing in flight before nghttp2 reads on (F3 leaves the process alive)', async () => {
    const port = await listen((stream) => {
      stream.respond({ ':status': 204 });
      stream.end();
    });
    const socket = net.connect(port, '127.0.0.1');
    socket.on('error', () => undefined);
    socket.resume(); // read, so the member's close is seen
    await new Promise<void>((resolve) => socket.once('connect', resolve));
    socket.write(Buffer.from(F3, 'hex'));
    await new Promise<void>((resolve) => socket.once('close', resolve));
    // Still here, and still serving.
    const client = http2.connect(`http://127.0.0.1:${port}`);
    client.on('error', () => undefined);
    const status = await new Promise<number>((resolve) => {
      const req = client.request({ ':path': '/' });
      req.on('response', (headers) => resolve(Number(headers[':status'])));
      req.end();
    });
    client.close();
    expect(status).toBe(204);
  });

  it('keeps a graceful close: a client that sends GOAWAY with a request in flight still gets its answer', async () => {
    const port = await listen((stream) => {
      // Answer a little later, after the client's GOAWAY arrived.
      setTimeout(() => {
        stream.respond({ ':status': 204 });
        stream.end();
      }, 100);
    });
    const client = http2.connect(`http://127.0.0.1:${port}`);
    const answered = new Promise<number>((resolve, reject) => {
      const req = client.request({ ':path': '/' });
      req.on('response', (headers) => resolve(Number(headers[':status'])));
      req.on('error', reject);
      req.end();
    });
    await new Promise((resolve) => setTimeout(resolve, 30));
    client.close(); // sends GOAWAY now, waits for the open stream
    expect(await answered).toBe(204);
  });

  it('closes a connection whose client sent the preface and a SETTINGS header but never the SETTINGS payload', async () => {
    const port = await listen(() => undefined);
    const socket = net.connect(port, '127.0.0.1');
    socket.on('error', () => undefined);
    socket.resume();
    await new Promise<void>((resolve) => socket.once('connect', resolve));
    const settingsHeader = Buffer.from([0, 0, 6, 0x4, 0, 0, 0, 0, 0]); // length 6, type SETTINGS, stream 0
    socket.write(Buffer.concat([Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n'), settingsHeader]));
    const started = Date.now();
    await new Promise<void>((resolve) => socket.once('close', resolve));
    expect(Date.now() - started).toBeGreaterThanOrEqual(250);
  });
});
