// The HPACK decoder against RFC 7541 Appendix C, the :authority rewrite (table consistency, framing, chunking,
// giving up), and a real loopback gRPC call with `:authority: http://...` through ClientListener.
import http from 'node:http';
import http2 from 'node:http2';
import net from 'node:net';
import * as grpc from '@grpc/grpc-js';
import { afterEach, describe, expect, it } from 'vitest';
import { AuthorityNormalizer, stripScheme } from '../src/authority-normalizer';
import { ClientListener } from '../src/client-listener';
import { EMPTY_SETTINGS_FRAME, FirstRequestSniffer } from '../src/first-request-sniffer';
import { HpackDecoder, type DecodedField } from '../src/hpack/decoder';
import { DynamicTable } from '../src/hpack/dynamic-table';
import { HpackError } from '../src/hpack/errors';
import { huffmanDecode } from '../src/hpack/huffman';
import { HUFFMAN_CODES, HUFFMAN_LENGTHS } from '../src/hpack/huffman-table';
import { decodeInteger, encodeInteger } from '../src/hpack/integer';
import { STATIC_TABLE } from '../src/hpack/static-table';
import { encodeRawString } from '../src/hpack/string';

const hex = (text: string): Buffer => Buffer.from(text.replace(/\s+/g, ''), 'hex');
const pairs = (fields: DecodedField[]): [string, string][] => fields.map((f) => [f.name, f.value]);

function tableEntries(decoder: HpackDecoder): [string, string][] {
  const table = decoder.dynamicTable;
  return Array.from({ length: table.length }, (_, i) => {
    const entry = table.get(i)!;
    return [entry.name, entry.value];
  });
}

// ---- a small test-side HPACK encoder, to build client header blocks ----

function huffmanEncode(value: string): Buffer {
  const bytes: number[] = [];
  let acc = 0;
  let bits = 0;
  for (const octet of Buffer.from(value, 'latin1')) {
    for (let bit = HUFFMAN_LENGTHS[octet] - 1; bit >= 0; bit--) {
      acc = (acc << 1) | ((HUFFMAN_CODES[octet] >>> bit) & 1);
      if (++bits === 8) {
        bytes.push(acc);
        acc = 0;
        bits = 0;
      }
    }
  }
  if (bits > 0) bytes.push((acc << (8 - bits)) | ((1 << (8 - bits)) - 1)); // pad with EOS's leading ones
  return Buffer.from(bytes);
}

const str = (value: string, huffman = false): Buffer => {
  if (!huffman) return encodeRawString(value);
  const coded = huffmanEncode(value);
  return Buffer.concat([encodeInteger(coded.length, 7, 0x80), coded]);
};
const indexed = (index: number): Buffer => encodeInteger(index, 7, 0x80);
const sizeUpdate = (size: number): Buffer => encodeInteger(size, 5, 0x20);
type Kind = 'incremental' | 'without-indexing' | 'never-indexed';
const PREFIX: Record<Kind, [number, number]> = {
  incremental: [6, 0x40],
  'without-indexing': [4, 0x00],
  'never-indexed': [4, 0x10],
};
function literal(kind: Kind, name: number | string, value: string, huffman = false): Buffer {
  const [bits, flags] = PREFIX[kind];
  return typeof name === 'number'
    ? Buffer.concat([encodeInteger(name, bits, flags), str(value, huffman)])
    : Buffer.concat([encodeInteger(0, bits, flags), str(name, huffman), str(value, huffman)]);
}

// ---- HTTP/2 framing helpers ----

const PREFACE = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n');
const HEADERS = 0x1;
const CONTINUATION = 0x9;
const END_STREAM = 0x1;
const END_HEADERS = 0x4;
const PADDED = 0x8;
const PRIORITY = 0x20;

function frame(type: number, flags: number, streamId: number, payload: Buffer): Buffer {
  const header = Buffer.alloc(9);
  header.writeUIntBE(payload.length, 0, 3);
  header[3] = type;
  header[4] = flags;
  header.writeUInt32BE(streamId, 5);
  return Buffer.concat([header, payload]);
}
const settings = frame(0x4, 0, 0, hex('000300000064')); // MAX_CONCURRENT_STREAMS=100
const data = (streamId: number, text: string): Buffer => frame(0x0, END_STREAM, streamId, Buffer.from(text));

interface ParsedFrame {
  type: number;
  flags: number;
  streamId: number;
  payload: Buffer;
}
function parseFrames(bytes: Buffer): ParsedFrame[] {
  expect(bytes.subarray(0, 24).equals(PREFACE)).toBe(true);
  const frames: ParsedFrame[] = [];
  for (let pos = 24; pos < bytes.length;) {
    const length = bytes.readUIntBE(pos, 3);
    frames.push({
      type: bytes[pos + 3],
      flags: bytes[pos + 4],
      streamId: bytes.readUInt32BE(pos + 5),
      payload: bytes.subarray(pos + 9, pos + 9 + length),
    });
    pos += 9 + length;
  }
  return frames;
}
/** The header blocks in a frame stream, assuming no padding or priority (what the normalizer emits). */
function headerBlocks(bytes: Buffer): Buffer[] {
  const blocks: Buffer[] = [];
  let current: Buffer[] = [];
  for (const f of parseFrames(bytes)) {
    if (f.type !== HEADERS && f.type !== CONTINUATION) continue;
    current.push(f.payload);
    if (f.flags & END_HEADERS) {
      blocks.push(Buffer.concat(current));
      current = [];
    }
  }
  return blocks;
}

