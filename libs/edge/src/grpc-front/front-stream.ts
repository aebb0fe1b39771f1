// One call the gRPC front serves on an HTTP/2 stream it frames itself: the transport of a UnaryCall. An answer
// that fits the windows leaves as ONE buffer (HEADERS, DATA, trailers); a larger one is sent as the client's
// stream and connection windows allow (RFC 9113 §6.9), its trailers after the last DATA.
import { FRAME_HEADER_SIZE, FrameFlag, FrameType, Http2ErrorCode } from '../http2-frames';
import { percentEncodeGrpcMessage } from '../grpc-wire';
import type { UnaryTransport } from '../unary-call';
import type { ConnectionOutput } from './connection-output';
import { OK_TRAILER_BLOCK, RESPONSE_HEADER_BLOCK, statusOnlyBlock } from './header-blocks';

/** What a stream needs of its connection. */
export interface FrontStreamHost {
  readonly output: ConnectionOutput;
  readonly peerAddress: string | undefined;
  readonly peerCommonName: string | undefined;
  /** The client's SETTINGS_MAX_FRAME_SIZE. */
  readonly clientMaxFrameSize: number;
  /** The front has sent the stream's END_STREAM. */
  answered(stream: FrontStream): void;
  /** Ends the stream with RST_STREAM(code). */
  reset(stream: FrontStream, code: number): void;
}

/** A call the front took: its body as it comes, its end, or the client's going away. */
export interface FrontCall {
  data(chunk: Buffer): void;
  end(): void;
  abort(): void;
  /** Whether it was answered successfully (after which the stream's close is no abort). */
  readonly answeredOk: boolean;
}

export class FrontStream implements UnaryTransport {
  call: FrontCall | undefined;
  /** The client sent END_STREAM. */
  clientEnded = false;
  /** The front sent END_STREAM (or reset the stream). */
  finished = false;
  /** Request octets taken since the front last opened the client's stream window. */
  uncredited = 0;
  /** An answer waiting for window: its message and how much of it went out. */
  private body: Buffer | undefined;
  private sent = 0;

  constructor(
    readonly id: number,
    private readonly headers: ReadonlyMap<string, string>,
    private readonly host: FrontStreamHost,
    /** The client's window for this stream: what the front may still send on it. */
    private sendWindow: number,
  ) {}

  /** The client's window for this stream now. */
  get window(): number {
    return this.sendWindow;
  }

  get remoteAddress(): string | undefined {
    return this.host.peerAddress;
  }

  get certificateCommonName(): string | undefined {
    return this.host.peerCommonName;
  }

  header(name: string): string | undefined {
    return this.headers.get(name);
  }

  /** Every request header (first values), as the front decoded them. */
  get allHeaders(): ReadonlyMap<string, string> {
    return this.headers;
  }

  answer(message: Buffer): void {
    if (this.finished) return;
    const output = this.host.output;
    const fits =
      message.length <= this.sendWindow &&
      message.length <= output.available &&
      message.length <= this.host.clientMaxFrameSize;
    if (!fits) {
      output.send(frame(FrameType.HEADERS, FrameFlag.END_HEADERS, this.id, RESPONSE_HEADER_BLOCK));
      this.body = message;
      this.pump();
      return;
    }
    const out = Buffer.allocUnsafe(
      3 * FRAME_HEADER_SIZE + RESPONSE_HEADER_BLOCK.length + message.length + OK_TRAILER_BLOCK.length,
    );
    let at = writeFrame(out, 0, FrameType.HEADERS, FrameFlag.END_HEADERS, this.id, RESPONSE_HEADER_BLOCK);
    at = writeFrame(out, at, FrameType.DATA, 0, this.id, message);
    writeFrame(
      out,
      at,
      FrameType.HEADERS,
      FrameFlag.END_HEADERS | FrameFlag.END_STREAM,
      this.id,
      OK_TRAILER_BLOCK,
    );
    this.sendWindow -= message.length;
    output.spend(message.length);
    output.send(out);
    this.finish();
  }

  answerStatus(code: number, details: string): void {
    if (this.finished) return;
    const block = statusOnlyBlock(code, percentEncodeGrpcMessage(details));
    this.host.output.send(
      frame(FrameType.HEADERS, FrameFlag.END_HEADERS | FrameFlag.END_STREAM, this.id, block),
    );
    this.finish();
  }

  reset(): void {
    this.host.reset(this, Http2ErrorCode.INTERNAL_ERROR);
  }

  /** The client's WINDOW_UPDATE for this stream, or a change of its SETTINGS_INITIAL_WINDOW_SIZE (a delta). */
  windowGrew(delta: number): void {
    this.sendWindow += delta;
    this.pump();
  }

  /** Sends what the windows allow of a waiting answer (called again whenever a window grows). */
  pump(): void {
    const body = this.body;
    if (body === undefined || this.finished) return;
    const output = this.host.output;
    while (this.sent < body.length) {
      const n = Math.min(
        body.length - this.sent,
        this.sendWindow,
        output.available,
        this.host.clientMaxFrameSize,
      );
      if (n <= 0) return; // the next WINDOW_UPDATE pumps again
      if (output.backedUp) {
        output.waitForDrain(); // pumped again once the socket drains
        return;
      }
      output.send(frame(FrameType.DATA, 0, this.id, body.subarray(this.sent, this.sent + n)));
      this.sendWindow -= n;
      output.spend(n);
      this.sent += n;
    }
    this.body = undefined;
    output.send(
      frame(FrameType.HEADERS, FrameFlag.END_HEADERS | FrameFlag.END_STREAM, this.id, OK_TRAILER_BLOCK),
    );
    this.finish();
  }

  private finish(): void {
    this.finished = true;
    this.host.answered(this);
  }
}

/** One frame in a buffer of its own. */
export function frame(type: number, flags: number, streamId: number, payload: Buffer): Buffer {
  const out = Buffer.allocUnsafe(FRAME_HEADER_SIZE + payload.length);
  writeFrame(out, 0, type, flags, streamId, payload);
  return out;
}

/** Writes a frame into `out` at `at`; returns the offset after it. */
function writeFrame(
  out: Buffer,
  at: number,
  type: number,
  flags: number,
  streamId: number,
  payload: Buffer,
): number {
  out.writeUIntBE(payload.length, at, 3);
  out[at + 3] = type;
  out[at + 4] = flags;
  out.writeUInt32BE(streamId & 0x7fffffff, at + 5);
  payload.copy(out, at + FRAME_HEADER_SIZE);
  return at + FRAME_HEADER_SIZE + payload.length;
}
