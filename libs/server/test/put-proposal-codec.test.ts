// The hand-encoded Put entry decodes to exactly what the generic encoder's bytes decode to, for every field
// at its default, set, and at its extremes; shapes it does not take are left to the generic encoder.
import { describe, expect, it } from 'vitest';
import { decodeInternalRequest, encodeInternalRequest, type PutRequest } from '@cairn/api';
import type { EntryHeader } from '../src/auth/entry-subject';
import { encodePutProposal } from '../src/put-proposal-codec';

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