async function waitUntil(condition: () => boolean, timeoutMs = 3_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

function feedInChunks(normalizer: AuthorityNormalizer, input: Buffer, sizes: () => number): Buffer {
  const out: Buffer[] = [];
  for (let pos = 0; pos < input.length;) {
    const n = Math.max(1, sizes());
    out.push(normalizer.push(input.subarray(pos, pos + n)));
    pos += n;
  }
  return Buffer.concat(out);
}

function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
  };
}

describe('HPACK primitives', () => {
  it('decodes the C.1 integer examples', () => {
    expect(decodeInteger(Buffer.from([0xea]), 0, 5)).toEqual({ value: 10, next: 1 });
    expect(decodeInteger(hex('1f9a0a'), 0, 5)).toEqual({ value: 1337, next: 3 });
    expect(decodeInteger(Buffer.from([42]), 0, 8)).toEqual({ value: 42, next: 1 });
    expect(encodeInteger(1337, 5, 0)).toEqual(hex('1f9a0a'));
    expect(() => decodeInteger(hex('1f9a'), 0, 5)).toThrow(HpackError);
    expect(() => decodeInteger(hex('1fffffffffff0f'), 0, 5)).toThrow(HpackError);
  });

  it('has a complete canonical Huffman code that round-trips every octet', () => {
    expect(HUFFMAN_CODES).toHaveLength(257);
    expect(HUFFMAN_LENGTHS.reduce((sum, len) => sum + 2 ** -len, 0)).toBe(1);
    const every = Buffer.from(Array.from({ length: 256 }, (_, i) => i)).toString('latin1');
    expect(huffmanDecode(huffmanEncode(every))).toBe(every);
    expect(huffmanDecode(hex('f1e3c2e5f23a6ba0ab90f4ff'))).toBe('www.example.com');
  });

  it('rejects bad Huffman padding and an encoded EOS', () => {
    expect(() => huffmanDecode(hex('00'))).toThrow(HpackError); // '0' then three 0-bits of padding
    expect(() => huffmanDecode(hex('ffffffff'))).toThrow(HpackError); // EOS: 30 ones
    expect(() => huffmanDecode(hex('1fff'))).toThrow(HpackError); // 'a' (00011) then 11 bits of padding
    expect(huffmanDecode(hex('07'))).toBe('0'); // 00000 + 111 padding
  });

  it('evicts oldest entries and drops entries larger than the table', () => {
    const table = new DynamicTable(100);
    table.add('a', 'x'.repeat(30)); // 63
    table.add('b', 'y'); // 34: total 97
    table.add('c', 'z'); // evicts a
    expect([table.length, table.size, table.get(0)?.name, table.get(1)?.name]).toEqual([2, 68, 'c', 'b']);
    table.add('big', 'v'.repeat(100));
    expect([table.length, table.size]).toEqual([0, 0]);
  });
});

