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
import type * as grpc from '@grpc/grpc-js';
import { toGrpcStatus } from '@cairn/api';
import type { CallContext } from './call-context';
import { type PipelineCall, type RequestPipeline, bounded } from './pipeline';
import { type Http2StreamRoute, isPlainGrpcCall } from './grpc-stream-router';
import { GRPC_MESSAGE_REFUSALS, grpcMessage, percentEncodeGrpcMessage } from './grpc-wire';
import { answerInOneFlush } from './one-flush-answer';
import { Http2ErrorCode } from './http2-frames';
import { boundRequestBody, requestBodyTimeout } from './request-body-bound';
import { verifiedCommonName } from './tls/peer-certificate';

export interface FastUnaryMethod {
  /** The method's definition, for its path and (de)serializers. */
  definition: grpc.MethodDefinition<unknown, unknown>;
  handler: (request: unknown, context: CallContext) => Promise<unknown> | unknown;
}

const RESPONSE_HEADERS = {
  ':status': 200,
  'content-type': 'application/grpc+proto',
  'grpc-accept-encoding': 'identity,deflate,gzip',
  'grpc-encoding': 'identity',
};
const OK_TRAILERS = { 'grpc-status': '0', 'grpc-message': '' };
const INTERNAL = 13;

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

/** The pipeline's view of a call on the short road (what grpcRequestInfo gives for a grpc-js call). */
function admit(
  pipeline: RequestPipeline,
  stream: http2.ServerHttp2Stream,
  headers: http2.IncomingHttpHeaders,
  succeeded: () => boolean,
): PipelineCall | Promise<PipelineCall> {
  const aborted = new AbortController();
  // Every stream closes, but after a successful answer the work is over: aborting builds a DOMException and
  // dispatches an event, measured at several µs per call when done after every answer.
  stream.once('close', () => {
    if (!succeeded()) aborted.abort();
  });
  return pipeline.begin({
    surface: 'grpc',
    method: (headers[':path'] ?? '').slice(1),
    kind: 'unary',
    header: (name) => {
      const value = headers[name];
      return Array.isArray(value) ? value[0] : value;
    },
    clientDeadline: grpcTimeoutDeadline(headers['grpc-timeout'], Date.now()),
    blocking: false,
    remoteAddress: stream.session?.socket?.remoteAddress,
    certificateCommonName: verifiedCommonName(stream.session?.socket),
    signal: aborted.signal,
  });
}

/** gRPC's `grpc-timeout` header (an integer and a unit H M S m u n) as an absolute deadline. */
export function grpcTimeoutDeadline(value: string | string[] | undefined, now: number): number | undefined {
  const text = Array.isArray(value) ? value[0] : value;
  const match = text === undefined ? null : /^(\d{1,8})([HMSmun])$/.exec(text);
  if (!match) return undefined;
  const unitMs = { H: 3_600_000, M: 60_000, S: 1000, m: 1, u: 0.001, n: 0.000001 }[match[2] as 'H'];
  return now + Number(match[1]) * unitMs;
}

