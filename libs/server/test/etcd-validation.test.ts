// etcd's request checks (api/v3rpc/key.go) with etcd's exact message and gRPC code. Every txn expectation
// below was also checked against a real etcd 3.4.23 through its JSON gateway (`--max-txn-ops 4` for the
// op-count cases), so these are etcd's answers, not our reading of its code.
import { EtcdError, GrpcStatus } from '@cairn/api';
import { describe, expect, it } from 'vitest';
import {
  type CompareLike,
  type DeleteLike,
  type PutLike,
  type RangeLike,
  type RequestOpLike,
  type TxnLike,
  checkDelete,
  checkPut,
  checkRange,
  checkTxn,
} from '../src/etcd/validation';

const EMPTY_KEY = 'etcdserver: key is not provided';
const KEY_NOT_FOUND = 'etcdserver: key not found';
const VALUE_PROVIDED = 'etcdserver: value is provided';
const LEASE_PROVIDED = 'etcdserver: lease is provided';
const TOO_MANY_OPS = 'etcdserver: too many operations in txn request';
const DUPLICATE_KEY = 'etcdserver: duplicate key given in txn request';
const INVALID_SORT = 'etcdserver: invalid sort option';

/** Asserts `fn` throws etcd's error with exactly this message and gRPC InvalidArgument. */
function expectInvalid(fn: () => void, message: string): void {
  let thrown: unknown;
  try {
    fn();
  } catch (err) {
    thrown = err;
  }
  expect(thrown, `expected "${message}"`).toBeInstanceOf(EtcdError);
  expect((thrown as EtcdError).message).toBe(message);
  expect((thrown as EtcdError).grpcCode).toBe(GrpcStatus.INVALID_ARGUMENT);
}

const b = (text: string): Buffer => Buffer.from(text);

function rangeReq(key: string, fields: Partial<RangeLike> = {}): RangeLike {
  return { key: b(key), range_end: Buffer.alloc(0), sort_order: 0, sort_target: 0, ...fields };
}
function putReq(key: string, fields: Partial<PutLike> = {}): PutLike {
  return { key: b(key), value: b('v'), lease: '0', ignore_value: false, ignore_lease: false, ...fields };
}
function deleteReq(key: string, rangeEnd: Buffer | string = Buffer.alloc(0)): DeleteLike {
  return { key: b(key), range_end: typeof rangeEnd === 'string' ? b(rangeEnd) : rangeEnd };
}
const cmp = (key: string): CompareLike => ({ key: b(key), range_end: Buffer.alloc(0) });

const rangeOp = (key: string, fields: Partial<RangeLike> = {}): RequestOpLike => ({
  request: 'request_range',
  request_range: rangeReq(key, fields),
});
const putOp = (key: string, fields: Partial<PutLike> = {}): RequestOpLike => ({
  request: 'request_put',
  request_put: putReq(key, fields),
});
const deleteOp = (key: string, rangeEnd: Buffer | string = Buffer.alloc(0)): RequestOpLike => ({
  request: 'request_delete_range',
  request_delete_range: deleteReq(key, rangeEnd),
});
const txnOp = (txn: Partial<TxnLike>): RequestOpLike => ({ request: 'request_txn', request_txn: txn_(txn) });
function txn_(fields: Partial<TxnLike>): TxnLike {
  return { compare: [], success: [], failure: [], ...fields };
}
const ops = (n: number, make: (i: number) => RequestOpLike = (i) => rangeOp(`k${i}`)): RequestOpLike[] =>
  Array.from({ length: n }, (_, i) => make(i));

const MAX = 128;

describe('checkRange', () => {
  it('requires a key', () => {
    expectInvalid(() => checkRange(rangeReq('')), EMPTY_KEY);
  });

  it('accepts every sort order and target etcd defines', () => {
    for (const sort_order of [0, 1, 2]) {
      for (const sort_target of [0, 1, 2, 3, 4])
        expect(() => checkRange(rangeReq('a', { sort_order, sort_target }))).not.toThrow();
    }
  });

  it('rejects a sort order or target outside the enums with "invalid sort option"', () => {
    // etcd 3.5+ answers this; etcd 3.4.23 accepts the bad order and panics on the bad target.
    expectInvalid(() => checkRange(rangeReq('a', { sort_order: 3 })), INVALID_SORT);
    expectInvalid(() => checkRange(rangeReq('a', { sort_target: 5 })), INVALID_SORT);
    expectInvalid(() => checkRange(rangeReq('a', { sort_order: -1 })), INVALID_SORT);
  });

  it('checks the key before the sort options', () => {
    expectInvalid(() => checkRange(rangeReq('', { sort_order: 9 })), EMPTY_KEY);
  });
});

