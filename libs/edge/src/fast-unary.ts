// A short road for hot unary gRPC calls: served straight off the HTTP/2 stream of the client connection instead
// of through grpc-js's call machinery (interceptor chain, Metadata objects, channelz and call objects per
// request), each answered in one flush (one-flush-answer.ts). A grpc-timeout is left to the client, which
// enforces its deadline itself.
//
// Everything else (streams, other services, compressed messages, anything unusual) still goes to grpc-js on the
// same connection: this is a route (routeGrpcStreams, grpc-stream-router.ts) in front of grpc-js's connection
// injector. Request and response bytes go through the very (de)serializers grpc-js would use and errors map
// through the same toGrpcStatus, and every call passes the same request pipeline as a grpc-js call (admitted,
// given its CallContext, reported once). Which calls take this road is the caller's: apps/server serves etcd's
// KV Range/Put/DeleteRange/Txn here (etcd-grpc-server.ts).
import type http2 from 'node:http2';
import type { RequestPipeline } from './pipeline';
import { type Http2StreamRoute, isPlainGrpcCall } from './grpc-stream-router';
import { percentEncodeGrpcMessage } from './grpc-wire';
import { answerInOneFlush } from './one-flush-answer';
import { Http2ErrorCode } from './http2-frames';
import { verifiedCommonName } from './tls/peer-certificate';
import { type FastUnaryMethod, UnaryCall, type UnaryTransport } from './unary-call';

export { type FastUnaryMethod, grpcTimeoutDeadline } from './unary-call';

const RESPONSE_HEADERS = {
  ':status': 200,
  'content-type': 'application/grpc+proto',
  'grpc-accept-encoding': 'identity,deflate,gzip',
  'grpc-encoding': 'identity',
};
const OK_TRAILERS = { 'grpc-status': '0', 'grpc-message': '' };

/** The route that serves `methods` on the short road (give it to routeGrpcStreams). */
export function fastUnaryRoute(
  methods: readonly FastUnaryMethod[],
  maxReceiveBytes: number,
  pipeline: RequestPipeline,
): Http2StreamRoute {
  const byPath = new Map(methods.map((m) => [m.definition.path, m]));
  return (stream, headers) => {
    const method = byPath.get(headers[':path'] ?? '');
    if (method === undefined || !isPlainGrpcCall(headers)) return false;
    serve(method, stream, headers, maxReceiveBytes, pipeline);
    return true;
  };
}

/** A call on a stream of Node's HTTP/2 server. */
function serve(
  method: FastUnaryMethod,
  stream: http2.ServerHttp2Stream,
  headers: http2.IncomingHttpHeaders,
  maxReceiveBytes: number,
  pipeline: RequestPipeline,
): void {
  const transport: UnaryTransport = {
    header: (name) => {
      const value = headers[name];
      return Array.isArray(value) ? value[0] : value;
    },
    remoteAddress: stream.session?.socket?.remoteAddress,
    certificateCommonName: verifiedCommonName(stream.session?.socket),
    answer: (message) => {
      if (stream.destroyed || stream.closed) return;
      answerInOneFlush(stream, RESPONSE_HEADERS, message, OK_TRAILERS);
    },
    answerStatus: (code, details) => {
      if (stream.destroyed || stream.closed) return;
      stream.respond(
        {
          ...RESPONSE_HEADERS,
          'grpc-status': String(code),
          'grpc-message': percentEncodeGrpcMessage(details),
        },
        { endStream: true },
      );
    },
    reset: () => resetStream(stream),
  };
  stream.on('error', () => undefined); // a reset by the client; nothing to answer
  const call = new UnaryCall(method, transport, maxReceiveBytes, pipeline);
  // Every stream closes, but after a successful answer the work is over: aborting builds a DOMException and
  // dispatches an event, measured at several µs per call when done after every answer.
  stream.once('close', () => {
    if (!call.answeredOk) call.abort();
  });
  stream.on('data', (chunk: Buffer) => call.data(chunk));
  stream.once('end', () => call.end());
}

/** Ends a stream with RST_STREAM(INTERNAL_ERROR), whatever state it is in. */
function resetStream(stream: http2.ServerHttp2Stream): void {
  try {
    if (!stream.destroyed) stream.close(Http2ErrorCode.INTERNAL_ERROR);
  } catch {
    stream.destroy();
  }
}
