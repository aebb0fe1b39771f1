// The registry's one error type: a kind that maps to an HTTP status and a gRPC code in one table.
import { EtcdError, GrpcStatus, restErrorForEtcdError } from '@cairn/api';

export type RegistryErrorKind = 'invalid' | 'not-found' | 'conflict' | 'unavailable';

const TABLE: Record<RegistryErrorKind, { http: number; grpc: number; error: string }> = {
  invalid: { http: 400, grpc: GrpcStatus.INVALID_ARGUMENT, error: 'Bad Request' },
  'not-found': { http: 404, grpc: GrpcStatus.NOT_FOUND, error: 'Not Found' },
  conflict: { http: 409, grpc: GrpcStatus.ABORTED, error: 'Conflict' },
  unavailable: { http: 503, grpc: GrpcStatus.UNAVAILABLE, error: 'Service Unavailable' },
};

export class RegistryError extends Error {
  constructor(
    readonly kind: RegistryErrorKind,
    message: string,
  ) {
    super(message);
    this.name = 'RegistryError';
  }

  get httpStatus(): number {
    return TABLE[this.kind].http;
  }

  get grpcCode(): number {
    return TABLE[this.kind].grpc;
  }
}

/**
 * The REST answer of an etcd error: Nest's shape, except that authentication and authorisation refusals say
 * so as etcd's clients know them — 401 (no or bad credentials: etcd's InvalidArgument "user name is empty"
 * becomes 401 over REST; gRPC keeps etcd's code) or 403, with etcd's message as `error` and its gRPC `code`:
 *   403 {"statusCode":403,"error":"etcdserver: permission denied","code":7,"message":"etcdserver: permission denied"}
 * The same table as @cairn/audit's restErrorOf (used by the config center and the audit API); the registry
 * does not depend on that lib.
 */
function restErrorOf(err: EtcdError): { status: number; body: object } {
  const status =
    err.code === 'user-empty' || err.grpcCode === GrpcStatus.UNAUTHENTICATED
      ? 401
      : err.grpcCode === GrpcStatus.PERMISSION_DENIED
        ? 403
        : undefined;
  if (status === undefined) return restErrorForEtcdError(err);
  return {
    status,
    body: { statusCode: status, error: err.message, code: err.grpcCode, message: err.message },
  };
}

/** HTTP status, Nest-style body and gRPC code for any error a registry operation throws. */
export function describeError(err: unknown): { status: number; grpcCode: number; body: object } {
  if (err instanceof RegistryError) {
    return {
      status: err.httpStatus,
      grpcCode: err.grpcCode,
      body: { statusCode: err.httpStatus, message: err.message, error: TABLE[err.kind].error },
    };
  }
  if (err instanceof EtcdError) {
    const { status, body } = restErrorOf(err);
    return { status, grpcCode: err.grpcCode, body };
  }
  const message = err instanceof Error ? err.message : String(err);
  return {
    status: 500,
    grpcCode: GrpcStatus.INTERNAL,
    body: { statusCode: 500, message, error: 'Internal Server Error' },
  };
}
