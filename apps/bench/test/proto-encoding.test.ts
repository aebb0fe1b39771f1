import { resolve } from 'node:path';
import protobuf from 'protobufjs';
import { describe, expect, it } from 'vitest';
import {
  encodeLeaseGrantRequest,
  encodeLeaseKeepAliveRequest,
  encodeLeaseRevokeRequest,
  encodePutRequest,
  encodeRangeRequest,
  encodeWatchCreateRequest,
} from '../src/proto/etcd-messages';
import { prefixEnd } from '@cairn/api';
import { ProtoWriter } from '../src/proto/writer';

// etcd's own message definitions, as shipped with the etcd3 client, are the reference encoder.
const etcdProto = new protobuf.Root().loadSync(
  resolve(__dirname, '../../../node_modules/etcd3/proto/rpc.proto'),
  {
    keepCase: true,
  },
);
const type = (name: string): protobuf.Type => etcdProto.lookupType(`etcdserverpb.${name}`);
const reference = (name: string, fields: Record<string, unknown>): Buffer =>
  Buffer.from(type(name).encode(type(name).fromObject(fields)).finish());

describe('ProtoWriter varints', () => {
  it.each([
    [0, '00'],
    [1, '01'],
    [127, '7f'],
    [128, '8001'],
    [300, 'ac02'],
    [2 ** 32, '8080808010'],
    [Number.MAX_SAFE_INTEGER, 'ffffffffffffff0f'],
  ])('writes %d as the bytes %s', (value, hex) => {
    expect(new ProtoWriter(1).varint(value).finish().toString('hex')).toBe(hex);
  });

  it('writes a negative int64 as ten bytes of two’s complement', () => {
    expect(new ProtoWriter().varint(-1).finish().toString('hex')).toBe('ffffffffffffffffff01');
    expect(new ProtoWriter().varint(-1n).finish().toString('hex')).toBe('ffffffffffffffffff01');
  });

  it('writes a uint64 above 2^53 exactly when given as a bigint', () => {
    expect(
      new ProtoWriter()
        .varint(2n ** 63n + 5n)
        .finish()
        .toString('hex'),
    ).toBe('85808080808080808001');
  });

  it('refuses an unsafe number instead of rounding it', () => {
    expect(() => new ProtoWriter().varint(2 ** 60)).toThrow(/safe integer/);
  });

  it('grows past its initial capacity without losing bytes', () => {
    const big = Buffer.alloc(5000, 7);
    const encoded = new ProtoWriter(4).bytesField(1, big).finish();
    expect(encoded.length).toBe(1 + 2 + 5000);
    expect(encoded.subarray(3).equals(big)).toBe(true);
  });

  it('hands out independent buffers: a later message does not change an earlier one', () => {
    const writer = new ProtoWriter();
    const first = writer.reset().bytesField(1, Buffer.from('first')).finish();
    writer.reset().bytesField(1, Buffer.from('other'));
    expect(first.toString('latin1')).toBe('\n\x05first');
  });
});

describe('etcd request encoding matches protobufjs with etcd’s rpc.proto', () => {
  it('PutRequest', () => {
    const key = Buffer.from('0000000000012345');
    const value = Buffer.alloc(256, 0xab);
    expect(encodePutRequest(key, value)).toEqual(reference('PutRequest', { key, value }));
  });

  it('PutRequest with an empty value (proto3 leaves the default out)', () => {
    expect(encodePutRequest(Buffer.from('k'), Buffer.alloc(0))).toEqual(
      reference('PutRequest', { key: Buffer.from('k') }),
    );
  });

  it('RangeRequest for one key, linearizable', () => {
    const key = Buffer.from('foo');
    expect(encodeRangeRequest({ key })).toEqual(reference('RangeRequest', { key }));
  });

  it('RangeRequest for a prefix, serializable', () => {
    const key = Buffer.from('foo/');
    const rangeEnd = Buffer.from('foo0');
    expect(encodeRangeRequest({ key, rangeEnd, serializable: true })).toEqual(
      reference('RangeRequest', { key, range_end: rangeEnd, serializable: true }),
    );
  });

  it('LeaseGrantRequest', () => {
    expect(encodeLeaseGrantRequest(60)).toEqual(reference('LeaseGrantRequest', { TTL: 60 }));
  });

  it('LeaseKeepAliveRequest and LeaseRevokeRequest with a lease ID above 2^53', () => {
    const id = 7587873389148497152n; // the kind of ID etcd hands out
    expect(encodeLeaseKeepAliveRequest(id)).toEqual(
      reference('LeaseKeepAliveRequest', { ID: id.toString() }),
    );
    expect(encodeLeaseRevokeRequest(id)).toEqual(reference('LeaseRevokeRequest', { ID: id.toString() }));
  });

  it('WatchRequest with create_request on a prefix from a start revision', () => {
    const key = Buffer.from('bench-watch/');
    const rangeEnd = prefixEnd(key);
    expect(encodeWatchCreateRequest({ key, rangeEnd, startRevision: 42 })).toEqual(
      reference('WatchRequest', { create_request: { key, range_end: rangeEnd, start_revision: 42 } }),
    );
  });
});
