// The few pieces of gRPC-over-HTTP/2 that the calls served or made without grpc-js need (the KV fast path of
// apps/server, both ends of the peer message stream): length-prefixed messages, the status carried in
// trailers, and grpc-js's texts for the messages it refuses, so that either end can be grpc-js.
import type http2 from 'node:http2';
import { GrpcStatus, type GrpcErrorStatus } from '@cairn/api';

/** grpc-js's refusals of a received message, word for word. */
export const GRPC_MESSAGE_REFUSALS = {
  tooLarge: (length: number, max: number): GrpcErrorStatus =>
    status(GrpcStatus.RESOURCE_EXHAUSTED, `Received message larger than max (${length} vs. ${max})`),
  compressed: (): GrpcErrorStatus =>
    status(GrpcStatus.INTERNAL, 'Received compressed message but "grpc-encoding" header was identity'),
};

/** Cuts gRPC messages (flag byte, 4-byte big-endian length, payload) out of a stream's DATA chunks. */
export class GrpcMessageReader {
  private buffered: Buffer | undefined;

  constructor(private readonly maxMessageBytes: number) {}

  /** The messages this chunk completes, in order; throws a GrpcErrorStatus on a message we must refuse. */
  push(chunk: Buffer): Buffer[] {
    let data = this.buffered === undefined ? chunk : Buffer.concat([this.buffered, chunk]);
    this.buffered = undefined;
    const messages: Buffer[] = [];
    while (data.length >= 5) {
      const length = data.readUInt32BE(1);
      if (length > this.maxMessageBytes) throw GRPC_MESSAGE_REFUSALS.tooLarge(length, this.maxMessageBytes);
      if (data[0] !== 0) throw GRPC_MESSAGE_REFUSALS.compressed();
      if (data.length < 5 + length) break;
      messages.push(data.subarray(5, 5 + length));
      data = data.subarray(5 + length);
    }
    if (data.length > 0) this.buffered = data;
    return messages;
  }

  /** Bytes of a message begun but not finished (a stream that ends here was cut short). */
  hasPartialMessage(): boolean {
    return this.buffered !== undefined;
  }
}

/** A gRPC message: the 5-byte prefix and the payload, in one buffer. */
export function grpcMessage(payload: Buffer): Buffer {
  const out = Buffer.allocUnsafe(5 + payload.length);
  out[0] = 0;
  out.writeUInt32BE(payload.length, 1);
  payload.copy(out, 5);
  return out;
}

/** The status in a response's trailers (or trailers-only headers); undefined when there is none. */
export function statusOfTrailers(headers: http2.IncomingHttpHeaders): GrpcErrorStatus | undefined {
  const code = headers['grpc-status'];
  if (typeof code !== 'string') return undefined;
  const parsed = Number(code);
  const message = headers['grpc-message'];
  let details = typeof message === 'string' ? message : '';
  try {
    details = decodeURIComponent(details);
  } catch {
    // Not percent-encoded after all: keep it as sent.
  }
  return { code: Number.isInteger(parsed) ? parsed : GrpcStatus.UNKNOWN, details };
}

/** Trailers for a status, grpc-message percent-encoded as the gRPC spec asks. */
export function trailersOf(s: GrpcErrorStatus | undefined): http2.OutgoingHttpHeaders {
  return {
    'grpc-status': String(s?.code ?? GrpcStatus.OK),
    'grpc-message': percentEncodeGrpcMessage(s?.details ?? ''),
  };
}

/** gRPC's percent-encoding: only bytes outside printable ASCII, and '%' itself (':' and ' ' stay as they are). */
export function percentEncodeGrpcMessage(message: string): string {
  if (/^[\x20-\x24\x26-\x7e]*$/.test(message)) return message;
  let out = '';
  for (const byte of Buffer.from(message, 'utf8')) {
    out +=
      byte >= 0x20 && byte <= 0x7e && byte !== 0x25
        ? String.fromCharCode(byte)
        : `%${byte.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}

function status(code: number, details: string): GrpcErrorStatus {
  return { code, details };
}
