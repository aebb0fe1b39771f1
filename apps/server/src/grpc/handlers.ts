// Adapters from promise-returning API methods to grpc-js handlers: etcd's error mapping, the `hasleader`
// metadata rule (a client that requires a leader gets "no leader" when there is none) and the
// grpc_server_* metrics.
import type * as grpc from '@grpc/grpc-js';
import { etcdError, toGrpcStatus } from '@cairn/api';
import type { CairnNode } from '@cairn/server';
import type { CairnMetrics } from '../metrics';

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

export function codeName(code: number): string {
  return CODE_NAMES[code] ?? String(code);
}

export function requiresLeader(metadata: grpc.Metadata): boolean {
  return metadata.get('hasleader').some((value) => String(value) === 'true');
}

export interface RpcContext {
  node: CairnNode;
  metrics: CairnMetrics;
  service: string;
}

export function unary<Req, Res>(
  ctx: RpcContext,
  method: string,
  handler: (req: Req) => Promise<Res> | Res,
): grpc.handleUnaryCall<Req, Res> {
  return (call, callback) => {
    ctx.metrics.rpcStarted('unary', ctx.service, method);
    const fail = (err: unknown): void => {
      const status = toGrpcStatus(err);
      ctx.metrics.rpcHandled('unary', ctx.service, method, codeName(status.code));
      callback(status);
    };
    if (requiresLeader(call.metadata) && !ctx.node.hasLeader()) {
      fail(etcdError('no-leader'));
      return;
    }
    let pending: Promise<Res> | Res;
    try {
      pending = handler(call.request);
    } catch (err) {
      fail(err);
      return;
    }
    Promise.resolve(pending).then((response) => {
      ctx.metrics.rpcHandled('unary', ctx.service, method, 'OK');
      callback(null, response);
    }, fail);
  };
}

/** Records a stream's start now and its end (with the final code) once. */
export function trackStream(ctx: RpcContext, type: string, method: string): (code: number) => void {
  ctx.metrics.rpcStarted(type, ctx.service, method);
  let done = false;
  return (code) => {
    if (done) return;
    done = true;
    ctx.metrics.rpcHandled(type, ctx.service, method, codeName(code));
  };
}
