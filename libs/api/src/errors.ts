import { STATUS_CODES } from 'node:http';
import { status as GrpcStatus } from '@grpc/grpc-js';

export { GrpcStatus };

/** One row of the error table: etcd's exact message (clients match on it) and its gRPC status code. */
export interface EtcdErrorSpec {
  readonly message: string;
  readonly grpcCode: GrpcStatus;
}

/**
 * Every server error etcd sends (etcd api/v3rpc/rpctypes/error.go), keyed by Cairn's error code.
 * The message strings are part of the wire contract: Go clientv3, jetcd and the etcd3 npm client map them
 * back to typed errors by exact text. Never reword one.
 */
export const ETCD_ERRORS = {
  // Request validation.
  'empty-key': { message: 'etcdserver: key is not provided', grpcCode: GrpcStatus.INVALID_ARGUMENT },
  'key-not-found': { message: 'etcdserver: key not found', grpcCode: GrpcStatus.INVALID_ARGUMENT },
  'value-provided': { message: 'etcdserver: value is provided', grpcCode: GrpcStatus.INVALID_ARGUMENT },
  'lease-provided': { message: 'etcdserver: lease is provided', grpcCode: GrpcStatus.INVALID_ARGUMENT },
  'too-many-ops': {
    message: 'etcdserver: too many operations in txn request',
    grpcCode: GrpcStatus.INVALID_ARGUMENT,
  },
  'duplicate-key': {
    message: 'etcdserver: duplicate key given in txn request',
    grpcCode: GrpcStatus.INVALID_ARGUMENT,
  },
  'invalid-client-api-version': {
    message: 'etcdserver: invalid client api version',
    grpcCode: GrpcStatus.INVALID_ARGUMENT,
  },
  'invalid-sort-option': {
    message: 'etcdserver: invalid sort option',
    grpcCode: GrpcStatus.INVALID_ARGUMENT,
  },
  'request-too-large': { message: 'etcdserver: request is too large', grpcCode: GrpcStatus.INVALID_ARGUMENT },
  'too-many-requests': { message: 'etcdserver: too many requests', grpcCode: GrpcStatus.RESOURCE_EXHAUSTED },

  // MVCC.
  compacted: {
    message: 'etcdserver: mvcc: required revision has been compacted',
    grpcCode: GrpcStatus.OUT_OF_RANGE,
  },
  'future-revision': {
    message: 'etcdserver: mvcc: required revision is a future revision',
    grpcCode: GrpcStatus.OUT_OF_RANGE,
  },
  'no-space': {
    message: 'etcdserver: mvcc: database space exceeded',
    grpcCode: GrpcStatus.RESOURCE_EXHAUSTED,
  },

  // Leases and watches.
  'lease-not-found': { message: 'etcdserver: requested lease not found', grpcCode: GrpcStatus.NOT_FOUND },
  'lease-exist': { message: 'etcdserver: lease already exists', grpcCode: GrpcStatus.FAILED_PRECONDITION },
  'lease-ttl-too-large': { message: 'etcdserver: too large lease TTL', grpcCode: GrpcStatus.OUT_OF_RANGE },
  'watch-canceled': { message: 'etcdserver: watch canceled', grpcCode: GrpcStatus.CANCELLED },

  // Membership.
  'member-exist': {
    message: 'etcdserver: member ID already exist',
    grpcCode: GrpcStatus.FAILED_PRECONDITION,
  },
  'peer-url-exist': {
    message: 'etcdserver: Peer URLs already exists',
    grpcCode: GrpcStatus.FAILED_PRECONDITION,
  },
  'member-not-enough-started': {
    message: 'etcdserver: re-configuration failed due to not enough started members',
    grpcCode: GrpcStatus.FAILED_PRECONDITION,
  },
  'member-bad-urls': {
    message: 'etcdserver: given member URLs are invalid',
    grpcCode: GrpcStatus.INVALID_ARGUMENT,
  },
  'member-not-found': { message: 'etcdserver: member not found', grpcCode: GrpcStatus.NOT_FOUND },
  'member-not-learner': {
    message: 'etcdserver: can only promote a learner member',
    grpcCode: GrpcStatus.FAILED_PRECONDITION,
  },
  'learner-not-ready': {
    message: 'etcdserver: can only promote a learner member which is in sync with leader',
    grpcCode: GrpcStatus.FAILED_PRECONDITION,
  },
  'too-many-learners': {
    message: 'etcdserver: too many learner members in cluster',
    grpcCode: GrpcStatus.FAILED_PRECONDITION,
  },
  'cluster-id-mismatch': {
    message: 'etcdserver: cluster ID mismatch',
    grpcCode: GrpcStatus.FAILED_PRECONDITION,
  },

  // Auth.
  'root-user-not-exist': {
    message: 'etcdserver: root user does not exist',
    grpcCode: GrpcStatus.FAILED_PRECONDITION,
  },
  'root-role-not-exist': {
    message: 'etcdserver: root user does not have root role',
    grpcCode: GrpcStatus.FAILED_PRECONDITION,
  },
  'user-already-exist': {
    message: 'etcdserver: user name already exists',
    grpcCode: GrpcStatus.FAILED_PRECONDITION,
  },
  'user-empty': { message: 'etcdserver: user name is empty', grpcCode: GrpcStatus.INVALID_ARGUMENT },
  'user-not-found': { message: 'etcdserver: user name not found', grpcCode: GrpcStatus.FAILED_PRECONDITION },
  'role-already-exist': {
    message: 'etcdserver: role name already exists',
    grpcCode: GrpcStatus.FAILED_PRECONDITION,
  },
  'role-not-found': { message: 'etcdserver: role name not found', grpcCode: GrpcStatus.FAILED_PRECONDITION },
  'role-empty': { message: 'etcdserver: role name is empty', grpcCode: GrpcStatus.INVALID_ARGUMENT },
  'auth-failed': {
    message: 'etcdserver: authentication failed, invalid user ID or password',
    grpcCode: GrpcStatus.INVALID_ARGUMENT,
  },
  'permission-not-given': {
    message: 'etcdserver: permission not given',
    grpcCode: GrpcStatus.INVALID_ARGUMENT,
  },
  'permission-denied': { message: 'etcdserver: permission denied', grpcCode: GrpcStatus.PERMISSION_DENIED },
  'role-not-granted': {
    message: 'etcdserver: role is not granted to the user',
    grpcCode: GrpcStatus.FAILED_PRECONDITION,
  },
  'permission-not-granted': {
    message: 'etcdserver: permission is not granted to the role',
    grpcCode: GrpcStatus.FAILED_PRECONDITION,
  },
  'auth-not-enabled': {
    message: 'etcdserver: authentication is not enabled',
    grpcCode: GrpcStatus.FAILED_PRECONDITION,
  },
  'invalid-auth-token': { message: 'etcdserver: invalid auth token', grpcCode: GrpcStatus.UNAUTHENTICATED },
  'invalid-auth-mgmt': {
    message: 'etcdserver: invalid auth management',
    grpcCode: GrpcStatus.INVALID_ARGUMENT,
  },
  'auth-old-revision': {
    message: 'etcdserver: revision of auth store is old',
    grpcCode: GrpcStatus.INVALID_ARGUMENT,
  },

  // Raft, leadership and server state.
  'no-leader': { message: 'etcdserver: no leader', grpcCode: GrpcStatus.UNAVAILABLE },
  'not-leader': { message: 'etcdserver: not leader', grpcCode: GrpcStatus.FAILED_PRECONDITION },
  'leader-changed': { message: 'etcdserver: leader changed', grpcCode: GrpcStatus.UNAVAILABLE },
  'not-capable': { message: 'etcdserver: not capable', grpcCode: GrpcStatus.FAILED_PRECONDITION },
  stopped: { message: 'etcdserver: server stopped', grpcCode: GrpcStatus.UNAVAILABLE },
  timeout: { message: 'etcdserver: request timed out', grpcCode: GrpcStatus.UNAVAILABLE },
  'timeout-due-to-leader-fail': {
    message: 'etcdserver: request timed out, possibly due to previous leader failure',
    grpcCode: GrpcStatus.UNAVAILABLE,
  },
  'timeout-due-to-connection-lost': {
    message: 'etcdserver: request timed out, possibly due to connection lost',
    grpcCode: GrpcStatus.UNAVAILABLE,
  },
  'timeout-wait-applied-index': {
    message: 'etcdserver: request timed out, waiting for the applied index took too long',
    grpcCode: GrpcStatus.UNAVAILABLE,
  },
  unhealthy: { message: 'etcdserver: unhealthy cluster', grpcCode: GrpcStatus.UNAVAILABLE },
  corrupt: { message: 'etcdserver: corrupt cluster', grpcCode: GrpcStatus.DATA_LOSS },
  'not-supported-for-learner': {
    message: 'etcdserver: rpc not supported for learner',
    grpcCode: GrpcStatus.FAILED_PRECONDITION,
  },
  'bad-leader-transferee': {
    message: 'etcdserver: bad leader transferee',
    grpcCode: GrpcStatus.FAILED_PRECONDITION,
  },

  // Downgrade.
  'wrong-downgrade-version-format': {
    message: 'etcdserver: wrong downgrade target version format',
    grpcCode: GrpcStatus.INVALID_ARGUMENT,
  },
  'invalid-downgrade-target-version': {
    message: 'etcdserver: invalid downgrade target version',
    grpcCode: GrpcStatus.INVALID_ARGUMENT,
  },
  'cluster-version-unavailable': {
    message: 'etcdserver: cluster version not found during downgrade',
    grpcCode: GrpcStatus.FAILED_PRECONDITION,
  },
  'downgrade-in-process': {
    message: 'etcdserver: cluster has a downgrade job in progress',
    grpcCode: GrpcStatus.FAILED_PRECONDITION,
  },
  'no-inflight-downgrade': {
    message: 'etcdserver: no inflight downgrade job',
    grpcCode: GrpcStatus.FAILED_PRECONDITION,
  },

  // The caller gave up.
  canceled: { message: 'etcdserver: request canceled', grpcCode: GrpcStatus.CANCELLED },
  'deadline-exceeded': {
    message: 'etcdserver: context deadline exceeded',
    grpcCode: GrpcStatus.DEADLINE_EXCEEDED,
  },
} as const satisfies Record<string, EtcdErrorSpec>;

