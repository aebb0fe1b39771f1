// Writes a Watch call's responses straight to its HTTP/2 stream, gRPC-framed here. grpc-js's call passes one
// message at a time to the HTTP/2 stream and takes the next only once that one has reached the socket, so a
// stream fanning out to many watchers sent about one message per event-loop turn. Here the responses of one turn
// (a fan-out turn gives a stream one per watcher and revision) are framed into one buffer and written once, at
// the end of the turn. Every response of the call goes this way (acks, cancels and progress too), so their order
// is kept; grpc-js still sends the headers and the final status.
//
// The HTTP/2 stream is in grpc-js's private call objects; when they are not what this expects there is no
// writer and the caller writes through grpc-js as before.
import type http2 from 'node:http2';
import * as grpc from '@grpc/grpc-js';
import { frontDataWriter } from '@cairn/edge';

/**
 * Sends one response (an object for `serialize`, or its encoded bytes); `written` once it left the process.
 * `flush` writes what this turn queued at once: before the call ends, so no response comes after the status.
 */
export type WatchStreamWrite = ((response: unknown, written: () => void) => void) & { flush(): void };

export function directWatchWriter(
  call: grpc.ServerDuplexStream<unknown, unknown>,
  serialize: (value: unknown) => Buffer,
): WatchStreamWrite | undefined {
  const stream = http2StreamOf(call);
  if (!stream) return undefined;
  // On a gRPC front connection the front frames the DATA and writes it with the connection's other frames.
  let viaFront = frontDataWriter(stream);
  const send = (data: Buffer, written: () => void): void => {
    if (viaFront?.(data, written)) return;
    viaFront = undefined; // a stream the front does not follow: nghttp2 writes all of it
    stream.write(data, written);
  };
  // A write racing a reset emits 'error' on the stream; grpc-js listens only once. 'close' ends the call.
  stream.on('error', () => undefined);
  let headersSent = false;
  let bodies: Buffer[] = [];
  let callbacks: Array<() => void> = [];
  let bytes = 0;
  const flush = (): void => {
    if (bodies.length === 0) return;
    const batch = bodies;
    const done = callbacks;
    const out = Buffer.allocUnsafe(bytes);
    bodies = [];
    callbacks = [];
    bytes = 0;
    if (stream.destroyed || stream.closed) return;
    let pos = 0;
    for (const body of batch) {
      out[pos] = 0; // not compressed
      out.writeUInt32BE(body.length, pos + 1);
      out.set(body, pos + 5);
      pos += 5 + body.length;
    }
    send(out, () => {
      for (const written of done) written();
    });
  };
  const write = (response: unknown, written: () => void): void => {
    if (stream.destroyed || stream.closed) return;
    if (!headersSent) {
      // grpc-js answers the HEADERS (and later the trailers with the status); the messages are ours.
      call.sendMetadata(new grpc.Metadata());
      headersSent = true;
    }
    const body = Buffer.isBuffer(response) ? response : serialize(response);
    if (body.length >= DIRECT_BYTES) {
      // A big response (a parked watcher catching up) is written as it is, after what is queued: not copied.
      flush();
      const prefix = Buffer.allocUnsafe(5);
      prefix[0] = 0; // not compressed
      prefix.writeUInt32BE(body.length, 1);
      send(prefix, () => undefined);
      send(body, () => written());
      return;
    }
    // The first response of a turn schedules the write of them all, once this turn's synchronous work is done.
    if (bodies.length === 0) queueMicrotask(flush);
    bodies.push(body);
    callbacks.push(written);
    bytes += 5 + body.length;
    // Written in pieces of about a flow-control window: `written` then comes back as the client reads, not
    // only once a whole turn's worth has left, so the caller's bound on unsent bytes refills without a gap.
    if (bytes >= MAX_WRITE_BYTES) flush();
  };
  return Object.assign(write, { flush });
}

/** Bytes gathered into one HTTP/2 stream write at most (Node's default stream window is 64 KiB). */
const MAX_WRITE_BYTES = 64 * 1024;
/** Responses this big are written on their own instead of copied into a gathered write. */
const DIRECT_BYTES = 16 * 1024;

/** The HTTP/2 stream under a grpc-js server call: call.call(.nextCall)*.stream. */
function http2StreamOf(call: object): http2.ServerHttp2Stream | undefined {
  let node: unknown = (call as { call?: unknown }).call;
  for (let depth = 0; depth < 4 && node && typeof node === 'object'; depth++) {
    const stream = (node as { stream?: unknown }).stream;
    if (isServerStream(stream)) return stream;
    node = (node as { nextCall?: unknown }).nextCall;
  }
  return undefined;
}

function isServerStream(value: unknown): value is http2.ServerHttp2Stream {
  if (!value || typeof value !== 'object') return false;
  const stream = value as Partial<http2.ServerHttp2Stream>;
  return (
    typeof stream.respond === 'function' &&
    typeof stream.write === 'function' &&
    typeof stream.sendTrailers === 'function'
  );
}
