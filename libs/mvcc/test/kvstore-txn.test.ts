import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  type Compare,
  type CompareResult,
  type CompareTarget,
  type TxnRequest,
  type TxnResult,
  validateTxnRequest,
} from '../src/index';
import { b, type Harness, keysOf, openHarness, plain, s } from './helpers';

describe('KvStore txn', () => {
  let h: Harness;

  beforeEach(async () => {
    h = await openHarness();
    // rev 1: a=10 (lease 3)   rev 2: b=20   rev 3: a=11 (version 2)
    await h.commit((batch) => h.kv.put({ key: b('a'), value: b('10'), lease: 3n }, batch));
    await h.commit((batch) => h.kv.put({ key: b('b'), value: b('20') }, batch));
    await h.commit((batch) => h.kv.put({ key: b('a'), value: b('11'), lease: 3n }, batch));
  });
  afterEach(async () => {
    await h.close();
  });

  const txn = (req: TxnRequest) => h.commit((batch) => h.kv.applyTxn(req, batch));
  const syncTxn = (req: TxnRequest): TxnResult => {
    const result = h.kv.applyTxn(req, h.backend.batch());
    if (result instanceof Promise) throw new Error('expected sync');
    return result;
  };
  const cmp = (
    key: string,
    target: CompareTarget,
    result: CompareResult,
    operand: Partial<Compare>,
  ): Compare => ({
    key: b(key),
    target,
    result,
    ...operand,
  });

  it.each<[string, Compare, boolean]>([
    ['version equal', cmp('a', 'VERSION', 'EQUAL', { version: 2 }), true],
    ['version greater', cmp('a', 'VERSION', 'GREATER', { version: 1 }), true],
    ['version less', cmp('a', 'VERSION', 'LESS', { version: 2 }), false],
    ['version not equal', cmp('a', 'VERSION', 'NOT_EQUAL', { version: 2 }), false],
    ['create equal', cmp('a', 'CREATE', 'EQUAL', { createRevision: 1 }), true],
    ['mod greater', cmp('a', 'MOD', 'GREATER', { modRevision: 2 }), true],
    ['mod less', cmp('b', 'MOD', 'LESS', { modRevision: 3 }), true],
    ['value equal', cmp('a', 'VALUE', 'EQUAL', { value: b('11') }), true],
    ['value greater (bytewise)', cmp('b', 'VALUE', 'GREATER', { value: b('1') }), true],
    ['value less', cmp('b', 'VALUE', 'LESS', { value: b('200') }), true],
    ['lease equal', cmp('a', 'LEASE', 'EQUAL', { lease: 3n }), true],
    ['lease of key without lease is 0', cmp('b', 'LEASE', 'EQUAL', { lease: 0n }), true],
    ['missing key: version is 0', cmp('nope', 'VERSION', 'EQUAL', { version: 0 }), true],
    ['missing key: create is 0', cmp('nope', 'CREATE', 'EQUAL', { createRevision: 0 }), true],
    ['missing key: value compare always fails', cmp('nope', 'VALUE', 'EQUAL', { value: b('') }), false],
    ['missing key: value not-equal also fails', cmp('nope', 'VALUE', 'NOT_EQUAL', { value: b('x') }), false],
    [
      'range: every key must match',
      { ...cmp('a', 'MOD', 'GREATER', { modRevision: 1 }), rangeEnd: b('c') },
      true,
    ],
    [
      'range: one failing key fails',
      { ...cmp('a', 'MOD', 'GREATER', { modRevision: 2 }), rangeEnd: b('c') },
      false,
    ],
    [
      'range "\\0" = from key',
      { ...cmp('a', 'VERSION', 'GREATER', { version: 0 }), rangeEnd: Buffer.of(0) },
      true,
    ],
  ])('compare %s', (_name, compare, expected) => {
    const result = syncTxn({ compare: [compare], success: [], failure: [] });
    expect(result.succeeded).toBe(expected);
  });

  it('runs success ops in one revision with sub-revisions, responses in order', async () => {
    const result = await txn({
      compare: [cmp('a', 'VALUE', 'EQUAL', { value: b('11') })],
      success: [
        { put: { key: b('a'), value: b('12'), prevKv: true } },
        { put: { key: b('c'), value: b('30') } },
        { range: { key: b('a'), rangeEnd: b('d') } },
        { deleteRange: { key: b('b'), prevKv: true } },
      ],
      failure: [{ put: { key: b('failed'), value: b('1') } }],
    });
    expect(result.succeeded).toBe(true);
    expect(result.revision).toBe(4);
    expect(h.kv.currentRevision).toBe(4);
    const [put, put2, range, del] = result.responses;
    expect('put' in put && put.put.revision).toBe(4);
    expect('put' in put && plain(put.put.prevKv)).toMatchObject({ value: '11' });
    expect('put' in put2 && put2.put).toEqual({ revision: 4 });
    // A range after writes sees them, at the txn's revision.
    expect('range' in range && keysOf(range.range.kvs)).toEqual(['a', 'b', 'c']);
    expect('range' in range && range.range.revision).toBe(4);
    expect('deleteRange' in del && del.deleteRange.deleted).toBe(1);
    expect('deleteRange' in del && del.deleteRange.revision).toBe(4);
    const a = h.kv.range({ key: b('a') });
    expect(!(a instanceof Promise) && plain(a.kvs[0])).toMatchObject({ value: '12', mod: 4, version: 3 });
  });

  it('runs failure ops when a compare fails', async () => {
    const result = await txn({
      compare: [cmp('a', 'VALUE', 'EQUAL', { value: b('nope') })],
      success: [{ put: { key: b('s'), value: b('1') } }],
      failure: [{ put: { key: b('f'), value: b('1') } }],
    });
    expect(result.succeeded).toBe(false);
    expect(result.revision).toBe(4);
    const f = h.kv.range({ key: b('f') });
    const ss = h.kv.range({ key: b('s') });
    expect(!(f instanceof Promise) && f.count).toBe(1);
    expect(!(ss instanceof Promise) && ss.count).toBe(0);
  });

  it('a read-only txn (or one whose writes change nothing) moves no revision', async () => {
    const readOnly = await txn({ success: [{ range: { key: b('a') } }] });
    expect(readOnly.revision).toBe(3);
    const noop = await txn({ success: [{ deleteRange: { key: b('missing') } }] });
    expect(noop.revision).toBe(3);
    expect(h.kv.currentRevision).toBe(3);
  });

  it('nested txns: compares are all evaluated before any write; the nested header revision is 0', async () => {
    const result = await txn({
      success: [
        { put: { key: b('a'), value: b('changed') } },
        {
          txn: {
            // Sees a=11, not the put above: etcd evaluates every compare on the path first.
            compare: [cmp('a', 'VALUE', 'EQUAL', { value: b('11') })],
            success: [{ put: { key: b('n'), value: b('then') } }],
            failure: [{ put: { key: b('n'), value: b('else') } }],
          },
        },
        {
          txn: {
            compare: [cmp('b', 'VERSION', 'EQUAL', { version: 5 })],
            success: [],
            failure: [{ range: { key: b('n') } }],
          },
        },
      ],
    });
    expect(result.succeeded).toBe(true);
    expect(result.revision).toBe(4);
    const [, first, second] = result.responses;
    expect('txn' in first && first.txn.succeeded).toBe(true);
    expect('txn' in first && first.txn.revision).toBe(0);
    expect('txn' in second && second.txn.succeeded).toBe(false);
    const inner = 'txn' in second ? second.txn.responses[0] : undefined;
    expect(inner && 'range' in inner && s(inner.range.kvs[0].value)).toBe('then');
  });

  it('fails as a whole before writing when a chosen op cannot run', async () => {
    await h.commit((batch) => h.kv.compact(2, batch).done);
    const batch = h.backend.batch();
    const attempts: Array<[TxnRequest, string]> = [
      [
        {
          success: [{ put: { key: b('x'), value: b('1') } }, { put: { key: b('gone'), ignoreValue: true } }],
        },
        'key-not-found',
      ],
      [
        { success: [{ put: { key: b('x'), value: b('1') } }, { range: { key: b('a'), revision: 1 } }] },
        'compacted',
      ],
      [
        { success: [{ put: { key: b('x'), value: b('1') } }, { range: { key: b('a'), revision: 9 } }] },
        'future-revision',
      ],
      [
        {
          success: [
            { put: { key: b('x'), value: b('1') } },
            { txn: { success: [{ put: { key: b('y'), ignoreLease: true } }] } },
          ],
        },
        'key-not-found',
      ],
    ];
    for (const [req, code] of attempts) {
      expect(() => h.kv.applyTxn(req, batch)).toThrow(expect.objectContaining({ code }));
    }
    expect(batch.length).toBe(0);
    expect(h.kv.currentRevision).toBe(3);
    // Checks only look at the branch that runs.
    const other = syncTxn({
      compare: [cmp('a', 'VERSION', 'EQUAL', { version: 99 })],
      success: [{ put: { key: b('gone'), ignoreValue: true } }],
    });
    expect(other.succeeded).toBe(false);
  });

  it('checks leases on the chosen branch only', async () => {
    h.kv.setLeaseChecker((lease) => lease === 3n);
    expect(() =>
      h.kv.applyTxn({ success: [{ put: { key: b('k'), value: b('v'), lease: 4n } }] }, h.backend.batch()),
    ).toThrow(expect.objectContaining({ code: 'lease-not-found' }));
    const ok = await txn({ success: [{ put: { key: b('k'), value: b('v'), lease: 3n } }] });
    expect(ok.revision).toBe(4);
  });

  it('a history range inside a txn makes it async but its writes are applied at once', async () => {
    const batch = h.backend.batch();
    const pending = h.kv.applyTxn(
      { success: [{ range: { key: b('a'), revision: 1 } }, { put: { key: b('z'), value: b('1') } }] },
      batch,
    );
    expect(pending).toBeInstanceOf(Promise);
    expect(h.kv.currentRevision).toBe(4);
    const result = await pending;
    await batch.write();
    const [range] = result.responses;
    expect('range' in range && s(range.range.kvs[0].value)).toBe('10');
    expect(result.revision).toBe(4);
  });

  describe('validateTxnRequest', () => {
    const put = (key: string) => ({ put: { key: b(key), value: b('v') } });
    const del = (key: string, rangeEnd?: string) => ({
      deleteRange: { key: b(key), rangeEnd: rangeEnd === undefined ? undefined : b(rangeEnd) },
    });

    it('rejects more ops than allowed in any list', () => {
      const ops = Array.from({ length: 4 }, (_, i) => put(`k${i}`));
      expect(() => validateTxnRequest({ success: ops }, 3)).toThrow(
        expect.objectContaining({ code: 'too-many-ops' }),
      );
      expect(() => validateTxnRequest({ success: ops }, 4)).not.toThrow();
    });

    it('rejects the same key put twice or put inside a deleted range on one path', () => {
      const dup = expect.objectContaining({ code: 'duplicate-key' });
      expect(() => validateTxnRequest({ success: [put('a'), put('a')] })).toThrow(dup);
      expect(() => validateTxnRequest({ success: [del('a', 'c'), put('b')] })).toThrow(dup);
      expect(() => validateTxnRequest({ success: [put('a'), { txn: { success: [put('a')] } }] })).toThrow(
        dup,
      );
      expect(() =>
        validateTxnRequest({ success: [del('a', 'z'), { txn: { failure: [put('m')] } }] }),
      ).toThrow(dup);
      // Allowed: different paths, and the same key in the two branches of one nested txn.
      expect(() => validateTxnRequest({ success: [put('a')], failure: [put('a')] })).not.toThrow();
      expect(() =>
        validateTxnRequest({ success: [{ txn: { success: [put('a')], failure: [put('a')] } }] }),
      ).not.toThrow();
      expect(() => validateTxnRequest({ success: [del('a'), del('a')] })).not.toThrow();
    });

    it('rejects put flags that contradict the request', () => {
      expect(() =>
        validateTxnRequest({ success: [{ put: { key: b('a'), value: b('v'), ignoreValue: true } }] }),
      ).toThrow(expect.objectContaining({ code: 'value-provided' }));
      expect(() =>
        validateTxnRequest({
          failure: [{ txn: { success: [{ put: { key: b('a'), lease: 1n, ignoreLease: true } }] } }],
        }),
      ).toThrow(expect.objectContaining({ code: 'lease-provided' }));
    });
  });
});