describe('checkPut', () => {
  it('requires a key', () => {
    expectInvalid(() => checkPut(putReq('')), EMPTY_KEY);
  });

  it('refuses a value together with ignore_value', () => {
    expectInvalid(() => checkPut(putReq('a', { ignore_value: true, value: b('x') })), VALUE_PROVIDED);
    expect(() => checkPut(putReq('a', { ignore_value: true, value: Buffer.alloc(0) }))).not.toThrow();
  });

  it('refuses a lease together with ignore_lease', () => {
    expectInvalid(() => checkPut(putReq('a', { ignore_lease: true, lease: '5' })), LEASE_PROVIDED);
    expectInvalid(() => checkPut(putReq('a', { ignore_lease: true, lease: 5 })), LEASE_PROVIDED);
    expect(() => checkPut(putReq('a', { ignore_lease: true, lease: '0' }))).not.toThrow();
    expect(() => checkPut(putReq('a', { ignore_lease: true, lease: 0 }))).not.toThrow();
  });

  it('checks in etcd’s order: key, then value, then lease', () => {
    expectInvalid(
      () => checkPut(putReq('', { ignore_value: true, ignore_lease: true, lease: '1' })),
      EMPTY_KEY,
    );
    expectInvalid(
      () => checkPut(putReq('a', { ignore_value: true, ignore_lease: true, lease: '1' })),
      VALUE_PROVIDED,
    );
  });

  it('accepts an ordinary put, including an empty value and a lease', () => {
    expect(() => checkPut(putReq('a', { value: Buffer.alloc(0), lease: '7' }))).not.toThrow();
  });
});

describe('checkDelete', () => {
  it('requires a key, with or without a range end', () => {
    expectInvalid(() => checkDelete(deleteReq('')), EMPTY_KEY);
    expectInvalid(() => checkDelete(deleteReq('', 'z')), EMPTY_KEY);
    expect(() => checkDelete(deleteReq('a', 'z'))).not.toThrow();
  });
});

describe('checkTxn: operation counts', () => {
  it('allows maxTxnOps compares, successes and failures, and refuses maxTxnOps + 1 of any', () => {
    expect(() =>
      checkTxn(
        txn_({ compare: ops(MAX).map((_, i) => cmp(`k${i}`)), success: ops(MAX), failure: ops(MAX) }),
        MAX,
      ),
    ).not.toThrow();
    expectInvalid(() => checkTxn(txn_({ success: ops(MAX + 1) }), MAX), TOO_MANY_OPS);
    expectInvalid(() => checkTxn(txn_({ failure: ops(MAX + 1) }), MAX), TOO_MANY_OPS);
    expectInvalid(
      () => checkTxn(txn_({ compare: ops(MAX + 1).map((_, i) => cmp(`k${i}`)) }), MAX),
      TOO_MANY_OPS,
    );
  });

  it('honours a configured --max-txn-ops', () => {
    expect(() => checkTxn(txn_({ success: ops(4) }), 4)).not.toThrow();
    expectInvalid(() => checkTxn(txn_({ success: ops(5) }), 4), TOO_MANY_OPS);
  });

  it('gives a nested txn only the ops its parent left over (etcd: maxTxnOps - opc)', () => {
    // etcd 3.4.23 with --max-txn-ops 4: 2 ops + a nested txn of 2 passes; 3 ops + a nested txn of 2 fails.
    const nested = txnOp({ success: ops(2) });
    expect(() => checkTxn(txn_({ success: [rangeOp('a'), nested] }), 4)).not.toThrow();
    expectInvalid(() => checkTxn(txn_({ success: [rangeOp('a'), rangeOp('b'), nested] }), 4), TOO_MANY_OPS);
    expectInvalid(
      () => checkTxn(txn_({ success: [...ops(100), txnOp({ success: ops(50) })] }), MAX),
      TOO_MANY_OPS,
    );
  });
});

describe('checkTxn: the ops inside', () => {
  it('requires a key in every compare', () => {
    expectInvalid(() => checkTxn(txn_({ compare: [cmp('a'), cmp('')] }), MAX), EMPTY_KEY);
  });

  it('checks every op of both branches, and of nested txns, like the plain requests', () => {
    expectInvalid(() => checkTxn(txn_({ success: [rangeOp('')] }), MAX), EMPTY_KEY);
    expectInvalid(() => checkTxn(txn_({ failure: [putOp('')] }), MAX), EMPTY_KEY);
    expectInvalid(() => checkTxn(txn_({ success: [deleteOp('')] }), MAX), EMPTY_KEY);
    expectInvalid(
      () => checkTxn(txn_({ success: [putOp('a', { ignore_value: true })] }), MAX),
      VALUE_PROVIDED,
    );
    expectInvalid(
      () => checkTxn(txn_({ failure: [putOp('a', { ignore_lease: true, lease: '3' })] }), MAX),
      LEASE_PROVIDED,
    );
    expectInvalid(() => checkTxn(txn_({ success: [rangeOp('a', { sort_target: 7 })] }), MAX), INVALID_SORT);
    expectInvalid(
      () => checkTxn(txn_({ success: [txnOp({ success: [txnOp({ failure: [rangeOp('')] })] })] }), MAX),
      EMPTY_KEY,
    );
    expectInvalid(() => checkTxn(txn_({ success: [txnOp({ compare: [cmp('')] })] }), MAX), EMPTY_KEY);
  });

  it('refuses an empty RequestOp with "key not found", as etcd does', () => {
    expectInvalid(() => checkTxn(txn_({ success: [{}] }), MAX), KEY_NOT_FOUND);
    expectInvalid(() => checkTxn(txn_({ failure: [rangeOp('a'), {}] }), MAX), KEY_NOT_FOUND);
  });

  it('accepts an empty txn and a read-only one', () => {
    expect(() => checkTxn(txn_({}), MAX)).not.toThrow();
    expect(() =>
      checkTxn(
        txn_({ compare: [cmp('a')], success: [rangeOp('a'), rangeOp('a')], failure: [rangeOp('a')] }),
        MAX,
      ),
    ).not.toThrow();
  });
});

