import { describe, expect, it } from 'vitest';
import {
  ETCD_ERRORS,
  EtcdError,
  etcdError,
  etcdErrorFromMessage,
  GrpcStatus,
  httpStatusForGrpcCode,
  restErrorForEtcdError,
  toGrpcStatus,
} from '@cairn/api';

// Every row of etcd's rpctypes/error.go (reference §1.5): exact message and gRPC code.
const ETCD_TABLE: ReadonlyArray<readonly [string, GrpcStatus]> = [
  ['etcdserver: key is not provided', GrpcStatus.INVALID_ARGUMENT],
  ['etcdserver: key not found', GrpcStatus.INVALID_ARGUMENT],
  ['etcdserver: value is provided', GrpcStatus.INVALID_ARGUMENT],
  ['etcdserver: lease is provided', GrpcStatus.INVALID_ARGUMENT],
  ['etcdserver: too many operations in txn request', GrpcStatus.INVALID_ARGUMENT],
  ['etcdserver: duplicate key given in txn request', GrpcStatus.INVALID_ARGUMENT],
  ['etcdserver: invalid client api version', GrpcStatus.INVALID_ARGUMENT],
  ['etcdserver: invalid sort option', GrpcStatus.INVALID_ARGUMENT],
  ['etcdserver: mvcc: required revision has been compacted', GrpcStatus.OUT_OF_RANGE],
  ['etcdserver: mvcc: required revision is a future revision', GrpcStatus.OUT_OF_RANGE],
  ['etcdserver: mvcc: database space exceeded', GrpcStatus.RESOURCE_EXHAUSTED],
  ['etcdserver: requested lease not found', GrpcStatus.NOT_FOUND],
  ['etcdserver: lease already exists', GrpcStatus.FAILED_PRECONDITION],
  ['etcdserver: too large lease TTL', GrpcStatus.OUT_OF_RANGE],
  ['etcdserver: watch canceled', GrpcStatus.CANCELLED],
  ['etcdserver: member ID already exist', GrpcStatus.FAILED_PRECONDITION],
  ['etcdserver: Peer URLs already exists', GrpcStatus.FAILED_PRECONDITION],
  ['etcdserver: re-configuration failed due to not enough started members', GrpcStatus.FAILED_PRECONDITION],
  ['etcdserver: given member URLs are invalid', GrpcStatus.INVALID_ARGUMENT],
  ['etcdserver: member not found', GrpcStatus.NOT_FOUND],
  ['etcdserver: can only promote a learner member', GrpcStatus.FAILED_PRECONDITION],
  [
    'etcdserver: can only promote a learner member which is in sync with leader',
    GrpcStatus.FAILED_PRECONDITION,
  ],
  ['etcdserver: too many learner members in cluster', GrpcStatus.FAILED_PRECONDITION],
  ['etcdserver: cluster ID mismatch', GrpcStatus.FAILED_PRECONDITION],
  ['etcdserver: request is too large', GrpcStatus.INVALID_ARGUMENT],
  ['etcdserver: too many requests', GrpcStatus.RESOURCE_EXHAUSTED],
  ['etcdserver: root user does not exist', GrpcStatus.FAILED_PRECONDITION],
  ['etcdserver: root user does not have root role', GrpcStatus.FAILED_PRECONDITION],
  ['etcdserver: user name already exists', GrpcStatus.FAILED_PRECONDITION],
  ['etcdserver: user name not found', GrpcStatus.FAILED_PRECONDITION],
  ['etcdserver: user name is empty', GrpcStatus.INVALID_ARGUMENT],
  ['etcdserver: role name is empty', GrpcStatus.INVALID_ARGUMENT],
  ['etcdserver: role name already exists', GrpcStatus.FAILED_PRECONDITION],
  ['etcdserver: role name not found', GrpcStatus.FAILED_PRECONDITION],
  ['etcdserver: authentication failed, invalid user ID or password', GrpcStatus.INVALID_ARGUMENT],
  ['etcdserver: permission not given', GrpcStatus.INVALID_ARGUMENT],
  ['etcdserver: permission denied', GrpcStatus.PERMISSION_DENIED],
  ['etcdserver: role is not granted to the user', GrpcStatus.FAILED_PRECONDITION],
  ['etcdserver: permission is not granted to the role', GrpcStatus.FAILED_PRECONDITION],
  ['etcdserver: authentication is not enabled', GrpcStatus.FAILED_PRECONDITION],
  ['etcdserver: invalid auth token', GrpcStatus.UNAUTHENTICATED],
  ['etcdserver: invalid auth management', GrpcStatus.INVALID_ARGUMENT],
  ['etcdserver: revision of auth store is old', GrpcStatus.INVALID_ARGUMENT],
  ['etcdserver: no leader', GrpcStatus.UNAVAILABLE],
  ['etcdserver: not leader', GrpcStatus.FAILED_PRECONDITION],
  ['etcdserver: leader changed', GrpcStatus.UNAVAILABLE],
  ['etcdserver: not capable', GrpcStatus.FAILED_PRECONDITION],
  ['etcdserver: server stopped', GrpcStatus.UNAVAILABLE],
  ['etcdserver: request timed out', GrpcStatus.UNAVAILABLE],
  ['etcdserver: request timed out, possibly due to previous leader failure', GrpcStatus.UNAVAILABLE],
  ['etcdserver: request timed out, possibly due to connection lost', GrpcStatus.UNAVAILABLE],
  ['etcdserver: request timed out, waiting for the applied index took too long', GrpcStatus.UNAVAILABLE],
  ['etcdserver: unhealthy cluster', GrpcStatus.UNAVAILABLE],
  ['etcdserver: corrupt cluster', GrpcStatus.DATA_LOSS],
  ['etcdserver: rpc not supported for learner', GrpcStatus.FAILED_PRECONDITION],
  ['etcdserver: bad leader transferee', GrpcStatus.FAILED_PRECONDITION],
  ['etcdserver: wrong downgrade target version format', GrpcStatus.INVALID_ARGUMENT],
  ['etcdserver: invalid downgrade target version', GrpcStatus.INVALID_ARGUMENT],
  ['etcdserver: cluster version not found during downgrade', GrpcStatus.FAILED_PRECONDITION],
  ['etcdserver: cluster has a downgrade job in progress', GrpcStatus.FAILED_PRECONDITION],
  ['etcdserver: no inflight downgrade job', GrpcStatus.FAILED_PRECONDITION],
  ['etcdserver: request canceled', GrpcStatus.CANCELLED],
  ['etcdserver: context deadline exceeded', GrpcStatus.DEADLINE_EXCEEDED],
];

