// What each KV request needs, as etcd's authApplierV3 and v3_server check it: Range needs READ on its
// range; Put WRITE on its key (and READ with prev_kv); DeleteRange WRITE on its range (and READ with
// prev_kv); Txn READ on every compare and the needs of every op in both branches, nested txns included;
// LeaseRevoke WRITE on every key attached to the lease. The same functions run before proposing (to fail
// fast) and at apply (with the entry header's user and auth revision), so the check can never be skipped.
import type {
  DeleteRangeRequest__Output,
  PutRequest__Output,
  RangeRequest__Output,
  TxnRequest__Output,
} from '@cairn/api';
import type { AuthStore, AuthSubject } from './auth-store';

type KeyRange = { key?: Uint8Array | null; range_end?: Uint8Array | null };

const bytes = (value: Uint8Array | null | undefined): Buffer =>
  value ? Buffer.from(value.buffer, value.byteOffset, value.byteLength) : Buffer.alloc(0);

function check(auth: AuthStore, subject: AuthSubject, req: KeyRange, type: 'read' | 'write'): void {
  auth.checkKeys(subject, bytes(req.key), bytes(req.range_end), type);
}

export function checkRangePermitted(auth: AuthStore, subject: AuthSubject, req: RangeRequest__Output): void {
  if (!auth.isEnabled()) return;
  check(auth, subject, req, 'read');
}

export function checkPutPermitted(auth: AuthStore, subject: AuthSubject, req: PutRequest__Output): void {
  if (!auth.isEnabled()) return;
  check(auth, subject, { key: req.key }, 'write');
  if (req.prev_kv) check(auth, subject, { key: req.key }, 'read');
}

export function checkDeletePermitted(
  auth: AuthStore,
  subject: AuthSubject,
  req: DeleteRangeRequest__Output,
): void {
  if (!auth.isEnabled()) return;
  check(auth, subject, req, 'write');
  if (req.prev_kv) check(auth, subject, req, 'read');
}

export function checkTxnPermitted(auth: AuthStore, subject: AuthSubject, req: TxnRequest__Output): void {
  if (!auth.isEnabled()) return;
  for (const compare of req.compare ?? []) check(auth, subject, compare, 'read');
  for (const op of [...(req.success ?? []), ...(req.failure ?? [])]) {
    if (op.request_range) checkRangePermitted(auth, subject, op.request_range);
    else if (op.request_put) checkPutPermitted(auth, subject, op.request_put);
    else if (op.request_delete_range) checkDeletePermitted(auth, subject, op.request_delete_range);
    else if (op.request_txn) checkTxnPermitted(auth, subject, op.request_txn);
  }
}

/** LeaseRevoke deletes every key attached to the lease: the user needs WRITE on each of them. */
export function checkLeaseRevokePermitted(
  auth: AuthStore,
  subject: AuthSubject,
  attachedKeys: Iterable<Uint8Array>,
): void {
  if (!auth.isEnabled()) return;
  for (const key of attachedKeys) check(auth, subject, { key }, 'write');
}
