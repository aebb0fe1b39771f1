// grpc-js handlers that go through the pipeline: every service registered on a Cairn gRPC server (etcd's,
// the registry's, the config center's, health) wraps its methods with these, and the fast path builds the
// same RequestInfo for the calls it serves off the HTTP/2 stream.
import type * as grpc from '@grpc/grpc-js';
import { toGrpcStatus } from '@cairn/api';
import type { CallContext } from '../call-context';
import type { PipelineCall, RequestPipeline } from './pipeline';
import type { CallKind, RequestInfo } from './request';

/** What every grpc-js server call has (grpc-js does not export its ServerSurfaceCall type). */
type SurfaceCall = Pick<
  grpc.ServerUnaryCall<unknown, unknown>,
  'metadata' | 'getDeadline' | 'getPeer' | 'once'
>;

/** The RequestInfo of a grpc-js call. */
export function grpcRequestInfo(
  call: SurfaceCall,
  method: string,
  kind: CallKind,
  options: { blocking?: boolean; requestBytes?: number } = {},
): RequestInfo {
  const aborted = new AbortController();
  call.once('cancelled', () => aborted.abort());
  const deadline = call.getDeadline();
  const clientDeadline =
    deadline instanceof Date ? deadline.getTime() : Number.isFinite(deadline) ? Number(deadline) : undefined;
  return {
    surface: 'grpc',
    method,
    kind,
    header: (name) => {
      const value = call.metadata.get(name)[0];
      return value === undefined ? undefined : String(value);
    },
    clientDeadline,
    blocking: options.blocking ?? false,
    requestBytes: options.requestBytes,
    remoteAddress: call.getPeer(),
    signal: aborted.signal,
  };
}

/** A unary grpc-js method through the pipeline; errors answer as etcd's gRPC statuses. */
export function pipelinedUnary<Req, Res>(
  pipeline: RequestPipeline,
  method: string,
  handler: (request: Req, context: CallContext) => Promise<Res> | Res,
): grpc.handleUnaryCall<Req, Res> {
  return (call, callback) => {
    pipeline
      .unary(grpcRequestInfo(call, method, 'unary'), (context) => handler(call.request, context))
      .then(
        (response) => callback(null, response),
        (err: unknown) => callback(toGrpcStatus(err)),
      );
  };
}

/**
 * A streaming grpc-js method through the pipeline: admitted when it opens (a refusal ends the stream with
 * that status), reported once when it closes. `serve` wires the stream; it may call `call.end(error)` of the
 * PipelineCall it gets to record how the stream ended (otherwise it is OK, or Canceled when torn down).
 */
export function pipelinedStream<S extends SurfaceCall & NodeJS.EventEmitter>(
  pipeline: RequestPipeline,
  method: string,
  kind: Exclude<CallKind, 'unary'>,
  serve: (stream: S, call: PipelineCall) => void,
  options: { blocking?: boolean } = {},
): (stream: S) => void {
  return (stream) => {
    let admitted: PipelineCall;
    try {
      admitted = pipeline.begin(
        grpcRequestInfo(stream, method, kind, { blocking: options.blocking ?? true }),
      );
    } catch (err) {
      stream.emit('error', toGrpcStatus(err));
      return;
    }
    stream.once('cancelled', () => admitted.end(undefined, 'Canceled'));
    stream.once('error', (err: unknown) => admitted.end(err));
    stream.once('close', () => admitted.end());
    try {
      serve(stream, admitted);
    } catch (err) {
      // An exception while wiring the stream ends this stream, never the process.
      admitted.end(err);
      stream.emit('error', toGrpcStatus(err));
    }
  };
}
