// Go gRPC clients dialled with an `http://host:port` endpoint (etcd 3.4's etcdctl among them) send
// `:authority: http://host:port`. nghttp2, under Node's http2, rejects an authority containing '/' and resets
// the stream; Go servers accept it. This sits between a client socket and the HTTP/2 server and rewrites such
// values to `host:port`, passing every other byte through untouched.
//
// Rewriting a header block means tracking the client's HPACK encoder table, so every header block is decoded
// (into a mirror of that table) even though only the `:authority` literals ever change. A rewritten field keeps
// its representation: a literal with incremental indexing stays one, so the server's decoder inserts the same
// entry at the same position, only with a shorter value. Entries are evicted oldest-first whenever the table
// would exceed its size, so with every server-side entry no larger than its client-side twin the server's
// table always holds at least the entries the client's does, in the same order, possibly followed by older
// ones the client has already evicted. Every index the client sends therefore names the same entry on both
// sides, and indexed fields (even ones that point at a rewritten authority) can be forwarded byte-for-byte.
import type net from 'node:net';
import { ForwardOutput } from './forward-output';
import { SocketProxy } from './socket-proxy';
import { DEFAULT_HEADER_TABLE_SIZE, type DecodedField, HpackDecoder } from './hpack/decoder';
import { HpackError } from './hpack/errors';
import { encodeRawString } from './hpack/string';
import {
  DEFAULT_MAX_FRAME_SIZE,
  FRAME_HEADER_SIZE,
  FrameFlag,
  FrameType,
  HTTP2_PREFACE,
  PRIORITY_FIELDS_SIZE,
  frameHeader,
} from './http2-frames';

const EMPTY = Buffer.alloc(0);

export interface AuthorityNormalizerOptions {
  /** The server's SETTINGS_HEADER_TABLE_SIZE (Node's default is 4096). */
  headerTableSize?: number;
  /** A header block larger than this is not buffered: the connection is passed through from then on. */
  maxHeaderBlockSize?: number;
}

interface PendingBlock {
  readonly streamId: number;
  readonly flags: number;
  readonly priority: Buffer | undefined;
  /** The block's frames as received, to forward if nothing changes. */
  readonly frames: Buffer[];
  readonly fragments: Buffer[];
  size: number;
}

/** `value` without its scheme (and any path), or undefined when it has no scheme. */
export function stripScheme(value: string): string | undefined {
  const scheme = /^https?:\/\//i.exec(value);
  if (!scheme) return undefined;
  const rest = value.slice(scheme[0].length);
  const slash = rest.indexOf('/');
  return slash === -1 ? rest : rest.slice(0, slash);
}

/** The block with every literal `:authority` value that carries a scheme shortened; undefined if none does. */
export function rewriteAuthorityFields(block: Buffer, fields: readonly DecodedField[]): Buffer | undefined {
  let parts: Buffer[] | undefined;
  let copied = 0;
  for (const field of fields) {
    if (field.representation === 'indexed' || field.name !== ':authority') continue;
    const value = stripScheme(field.value);
    if (value === undefined) continue;
    parts ??= [];
    // Everything up to the value (other fields, the representation prefix, the name) stays as it was.
    parts.push(block.subarray(copied, field.valueStart), encodeRawString(value));
    copied = field.end;
  }
  if (!parts) return undefined;
  parts.push(block.subarray(copied));
  return Buffer.concat(parts);
}

/**
 * The client-to-server byte transform: feed it what the client sent, forward what it returns. Frames are
 * parsed but only header blocks are held back (until END_HEADERS); anything it cannot parse switches it to
 * passing bytes through untouched, leaving the error for the HTTP/2 server to report.
 */
export class AuthorityNormalizer {
  private readonly decoder: HpackDecoder;
  private readonly maxBlockSize: number;
  private state: 'preface' | 'frames' | 'passthrough' = 'preface';
  /** Received bytes not yet forwarded: a partial preface, frame header or header-block frame. */
  private pending: Buffer | undefined;
  /** Payload octets of the current non-header frame still to forward as they come. */
  private skip = 0;
  private block: PendingBlock | undefined;

