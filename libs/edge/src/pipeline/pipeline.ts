// The one request pipeline: every unary call and stream on every surface is admitted by the same policies,
// runs with the CallContext they built, and is reported to them once when it ends. Surfaces adapt to it in
// one place each (grpc-adapter.ts for grpc-js services and the fast path, http-adapter.ts for everything
// served over HTTP/1.1). It holds no state of its own beyond its policy list, so a copy can run on another
// thread.
import { type EtcdError, etcdError, toGrpcStatus } from '@cairn/api';
import { ANONYMOUS, type CallContext } from '../call-context';
import type { ContextDraft, Policy } from './policy';
import type { Outcome, RequestInfo } from './request';

/** Go gRPC's code names, as grpc_server_handled_total labels them. */
const CODE_NAMES = [
  'OK',
  'Canceled',
  'Unknown',
  'InvalidArgument',
  'DeadlineExceeded',
  'NotFound',
  'AlreadyExists',
  'PermissionDenied',
  'ResourceExhausted',
  'FailedPrecondition',
  'Aborted',
  'OutOfRange',
  'Unimplemented',
  'Internal',
  'Unavailable',
  'DataLoss',
  'Unauthenticated',
];

export function grpcCodeName(code: number): string {
  return CODE_NAMES[code] ?? String(code);
}

/** A call admitted by the pipeline: its context, and the one way to end it. */
export interface PipelineCall {
  readonly context: CallContext;
  readonly request: RequestInfo;
  /**
   * Ends the call once (later calls are ignored): `error` undefined = OK. `code` overrides the outcome's
   * code (an HTTP surface reports its status, e.g. '404').
   */
  end(error?: unknown, code?: string): void;
}

/**
 * The context a call runs with. Its signal is the request's, read when asked for: a caller may create it lazily
 * (unary-call.ts), and most calls never need one. A class, not a literal with a getter: that cost a closure and
 * an accessor pair per call. (A spread of it does not carry the signal: pass `signal: ctx.signal` along.)
 */
class PipelineContext implements CallContext {
  readonly #request: RequestInfo;

  constructor(
    readonly identity: CallContext['identity'],
    readonly deadline: number | undefined,
    readonly requireLeader: boolean,
    request: RequestInfo,
  ) {
    this.#request = request;
  }

  get signal(): AbortSignal | undefined {
    return this.#request.signal;
  }
}

/** A call from its admission to its one report (an object per call, no closures). */
class AdmittedCall implements PipelineCall {
  private readonly started = performance.now();
  private readonly draft: ContextDraft;
  private ended = false;
  context!: CallContext;

  constructor(
    private readonly policies: readonly Policy[],
    readonly request: RequestInfo,
  ) {
    this.draft = { identity: ANONYMOUS, deadline: request.clientDeadline, requireLeader: false };
  }

  end(error?: unknown, code?: string): void {
    if (this.ended) return;
    this.ended = true;
    const outcome: Outcome = {
      code: code ?? (error === undefined ? 'OK' : grpcCodeName(toGrpcStatus(error).code)),
      error: error === undefined ? undefined : (error as EtcdError | Error),
      seconds: (performance.now() - this.started) / 1000,
    };
    for (const policy of this.policies) {
      try {
        policy.complete?.(this.request, outcome);
      } catch {
        // A reporting policy must not turn an answer into a failure.
      }
    }
  }

  admitFrom(first: number): PipelineCall | Promise<PipelineCall> {
    const { policies, request, draft } = this;
    for (let i = first; i < policies.length; i++) {
      let waiting: void | Promise<void>;
      try {
        waiting = policies[i]!.admit?.(request, draft);
      } catch (err) {
        this.end(err);
        throw err;
      }
      if (waiting instanceof Promise) {
        return waiting.then(
          () => this.admitFrom(i + 1),
          (err: unknown) => {
            this.end(err);
            throw err;
          },
        );
      }
    }
    this.context = new PipelineContext(draft.identity, draft.deadline, draft.requireLeader, request);
    return this;
  }
}

export class RequestPipeline {
  constructor(private readonly policies: readonly Policy[]) {}

  /** The policies, in the order they admit a request. */
  get policyNames(): string[] {
    return this.policies.map((policy) => policy.name);
  }

  /**
   * Admits a request: every policy in order, then the context. A refusal throws the policy's error after
   * the refusal has been reported as the call's outcome. Synchronous unless a policy has to wait (the
   * authentication of a token another member issued a moment ago): then a promise of the call, which rejects
   * with the refusal. Use whenAdmitted() to handle both.
   */
  begin(request: RequestInfo): PipelineCall | Promise<PipelineCall> {
    return new AdmittedCall(this.policies, request).admitFrom(0);
  }

  /** A unary call from admission to its answer: the handler's result, or the error to answer with. */
  async unary<T>(request: RequestInfo, handler: (context: CallContext) => Promise<T> | T): Promise<T> {
    const call = await this.begin(request);
    try {
      const result = await bounded(
        call,
        Promise.resolve().then(() => handler(call.context)),
      );
      call.end();
      return result;
    } catch (err) {
      call.end(err);
      throw err;
    }
  }
}

/**
 * Runs `admitted` (the call, at once when admission was synchronous) or `refused` (the refusal, already
 * reported). A refusal thrown synchronously by begin() is the caller's to catch.
 */
export function whenAdmitted(
  admission: PipelineCall | Promise<PipelineCall>,
  admitted: (call: PipelineCall) => void,
  refused: (refusal: unknown) => void,
): void {
  if (admission instanceof Promise) admission.then(admitted, refused);
  else admitted(admission);
}

/**
 * What a call gets when its deadline passed: "context deadline exceeded" when it was the client's, etcd's
 * "request timed out" when it was the server's bound. Built only then: an Error captures a stack, measured at
 * several µs per call on the write path, where almost every call answers in time.
 */
export function deadlineError(call: PipelineCall): EtcdError {
  return call.context.deadline === call.request.clientDeadline
    ? etcdError('deadline-exceeded')
    : etcdError('timeout');
}

/**
 * The answer of `work`, unless the call's deadline passes first ("context deadline exceeded" when it was
 * the client's, etcd's "request timed out" when it was the server's bound) or the client goes away ("request
 * canceled"). The work itself is not stopped: a write already proposed still applies, as in etcd.
 */
export function bounded<T>(call: PipelineCall, work: Promise<T>): Promise<T> {
  const { deadline, signal } = call.context;
  if (deadline === undefined && !signal) return work;
  return new Promise<T>((resolve, reject) => {
    let timer: NodeJS.Timeout | undefined;
    const onAbort = (): void => settle(() => reject(etcdError('canceled')));
    const settle = (finish: () => void): void => {
      if (timer) clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      finish();
    };
    if (deadline !== undefined) {
      timer = setTimeout(() => settle(() => reject(deadlineError(call))), Math.max(0, deadline - Date.now()));
    }
    if (signal?.aborted) onAbort();
    else signal?.addEventListener('abort', onAbort, { once: true });
    work.then(
      (value) => settle(() => resolve(value)),
      (err: unknown) => settle(() => reject(err)),
    );
  });
}
