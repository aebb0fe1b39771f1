import { describe, expect, it } from 'vitest';
import { decodeInternalRequest, encodeInternalRequest, type InternalRaftRequest } from '@cairn/api';

describe('internal Raft request codec', () => {
  it('round-trips a put into the shape gRPC handlers receive', () => {
    const request: InternalRaftRequest = {
      header: { ID: '18446744073709551615', requester_member_id: '9372538179322589801' },
      put: { key: Buffer.from('foo'), value: Buffer.from([0, 255, 1]), lease: '7587862072081834000' },
    };
    const decoded = decodeInternalRequest(encodeInternalRequest(request));
    expect(decoded.request).toBe('put');
    expect(decoded.header).toEqual({
      ID: '18446744073709551615', // uint64 max survives as an exact string
      username: '',
      auth_revision: '0',
      requester_member_id: '9372538179322589801',
    });
    expect(decoded.put).toEqual({
      key: Buffer.from('foo'),
      value: Buffer.from([0, 255, 1]),
      lease: '7587862072081834000',
      prev_kv: false,
      ignore_value: false,
      ignore_lease: false,
    });
    expect(Buffer.isBuffer(decoded.put?.key)).toBe(true);
  });

  it('round-trips a nested txn with compares, oneofs and enums', () => {
    const request: InternalRaftRequest = {
      header: { ID: 7 },
      txn: {
        compare: [{ key: Buffer.from('k'), target: 'CREATE', result: 'EQUAL', create_revision: 0 }],
        success: [
          { request_put: { key: Buffer.from('k'), value: Buffer.from('v') } },
          { request_txn: { success: [{ request_delete_range: { key: Buffer.from('x') } }] } },
        ],
        failure: [{ request_range: { key: Buffer.from('k'), sort_order: 2 } }],
      },
    };
    const decoded = decodeInternalRequest(encodeInternalRequest(request));
    expect(decoded.request).toBe('txn');
    const txn = decoded.txn!;
    expect(txn.compare[0]).toMatchObject({
      target: 1,
      result: 0,
      target_union: 'create_revision',
      create_revision: '0',
    });
    expect(txn.success.map((op) => op.request)).toEqual(['request_put', 'request_txn']);
    expect(txn.success[1].request_txn?.success[0].request_delete_range?.key.toString()).toBe('x');
    expect(txn.failure[0].request_range?.sort_order).toBe(2);
  });

  it('is deterministic: the same request always encodes to the same bytes, in field-number order', () => {
    const make = (): InternalRaftRequest => ({
      lease_grant: { ID: '5', TTL: 10 },
      header: { ID: '1', username: 'root' },
    });
    const a = Buffer.from(encodeInternalRequest(make()));
    expect(Buffer.from(encodeInternalRequest(make())).equals(a)).toBe(true);
    // lease_grant (field 8, tag 0x42) is written before header (field 100, tag 0xa2 0x06).
    expect(a[0]).toBe(0x42);
  });

  it('decodes from a plain Uint8Array view into Buffers', () => {
    const bytes = encodeInternalRequest({ header: { ID: 1 }, delete_range: { key: Buffer.from('a') } });
    const copy = new Uint8Array(bytes.length + 4);
    copy.set(bytes, 4);
    const decoded = decodeInternalRequest(copy.subarray(4));
    expect(decoded.request).toBe('delete_range');
    expect(Buffer.isBuffer(decoded.delete_range?.key)).toBe(true);
    expect(decoded.delete_range?.key.toString()).toBe('a');
  });

  it('accepts enums as names or numbers and decodes them as numbers', () => {
    const decoded = decodeInternalRequest(
      encodeInternalRequest({ alarm: { action: 'ACTIVATE', alarm: 2, memberID: '3' } }),
    );
    expect(decoded.alarm).toEqual({ action: 1, alarm: 2, memberID: '3' });
  });
});