  constructor(options: AuthorityNormalizerOptions = {}) {
    this.decoder = new HpackDecoder(options.headerTableSize ?? DEFAULT_HEADER_TABLE_SIZE);
    this.maxBlockSize = options.maxHeaderBlockSize ?? 1 << 20;
  }

  /** True once it has given up on the connection and only passes bytes through. */
  get passingThrough(): boolean {
    return this.state === 'passthrough';
  }

  push(chunk: Buffer): Buffer {
    if (this.state === 'passthrough') return chunk;
    const data = this.pending ? Buffer.concat([this.pending, chunk]) : chunk;
    this.pending = undefined;
    const out = new ForwardOutput();
    let pos = 0;
    while (pos < data.length) {
      if (this.passingThrough) {
        out.add(data, pos);
        return out.result();
      }
      if (this.skip > 0) {
        const n = Math.min(this.skip, data.length - pos);
        out.add(data, pos, pos + n);
        pos += n;
        this.skip -= n;
        continue;
      }
      if (this.state === 'preface') {
        if (data.length - pos < HTTP2_PREFACE.length) break;
        if (!data.subarray(pos, pos + HTTP2_PREFACE.length).equals(HTTP2_PREFACE))
          return this.giveUp(out, data.subarray(pos));
        out.add(data, pos, pos + HTTP2_PREFACE.length);
        pos += HTTP2_PREFACE.length;
        this.state = 'frames';
        continue;
      }
      if (data.length - pos < FRAME_HEADER_SIZE) break;
      const length = data.readUIntBE(pos, 3);
      const type = data[pos + 3];
      const flags = data[pos + 4];
      const streamId = data.readUInt32BE(pos + 5) & 0x7fffffff;
      // Between HEADERS and END_HEADERS only CONTINUATIONs of that stream may come (RFC 9113 §6.10); clients
      // never send PUSH_PROMISE. Either is the server's error to report, so stop interpreting.
      const misplaced = this.block
        ? type !== FrameType.CONTINUATION || streamId !== this.block.streamId
        : type === FrameType.CONTINUATION || type === FrameType.PUSH_PROMISE;
      if (misplaced) return this.giveUp(out, data.subarray(pos));
      if (type !== FrameType.HEADERS && type !== FrameType.CONTINUATION) {
        out.add(data, pos, pos + FRAME_HEADER_SIZE);
        pos += FRAME_HEADER_SIZE;
        this.skip = length;
        continue;
      }
      if ((this.block?.size ?? 0) + length > this.maxBlockSize) return this.giveUp(out, data.subarray(pos));
      if (data.length - pos < FRAME_HEADER_SIZE + length) break;
      const frame = data.subarray(pos, pos + FRAME_HEADER_SIZE + length);
      if (!this.addBlockFrame(frame, type, flags, streamId)) return this.giveUp(out, data.subarray(pos));
      pos += frame.length;
      if (flags & FrameFlag.END_HEADERS) for (const part of this.finishBlock()) out.add(part);
    }
    if (pos < data.length) this.pending = data.subarray(pos);
    return out.result();
  }

  /** At end of input: whatever is still held back (a truncated frame or header block), unchanged. */
  flush(): Buffer {
    const out = new ForwardOutput();
    for (const frame of this.block?.frames ?? []) out.add(frame);
    if (this.pending) out.add(this.pending);
    this.block = undefined;
    this.pending = undefined;
    this.state = 'passthrough';
    return out.result();
  }