describe('checkTxn: keys modified twice', () => {
  it('refuses two puts of one key in a branch', () => {
    expectInvalid(
      () => checkTxn(txn_({ success: [putOp('a'), putOp('b'), putOp('a')] }), MAX),
      DUPLICATE_KEY,
    );
    expectInvalid(() => checkTxn(txn_({ failure: [putOp('a'), putOp('a')] }), MAX), DUPLICATE_KEY);
  });

  it('allows the same key in the success and the failure branch (only one runs)', () => {
    expect(() => checkTxn(txn_({ success: [putOp('a')], failure: [putOp('a')] }), MAX)).not.toThrow();
  });

  it('refuses a put inside a range deleted in the same branch, whatever the order', () => {
    expectInvalid(() => checkTxn(txn_({ success: [deleteOp('a', 'c'), putOp('b')] }), MAX), DUPLICATE_KEY);
    expectInvalid(() => checkTxn(txn_({ success: [putOp('b'), deleteOp('a', 'c')] }), MAX), DUPLICATE_KEY);
    expectInvalid(() => checkTxn(txn_({ success: [deleteOp('b'), putOp('b')] }), MAX), DUPLICATE_KEY);
  });

  it('allows a put just outside the deleted range (range_end is exclusive)', () => {
    expect(() => checkTxn(txn_({ success: [deleteOp('a', 'c'), putOp('c')] }), MAX)).not.toThrow();
    expect(() => checkTxn(txn_({ success: [deleteOp('b'), putOp('ba')] }), MAX)).not.toThrow();
  });

  it('allows deleting and reading the same keys, and several deletes that overlap', () => {
    expect(() =>
      checkTxn(txn_({ success: [deleteOp('a', 'z'), deleteOp('b', 'c'), rangeOp('b'), deleteOp('b')] }), MAX),
    ).not.toThrow();
  });

  it('refuses a nested put of a key the parent puts or deletes', () => {
    expectInvalid(
      () => checkTxn(txn_({ success: [putOp('a'), txnOp({ success: [putOp('a')] })] }), MAX),
      DUPLICATE_KEY,
    );
    expectInvalid(
      () => checkTxn(txn_({ success: [putOp('a'), txnOp({ failure: [putOp('a')] })] }), MAX),
      DUPLICATE_KEY,
    );
    expectInvalid(
      () => checkTxn(txn_({ success: [deleteOp('a'), txnOp({ success: [putOp('a')] })] }), MAX),
      DUPLICATE_KEY,
    );
  });

  it('refuses a parent put of a key a nested txn deletes', () => {
    expectInvalid(
      () => checkTxn(txn_({ success: [putOp('a'), txnOp({ success: [deleteOp('a')] })] }), MAX),
      DUPLICATE_KEY,
    );
  });

  it('refuses one key put by two nested txns of a branch', () => {
    const nestedPutA = txnOp({ success: [putOp('a')] });
    expectInvalid(() => checkTxn(txn_({ success: [nestedPutA, nestedPutA] }), MAX), DUPLICATE_KEY);
    expectInvalid(
      () =>
        checkTxn(
          txn_({ success: [txnOp({ success: [putOp('a')] }), txnOp({ failure: [putOp('a')] })] }),
          MAX,
        ),
      DUPLICATE_KEY,
    );
  });

  it('allows a nested txn to put one key in both of its branches', () => {
    expect(() =>
      checkTxn(txn_({ success: [txnOp({ success: [putOp('a')], failure: [putOp('a')] })] }), MAX),
    ).not.toThrow();
  });

  it('allows a nested txn to delete a key in one branch and put it in the other', () => {
    expect(() =>
      checkTxn(txn_({ success: [txnOp({ success: [deleteOp('a')], failure: [putOp('a')] })] }), MAX),
    ).not.toThrow();
  });

  it('checks duplicates inside a nested branch too', () => {
    expectInvalid(
      () => checkTxn(txn_({ success: [txnOp({ failure: [putOp('x'), putOp('x')] })] }), MAX),
      DUPLICATE_KEY,
    );
  });

  it('counts ops before looking for duplicates (etcd checks sizes first)', () => {
    expectInvalid(
      () => checkTxn(txn_({ success: [putOp('a'), putOp('a'), ...ops(MAX)] }), MAX),
      TOO_MANY_OPS,
    );
  });
});