describe('HpackDecoder (RFC 7541 Appendix C)', () => {
  it('decodeFields: the same names and values as decode, table entries for indexed fields, never-indexed marked', () => {
    const block = Buffer.concat([
      indexed(2), // :method GET (static)
      literal('incremental', 'x-a', '1'),
      literal('never-indexed', 'password', 'secret'),
      literal('without-indexing', 4, '/p'),
      indexed(62), // x-a: 1, now in the dynamic table
    ]);
    const lean = new HpackDecoder().decodeFields(block);
    const full = new HpackDecoder().decode(block);
    expect(lean.map((f) => [f.name, f.value])).toEqual(pairs(full));
    expect(lean.map((f) => f.neverIndexed === true)).toEqual([false, false, true, false, false]);
    const d = new HpackDecoder();
    const again = d.decodeFields(block);
    expect(again[0]).toBe(d.decodeFields(indexed(2))[0]); // the static table's own entry, not a copy
  });

  it('C.2 field representations', () => {
    const d1 = new HpackDecoder();
    const f1 = d1.decode(hex('400a 6375 7374 6f6d 2d6b 6579 0d63 7573 746f 6d2d 6865 6164 6572'));
    expect(pairs(f1)).toEqual([['custom-key', 'custom-header']]);
    expect(f1[0].representation).toBe('incremental');
    expect(tableEntries(d1)).toEqual([['custom-key', 'custom-header']]);
    expect(d1.dynamicTable.size).toBe(55);

    const d2 = new HpackDecoder();
    const f2 = d2.decode(hex('040c 2f73 616d 706c 652f 7061 7468'));
    expect(pairs(f2)).toEqual([[':path', '/sample/path']]);
    expect([f2[0].representation, d2.dynamicTable.length]).toEqual(['without-indexing', 0]);

    const d3 = new HpackDecoder();
    const f3 = d3.decode(hex('1008 7061 7373 776f 7264 0673 6563 7265 74'));
    expect(pairs(f3)).toEqual([['password', 'secret']]);
    expect([f3[0].representation, d3.dynamicTable.length]).toEqual(['never-indexed', 0]);

    const d4 = new HpackDecoder();
    const f4 = d4.decode(hex('82'));
    expect(pairs(f4)).toEqual([[':method', 'GET']]);
    expect([f4[0].representation, d4.dynamicTable.length]).toEqual(['indexed', 0]);
  });

  const requests = [
    [
      [':method', 'GET'],
      [':scheme', 'http'],
      [':path', '/'],
      [':authority', 'www.example.com'],
    ],
    [
      [':method', 'GET'],
      [':scheme', 'http'],
      [':path', '/'],
      [':authority', 'www.example.com'],
      ['cache-control', 'no-cache'],
    ],
    [
      [':method', 'GET'],
      [':scheme', 'https'],
      [':path', '/index.html'],
      [':authority', 'www.example.com'],
      ['custom-key', 'custom-value'],
    ],
  ];
  const requestTables = [
    { size: 57, entries: [[':authority', 'www.example.com']] },
    {
      size: 110,
      entries: [
        ['cache-control', 'no-cache'],
        [':authority', 'www.example.com'],
      ],
    },
    {
      size: 164,
      entries: [
        ['custom-key', 'custom-value'],
        ['cache-control', 'no-cache'],
        [':authority', 'www.example.com'],
      ],
    },
  ];

  it.each([
    [
      'C.3 requests without Huffman',
      [
        '8286 8441 0f77 7777 2e65 7861 6d70 6c65 2e63 6f6d',
        '8286 84be 5808 6e6f 2d63 6163 6865',
        '8287 85bf 400a 6375 7374 6f6d 2d6b 6579 0c63 7573 746f 6d2d 7661 6c75 65',
      ],
    ],
    [
      'C.4 requests with Huffman',
      [
        '8286 8441 8cf1 e3c2 e5f2 3a6b a0ab 90f4 ff',
        '8286 84be 5886 a8eb 1064 9cbf',
        '8287 85bf 4088 25a8 49e9 5ba9 7d7f 8925 a849 e95b b8e8 b4bf',
      ],
    ],
  ])('%s', (_name, blocks) => {
    const decoder = new HpackDecoder();
    blocks.forEach((block, i) => {
      expect(pairs(decoder.decode(hex(block)))).toEqual(requests[i]);
      expect(tableEntries(decoder)).toEqual(requestTables[i].entries);
      expect(decoder.dynamicTable.size).toBe(requestTables[i].size);
    });
  });

  const cookie = 'foo=ASDJKHQKBZXOQWEOPIUAXQWEOIU; max-age=3600; version=1';
  const responses = [
    [
      [':status', '302'],
      ['cache-control', 'private'],
      ['date', 'Mon, 21 Oct 2013 20:13:21 GMT'],
      ['location', 'https://www.example.com'],
    ],
    [
      [':status', '307'],
      ['cache-control', 'private'],
      ['date', 'Mon, 21 Oct 2013 20:13:21 GMT'],
      ['location', 'https://www.example.com'],
    ],
    [
      [':status', '200'],
      ['cache-control', 'private'],
      ['date', 'Mon, 21 Oct 2013 20:13:22 GMT'],
      ['location', 'https://www.example.com'],
      ['content-encoding', 'gzip'],
      ['set-cookie', cookie],
    ],
  ];
  const responseTables = [
    {
      size: 222,
      entries: [
        ['location', 'https://www.example.com'],
        ['date', 'Mon, 21 Oct 2013 20:13:21 GMT'],
        ['cache-control', 'private'],
        [':status', '302'],
      ],
    },
    {
      size: 222,
      entries: [
        [':status', '307'],
        ['location', 'https://www.example.com'],
        ['date', 'Mon, 21 Oct 2013 20:13:21 GMT'],
        ['cache-control', 'private'],
      ],
    },
    {
      size: 215,
      entries: [
        ['set-cookie', cookie],
        ['content-encoding', 'gzip'],
        ['date', 'Mon, 21 Oct 2013 20:13:22 GMT'],
      ],
    },
  ];

  it.each([
    [
      'C.5 responses without Huffman',
      [
        `4803 3330 3258 0770 7269 7661 7465 611d 4d6f 6e2c 2032 3120 4f63 7420 3230 3133
         2032 303a 3133 3a32 3120 474d 546e 1768 7474 7073 3a2f 2f77 7777 2e65 7861 6d70
         6c65 2e63 6f6d`,
        '4803 3330 37c1 c0bf',
        `88c1 611d 4d6f 6e2c 2032 3120 4f63 7420 3230 3133 2032 303a 3133 3a32 3220 474d
         54c0 5a04 677a 6970 7738 666f 6f3d 4153 444a 4b48 514b 425a 584f 5157 454f 5049
         5541 5851 5745 4f49 553b 206d 6178 2d61 6765 3d33 3630 303b 2076 6572 7369 6f6e
         3d31`,
      ],
    ],
    [
      'C.6 responses with Huffman',
      [
        `4882 6402 5885 aec3 771a 4b61 96d0 7abe 9410 54d4 44a8 2005 9504 0b81 66e0 82a6
         2d1b ff6e 919d 29ad 1718 63c7 8f0b 97c8 e9ae 82ae 43d3`,
        '4883 640e ffc1 c0bf',
        `88c1 6196 d07a be94 1054 d444 a820 0595 040b 8166 e084 a62d 1bff c05a 839b d9ab
         77ad 94e7 821d d7f2 e6c7 b335 dfdf cd5b 3960 d5af 2708 7f36 72c1 ab27 0fb5 291f
         9587 3160 65c0 03ed 4ee5 b106 3d50 07`,
      ],
    ],
  ])('%s (SETTINGS_HEADER_TABLE_SIZE 256)', (_name, blocks) => {
    const decoder = new HpackDecoder(256);
    blocks.forEach((block, i) => {
      expect(pairs(decoder.decode(hex(block)))).toEqual(responses[i]);
      expect(tableEntries(decoder)).toEqual(responseTables[i].entries);
      expect(decoder.dynamicTable.size).toBe(responseTables[i].size);
    });
  });

  it('applies size updates and rejects malformed blocks', () => {
    const decoder = new HpackDecoder();
    decoder.decode(hex('8286 8441 0f77 7777 2e65 7861 6d70 6c65 2e63 6f6d'));
    expect(decoder.dynamicTable.length).toBe(1);
    decoder.decode(Buffer.concat([sizeUpdate(0), sizeUpdate(4096), indexed(2)]));
    expect([decoder.dynamicTable.length, decoder.dynamicTable.maxSize]).toEqual([0, 4096]);

    expect(() => new HpackDecoder().decode(indexed(0))).toThrow(HpackError);
    expect(() => new HpackDecoder().decode(indexed(62))).toThrow(HpackError);
    expect(() => new HpackDecoder().decode(sizeUpdate(4097))).toThrow(HpackError);
    expect(() => new HpackDecoder().decode(Buffer.concat([indexed(2), sizeUpdate(100)]))).toThrow(HpackError);
    expect(() => new HpackDecoder().decode(hex('410f7777'))).toThrow(HpackError); // truncated value
  });

  it('reports where each field and value sits', () => {
    const block = hex('8286 8441 0f77 7777 2e65 7861 6d70 6c65 2e63 6f6d');
    const authority = new HpackDecoder().decode(block)[3];
    expect(authority).toMatchObject({
      representation: 'incremental',
      start: 3,
      valueStart: 4,
      end: block.length,
    });
    expect(STATIC_TABLE[0]).toEqual({ name: ':authority', value: '' });
  });
});

