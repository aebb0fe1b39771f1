// Writes a Watch call's responses straight to its HTTP/2 stream, gRPC-framed here. grpc-js's call passes one
// message at a time to the HTTP/2 stream and takes the next only once that one has reached the socket, so a
// stream fanning out to many watchers sent about one message per event-loop turn. Written directly, the HTTP/2
// stream queues them and sends a turn's worth in one writev. Every response of the call goes this way (acks,
// cancels and progress too), so their order is kept; grpc-js still sends the headers and the final status.
//
// The HTTP/2 stream is in grpc-js's private call objects; when they are not what this expects there is no
// writer and the caller writes through grpc-js as before.
import type http2 from 'node:http2';
import * as grpc from '@grpc/grpc-js';

/** Sends one response (an object for `serialize`, or its encoded bytes); `written` once it left the process. */
export type WatchStreamWrite = (response: unknown, written: () => void) => void;

export function directWatchWriter(
  call: grpc.ServerDuplexStream<unknown, unknown>,
  serialize: (value: unknown) => Buffer,
): WatchStreamWrite | undefined {
  const stream = http2StreamOf(call);
  if (!stream) return undefined;
  // A write racing a reset emits 'error' on the stream; grpc-js listens only once. 'close' ends the call.
  stream.on('error', () => undefined);
  let headersSent = false;
  return (response, written) => {
    if (stream.destroyed || stream.closed) return;
    if (!headersSent) {
      // grpc-js answers the HEADERS (and later the trailers with the status); the messages are ours.
      call.sendMetadata(new grpc.Metadata());
      headersSent = true;
    }
    const body = Buffer.isBuffer(response) ? response : serialize(response);
    const prefix = Buffer.allocUnsafe(5);
    prefix[0] = 0; // not compressed
    prefix.writeUInt32BE(body.length, 1);
    stream.write(prefix);
    stream.write(body, () => written());
  };
}

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
