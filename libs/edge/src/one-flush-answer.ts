// A unary gRPC answer is HEADERS, one DATA frame and trailers (grpc-status). Through Node's public HTTP/2 API
// the trailers leave in a flush of their own, an event-loop turn or more after the DATA: Node asks for them
// only once the DATA write has completed, and `sendTrailers` submits them on a later setImmediate. Meanwhile
// the member runs whatever else is ready (Raft messages, applies), and the client waits for the trailers.
// Measured on puts at 1 in flight: the trailers followed the DATA by 0.4-1.6 ms.
//
// This answers in ONE flush: (1) the stream's writable side is shut right after the DATA is queued, as Node
// itself does for a response without trailers, so nghttp2 asks for the trailers while it frames the DATA;
// (2) they are submitted from inside that request, which nghttp2 allows, instead of a turn later. Both reach
// into Node's HTTP/2 internals (the stream's state flags and its native handle), so `probeOneFlushAnswers`
// proves them against a real loopback HTTP/2 exchange at start-up, and the public API is used where the
// probe fails (another Node version, say).
import http2 from 'node:http2';
import type { AddressInfo } from 'node:net';

/** Node's STREAM_FLAGS_HAS_TRAILERS (lib/internal/http2/core.js): holds the writable side open. */
const HAS_TRAILERS_FLAG = 0x20;

interface StreamInternals {
  state: { flags: number };
  handle: { trailers(headers: [string, number]): number };
}

let enabled = false;
// The private symbols Node keys a stream's state and native handle with: the same for every stream, so looked up
// once (on the first stream answered) rather than per answer.
let stateSymbol: symbol | undefined;
let handleSymbol: symbol | undefined;

/**
 * Answers `stream` with `headers`, `body` (one DATA frame) and `trailers`. In one flush when the probe
 * passed; through Node's public API otherwise. Throws as `respond` does when the client went away.
 */
export function answerInOneFlush(
  stream: http2.ServerHttp2Stream,
  headers: http2.OutgoingHttpHeaders,
  body: Buffer,
  trailers: Readonly<Record<string, string>>,
): void {
  stream.respond(headers, { waitForTrailers: true });
  const internals = enabled ? internalsOf(stream) : undefined;
  if (internals === undefined) {
    stream.once('wantTrailers', () => {
      // An event handler: a stream the client reset meanwhile must not throw out of it.
      try {
        stream.sendTrailers(trailers);
      } catch {
        stream.destroy();
      }
    });
    stream.end(body);
    return;
  }
  internals.state.flags &= ~HAS_TRAILERS_FLAG;
  stream.once('wantTrailers', () => {
    try {
      if (stream.destroyed || internals.handle.trailers(nghttpHeaderList(trailers)) < 0) stream.destroy();
    } catch {
      stream.destroy();
    }
  });
  stream.end(body);
}

/**
 * Turns one-flush answers on if they work on this Node: a loopback HTTP/2 server answers one request that way
 * and the client must see the body and the trailers. Resolves to whether they were turned on.
 */
export async function probeOneFlushAnswers(timeoutMs = 2000): Promise<boolean> {
  enabled = true;
  const server = http2.createServer();
  server.on('stream', (stream) => {
    stream.resume(); // read the request, as the gRPC path does
    try {
      answerInOneFlush(stream, { ':status': 200 }, Buffer.from('probe'), { 'x-probe': 'ok' });
    } catch {
      stream.destroy();
    }
  });
  let client: http2.ClientHttp2Session | undefined;
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => resolve());
    });
    const { port } = server.address() as AddressInfo;
    client = http2.connect(`http://127.0.0.1:${port}`);
    client.on('error', () => undefined);
    const session = client;
    enabled = await new Promise<boolean>((resolve) => {
      const timer = setTimeout(() => resolve(false), timeoutMs);
      const request = session.request({ ':path': '/' });
      let body = '';
      let trailer: string | undefined;
      request.setEncoding('utf8');
      request.on('data', (chunk: string) => (body += chunk));
      request.on('trailers', (headers) => (trailer = String(headers['x-probe'])));
      request.on('error', () => resolve(false));
      request.on('close', () => {
        clearTimeout(timer);
        resolve(body === 'probe' && trailer === 'ok');
      });
      request.end();
    });
  } catch {
    enabled = false;
  } finally {
    client?.destroy();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
  return enabled;
}

function internalsOf(stream: http2.ServerHttp2Stream): StreamInternals | undefined {
  if (stateSymbol === undefined || handleSymbol === undefined) {
    for (const symbol of Object.getOwnPropertySymbols(stream)) {
      if (symbol.description === 'state') stateSymbol = symbol;
      else if (symbol.description === 'kHandle') handleSymbol = symbol;
    }
    if (stateSymbol === undefined || handleSymbol === undefined) return undefined;
  }
  const own = stream as unknown as Record<symbol, unknown>;
  const state = own[stateSymbol];
  const handle = own[handleSymbol];
  if (typeof (state as { flags?: unknown } | undefined)?.flags !== 'number') return undefined;
  if (typeof (handle as { trailers?: unknown } | undefined)?.trailers !== 'function') return undefined;
  return { state, handle } as StreamInternals;
}

/** Headers in the form Node's native HTTP/2 handle takes them: "name\0value\0flags" per field, and a count. */
function nghttpHeaderList(headers: Readonly<Record<string, string>>): [string, number] {
  let list = '';
  let count = 0;
  for (const [name, value] of Object.entries(headers)) {
    list += `${name.toLowerCase()}\0${value}\0\0`;
    count++;
  }
  return [list, count];
}
