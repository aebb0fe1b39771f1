// Header blocks the gRPC front writes itself (RFC 7541), all without touching any HPACK dynamic table:
// - toward Node's HTTP/2 server, the client's header blocks re-encoded as literals "without indexing" (or
//   "never indexed", as the client marked them), so nghttp2's decoder table stays empty whatever the client's
//   encoder did, and the blocks the front keeps for itself need not be shown to nghttp2 at all;
// - toward the client, the answers of the calls the front serves: literals without indexing too, so the
//   client's decoder table stays exactly what nghttp2's encoder believes it is.
import type { HeaderField } from '../hpack/decoder';
import { encodeInteger } from '../hpack/integer';
import { STATIC_TABLE } from '../hpack/static-table';

const STATIC_NAME_INDEX = new Map<string, number>();
STATIC_TABLE.forEach((entry, i) => {
  if (!STATIC_NAME_INDEX.has(entry.name)) STATIC_NAME_INDEX.set(entry.name, i + 1);
});

/** RFC 7541 §6.2.2 / §6.2.3: the first octet's pattern (4-bit name index prefix). */
const WITHOUT_INDEXING = 0x00;
const NEVER_INDEXED = 0x10;

/** One field as a literal that leaves the decoder's table alone (name by static index where there is one). */
function encodeField(name: string, value: string, pattern: number): Buffer[] {
  const nameIndex = STATIC_NAME_INDEX.get(name);
  const parts =
    nameIndex === undefined
      ? [Buffer.of(pattern), encodeInteger(name.length, 7, 0), Buffer.from(name, 'latin1')]
      : [encodeInteger(nameIndex, 4, pattern)];
  parts.push(encodeInteger(value.length, 7, 0), Buffer.from(value, 'latin1'));
  return parts;
}

/** A header block of `fields` (names and values as latin1 strings, as the decoder gives them). */
export function literalHeaderBlock(fields: ReadonlyArray<readonly [string, string]>): Buffer {
  return Buffer.concat(fields.flatMap(([name, value]) => encodeField(name, value, WITHOUT_INDEXING)));
}

/**
 * A client's decoded header block re-encoded for nghttp2, `:authority` values passed through `authority`
 * (the front strips a scheme there, as the :authority normalizer does).
 */
export function reencodeForServer(
  fields: readonly HeaderField[],
  authority: (value: string) => string,
): Buffer {
  const parts: Buffer[] = [];
  for (const field of fields) {
    const value = field.name === ':authority' ? authority(field.value) : field.value;
    const pattern = field.neverIndexed === true ? NEVER_INDEXED : WITHOUT_INDEXING;
    parts.push(...encodeField(field.name, value, pattern));
  }
  return Buffer.concat(parts);
}

/** `:status: 200` is static table entry 8: one octet. */
const STATUS_200 = Buffer.of(0x80 | 8);
const GRPC_CONTENT = literalHeaderBlock([
  ['content-type', 'application/grpc+proto'],
  ['grpc-accept-encoding', 'identity,deflate,gzip'],
  ['grpc-encoding', 'identity'],
]);

/** The response headers of every answer the front sends (as fast-unary's RESPONSE_HEADERS). */
export const RESPONSE_HEADER_BLOCK = Buffer.concat([STATUS_200, GRPC_CONTENT]);

/** The trailers of a successful answer. */
export const OK_TRAILER_BLOCK = literalHeaderBlock([
  ['grpc-status', '0'],
  ['grpc-message', ''],
]);

/** A trailers-only answer (headers with END_STREAM) carrying a status; `message` already percent-encoded. */
export function statusOnlyBlock(code: number, message: string): Buffer {
  return Buffer.concat([
    RESPONSE_HEADER_BLOCK,
    literalHeaderBlock([
      ['grpc-status', String(code)],
      ['grpc-message', message],
    ]),
  ]);
}
