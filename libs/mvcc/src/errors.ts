export type MvccErrorCode =
  | 'compacted'
  | 'future-revision'
  | 'key-not-found'
  | 'value-provided'
  | 'lease-provided'
  | 'lease-not-found'
  | 'duplicate-key'
  | 'too-many-ops'
  | 'closed'
  | 'unknown-data-format';

/** etcd's messages for each code, so the server can surface them unchanged. */
const MESSAGES: Record<MvccErrorCode, string> = {
  compacted: 'mvcc: required revision has been compacted',
  'future-revision': 'mvcc: required revision is a future revision',
  'key-not-found': 'etcdserver: key not found',
  'value-provided': 'etcdserver: value is provided',
  'lease-provided': 'etcdserver: lease is provided',
  'lease-not-found': 'lease not found',
  'duplicate-key': 'etcdserver: duplicate key given in txn request',
  'too-many-ops': 'etcdserver: too many operations in txn request',
  closed: 'mvcc: store is closed',
  'unknown-data-format': 'mvcc: data format is newer than this build knows',
};

/** The MVCC layer's one error type; `code` is what the server maps to etcd's gRPC errors. */
export class MvccError extends Error {
  override readonly name = 'MvccError';

  constructor(
    readonly code: MvccErrorCode,
    message: string = MESSAGES[code],
  ) {
    super(message);
  }
}