function serve(
  m: FastUnaryMethod,
  stream: http2.ServerHttp2Stream,
  headers: http2.IncomingHttpHeaders,
  maxReceiveBytes: number,
  pipeline: RequestPipeline,
): void {
  // Every function below runs in an event handler or a promise callback: an exception in one resets this stream
  // (RST_STREAM INTERNAL_ERROR) and goes no further.
  const guarded =
    <A extends unknown[]>(fn: (...args: A) => void) =>
    (...args: A): void => {
      try {
        fn(...args);
      } catch {
        resetStream(stream);
      }
    };
  let answered = false;
  let succeeded = false;
  let call: PipelineCall | undefined;
  const fail = guarded((err: unknown): void => {
    if (answered) return;
    answered = true;
    const status = toGrpcStatus(err);
    call?.end(status);
    if (stream.destroyed || stream.closed) return;
    try {
      stream.respond(
        {
          ...RESPONSE_HEADERS,
          'grpc-status': String(status.code),
          'grpc-message': percentEncodeGrpcMessage(status.details),
        },
        { endStream: true },
      );
    } catch {
      // The client went away meanwhile.
    }
  });
  const succeed = guarded((response: unknown): void => {
    if (answered) return;
    let payload: Buffer;
    try {
      payload = m.definition.responseSerialize(response);
    } catch {
      fail({ code: INTERNAL, details: 'Error serializing response' });
      return;
    }
    answered = true;
    succeeded = true;
    call?.end();
    if (stream.destroyed || stream.closed) return;
    try {
      answerInOneFlush(stream, RESPONSE_HEADERS, grpcMessage(payload), OK_TRAILERS);
    } catch {
      // The client went away meanwhile.
    }
  });

  stream.on('error', () => undefined); // a reset by the client; nothing to answer
  let admission: PipelineCall | Promise<PipelineCall>;
  try {
    admission = admit(pipeline, stream, headers, () => succeeded);
  } catch (refusal) {
    fail(refusal); // already reported by the pipeline
    return;
  }
  // A body that never ends is answered at the call's deadline (the client's, or the server's unary bound).
  const boundBody = (admittedCall: PipelineCall): void =>
    boundRequestBody(stream, admittedCall.context.deadline, () => fail(requestBodyTimeout()));
  // Admission waits only for a token another member issued a moment ago (the body is read meanwhile); the
  // usual synchronous admission takes no promise.
  let waitingAdmission: Promise<PipelineCall> | undefined;
  if (admission instanceof Promise) {
    waitingAdmission = admission.then((admittedCall) => {
      call = admittedCall;
      boundBody(admittedCall);
      return admittedCall;
    });
    waitingAdmission.catch((refusal: unknown) => fail(refusal)); // already reported by the pipeline
  } else {
    call = admission;
    boundBody(admission);
  }
  const chunks: Buffer[] = [];
  let received = 0;
  stream.on(
    'data',
    guarded((chunk: Buffer) => {
      received += chunk.length;
      if (received <= maxReceiveBytes + 5) chunks.push(chunk);
    }),
  );
  stream.once(
    'end',
    guarded(() => {
      const body = chunks.length === 1 ? chunks[0] : Buffer.concat(chunks);
      if (body.length < 5) {
        fail({ code: INTERNAL, details: 'Received incomplete message' });
        return;
      }
      const length = body.readUInt32BE(1);
      if (length > maxReceiveBytes) {
        fail(GRPC_MESSAGE_REFUSALS.tooLarge(length, maxReceiveBytes));
        return;
      }
      if (body[0] !== 0) {
        fail(GRPC_MESSAGE_REFUSALS.compressed());
        return;
      }
      if (body.length !== 5 + length) {
        fail({ code: INTERNAL, details: 'Received a malformed unary request' });
        return;
      }
      let request: unknown;
      try {
        request = m.definition.requestDeserialize(body.subarray(5));
      } catch {
        fail({ code: INTERNAL, details: 'Error deserializing request' });
        return;
      }
      const run = (admittedCall: PipelineCall): void => {
        let pending: unknown;
        try {
          pending = m.handler(request, admittedCall.context);
        } catch (err) {
          fail(err);
          return;
        }
        if (pending instanceof Promise) bounded(admittedCall, pending).then(succeed, fail);
        else succeed(pending);
      };
      if (call) run(call);
      else waitingAdmission?.then(run, () => undefined); // a refusal is answered by its catch above
    }),
  );
}

/** Ends a stream with RST_STREAM(INTERNAL_ERROR), whatever state it is in. */
function resetStream(stream: http2.ServerHttp2Stream): void {
  try {
    if (!stream.destroyed) stream.close(Http2ErrorCode.INTERNAL_ERROR);
  } catch {
    stream.destroy();
  }
}
