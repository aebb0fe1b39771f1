// The hand-encoded Put entry decodes to exactly what the generic encoder's bytes decode to, for every field
// at its default, set, and at its extremes; shapes it does not take are left to the generic encoder.
import { describe, expect, it } from 'vitest';
import { decodeInternalRequest, encodeInternalRequest, type PutRequest } from '@cairn/api';
import type { EntryHeader } from '../src/auth/entry-subject';
import { decodePutProposal, encodePutProposal } from '../src/put-proposal-codec';

const HEADERS: EntryHeader[] = [
  { ID: '0', username: '', auth_revision: '0' },
  { ID: '18446744073709551615', username: 'root', auth_revision: '1' },
  { ID: '1234567890123456789', username: 'ünï ☃', auth_revision: '9007199254740993' },
];

const PUTS: PutRequest[] = [
  {
    key: Buffer.from('k'),
    value: Buffer.alloc(0),
    lease: '0',
    prev_kv: false,
    ignore_value: false,
    ignore_lease: false,
  },
  { key: Buffer.alloc(0), value: Buffer.alloc(300, 7), lease: '9223372036854775807', prev_kv: true },
  {
    key: new Uint8Array([0, 255, 128]),
    value: Buffer.from('v'),
    lease: '-1',
    ignore_value: true,
    ignore_lease: true,
  },
  { key: Buffer.alloc(200, 1), lease: 694_861_222_371_234 },
  { key: Buffer.from('only-key') },
];

describe('encodePutProposal', () => {
  it('decodes as the generic encoding does', () => {
    for (const header of HEADERS) {
      for (const put of PUTS) {
        const fast = encodePutProposal(put, header);
        expect(fast).toBeDefined();
        const generic = encodeInternalRequest({ put, header });
        expect(decodeInternalRequest(fast!)).toEqual(decodeInternalRequest(generic));
      }
    }
  });

  it('leaves other shapes to the generic encoder', () => {
    const header = HEADERS[0]!;
    expect(encodePutProposal({ key: 'a2V5', value: Buffer.from('v') }, header)).toBeUndefined();
    expect(
      encodePutProposal({ key: Buffer.from('k'), lease: '9223372036854775808' }, header),
    ).toBeUndefined();
    expect(encodePutProposal({ key: Buffer.from('k'), lease: 1.5 }, header)).toBeUndefined();
  });
});

describe('decodePutProposal', () => {
  const FULL_HEADER = {
    ID: '5',
    username: 'u',
    auth_revision: '2',
    requester_member_id: '18446744073709551615',
  };

  it('decodes as the generic decoder does', () => {
    for (const header of [...HEADERS, FULL_HEADER]) {
      for (const put of PUTS) {
        for (const bytes of [encodePutProposal(put, header)!, encodeInternalRequest({ put, header })]) {
          expect(decodePutProposal(bytes)).toEqual(decodeInternalRequest(bytes));
        }
      }
    }
    // A put with no header, and an entry in a plain Uint8Array (not a Buffer).
    const bare = encodeInternalRequest({ put: { key: Buffer.from('k'), value: Buffer.from('v') } });
    expect(decodePutProposal(bare)).toEqual(decodeInternalRequest(bare));
    const copy = new Uint8Array(bare);
    expect(decodePutProposal(copy)).toEqual(decodeInternalRequest(copy));
  });

  it('leaves other requests and unusual bytes to the generic decoder', () => {
    const header = HEADERS[1]!;
    expect(
      decodePutProposal(encodeInternalRequest({ header, delete_range: { key: Buffer.from('k') } })),
    ).toBe(undefined);
    expect(decodePutProposal(encodeInternalRequest({ header }))).toBeUndefined();
    const put = encodePutProposal(PUTS[1]!, header)!;
    // Truncated anywhere: never a wrong request, never a throw.
    for (let cut = 0; cut < put.length; cut++) {
      const torn = decodePutProposal(put.subarray(0, cut));
      if (torn !== undefined) expect(torn).toEqual(decodeInternalRequest(put.subarray(0, cut)));
    }
    // The put field twice (protobuf merges them): left to the generic decoder.
    const twice = Buffer.concat([put, put]);
    expect(decodePutProposal(twice)).toBeUndefined();
    // An unknown field inside the put.
    const unknown = Buffer.from([0x22, 0x05, 0x0a, 0x01, 0x6b, 0x38, 0x01]);
    expect(decodePutProposal(unknown)).toBeUndefined();
  });
});