export type EtcdErrorCode = keyof typeof ETCD_ERRORS;

/** The one error type every Cairn layer throws toward clients; each surface maps it the same way. */
export class EtcdError extends Error {
  override readonly name = 'EtcdError';
  readonly grpcCode: GrpcStatus;

  constructor(
    readonly code: EtcdErrorCode,
    options?: { cause?: unknown },
  ) {
    super(ETCD_ERRORS[code].message, options);
    this.grpcCode = ETCD_ERRORS[code].grpcCode;
  }
}

/** Shorthand: `throw etcdError('compacted')`. */
export function etcdError(code: EtcdErrorCode, cause?: unknown): EtcdError {
  return new EtcdError(code, cause === undefined ? undefined : { cause });
}

const codeByMessage = new Map<string, EtcdErrorCode>(
  (Object.keys(ETCD_ERRORS) as EtcdErrorCode[]).map((code) => [ETCD_ERRORS[code].message, code]),
);

/** The error whose etcd message is exactly `message`, as etcd clients map strings back (errStringToError). */
export function etcdErrorFromMessage(message: string): EtcdError | undefined {
  const code = codeByMessage.get(message);
  return code === undefined ? undefined : new EtcdError(code);
}

/** What a grpc-js handler passes to its callback or `call.destroy()`/`emit('error')`. */
export interface GrpcErrorStatus {
  code: GrpcStatus;
  details: string;
}

