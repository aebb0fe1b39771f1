export type LeaseErrorCode =
  'lease-not-found' | 'lease-exists' | 'ttl-too-large' | 'not-primary' | 'record-corrupt';

// etcd's own texts, so the API layer can answer with exactly what etcd clients expect.
const MESSAGES: Record<LeaseErrorCode, string> = {
  'lease-not-found': 'etcdserver: requested lease not found',
  'lease-exists': 'etcdserver: lease already exists',
  'ttl-too-large': 'etcdserver: too large lease TTL',
  'not-primary': 'not a primary lessor',
  'record-corrupt': 'lease record corrupt',
};

/** Errors raised by the lessor; `code` is stable for callers to branch on. */
export class LeaseError extends Error {
  override readonly name = 'LeaseError';

  constructor(
    readonly code: LeaseErrorCode,
    detail?: string,
  ) {
    super(detail === undefined ? MESSAGES[code] : `${MESSAGES[code]}: ${detail}`);
  }
}
