// Decides, from the first request on a gRPC connection, whether it needs the :authority normalizer at all.
// The normalizer (authority-normalizer.ts) must sit in the byte stream for the whole connection, and a
// JS-wrapped socket costs Node's HTTP/2 more than the rewriting itself (~13 % of a busy leader's main thread);
// only clients that send `:authority: http://host:port` (Go clients dialled with http:// endpoints, etcdctl
// among them) need it. Everyone else can have the raw socket.
//
// The first header block of a connection is decoded with a fresh HPACK table (exactly the client's state at
// that point), so its :authority is known before nghttp2 sees a byte. Go clients send nothing but their preface
// until the server's SETTINGS arrive: for them the listener sends an empty SETTINGS frame itself (harmless: a
// server may send several; nghttp2's own follows) and this removes the client's ACK of it, the one frame
// nghttp2 must not see (it would answer an ACK for SETTINGS it never sent with a connection error).
import { DEFAULT_HEADER_TABLE_SIZE, HpackDecoder } from './hpack/decoder';
import { HpackError } from './hpack/errors';
import { headersFramePayload, stripScheme } from './authority-normalizer';
import { FRAME_HEADER_SIZE, FrameFlag, FrameType, HTTP2_PREFACE, frameHeader } from './http2-frames';

/** An empty SETTINGS frame: what the listener sends a client that waits for the server's preface. */
export const EMPTY_SETTINGS_FRAME = frameHeader(0, FrameType.SETTINGS, 0, 0);

export type SniffVerdict =
  /** More bytes are needed. */
  | { kind: 'waiting' }
  /** Hand `bytes` (all read so far, our SETTINGS' ACK removed) to HTTP/2, through the normalizer or not. */
  | { kind: 'decided'; normalize: boolean; bytes: Buffer; firstPath: string | undefined };

export class FirstRequestSniffer {
  private buffered: Buffer = Buffer.alloc(0);
  /** Bytes of `buffered` already parsed (whole frames). */
  private parsed = 0;
  private prefaceSeen = false;
  /** Fragments of the first header block while CONTINUATIONs are still due. */
  private block: { streamId: number; fragments: Buffer[] } | undefined;
  private authority: string | undefined;
  private path: string | undefined;
  private headersDone = false;
  /** Where unusual input was seen: stop interpreting and take the safe road (the normalizer). */
  private unusual = false;
  private ackDue = false;
  private ackRemoved = false;
  /** [start, end) of the removed ACK frame in `buffered`. */
  private removedAck: [number, number] | undefined;

  constructor(private readonly maxBytes = 64 * 1024) {}

  /** True once the preface has arrived but no complete first header block: time to send our SETTINGS. */
  get waitingForServerPreface(): boolean {
    return this.prefaceSeen && !this.headersDone && !this.ackDue && !this.unusual;
  }

  /** The listener wrote EMPTY_SETTINGS_FRAME: the client's next SETTINGS ACK is ours, not nghttp2's. */
  sentSettings(): void {
    this.ackDue = true;
  }

  /** Whether our SETTINGS were sent and their ACK has not come yet (the bytes cannot be handed over yet). */
  get ackPending(): boolean {
    return this.ackDue && !this.ackRemoved;
  }

  push(chunk: Buffer): SniffVerdict {
    this.buffered = this.buffered.length === 0 ? chunk : Buffer.concat([this.buffered, chunk]);
    this.parse();
    if (this.unusual && !this.ackPending) return this.decide(true);
    if (this.headersDone && !this.ackPending) return this.decide(this.needsNormalizer());
    if (this.buffered.length > this.maxBytes) return this.decide(true);
    return { kind: 'waiting' };
  }

  /** Gives up waiting for the first request (an idle connection): the safe road, with what was read. */
  giveUp(): SniffVerdict {
    return this.decide(true);
  }

  private needsNormalizer(): boolean {
    return this.authority !== undefined && stripScheme(this.authority) !== undefined;
  }

  private decide(normalize: boolean): SniffVerdict {
    const all = this.buffered;
    const bytes =
      this.removedAck === undefined
        ? all
        : Buffer.concat([all.subarray(0, this.removedAck[0]), all.subarray(this.removedAck[1])]);
    return { kind: 'decided', normalize, bytes, firstPath: this.path };
  }

  private parse(): void {
    const data = this.buffered;
    if (!this.prefaceSeen) {
      if (data.length < HTTP2_PREFACE.length) return;
      if (!data.subarray(0, HTTP2_PREFACE.length).equals(HTTP2_PREFACE)) {
        this.unusual = true;
        return;
      }
      this.prefaceSeen = true;
      this.parsed = HTTP2_PREFACE.length;
    }
    while (!this.unusual && data.length - this.parsed >= FRAME_HEADER_SIZE) {
      const pos = this.parsed;
      const length = data.readUIntBE(pos, 3);
      if (data.length - pos < FRAME_HEADER_SIZE + length) return;
      const type = data[pos + 3];
      const flags = data[pos + 4];
      const streamId = data.readUInt32BE(pos + 5) & 0x7fffffff;
      const payload = data.subarray(pos + FRAME_HEADER_SIZE, pos + FRAME_HEADER_SIZE + length);
      this.parsed = pos + FRAME_HEADER_SIZE + length;
      if (type === FrameType.SETTINGS && flags & FrameFlag.ACK && this.ackDue && !this.ackRemoved) {
        this.ackRemoved = true;
        this.removedAck = [pos, this.parsed];
      } else if (!this.headersDone) {
        this.onFrame(type, flags, streamId, payload);
      }
      if (this.headersDone && !this.ackPending) return;
    }
  }

  private onFrame(type: number, flags: number, streamId: number, payload: Buffer): void {
    if (this.block !== undefined) {
      if (type !== FrameType.CONTINUATION || streamId !== this.block.streamId) {
        this.unusual = true;
        return;
      }
      this.block.fragments.push(payload);
    } else if (type === FrameType.HEADERS) {
      const parts = headersFramePayload(payload, flags);
      if (parts === undefined) {
        this.unusual = true;
        return;
      }
      this.block = { streamId, fragments: [parts.fragment] };
    } else if (type === FrameType.CONTINUATION) {
      this.unusual = true;
      return;
    } else {
      return; // SETTINGS, WINDOW_UPDATE, PING, PRIORITY...: not ours to judge
    }
    if (flags & FrameFlag.END_HEADERS) this.finishBlock();
  }

  private finishBlock(): void {
    const fragments = this.block?.fragments ?? [];
    this.block = undefined;
    this.headersDone = true;
    try {
      const fields = new HpackDecoder(DEFAULT_HEADER_TABLE_SIZE).decode(
        fragments.length === 1 ? fragments[0] : Buffer.concat(fragments),
      );
      this.authority = fields.find((f) => f.name === ':authority')?.value;
      this.path = fields.find((f) => f.name === ':path')?.value;
    } catch (err) {
      if (!(err instanceof HpackError)) throw err;
      this.unusual = true;
    }
  }
}
