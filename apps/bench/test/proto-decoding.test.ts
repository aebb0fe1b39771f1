import { resolve } from 'node:path';
import protobuf from 'protobufjs';
import { describe, expect, it } from 'vitest';
import {
  decodeLeaseResponse,
  decodeRangeResponse,
  decodeResponseHeader,
  decodeStatusResponse,
  decodeWatchResponse,
} from '../src/proto/etcd-messages';
import { ProtoReader, tagOf } from '../src/proto/reader';
import { WireType } from '../src/proto/writer';

const etcdProto = new protobuf.Root().loadSync(
  resolve(__dirname, '../../../node_modules/etcd3/proto/rpc.proto'),
  {
    keepCase: true,
  },
);
const encode = (name: string, fields: Record<string, unknown>): Buffer => {
  const type = etcdProto.lookupType(`etcdserverpb.${name}`);
  return Buffer.from(type.encode(type.fromObject(fields)).finish());
};

const header = {
  cluster_id: '14841639068965178418',
  member_id: '10276657743932975437',
  revision: 1234567,
  raft_term: 3,
};

describe('decoding etcd responses encoded by protobufjs', () => {
  it('reads every ResponseHeader field, 64-bit IDs exactly', () => {
    expect(decodeResponseHeader(encode('PutResponse', { header }))).toEqual({
      clusterId: 14841639068965178418n,
      memberId: 10276657743932975437n,
      revision: 1234567,
      raftTerm: 3n,
    });
  });

  it('skips fields it does not need (prev_kv) and still finds the header', () => {
    const response = encode('PutResponse', {
      prev_kv: { key: Buffer.from('k'), value: Buffer.alloc(300, 1), mod_revision: 9, lease: '123' },
      header,
    });
    expect(decodeResponseHeader(response).revision).toBe(1234567);
  });

  it('counts the kvs of a RangeResponse and reads its count', () => {
    const kvs = [1, 2, 3].map((i) => ({
      key: Buffer.from(`k${i}`),
      value: Buffer.from('v'),
      mod_revision: i,
    }));
    expect(decodeRangeResponse(encode('RangeResponse', { header, kvs, more: true, count: 10 }))).toEqual({
      revision: 1234567,
      kvCount: 3,
      count: 10,
    });
  });

  it('reads a LeaseGrantResponse with an ID above 2^53 and its error string', () => {
    const id = '7587873389148497152';
    expect(
      decodeLeaseResponse(encode('LeaseGrantResponse', { header, ID: id, TTL: 60, error: 'nope' })),
    ).toEqual({
      id: 7587873389148497152n,
      ttl: 60,
      error: 'nope',
    });
  });

  it('reads the TTL of a LeaseKeepAliveResponse, including the TTL=0 of an expired lease', () => {
    expect(decodeLeaseResponse(encode('LeaseKeepAliveResponse', { header, ID: '5', TTL: 59 })).ttl).toBe(59);
    expect(decodeLeaseResponse(encode('LeaseKeepAliveResponse', { header, ID: '5' })).ttl).toBe(0);
  });

  it('reads watch id, flags and every event key of a WatchResponse', () => {
    const events = ['bench/1', 'bench/2'].map((key, i) => ({
      type: i === 0 ? 'PUT' : 'DELETE',
      kv: { key: Buffer.from(key), value: Buffer.from('x'), mod_revision: 10 + i },
      prev_kv: { key: Buffer.from('not-this-one') },
    }));
    const decoded = decodeWatchResponse(encode('WatchResponse', { header, watch_id: 7, events }));
    expect(decoded.watchId).toBe(7);
    expect(decoded.created).toBe(false);
    expect(decoded.eventKeys.map((key) => Buffer.from(key).toString())).toEqual(['bench/1', 'bench/2']);
  });

  it('reads created, canceled, compact_revision and cancel_reason', () => {
    const decoded = decodeWatchResponse(
      encode('WatchResponse', {
        header,
        watch_id: 1,
        created: true,
        canceled: true,
        compact_revision: 77,
        cancel_reason: 'etcdserver: mvcc: required revision has been compacted',
      }),
    );
    expect(decoded).toMatchObject({
      watchId: 1,
      created: true,
      canceled: true,
      compactRevision: 77,
      cancelReason: 'etcdserver: mvcc: required revision has been compacted',
      eventKeys: [],
    });
  });

  it('reads the member ID and the leader from a StatusResponse', () => {
    const decoded = decodeStatusResponse(
      encode('StatusResponse', {
        header,
        version: '3.4.23',
        dbSize: 20480,
        leader: '10276657743932975437',
        raftIndex: 8,
      }),
    );
    expect(decoded).toEqual({ memberId: 10276657743932975437n, leader: 10276657743932975437n });
  });
});

describe('ProtoReader', () => {
  it('skips fixed32 and fixed64 fields it does not know', () => {
    // field 1 fixed64, field 2 fixed32, field 3 varint 150
    const message = Buffer.from([0x09, 1, 2, 3, 4, 5, 6, 7, 8, 0x15, 1, 2, 3, 4, 0x18, 0x96, 0x01]);
    const reader = new ProtoReader(message);
    let found: number | undefined;
    while (reader.hasMore()) {
      const tag = reader.tag();
      if (tag === tagOf(3, WireType.Varint)) found = reader.varint();
      else reader.skip(tag);
    }
    expect(found).toBe(150);
  });

  it('throws on a truncated varint instead of reading past the end', () => {
    expect(() => new ProtoReader(Buffer.from([0x80, 0x80])).varint()).toThrow(/truncated/);
  });

  it('throws when a length-delimited field claims more bytes than the message has', () => {
    expect(() => new ProtoReader(Buffer.from([0x0a, 0x05, 0x61])).nested()).toThrow();
    const reader = new ProtoReader(Buffer.from([0x0a, 0x05, 0x61]));
    reader.tag();
    expect(() => reader.bytes()).toThrow(/past the message/);
  });

  it('refuses to read a varint above 2^53 as a number, and reads it as a bigint', () => {
    const bytes = Buffer.from('85808080808080808001', 'hex');
    expect(() => new ProtoReader(bytes).varint()).toThrow(/2\^53/);
    expect(new ProtoReader(bytes).varintBig()).toBe(2n ** 63n + 5n);
  });
});