describe('AuthorityNormalizer', () => {
  it('strips the scheme (and any path) from an authority', () => {
    expect(stripScheme('http://127.0.0.1:2379')).toBe('127.0.0.1:2379');
    expect(stripScheme('HTTPS://host:1/')).toBe('host:1');
    expect(stripScheme('127.0.0.1:2379')).toBeUndefined();
    expect(stripScheme('unix://x')).toBeUndefined();
  });

  it('passes a connection with no scheme in :authority through unchanged and uncopied', () => {
    const input = Buffer.concat([
      PREFACE,
      settings,
      frame(HEADERS, END_HEADERS, 1, hex('8286 8441 0f77 7777 2e65 7861 6d70 6c65 2e63 6f6d')),
      data(1, 'ping'),
      frame(HEADERS, END_HEADERS | END_STREAM, 3, hex('8286 84be 5808 6e6f 2d63 6163 6865')),
    ]);
    const normalizer = new AuthorityNormalizer();
    const out = normalizer.push(input);
    expect(out.equals(input)).toBe(true);
    expect(out.buffer).toBe(input.buffer);
    expect(normalizer.passingThrough).toBe(false);
  });

  it('rewrites :authority literals and keeps both tables in step over several requests', () => {
    const client = new HpackDecoder(); // what the client's encoder table holds
    const server = new HpackDecoder(); // what Node's decoder will see
    const authority = 'http://127.0.0.1:2379';
    const blocks = [
      // literal with incremental indexing, static name
      Buffer.concat([
        indexed(3),
        indexed(6),
        literal('incremental', 4, '/etcdserverpb.KV/Range'),
        literal('incremental', 1, authority),
      ]),
      // the dynamic entry referenced by index, plus another insertion
      Buffer.concat([
        indexed(3),
        indexed(6),
        indexed(62),
        indexed(63),
        literal('incremental', 'te', 'trailers'),
      ]),
      // Huffman-coded, not indexed; literal name; never indexed
      Buffer.concat([indexed(63), literal('without-indexing', 1, 'https://example.test:443/x', true)]),
      Buffer.concat([indexed(62), literal('incremental', ':authority', authority, true), indexed(62)]),
      Buffer.concat([literal('never-indexed', 1, authority), indexed(64), indexed(65)]),
    ];
    const input = Buffer.concat([
      PREFACE,
      settings,
      ...blocks.map((block, i) => frame(HEADERS, END_HEADERS, 2 * i + 1, block)),
    ]);
    const out = new AuthorityNormalizer().push(input);
    const outBlocks = headerBlocks(out);
    expect(outBlocks).toHaveLength(blocks.length);
    blocks.forEach((block, i) => {
      const expected = pairs(client.decode(block)).map(([name, value]): [string, string] => [
        name,
        name === ':authority' ? (stripScheme(value) ?? value) : value,
      ]);
      const seen = server.decode(outBlocks[i]);
      expect(pairs(seen)).toEqual(expected);
      expect(seen.every((f) => f.name !== ':authority' || !f.value.includes('/'))).toBe(true);
    });
    // Indexed references are forwarded as they were.
    expect(outBlocks[1].equals(blocks[1])).toBe(true);
    expect(server.dynamicTable.size).toBeLessThan(client.dynamicTable.size);
    expect(parseFrames(out)[0]).toMatchObject({ type: 0x4, payload: settings.subarray(9) });
  });

  it('keeps index references valid across evictions (seeded random client)', () => {
    const random = seededRandom(7);
    const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)];
    const clientTable = new HpackDecoder(); // decodes each block as the client built it
    const server = new HpackDecoder();
    const mirror = new DynamicTable(4096); // the test encoder's own view of the client table
    const blocks: Buffer[] = [];
    let evictions = 0;
    for (let b = 0; b < 300; b++) {
      const parts: Buffer[] = [];
      if (random() < 0.1) {
        const size = pick([0, 64, 128, 300, 1000, 4096]);
        parts.push(sizeUpdate(size));
        mirror.setMaxSize(size);
      }
      for (let f = 0; f < 1 + Math.floor(random() * 6); f++) {
        const roll = random();
        if (roll < 0.4 && mirror.length > 0) {
          parts.push(indexed(62 + Math.floor(random() * mirror.length)));
        } else if (roll < 0.5) {
          parts.push(indexed(1 + Math.floor(random() * STATIC_TABLE.length)));
        } else {
          const isAuthority = random() < 0.5;
          const name = isAuthority ? ':authority' : pick(['x-a', 'x-bb', 'user-agent']);
          const value = isAuthority
            ? `${pick(['http://', 'https://', ''])}host${Math.floor(random() * 5)}.example:${'9'.repeat(1 + Math.floor(random() * 40))}`
            : 'v'.repeat(Math.floor(random() * 120));
          const kind = pick<Kind>(['incremental', 'incremental', 'without-indexing', 'never-indexed']);
          parts.push(literal(kind, isAuthority && random() < 0.5 ? 1 : name, value, random() < 0.5));
          if (kind === 'incremental') {
            const before = mirror.length;
            mirror.add(name, value);
            if (mirror.length <= before) evictions++;
          }
        }
      }
      blocks.push(Buffer.concat(parts));
    }
    const input = Buffer.concat([
      PREFACE,
      ...blocks.map((block, i) => frame(HEADERS, END_HEADERS, 2 * i + 1, block)),
    ]);
    const normalizer = new AuthorityNormalizer();
    const outBlocks = headerBlocks(feedInChunks(normalizer, input, () => Math.floor(random() * 200)));
    expect(normalizer.passingThrough).toBe(false);
    expect(evictions).toBeGreaterThan(50);
    expect(outBlocks.filter((block, i) => !block.equals(blocks[i])).length).toBeGreaterThan(50);
    blocks.forEach((block, i) => {
      const expected = pairs(clientTable.decode(block)).map(([name, value]): [string, string] => [
        name,
        name === ':authority' ? (stripScheme(value) ?? value) : value,
      ]);
      expect(pairs(server.decode(outBlocks[i]))).toEqual(expected);
    });
  });

  it('unpads, keeps priority and END_STREAM, and joins CONTINUATIONs of a rewritten block', () => {
    const block = Buffer.concat([
      indexed(3),
      literal('incremental', 1, 'http://h:1'),
      literal('without-indexing', 'x', 'y'),
    ]);
    const priority = hex('8000000510');
    const headersPayload = Buffer.concat([Buffer.from([4]), priority, block.subarray(0, 5), Buffer.alloc(4)]);
    const input = Buffer.concat([
      PREFACE,
      frame(HEADERS, PADDED | PRIORITY | END_STREAM, 1, headersPayload),
      frame(CONTINUATION, 0, 1, block.subarray(5, 9)),
      frame(CONTINUATION, END_HEADERS, 1, block.subarray(9)),
      data(1, 'after'),
    ]);
    const frames = parseFrames(new AuthorityNormalizer().push(input));
    expect(frames.map((f) => [f.type, f.flags, f.streamId])).toEqual([
      [HEADERS, PRIORITY | END_STREAM | END_HEADERS, 1],
      [0x0, END_STREAM, 1],
    ]);
    expect(frames[0].payload.subarray(0, 5).equals(priority)).toBe(true);
    expect(pairs(new HpackDecoder().decode(frames[0].payload.subarray(5)))).toEqual([
      [':method', 'POST'],
      [':authority', 'h:1'],
      ['x', 'y'],
    ]);
    expect(frames[1].payload.toString()).toBe('after');
  });

  it('splits a rewritten block larger than 16 KiB into CONTINUATIONs', () => {
    const block = Buffer.concat([
      literal('without-indexing', 1, 'http://h:1'),
      literal('without-indexing', 'big', 'b'.repeat(40_000)),
    ]);
    const input = Buffer.concat([
      PREFACE,
      frame(HEADERS, 0, 1, block.subarray(0, 16_000)),
      frame(CONTINUATION, 0, 1, block.subarray(16_000, 32_000)),
      frame(CONTINUATION, END_HEADERS, 1, block.subarray(32_000)),
    ]);
    const frames = parseFrames(new AuthorityNormalizer().push(input));
    expect(frames.map((f) => [f.type, f.flags, f.payload.length])).toEqual([
      [HEADERS, 0, 16_384],
      [CONTINUATION, 0, 16_384],
      [CONTINUATION, END_HEADERS, block.length - 7 - 2 * 16_384],
    ]);
    const fields = new HpackDecoder().decode(Buffer.concat(frames.map((f) => f.payload)));
    expect(fields.map((f) => f.value.length)).toEqual([3, 40_000]);
  });

  it('gives the same output however the input is split into chunks', () => {
    const authorityBlock = Buffer.concat([
      indexed(3),
      literal('incremental', 1, 'http://127.0.0.1:2379', true),
    ]);
    const input = Buffer.concat([
      PREFACE,
      settings,
      frame(HEADERS, END_HEADERS, 1, authorityBlock),
      data(1, 'x'.repeat(5000)),
      frame(0x8, 0, 0, hex('00010000')), // WINDOW_UPDATE
      frame(HEADERS, 0, 3, Buffer.concat([indexed(3), indexed(62)])),
      frame(CONTINUATION, END_HEADERS, 3, literal('incremental', 1, 'https://a:1')),
      data(3, 'y'),
      frame(HEADERS, END_HEADERS | END_STREAM, 5, Buffer.concat([indexed(62), indexed(63)])),
    ]);
    const whole = new AuthorityNormalizer().push(input);
    expect(whole.length).toBeLessThan(input.length);
    const random = seededRandom(42);
    for (const sizes of [
      () => 1,
      () => 7,
      () => 9,
      () => 24,
      () => Math.floor(random() * 64),
      () => Math.floor(random() * 6000),
    ]) {
      expect(feedInChunks(new AuthorityNormalizer(), input, sizes).equals(whole)).toBe(true);
    }
  });

  it('passes everything through untouched after a parse error', () => {
    const rewritable = frame(HEADERS, END_HEADERS, 3, literal('incremental', 1, 'http://h:1'));
    for (const bad of [
      frame(CONTINUATION, END_HEADERS, 1, indexed(2)), // CONTINUATION with no HEADERS
      frame(HEADERS, END_HEADERS, 1, indexed(70)), // index past the table
      frame(HEADERS, END_HEADERS | PADDED, 1, hex('09 82')), // padding longer than the frame
    ]) {
      const input = Buffer.concat([PREFACE, bad, rewritable, data(3, 'z')]);
      const normalizer = new AuthorityNormalizer();
      expect(feedInChunks(normalizer, input, () => 5).equals(input)).toBe(true);
      expect(normalizer.passingThrough).toBe(true);
    }
    // A frame other than CONTINUATION inside a header block.
    const interleaved = Buffer.concat([PREFACE, frame(HEADERS, 0, 1, indexed(2)), data(1, 'a'), rewritable]);
    expect(new AuthorityNormalizer().push(interleaved).equals(interleaved)).toBe(true);
    // Not HTTP/2 at all.
    const junk = Buffer.from('GET / HTTP/1.1\r\nHost: x\r\n\r\n');
    expect(new AuthorityNormalizer().push(junk).equals(junk)).toBe(true);
  });

  it('hands back a truncated frame at end of input', () => {
    const normalizer = new AuthorityNormalizer();
    const partial = frame(HEADERS, 0, 1, literal('incremental', 1, 'http://h:1')).subarray(0, 12);
    expect(normalizer.push(Buffer.concat([PREFACE, partial])).equals(PREFACE)).toBe(true);
    expect(normalizer.flush().equals(partial)).toBe(true);
  });
});

