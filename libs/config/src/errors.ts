// The config center's one error type; every surface (REST, gRPC) maps `kind` the same way.
import type { ConfigReleaseView, ValidationIssue } from './types';

export type ConfigErrorKind =
  'not-found' | 'conflict' | 'invalid' | 'bad-request' | 'unavailable' | 'too-large';

export interface ConflictDetails {
  expectedRevision: number;
  currentRevision: number;
  base: ConfigReleaseView | null;
  current: ConfigReleaseView | null;
}

export class ConfigError extends Error {
  constructor(
    readonly kind: ConfigErrorKind,
    message: string,
    readonly issues: ValidationIssue[] = [],
    readonly conflict?: ConflictDetails,
  ) {
    super(message);
    this.name = 'ConfigError';
  }
}

export const HTTP_STATUS: Record<ConfigErrorKind, number> = {
  'not-found': 404,
  conflict: 409,
  invalid: 400,
  'bad-request': 400,
  unavailable: 503,
  'too-large': 413,
};

/** gRPC status codes: NOT_FOUND, ABORTED, INVALID_ARGUMENT, INVALID_ARGUMENT, UNAVAILABLE, RESOURCE_EXHAUSTED. */
export const GRPC_CODE: Record<ConfigErrorKind, number> = {
  'not-found': 5,
  conflict: 10,
  invalid: 3,
  'bad-request': 3,
  unavailable: 14,
  'too-large': 8,
};
