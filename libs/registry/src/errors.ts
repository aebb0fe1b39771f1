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
    const { status, body } = restErrorForEtcdError(err);
    return { status, grpcCode: err.grpcCode, body };
  }
  const message = err instanceof Error ? err.message : String(err);
  return {
    status: 500,
    grpcCode: GrpcStatus.INTERNAL,
    body: { statusCode: 500, message, error: 'Internal Server Error' },
  };
}