/**
 * Maps any thrown value to a gRPC status, like etcd's togRPCError: an EtcdError (or an error carrying one
 * of etcd's exact messages) keeps its code; an error that already carries a gRPC status (grpc-js
 * ServiceError) passes through; anything else is Unknown with its raw message.
 */
export function toGrpcStatus(err: unknown): GrpcErrorStatus {
  if (err instanceof EtcdError) return { code: err.grpcCode, details: err.message };
  const message = err instanceof Error ? err.message : String(err);
  const known = etcdErrorFromMessage(message);
  if (known !== undefined) return { code: known.grpcCode, details: known.message };
  if (isGrpcStatusLike(err)) return { code: err.code, details: err.details };
  return { code: GrpcStatus.UNKNOWN, details: message };
}

function isGrpcStatusLike(err: unknown): err is GrpcErrorStatus {
  if (typeof err !== 'object' || err === null) return false;
  const { code, details } = err as { code?: unknown; details?: unknown };
  return typeof code === 'number' && code in GrpcStatus && typeof details === 'string';
}

/**
 * HTTP status for a gRPC code, as etcd 3.4/3.5's grpc-gateway v1 maps it (runtime.HTTPStatusFromCode):
 * FailedPrecondition is 412 and Canceled 408 there (v2 changed both). Checked against a real etcd 3.4
 * in test/compat/gateway.test.ts.
 */