describe('ETCD_ERRORS', () => {
  it('has exactly the rows of etcd’s error table, each with etcd’s gRPC code', () => {
    const ours = Object.values(ETCD_ERRORS).map((spec): [string, GrpcStatus] => [
      spec.message,
      spec.grpcCode,
    ]);
    expect(new Map(ours)).toEqual(new Map(ETCD_TABLE));
    expect(ours).toHaveLength(ETCD_TABLE.length); // no message appears twice
  });

  it('names the codes the server layers use', () => {
    const codes = [
      'empty-key',
      'compacted',
      'future-revision',
      'lease-not-found',
      'no-leader',
      'timeout',
      'too-many-ops',
      'duplicate-key',
      'request-too-large',
      'no-space',
      'invalid-sort-option',
      'value-provided',
      'lease-provided',
      'key-not-found',
      'lease-exist',
      'lease-ttl-too-large',
      'member-not-found',
      'member-exist',
      'peer-url-exist',
      'member-not-learner',
      'learner-not-ready',
      'too-many-learners',
      'cluster-id-mismatch',
      'not-leader',
      'leader-changed',
      'stopped',
      'not-capable',
      'unhealthy',
      'corrupt',
      'bad-leader-transferee',
      'too-many-requests',
      'permission-denied',
      'auth-not-enabled',
      'invalid-auth-token',
      'canceled',
      'deadline-exceeded',
      'watch-canceled',
    ];
    for (const code of codes) expect(Object.keys(ETCD_ERRORS), code).toContain(code);
  });
});

describe('EtcdError', () => {
  it('carries etcd’s message, our code and the gRPC code', () => {
    const err = etcdError('compacted');
    expect(err).toBeInstanceOf(EtcdError);
    expect(err).toBeInstanceOf(Error);
    expect(err.message).toBe('etcdserver: mvcc: required revision has been compacted');
    expect(err.code).toBe('compacted');
    expect(err.grpcCode).toBe(GrpcStatus.OUT_OF_RANGE);
    const cause = new Error('disk');
    expect(etcdError('corrupt', cause).cause).toBe(cause);
  });

  it('is found again from its message, as clients do', () => {
    expect(etcdErrorFromMessage('etcdserver: no leader')?.code).toBe('no-leader');
    expect(etcdErrorFromMessage('etcdserver: no leader!')).toBeUndefined();
  });
});

