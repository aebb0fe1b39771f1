// One unary gRPC call served without grpc-js's call machinery: admitted by the request pipeline at its headers,
// its body read within the call's deadline, decoded, handled, bounded and answered through a transport. Two
// transports carry such calls: a stream of Node's HTTP/2 server (fast-unary.ts) and a stream the gRPC front
// frames itself (grpc-front/front-connection.ts). Request and response bytes go through the very
// (de)serializers grpc-js would use, errors map through the same toGrpcStatus, and every call passes the same
// pipeline as a grpc-js call (admitted, given its CallContext, reported once).
import type * as grpc from '@grpc/grpc-js';
import { etcdError, toGrpcStatus } from '@cairn/api';
import type { CallContext } from './call-context';
import { type PipelineCall, type RequestInfo, type RequestPipeline, deadlineError } from './pipeline';
import { GRPC_MESSAGE_REFUSALS, grpcMessage } from './grpc-wire';
import { requestBodyTimeout } from './request-body-bound';

export interface FastUnaryMethod {
  /** The method's definition, for its path and (de)serializers. */
  definition: grpc.MethodDefinition<unknown, unknown>;
  handler: (request: unknown, context: CallContext) => Promise<unknown> | unknown;
}

/** How a call reaches its client; every method may throw when the client went away (the call catches it). */
export interface UnaryTransport {
  /** A request header's (first) value. */
  header(name: string): string | undefined;
  readonly remoteAddress: string | undefined;
  readonly certificateCommonName: string | undefined;
  /** The answer: headers, this gRPC-framed message and OK trailers. */
  answer(message: Buffer): void;
  /** A trailers-only answer with this status (details not yet percent-encoded). */
  answerStatus(code: number, details: string): void;
  /** Ends the stream abruptly (RST_STREAM INTERNAL_ERROR). */
  reset(): void;
}

const INTERNAL = 13;

/**
 * grpc-js answers a malformed request message with INTERNAL; so does the call, word for word. Marked as the
 * client's fault, so the access log does not report each one as a defect (bad input must not flood the log).
 */
function clientFault(details: string): { code: number; details: string; clientFault: true } {
  return { code: INTERNAL, details, clientFault: true };
}

/** gRPC's `grpc-timeout` header (an integer and a unit H M S m u n) as an absolute deadline. */
export function grpcTimeoutDeadline(value: string | string[] | undefined, now: number): number | undefined {
  const text = Array.isArray(value) ? value[0] : value;
  const match = text === undefined ? null : /^(\d{1,8})([HMSmun])$/.exec(text);
  if (!match) return undefined;
  const unitMs = { H: 3_600_000, M: 60_000, S: 1000, m: 1, u: 0.001, n: 0.000001 }[match[2] as 'H'];
  return now + Number(match[1]) * unitMs;
}

/** What the pipeline knows of a unary call: an object per call, no closures; its signal made when asked for. */
class UnaryRequest implements RequestInfo {
  readonly surface = 'grpc';
  readonly kind = 'unary';
  readonly blocking = false;
  method: string;
  readonly clientDeadline: number | undefined;
  readonly remoteAddress: string | undefined;
  readonly certificateCommonName: string | undefined;

  constructor(
    fastMethod: FastUnaryMethod,
    private readonly transport: UnaryTransport,
    private readonly call: UnaryCall,
  ) {
    this.method = fastMethod.definition.path.slice(1);
    this.clientDeadline = grpcTimeoutDeadline(transport.header('grpc-timeout'), Date.now());
    this.remoteAddress = transport.remoteAddress;
    this.certificateCommonName = transport.certificateCommonName;
  }

  header(name: string): string | undefined {
    return this.transport.header(name);
  }

  get signal(): AbortSignal {
    return this.call.lazySignal();
  }
}

/**
 * A call from its headers on: feed it the body with data() and end(), or abort() when the client goes away.
 * Nothing it does throws: a failure becomes the call's error answer, a defect resets the stream.
 *
 * One timer bounds the whole call at its deadline (body not in: etcd's "request timed out"; handler not done:
 * deadlineError), and the context's AbortSignal exists only if a handler asks for it — an AbortController, its
 * listener and a second timer per call (bounded()) were measured at ≈ 3 µs of a put's CPU.
 */
export class UnaryCall {
  private answered = false;
  private succeeded = false;
  private call: PipelineCall | undefined;
  private admission: Promise<PipelineCall> | undefined;
  private controller: AbortController | undefined;
  private readonly chunks: Buffer[] = [];
  private received = 0;
  private deadlineTimer: NodeJS.Timeout | undefined;

  constructor(
    private readonly method: FastUnaryMethod,
    private readonly transport: UnaryTransport,
    private readonly maxReceiveBytes: number,
    pipeline: RequestPipeline,
  ) {
    let admission: PipelineCall | Promise<PipelineCall>;
    try {
      admission = pipeline.begin(new UnaryRequest(method, transport, this));
    } catch (refusal) {
      this.fail(refusal); // already reported by the pipeline
      return;
    }
    // Admission waits only for a token another member issued a moment ago (the body is read meanwhile); the
    // usual synchronous admission takes no promise.
    if (admission instanceof Promise) {
      this.admission = admission.then((call) => {
        this.admitted(call);
        return call;
      });
      this.admission.catch((refusal: unknown) => this.fail(refusal)); // already reported by the pipeline
    } else {
      this.admitted(admission);
    }
  }

