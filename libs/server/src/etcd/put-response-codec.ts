// A PutResponse without prev_kv, encoded by hand: protobufjs's generic encode turns the header's uint64 fields
// (decimal strings) into Longs through fromObject on every answer (Long.fromString's multiply loop, ≈ 2 KB of
// garbage and ≈ 3 µs per put). The bytes are what protobufjs writes: PutResponse { header = 1 }, ResponseHeader
// { cluster_id = 1, member_id = 2, revision = 3, raft_term = 4 }, each header field written even at zero (as
// protobufjs does for a field the object sets).

/** The answer a put's apply gives (kv-codec.ts wirePut). */
interface PutAnswer {
  header: { cluster_id: string; member_id: string; revision: number; raft_term: number };
  prev_kv: unknown;
}

/** The PutResponse bytes of `response`; undefined when it carries a prev_kv (the generic encoder's then). */
export function encodePutResponse(response: unknown): Buffer | undefined {
  const answer = response as Partial<PutAnswer> | null;
  const header = answer?.header;
  if (answer == null || (answer.prev_kv !== null && answer.prev_kv !== undefined) || header == null) {
    return undefined;
  }
  const { cluster_id: clusterId, member_id: memberId, revision, raft_term: term } = header;
  if (typeof clusterId !== 'string' || typeof memberId !== 'string') return undefined;
  if (!Number.isSafeInteger(revision) || !Number.isSafeInteger(term) || revision < 0 || term < 0) {
    return undefined;
  }
  const cluster = uint64Field(0x08, clusterId);
  const member = uint64Field(0x10, memberId);
  if (cluster === undefined || member === undefined) return undefined;
  const headerLength = cluster.length + member.length + numberFieldSize(revision) + numberFieldSize(term);
  const out = Buffer.allocUnsafe(1 + varintSize(headerLength) + headerLength);
  out[0] = 0x0a;
  let at = writeVarint(out, 1, headerLength);
  out.set(cluster, at);
  at += cluster.length;
  out.set(member, at);
  at += member.length;
  at = numberField(out, at, 0x18, revision);
  numberField(out, at, 0x20, term);
  return out;
}

/** The encoded `tag + varint` of a uint64 given in decimal, for the last text seen per tag (a member's ids). */
const lastField = new Map<number, { text: string; field: Buffer }>();

function uint64Field(tag: number, text: string): Buffer | undefined {
  const last = lastField.get(tag);
  if (last !== undefined && last.text === text) return last.field;
  if (!/^\d{1,20}$/.test(text)) return undefined;
  let value = BigInt(text);
  if (value >= 1n << 64n) return undefined;
  const bytes: number[] = [tag];
  while (value >= 0x80n) {
    bytes.push(Number(value & 0x7fn) | 0x80);
    value >>= 7n;
  }
  bytes.push(Number(value));
  const field = Buffer.from(bytes);
  lastField.set(tag, { text, field });
  return field;
}

function numberFieldSize(value: number): number {
  return 1 + varintSize(value);
}

function numberField(out: Buffer, at: number, tag: number, value: number): number {
  out[at] = tag;
  return writeVarint(out, at + 1, value);
}

function varintSize(value: number): number {
  let size = 1;
  for (let v = value; v >= 0x80; v = Math.floor(v / 0x80)) size++;
  return size;
}

function writeVarint(out: Buffer, at: number, value: number): number {
  let v = value;
  while (v >= 0x80) {
    out[at++] = (v % 0x80) | 0x80;
    v = Math.floor(v / 0x80);
  }
  out[at++] = v;
  return at;
}