export function httpStatusForGrpcCode(code: GrpcStatus): number {
  switch (code) {
    case GrpcStatus.OK:
      return 200;
    case GrpcStatus.CANCELLED:
      return 408;
    case GrpcStatus.UNKNOWN:
      return 500;
    case GrpcStatus.INVALID_ARGUMENT:
      return 400;
    case GrpcStatus.DEADLINE_EXCEEDED:
      return 504;
    case GrpcStatus.NOT_FOUND:
      return 404;
    case GrpcStatus.ALREADY_EXISTS:
      return 409;
    case GrpcStatus.PERMISSION_DENIED:
      return 403;
    case GrpcStatus.UNAUTHENTICATED:
      return 401;
    case GrpcStatus.RESOURCE_EXHAUSTED:
      return 429;
    case GrpcStatus.FAILED_PRECONDITION:
      return 412;
    case GrpcStatus.ABORTED:
      return 409;
    case GrpcStatus.OUT_OF_RANGE:
      return 400;
    case GrpcStatus.UNIMPLEMENTED:
      return 501;
    case GrpcStatus.INTERNAL:
      return 500;
    case GrpcStatus.UNAVAILABLE:
      return 503;
    case GrpcStatus.DATA_LOSS:
      return 500;
    default:
      return 500;
  }
}

/** Nest's error body, which every REST surface of Cairn answers with. */
export type RestErrorBody = {
  statusCode: number;
  error: string;
  message: string;
  /** The gRPC code, on authentication and authorisation refusals (401/403). */
  code?: number;
};

/**
 * The REST answer for an EtcdError, alike on every surface above the KV (registry, config, audit, console):
 * Nest's body with the HTTP status of its gRPC code — except that authentication and authorisation refusals
 * say so the way etcd's clients know them: 401 (no or bad credentials; etcd's InvalidArgument "user name is
 * empty" becomes 401 over REST, where that is what clients and browsers act on) or 403 (not permitted), with
 * etcd's exact message as `error` and the gRPC code as `code`:
 *   403 {"statusCode":403,"error":"etcdserver: permission denied","code":7,"message":"etcdserver: permission denied"}
 */
export function restErrorForEtcdError(err: EtcdError): { status: number; body: RestErrorBody } {
  const refusal =
    err.code === 'user-empty' || err.grpcCode === GrpcStatus.UNAUTHENTICATED
      ? 401
      : err.grpcCode === GrpcStatus.PERMISSION_DENIED
        ? 403
        : undefined;
  if (refusal !== undefined) {
    return {
      status: refusal,
      body: { statusCode: refusal, error: err.message, code: err.grpcCode, message: err.message },
    };
  }
  const status = httpStatusForGrpcCode(err.grpcCode);
  return {
    status,
    body: { statusCode: status, error: STATUS_CODES[status] ?? 'Error', message: err.message },
  };
}