describe('toGrpcStatus', () => {
  it('maps an EtcdError to its code and message', () => {
    expect(toGrpcStatus(etcdError('lease-not-found'))).toEqual({
      code: GrpcStatus.NOT_FOUND,
      details: 'etcdserver: requested lease not found',
    });
  });

  it('maps a plain error carrying an etcd message like the typed error', () => {
    expect(toGrpcStatus(new Error('etcdserver: request timed out'))).toEqual({
      code: GrpcStatus.UNAVAILABLE,
      details: 'etcdserver: request timed out',
    });
  });

  it('passes a grpc-js status through', () => {
    expect(toGrpcStatus({ code: GrpcStatus.UNIMPLEMENTED, details: 'no RangeStream' })).toEqual({
      code: GrpcStatus.UNIMPLEMENTED,
      details: 'no RangeStream',
    });
  });

  it('maps anything else to Unknown with the raw message, like etcd’s togRPCError', () => {
    expect(toGrpcStatus(new TypeError('boom'))).toEqual({ code: GrpcStatus.UNKNOWN, details: 'boom' });
    expect(toGrpcStatus('text')).toEqual({ code: GrpcStatus.UNKNOWN, details: 'text' });
  });
});

describe('httpStatusForGrpcCode', () => {
  it('follows grpc-gateway v1 as etcd 3.4/3.5 serve it (FailedPrecondition 412, Canceled 408)', () => {
    const expected: Array<[GrpcStatus, number]> = [
      [GrpcStatus.OK, 200],
      [GrpcStatus.CANCELLED, 408],
      [GrpcStatus.UNKNOWN, 500],
      [GrpcStatus.INVALID_ARGUMENT, 400],
      [GrpcStatus.DEADLINE_EXCEEDED, 504],
      [GrpcStatus.NOT_FOUND, 404],
      [GrpcStatus.ALREADY_EXISTS, 409],
      [GrpcStatus.PERMISSION_DENIED, 403],
      [GrpcStatus.UNAUTHENTICATED, 401],
      [GrpcStatus.RESOURCE_EXHAUSTED, 429],
      [GrpcStatus.FAILED_PRECONDITION, 412],
      [GrpcStatus.ABORTED, 409],
      [GrpcStatus.OUT_OF_RANGE, 400],
      [GrpcStatus.UNIMPLEMENTED, 501],
      [GrpcStatus.INTERNAL, 500],
      [GrpcStatus.UNAVAILABLE, 503],
      [GrpcStatus.DATA_LOSS, 500],
    ];
    for (const [code, http] of expected) expect(httpStatusForGrpcCode(code), GrpcStatus[code]).toBe(http);
  });
});

describe('restErrorForEtcdError', () => {
  it('gives every REST surface the same body: the status of the gRPC code, its reason phrase, etcd’s message', () => {
    expect(restErrorForEtcdError(etcdError('no-leader'))).toEqual({
      status: 503,
      body: { statusCode: 503, error: 'Service Unavailable', message: 'etcdserver: no leader' },
    });
    expect(restErrorForEtcdError(etcdError('empty-key'))).toEqual({
      status: 400,
      body: { statusCode: 400, error: 'Bad Request', message: 'etcdserver: key is not provided' },
    });
  });

  it('answers auth refusals as etcd clients know them: 401 without or with bad credentials, 403 when denied', () => {
    const refusal = (code: 'user-empty' | 'invalid-auth-token' | 'permission-denied') =>
      restErrorForEtcdError(etcdError(code));
    expect(refusal('user-empty')).toEqual({
      status: 401,
      body: {
        statusCode: 401,
        error: 'etcdserver: user name is empty',
        code: 3,
        message: 'etcdserver: user name is empty',
      },
    });
    expect(refusal('invalid-auth-token').status).toBe(401);
    expect(refusal('permission-denied')).toEqual({
      status: 403,
      body: {
        statusCode: 403,
        error: 'etcdserver: permission denied',
        code: 7,
        message: 'etcdserver: permission denied',
      },
    });
  });
});