describe('FirstRequestSniffer', () => {
  const SETTINGS_ACK = frame(0x4, 0x1, 0, Buffer.alloc(0));
  const windowUpdate = frame(0x8, 0, 0, hex('00ff0000'));
  const request = (authority: string): Buffer =>
    frame(
      HEADERS,
      END_HEADERS,
      1,
      Buffer.concat([
        indexed(3),
        indexed(6),
        literal('without-indexing', 4, '/test.Echo/Echo'),
        literal('incremental', 1, authority),
      ]),
    );

  it('gives a client with a plain :authority in its first flight the raw socket, bytes untouched, no SETTINGS of ours', () => {
    const sniffer = new FirstRequestSniffer();
    const flight = Buffer.concat([PREFACE, settings, request('127.0.0.1:2379'), data(1, 'x')]);
    expect(sniffer.push(flight)).toEqual({
      kind: 'decided',
      normalize: false,
      bytes: flight,
      firstPath: '/test.Echo/Echo',
    });
    expect(sniffer.waitingForServerPreface).toBe(false);
  });

  it('sends a client whose first :authority has a scheme (Huffman-coded too) through the normalizer', () => {
    for (const huffman of [false, true]) {
      const sniffer = new FirstRequestSniffer();
      const headers = frame(
        HEADERS,
        END_HEADERS,
        1,
        literal('incremental', 1, 'http://127.0.0.1:2379', huffman),
      );
      const flight = Buffer.concat([PREFACE, settings, headers]);
      expect(sniffer.push(flight)).toEqual({
        kind: 'decided',
        normalize: true,
        bytes: flight,
        firstPath: undefined,
      });
    }
  });

  it('asks for our SETTINGS when the client waits for them (Go), and drops its ACK of them, wherever it comes', () => {
    for (const ackFirst of [true, false]) {
      const sniffer = new FirstRequestSniffer();
      const first = Buffer.concat([PREFACE, settings, windowUpdate]);
      expect(sniffer.push(first)).toEqual({ kind: 'waiting' });
      expect(sniffer.waitingForServerPreface).toBe(true);
      sniffer.sentSettings();
      expect(sniffer.waitingForServerPreface).toBe(false);
      const rest = [request('127.0.0.1:2379'), data(1, 'x')];
      if (ackFirst) {
        expect(sniffer.push(Buffer.concat([SETTINGS_ACK, ...rest]))).toEqual({
          kind: 'decided',
          normalize: false,
          bytes: Buffer.concat([first, ...rest]),
          firstPath: '/test.Echo/Echo',
        });
      } else {
        // The request came before the ACK: nothing may reach HTTP/2 until the ACK is out of the way.
        expect(sniffer.push(Buffer.concat(rest))).toEqual({ kind: 'waiting' });
        expect(sniffer.ackPending).toBe(true);
        expect(sniffer.push(SETTINGS_ACK)).toEqual({
          kind: 'decided',
          normalize: false,
          bytes: Buffer.concat([first, ...rest]),
          firstPath: '/test.Echo/Echo',
        });
      }
    }
  });

  it('decides the same however the bytes are split', () => {
    const flight = Buffer.concat([PREFACE, settings, request('http://h:1'), data(1, 'x')]);
    for (let cut = 1; cut < flight.length; cut++) {
      const sniffer = new FirstRequestSniffer();
      const first = sniffer.push(flight.subarray(0, cut));
      const verdict = first.kind === 'decided' ? first : sniffer.push(flight.subarray(cut));
      // Decided on the first piece only if it held the whole header block; either way it hands on all it read.
      const read = first.kind === 'decided' ? flight.subarray(0, cut) : flight;
      expect(verdict).toEqual({
        kind: 'decided',
        normalize: true,
        bytes: read,
        firstPath: '/test.Echo/Echo',
      });
    }
  });

  it('reads a first header block split into CONTINUATIONs, padded, with priority', () => {
    const block = Buffer.concat([indexed(3), literal('incremental', 1, '10.0.0.1:2379')]);
    const padded = Buffer.concat([
      Buffer.from([2]),
      hex('0000000010'),
      block.subarray(0, 4),
      Buffer.alloc(2),
    ]);
    const flight = Buffer.concat([
      PREFACE,
      frame(HEADERS, PADDED | PRIORITY, 1, padded),
      frame(CONTINUATION, END_HEADERS, 1, block.subarray(4)),
    ]);
    expect(new FirstRequestSniffer().push(flight)).toMatchObject({ kind: 'decided', normalize: false });
  });

  it('takes the safe road (the normalizer) on what it cannot read, and when no request comes', () => {
    const broken = Buffer.concat([PREFACE, frame(HEADERS, END_HEADERS, 1, hex('ff'))]);
    expect(new FirstRequestSniffer().push(broken)).toEqual({
      kind: 'decided',
      normalize: true,
      bytes: broken,
      firstPath: undefined,
    });
    const stray = Buffer.concat([PREFACE, frame(CONTINUATION, END_HEADERS, 1, indexed(2))]);
    expect(new FirstRequestSniffer().push(stray)).toMatchObject({ kind: 'decided', normalize: true });
    const idle = new FirstRequestSniffer();
    expect(idle.push(Buffer.concat([PREFACE, settings]))).toEqual({ kind: 'waiting' });
    expect(idle.giveUp()).toEqual({
      kind: 'decided',
      normalize: true,
      bytes: Buffer.concat([PREFACE, settings]),
      firstPath: undefined,
    });
  });
});