  /** The call's AbortSignal, made when first asked for. */
  lazySignal(): AbortSignal {
    return (this.controller ??= new AbortController()).signal;
  }

  /** A piece of the request body; past the size limit it is only counted (the answer refuses it at end()). */
  data(chunk: Buffer): void {
    this.received += chunk.length;
    if (this.received <= this.maxReceiveBytes + 5) this.chunks.push(chunk);
  }

  /** The client ended its request: decode and handle it. */
  end(): void {
    this.guarded(() => this.onEnd());
  }

  /** The client went away (reset the stream or the connection closed) before the answer. */
  abort(): void {
    if (this.succeeded) return;
    this.controller?.abort(); // a handler that asked for the signal hears it
    this.fail(etcdError('canceled')); // answered to nobody: the call ends as canceled
  }

  private admitted(call: PipelineCall): void {
    this.call = call;
    if (this.failure !== undefined) {
      call.end(this.failure); // answered (refused, timed out or aborted) while admission waited
      return;
    }
    // The call's deadline (the client's, or the server's unary bound) ends it: a body that never ends is
    // answered "request timed out", a handler that takes too long deadlineError.
    const deadline = call.context.deadline;
    if (this.answered || deadline === undefined || !Number.isFinite(deadline)) return;
    this.deadlineTimer = setTimeout(
      () => {
        this.deadlineTimer = undefined;
        this.fail(this.bodyEnded ? deadlineError(call) : requestBodyTimeout());
      },
      Math.max(0, deadline - Date.now()),
    );
  }

  private bodyEnded = false;
  /** The status the call was answered with when it failed. */
  private failure: { code: number; details: string } | undefined;

  private onEnd(): void {
    this.bodyEnded = true;
    if (this.answered) return;
    const body = this.chunks.length === 1 ? this.chunks[0] : Buffer.concat(this.chunks);
    if (body.length < 5) return this.fail(clientFault('Received incomplete message'));
    const length = body.readUInt32BE(1);
    if (length > this.maxReceiveBytes)
      return this.fail(GRPC_MESSAGE_REFUSALS.tooLarge(length, this.maxReceiveBytes));
    if (body[0] !== 0) return this.fail({ ...GRPC_MESSAGE_REFUSALS.compressed(), clientFault: true });
    if (body.length !== 5 + length) return this.fail(clientFault('Received a malformed unary request'));
    let request: unknown;
    try {
      request = this.method.definition.requestDeserialize(body.subarray(5));
    } catch {
      return this.fail(clientFault('Error deserializing request'));
    }
    if (this.call) this.run(this.call, request);
    else
      this.admission?.then(
        (call) => this.run(call, request),
        () => undefined,
      ); // a refusal is answered above
  }

  private run(call: PipelineCall, request: unknown): void {
    if (this.answered) return;
    let pending: unknown;
    try {
      pending = this.method.handler(request, call.context);
    } catch (err) {
      this.fail(err);
      return;
    }
    if (pending instanceof Promise) {
      // The work itself is not stopped by a deadline or an abort: a write already proposed still applies.
      pending.then(
        (response) => this.succeed(response),
        (err: unknown) => this.fail(err),
      );
    } else {
      this.succeed(pending);
    }
  }

  private succeed(response: unknown): void {
    this.guarded(() => {
      this.stopTimer();
      if (this.answered) return;
      let payload: Buffer;
      try {
        payload = this.method.definition.responseSerialize(response);
      } catch {
        this.fail({ code: INTERNAL, details: 'Error serializing response' });
        return;
      }
      this.answered = true;
      this.succeeded = true;
      this.call?.end();
      try {
        this.transport.answer(grpcMessage(payload));
      } catch {
        // The client went away meanwhile.
      }
    });
  }

  private fail(err: unknown): void {
    this.guarded(() => {
      this.stopTimer();
      if (this.answered) return;
      this.answered = true;
      const status = toGrpcStatus(err);
      this.failure = status;
      // The failure itself, not its status: the access log keeps an exception's stack, a refusal its marks.
      this.call?.end(err ?? status);
      try {
        this.transport.answerStatus(status.code, status.details);
      } catch {
        // The client went away meanwhile.
      }
    });
  }

  /** Whether the call was answered successfully (after which a stream's close is no abort). */
  get answeredOk(): boolean {
    return this.succeeded;
  }

  private stopTimer(): void {
    if (this.deadlineTimer !== undefined) clearTimeout(this.deadlineTimer);
    this.deadlineTimer = undefined;
  }

  // Every entry point runs in an event handler or a promise callback: an exception resets this stream only.
  private guarded(fn: () => void): void {
    try {
      fn();
    } catch {
      try {
        this.transport.reset();
      } catch {
        // Nothing more to do for this stream.
      }
    }
  }
}
