// The REST body of an etcd error, for the feature APIs above the KV (audit, config; the registry keeps the
// same table in its errors.ts, as it does not depend on this lib). Nest's shape ({statusCode, error,
// message}) as every feature answers, except that a refusal by authentication or authorisation says so the
// way etcd's clients know it: 401 (no or bad credentials) or 403 (not permitted), with etcd's exact message
// as `error` and the gRPC code as `code`:
//   403 {"statusCode":403,"error":"etcdserver: permission denied","code":7,"message":"etcdserver: permission denied"}
// etcd answers a missing user name with InvalidArgument (gRPC keeps that); over REST it is a 401: the request
// needs credentials.
import { type EtcdError, GrpcStatus, restErrorForEtcdError } from '@cairn/api';

export function restErrorOf(err: EtcdError): { status: number; body: Record<string, unknown> } {
  const status =
    err.code === 'user-empty' || err.grpcCode === GrpcStatus.UNAUTHENTICATED
      ? 401
      : err.grpcCode === GrpcStatus.PERMISSION_DENIED
        ? 403
        : undefined;
  if (status === undefined)
    return restErrorForEtcdError(err) as { status: number; body: Record<string, unknown> };
  return {
    status,
    body: { statusCode: status, error: err.message, code: err.grpcCode, message: err.message },
  };
}