  private addBlockFrame(frame: Buffer, type: number, flags: number, streamId: number): boolean {
    const payload = frame.subarray(FRAME_HEADER_SIZE);
    if (type === FrameType.CONTINUATION && this.block) {
      this.block.frames.push(frame);
      this.block.fragments.push(payload);
      this.block.size += payload.length;
      return true;
    }
    const parts = headersFramePayload(payload, flags);
    if (parts === undefined) return false;
    this.block = {
      streamId,
      flags,
      priority: parts.priority,
      frames: [frame],
      fragments: [parts.fragment],
      size: payload.length,
    };
    return true;
  }

  /** Decodes the finished block and returns the frames to forward in its place. */
  private finishBlock(): Buffer[] {
    const block = this.block;
    this.block = undefined;
    if (!block) return [];
    const fragment = block.fragments.length === 1 ? block.fragments[0] : Buffer.concat(block.fragments);
    let fields: DecodedField[];
    try {
      fields = this.decoder.decode(fragment);
    } catch (err) {
      if (!(err instanceof HpackError)) throw err;
      this.state = 'passthrough';
      return block.frames;
    }
    const rewritten = rewriteAuthorityFields(fragment, fields);
    return rewritten ? headerFrames(rewritten, block) : block.frames;
  }

  private giveUp(out: ForwardOutput, rest: Buffer): Buffer {
    this.state = 'passthrough';
    for (const frame of this.block?.frames ?? []) out.add(frame);
    this.block = undefined;
    out.add(rest);
    return out.result();
  }
}

/** A HEADERS frame's payload without padding: its priority fields (if flagged) and header block fragment. */
export function headersFramePayload(
  payload: Buffer,
  flags: number,
): { priority: Buffer | undefined; fragment: Buffer } | undefined {
  let offset = 0;
  let padding = 0;
  if (flags & FrameFlag.PADDED) {
    if (payload.length < 1) return undefined;
    padding = payload[0];
    offset = 1;
  }
  let priority: Buffer | undefined;
  if (flags & FrameFlag.PRIORITY) {
    priority = payload.subarray(offset, offset + PRIORITY_FIELDS_SIZE);
    offset += PRIORITY_FIELDS_SIZE;
  }
  if (offset + padding > payload.length) return undefined;
  return { priority, fragment: payload.subarray(offset, payload.length - padding) };
}

/** HEADERS (+ CONTINUATION) frames carrying `fragment`, unpadded, with the original flags and priority. */
export function headerFrames(
  fragment: Buffer,
  block: Pick<PendingBlock, 'streamId' | 'flags' | 'priority'>,
): Buffer[] {
  const frames: Buffer[] = [];
  const priority = block.priority ?? EMPTY;
  let offset = Math.min(fragment.length, DEFAULT_MAX_FRAME_SIZE - priority.length);
  const last = offset === fragment.length;
  const flags =
    (block.flags & ~(FrameFlag.PADDED | FrameFlag.END_HEADERS)) | (last ? FrameFlag.END_HEADERS : 0);
  frames.push(
    frameHeader(priority.length + offset, FrameType.HEADERS, flags, block.streamId),
    priority,
    fragment.subarray(0, offset),
  );
  while (offset < fragment.length) {
    const end = Math.min(fragment.length, offset + DEFAULT_MAX_FRAME_SIZE);
    const continuationFlags = end === fragment.length ? FrameFlag.END_HEADERS : 0;
    frames.push(frameHeader(end - offset, FrameType.CONTINUATION, continuationFlags, block.streamId));
    frames.push(fragment.subarray(offset, end));
    offset = end;
  }
  return frames;
}

/** A client socket whose bytes pass through an AuthorityNormalizer on their way to the HTTP/2 server. */
export class AuthorityNormalizingSocket extends SocketProxy {
  private readonly normalizer: AuthorityNormalizer;

  constructor(socket: net.Socket, options?: AuthorityNormalizerOptions) {
    super(socket);
    this.normalizer = new AuthorityNormalizer(options);
  }

  protected fromClient(chunk: Buffer): Buffer {
    return this.normalizer.push(chunk);
  }

  protected clientEnded(): Buffer {
    return this.normalizer.flush();
  }
}
