// The gRPC side of the pipeline: a grpc-js Server whose every registered method — etcd's services, the
// registry's, the config center's, health, and any added later — is admitted by the pipeline, runs with its
// CallContext (grpcCallContext) and is reported once when it ends. The fast path (fast-unary.ts) builds the
// same RequestInfo for the calls it serves off the HTTP/2 stream.
import * as grpc from '@grpc/grpc-js';
import { toGrpcStatus } from '@cairn/api';
import { ANONYMOUS, type CallContext } from '../call-context';
import { type PipelineCall, type RequestPipeline, bounded, whenAdmitted } from './pipeline';
import type { CallKind, RequestInfo } from './request';
import { grpcCallCommonName } from '../tls/peer-certificate';

/** What every grpc-js server call has (grpc-js does not export its ServerSurfaceCall type). */
type SurfaceCall = Pick<
  grpc.ServerUnaryCall<unknown, unknown>,
  'metadata' | 'getDeadline' | 'getPeer' | 'once'
>;

const CALLS = new WeakMap<object, PipelineCall>();

/** A status a handler built itself (with metadata, say) passes as it is; anything else maps as etcd's. */
function asStatus(err: unknown): Partial<grpc.StatusObject> {
  const { code, details } = (err ?? {}) as { code?: unknown; details?: unknown };
  // A status object of the handler's own (grpc-js's shape): keep its metadata.
  if (typeof code === 'number' && typeof details === 'string') return err as Partial<grpc.StatusObject>;
  return toGrpcStatus(err);
}

/** The context the pipeline built for a grpc-js call (anonymous and unbounded outside a PipelinedGrpcServer). */
export function grpcCallContext(call: object): CallContext {
  return CALLS.get(call)?.context ?? { identity: ANONYMOUS };
}

/** The RequestInfo of a grpc-js call. */
export function grpcRequestInfo(
  call: SurfaceCall,
  method: string,
  kind: CallKind,
  blocking: boolean,
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
    blocking,
    remoteAddress: call.getPeer(),
    certificateCommonName: grpcCallCommonName(call),
    signal: aborted.signal,
  };
}

export interface PipelinedGrpcServerOptions {
  /** Unary methods that wait by design (etcd's Lock, Campaign; Defragment): only the client's deadline. */
  blockingUnary?: ReadonlySet<string>;
}

/**
 * A grpc-js Server that puts every method of every service it is given behind `pipeline`. Unary answers are
 * bounded by the call's deadline; streams are blocking by nature (their client's deadline only).
 */
export class PipelinedGrpcServer extends grpc.Server {
  constructor(
    private readonly pipeline: RequestPipeline,
    serverOptions: grpc.ServerOptions,
    private readonly pipelineOptions: PipelinedGrpcServerOptions = {},
  ) {
    super(serverOptions);
  }

  override addService(
    service: grpc.ServiceDefinition,
    implementation: grpc.UntypedServiceImplementation,
  ): void {
    const wrapped: grpc.UntypedServiceImplementation = {};
    for (const [name, definition] of Object.entries(service)) {
      const handler = implementation[name] ?? implementation[definition.originalName ?? ''];
      if (handler === undefined) continue; // grpc-js answers Unimplemented itself
      wrapped[name] = this.wrap(definition, handler);
    }
    super.addService(service, wrapped);
  }

  private wrap(definition: grpc.MethodDefinition<unknown, unknown>, handler: grpc.UntypedHandleCall) {
    const method = definition.path.slice(1);
    if (!definition.requestStream && !definition.responseStream) {
      return this.wrapUnary(method, handler as grpc.handleUnaryCall<unknown, unknown>);
    }
    const kind: CallKind =
      definition.requestStream && definition.responseStream
        ? 'bidi_stream'
        : definition.requestStream
          ? 'client_stream'
          : 'server_stream';
    return this.wrapStream(
      method,
      kind,
      handler as (stream: grpc.ServerWritableStream<unknown, unknown>) => void,
    );
  }

  private wrapUnary(
    method: string,
    handler: grpc.handleUnaryCall<unknown, unknown>,
  ): grpc.handleUnaryCall<unknown, unknown> {
    const blocking = this.pipelineOptions.blockingUnary?.has(method) ?? false;
    return (call, callback) => {
      let admission: PipelineCall | Promise<PipelineCall>;
      try {
        admission = this.pipeline.begin(grpcRequestInfo(call, method, 'unary', blocking));
      } catch (refusal) {
        callback(toGrpcStatus(refusal));
        return;
      }
      whenAdmitted(
        admission,
        (admitted) => {
          CALLS.set(call, admitted);
          const answer = new Promise<unknown>((resolve, reject) => {
            handler(call, (err, value) => (err ? reject(err) : resolve(value)));
          });
          bounded(admitted, answer).then(
            (value) => {
              admitted.end();
              callback(null, value);
            },
            (err: unknown) => {
              admitted.end(err);
              callback(asStatus(err));
            },
          );
        },
        (refusal) => callback(toGrpcStatus(refusal)),
      );
    };
  }

  private wrapStream(
    method: string,
    kind: CallKind,
    handler: (stream: grpc.ServerWritableStream<unknown, unknown>) => void,
  ): (stream: grpc.ServerWritableStream<unknown, unknown>) => void {
    return (stream) => {
      let admission: PipelineCall | Promise<PipelineCall>;
      try {
        admission = this.pipeline.begin(grpcRequestInfo(stream, method, kind, true));
      } catch (refusal) {
        stream.emit('error', toGrpcStatus(refusal));
        return;
      }
      // A stream admitted later (its token awaited) keeps what the client sent meanwhile: a readable side
      // stays paused until the handler reads it.
      whenAdmitted(
        admission,
        (admitted) => {
          CALLS.set(stream, admitted);
          stream.once('cancelled', () => admitted.end(undefined, 'Canceled'));
          stream.once('error', (err: unknown) => admitted.end(err));
          stream.once('close', () => admitted.end());
          if (stream.cancelled) {
            admitted.end(undefined, 'Canceled');
            return;
          }
          try {
            handler(stream);
          } catch (err) {
            // An exception while wiring the stream ends this stream, never the process.
            admitted.end(err);
            stream.emit('error', toGrpcStatus(err));
          }
        },
        (refusal) => stream.emit('error', toGrpcStatus(refusal)),
      );
    };
  }
}
