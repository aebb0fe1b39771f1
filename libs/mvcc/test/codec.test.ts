import { describe, expect, it } from 'vitest';
import { crc32c } from '@cairn/storage';
import {
  compareRevisions,
  decodeKeyValue,
  decodeRevisionKey,
  encodeKeyValue,
  encodeRevisionKey,
  type KeyValue,
} from '../src/index';

describe('revision keys', () => {
  it('encode main and sub big-endian around an underscore, 17 bytes', () => {
    const key = encodeRevisionKey({ main: 0x0102, sub: 3 });
    expect(key.toString('hex')).toBe('0000000000000102' + '5f' + '0000000000000003');
  });

  it('mark tombstones with a trailing t and decode both forms', () => {
    const tomb = encodeRevisionKey({ main: 7, sub: 1 }, true);
    expect(tomb.length).toBe(18);
    expect(tomb[17]).toBe('t'.charCodeAt(0));
    expect(decodeRevisionKey(tomb)).toEqual({ revision: { main: 7, sub: 1 }, tombstone: true });
    expect(decodeRevisionKey(encodeRevisionKey({ main: 7, sub: 1 }))).toEqual({
      revision: { main: 7, sub: 1 },
      tombstone: false,
    });
  });

  it('round-trip revisions above 2^32 exactly', () => {
    const main = 2 ** 40 + 12345;
    expect(decodeRevisionKey(encodeRevisionKey({ main, sub: 2 ** 33 })).revision).toEqual({
      main,
      sub: 2 ** 33,
    });
  });

  it('sort bytewise in revision order', () => {
    const revs = [
      { main: 1, sub: 0 },
      { main: 1, sub: 1 },
      { main: 2, sub: 0 },
      { main: 256, sub: 0 },
      { main: 2 ** 35, sub: 0 },
    ];
    for (let i = 1; i < revs.length; i++) {
      expect(compareRevisions(revs[i - 1], revs[i])).toBe(-1);
      expect(Buffer.compare(encodeRevisionKey(revs[i - 1]), encodeRevisionKey(revs[i]))).toBe(-1);
    }
  });
});

describe('KeyValue records', () => {
  it("encode as etcd's mvccpb.KeyValue protobuf bytes", () => {
    const kv: KeyValue = {
      key: Buffer.from('foo'),
      createRevision: 2,
      modRevision: 300,
      version: 1,
      value: Buffer.from('bar'),
      lease: 0x694d71ddacfda227n,
    };
    // Field by field: 1:key, 2:create, 3:mod (300 = ac 02), 4:version, 5:value, 6:lease
    // (the lease bytes cross-checked with protobufjs' int64 writer).
    expect(encodeKeyValue(kv).toString('hex')).toBe(
      '0a03666f6f' + '1002' + '18ac02' + '2001' + '2a03626172' + '30a7c4f6e7dabbdca669',
    );
    expect(decodeKeyValue(encodeKeyValue(kv))).toEqual(kv);
  });

  it('omit zero fields, so a tombstone record is just the key', () => {
    const tomb: KeyValue = {
      key: Buffer.from('k'),
      createRevision: 0,
      modRevision: 0,
      version: 0,
      value: Buffer.alloc(0),
      lease: 0n,
    };
    expect(encodeKeyValue(tomb).toString('hex')).toBe('0a016b');
    expect(decodeKeyValue(encodeKeyValue(tomb))).toEqual(tomb);
  });
});

describe('crc32c (shared with the WAL, from @cairn/storage)', () => {
  it('matches the Castagnoli check value hashKV relies on', () => {
    expect(crc32c(Buffer.from('123456789'))).toBe(0xe3069283);
    expect(crc32c(Buffer.alloc(0))).toBe(0);
    expect(crc32c(Buffer.alloc(32, 0xff))).toBe(0x62a8ab43);
  });
});