describe('gRPC over the normalizing socket (loopback)', () => {
  const echoService: grpc.ServiceDefinition = {
    echo: {
      path: '/test.Echo/Echo',
      requestStream: false,
      responseStream: false,
      requestSerialize: (b: Buffer) => b,
      requestDeserialize: (b: Buffer) => b,
      responseSerialize: (b: Buffer) => b,
      responseDeserialize: (b: Buffer) => b,
    },
  };
  const cleanups: (() => Promise<void> | void)[] = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });

  /** How ClientListener served each connection: the raw socket or through the normalizer. */
  const served: Array<'raw' | 'normalizer'> = [];

  async function startServer(normalize: boolean): Promise<number> {
    const server = new grpc.Server();
    server.addService(echoService, {
      echo: (call: grpc.ServerUnaryCall<Buffer, Buffer>, callback: grpc.sendUnaryData<Buffer>) =>
        callback(null, call.request),
    });
    const injector = server.createConnectionInjector(grpc.ServerCredentials.createInsecure());
    const listener = new ClientListener({
      grpc: (socket, connection) => {
        served.push(connection === socket ? 'raw' : 'normalizer');
        injector.injectConnection(normalize ? connection : socket);
      },
      http: http.createServer(),
    });
    const { port } = await listener.listen('127.0.0.1', 0);
    cleanups.push(() => server.forceShutdown());
    cleanups.push(() => injector.destroy());
    cleanups.push(() => listener.close());
    return port;
  }

  interface CallResult {
    rstCode: number | undefined;
    status: string | undefined;
    body: Buffer;
  }
  function call(session: http2.ClientHttp2Session, authority: string, message: string): Promise<CallResult> {
    const payload = Buffer.from(message);
    const framed = Buffer.alloc(5 + payload.length);
    framed.writeUInt32BE(payload.length, 1);
    payload.copy(framed, 5);
    const request = session.request({
      ':method': 'POST',
      ':path': '/test.Echo/Echo',
      ':authority': authority,
      'content-type': 'application/grpc',
      te: 'trailers',
    });
    request.end(framed);
    return new Promise((resolve) => {
      const chunks: Buffer[] = [];
      let status: string | undefined;
      request.on('trailers', (trailers) => (status = String(trailers['grpc-status'])));
      request.on('data', (chunk: Buffer) => chunks.push(chunk));
      request.on('error', () => undefined); // the outcome is read from rstCode
      request.on('close', () => resolve({ rstCode: request.rstCode, status, body: Buffer.concat(chunks) }));
    });
  }

  function connect(port: number): http2.ClientHttp2Session {
    const session = http2.connect(`http://127.0.0.1:${port}`);
    session.on('error', () => undefined);
    cleanups.push(() => {
      session.destroy();
    });
    return session;
  }

  it('serves calls whose :authority is http://host:port', async () => {
    const port = await startServer(true);
    const session = connect(port);
    for (const message of ['one', 'two', 'three']) {
      const result = await call(session, `http://127.0.0.1:${port}`, message);
      expect(result).toMatchObject({ rstCode: 0, status: '0' });
      expect(result.body.subarray(5).toString()).toBe(message);
    }
    const plain = await call(session, `127.0.0.1:${port}`, 'plain');
    expect(plain).toMatchObject({ rstCode: 0, status: '0' });
  });

  it('serves a connection whose first request has a plain :authority on the raw socket', async () => {
    served.length = 0;
    const port = await startServer(true);
    const result = await call(connect(port), `127.0.0.1:${port}`, 'plain');
    expect(result).toMatchObject({ rstCode: 0, status: '0' });
    await call(connect(port), `http://127.0.0.1:${port}`, 'schemed');
    expect(served).toEqual(['raw', 'normalizer']);
  });

  it('sends a client that waits for the server SETTINGS (as Go clients do) ours, and hides its ACK from HTTP/2', async () => {
    served.length = 0;
    const port = await startServer(true);
    const socket = net.connect(port, '127.0.0.1');
    cleanups.push(() => {
      socket.destroy();
    });
    const received: Buffer[] = [];
    let bytes = Buffer.alloc(0);
    const frames = (): ParsedFrame[] => parseFrames(Buffer.concat([PREFACE, bytes]));
    socket.on('data', (chunk: Buffer) => {
      received.push(chunk);
      bytes = Buffer.concat(received);
    });
    await new Promise((resolve) => socket.once('connect', resolve));
    socket.write(Buffer.concat([PREFACE, settings]));
    await waitUntil(() => bytes.length >= EMPTY_SETTINGS_FRAME.length);
    expect(bytes.subarray(0, 9).equals(EMPTY_SETTINGS_FRAME)).toBe(true); // ours, before any request

    const message = Buffer.concat([hex('0000000002'), Buffer.from('go')]);
    const headers = Buffer.concat([
      indexed(3), // :method POST
      indexed(6), // :scheme http
      literal('without-indexing', 4, '/test.Echo/Echo'),
      literal('without-indexing', 1, `127.0.0.1:${port}`),
      literal('without-indexing', 31, 'application/grpc'),
      literal('without-indexing', 'te', 'trailers'),
    ]);
    socket.write(
      Buffer.concat([
        frame(0x4, 0x1, 0, Buffer.alloc(0)), // ACK of our SETTINGS
        frame(HEADERS, END_HEADERS, 1, headers),
        frame(0x0, END_STREAM, 1, message),
      ]),
    );
    // nghttp2's own SETTINGS come too; the client acknowledges those as usual. Had our ACK reached nghttp2, it
    // would have taken it for the ACK of its own, and this one would end the connection: "SETTINGS: unexpected
    // ACK", GOAWAY. A PING after it shows that nothing of the sort happened (frames are handled in order).
    await waitUntil(() => frames().filter((f) => f.type === 0x4 && !(f.flags & 0x1)).length >= 2);
    socket.write(
      Buffer.concat([frame(0x4, 0x1, 0, Buffer.alloc(0)), frame(0x6, 0, 0, Buffer.from('pingpong'))]),
    );
    await waitUntil(() => frames().some((f) => (f.type === 0x6 && f.flags & 0x1) || f.type === 0x7));
    await waitUntil(() => frames().some((f) => f.type === HEADERS && f.flags & END_STREAM));
    expect(frames().filter((f) => f.type === 0x7)).toEqual([]);
    const answer = frames().filter((f) => f.streamId === 1 && f.type === 0x0);
    expect(
      Buffer.concat(answer.map((f) => f.payload))
        .subarray(5)
        .toString(),
    ).toBe('go');
    expect(served).toEqual(['raw']);
  });

  it('without the normalizer Node resets such a stream with PROTOCOL_ERROR', async () => {
    const port = await startServer(false);
    const session = connect(port);
    const result = await call(session, `http://127.0.0.1:${port}`, 'one');
    expect(result.rstCode).toBe(http2.constants.NGHTTP2_PROTOCOL_ERROR);
    expect(result.status).toBeUndefined();
  });
});
