import http2 from 'node:http2';
import net, { type AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { answerInOneFlush, probeOneFlushAnswers } from '../src/one-flush-answer';

const TYPE_DATA = 0x0;
const TYPE_HEADERS = 0x1;
const FLAG_END_STREAM = 0x1;

interface Frame {
  type: number;
  flags: number;
  streamId: number;
}

/** The HTTP/2 frames in `bytes` (whole frames only, as the server sent them in one chunk). */
function framesIn(bytes: Buffer): Frame[] {
  const frames: Frame[] = [];
  for (let at = 0; at + 9 <= bytes.length;) {
    const length = bytes.readUIntBE(at, 3);
    frames.push({
      type: bytes[at + 3],
      flags: bytes[at + 4],
      streamId: bytes.readUInt32BE(at + 5) & 0x7fffffff,
    });
    at += 9 + length;
  }
  return frames;
}

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** An HTTP/2 server answering with answerInOneFlush, reached through a TCP relay that records what it sends. */
async function serverBehindRecorder(): Promise<{ url: string; chunks: Buffer[] }> {
  const server = http2.createServer();
  server.on('stream', (stream) => {
    stream.resume();
    stream.on('end', () =>
      answerInOneFlush(
        stream,
        { ':status': 200, 'content-type': 'application/grpc' },
        Buffer.from('answer'),
        {
          'grpc-status': '0',
          'grpc-message': '',
        },
      ),
    );
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  cleanups.push(() => new Promise<void>((resolve) => server.close(() => resolve())));
  const chunks: Buffer[] = [];
  const relay = net.createServer({ noDelay: true }, (client) => {
    const upstream = net.connect((server.address() as AddressInfo).port, '127.0.0.1');
    upstream.setNoDelay(true);
    client.on('data', (chunk) => upstream.write(chunk));
    upstream.on('data', (chunk: Buffer) => {
      chunks.push(chunk);
      client.write(chunk);
    });
    client.on('close', () => upstream.destroy());
    upstream.on('close', () => client.destroy());
  });
  await new Promise<void>((resolve) => relay.listen(0, '127.0.0.1', resolve));
  cleanups.push(() => new Promise<void>((resolve) => relay.close(() => resolve())));
  return { url: `http://127.0.0.1:${(relay.address() as AddressInfo).port}`, chunks };
}

async function request(url: string): Promise<{ body: string; trailers: http2.IncomingHttpHeaders }> {
  const session = http2.connect(url);
  cleanups.push(() => void session.destroy());
  // Settle the connection first, so the answer's bytes are the only ones that follow the request.
  await new Promise<void>((resolve) => session.once('remoteSettings', () => resolve()));
  await new Promise((resolve) => setTimeout(resolve, 50));
  return new Promise((resolve, reject) => {
    const req = session.request({ ':path': '/cairn.Test/Call', ':method': 'POST' });
    let body = '';
    let trailers: http2.IncomingHttpHeaders = {};
    req.setEncoding('utf8');
    req.on('data', (chunk: string) => (body += chunk));
    req.on('trailers', (headers) => (trailers = headers));
    req.on('error', reject);
    req.on('close', () => resolve({ body, trailers }));
    req.end('question');
  });
}

describe('answers in one flush', () => {
  it('the start-up probe finds that this Node supports them', async () => {
    expect(await probeOneFlushAnswers()).toBe(true);
  });

  it('HEADERS, DATA and the trailers reach the client in one write, and the client reads them all', async () => {
    expect(await probeOneFlushAnswers()).toBe(true);
    const { url, chunks } = await serverBehindRecorder();
    const { body, trailers } = await request(url);
    expect(body).toBe('answer');
    expect(trailers['grpc-status']).toBe('0');
    // The chunk that carries the answer's DATA also carries its HEADERS and the END_STREAM trailers.
    const answerChunk = chunks.find((chunk) =>
      framesIn(chunk).some((f) => f.type === TYPE_DATA && f.streamId === 1),
    );
    expect(answerChunk).toBeDefined();
    const frames = framesIn(answerChunk as Buffer).filter((f) => f.streamId === 1);
    expect(frames.map((f) => f.type)).toEqual([TYPE_HEADERS, TYPE_DATA, TYPE_HEADERS]);
    expect(frames[2].flags & FLAG_END_STREAM).toBe(FLAG_END_STREAM);
  });
});
