// The sending end of one Stream RPC: HTTP/2 framed by hand on its own socket — the connection preface, one
// request stream whose DATA frames carry the gRPC messages, and the frames a client must answer or obey
// (SETTINGS, PING, WINDOW_UPDATE, RST_STREAM, GOAWAY). Every AppendEntries and every answer to one crosses a
// peer stream; through Node's HTTP/2 client each write went through a Writable stream and nghttp2, and left
// from a native setImmediate. Here it is one socket write, made at once. The wire is plain gRPC, so the
// receiver may be grpc-js (another build, or peer-stream-route.ts not installed) or the hand-framed route.
import type net from 'node:net';
import { GrpcStatus, type GrpcErrorStatus } from '@cairn/api';
import {
  DEFAULT_MAX_FRAME_SIZE,
  FRAME_HEADER_SIZE,
  FrameFlag,
  FrameType,
  GrpcMessageReader,
  HTTP2_PREFACE,
  HpackDecoder,
  Http2ErrorCode,
  SettingsId,
  frameHeader,
  literalHeaderBlock,
  statusOfTrailers,
} from '@cairn/edge';
import { decodeStreamReply } from './frame-codec';
import { PLAINTEXT_PEER_DIALER, type PeerDialer } from './peer-dialer';
import { PEER_STREAM_PATH } from './proto';

export interface PeerStreamCallEvents {
  /** The receiver answered the hello: the stream is accepted. */
  onAccepted(memberId: bigint): void;
  /** The stream can take writes again after write() returned false. */
  onDrain(): void;
  /** The call is over, with the receiver's status or why the connection failed. Not called after cancel(). */
  onClosed(status: GrpcErrorStatus): void;
}

export interface PeerStreamCallOptions {
  /** A ping every this often on an otherwise quiet connection... */
  keepAliveTimeMs: number;
  /** ...that must be answered within this, or the connection is given up (SIGSTOPped or unplugged peer). */
  keepAliveTimeoutMs: number;
  /** Makes the connection (TLS for an https:// peer URL); plaintext when absent. */
  dialer?: PeerDialer;
  /** The peer URL `target` came from (its scheme picks plaintext or TLS); http:// when absent. */
  peerUrl?: string;
}

const MAX_REPLY_BYTES = 4 * 1024 * 1024;
/** The one stream of the connection (the first a client opens). */
const STREAM_ID = 1;
/** RFC 9113 §6.9.2: every window starts here until SETTINGS or WINDOW_UPDATEs say otherwise. */
const INITIAL_WINDOW = 65_535;
/** RFC 9113 §6.9.1: no window may grow past 2^31 - 1. */
const MAX_WINDOW = 0x7fffffff;
/** Reply octets consumed before they are given back (replies are a few bytes per stream). */
const CREDIT_BATCH = INITIAL_WINDOW / 4;
/** Octets queued for the receiver's windows past which write() asks the writer to wait (a Writable's mark). */
const HIGH_WATER_MARK = 16 * 1024;
/** A header block from the receiver (headers or trailers: a few fields) is refused past this. */
const MAX_HEADER_BLOCK_BYTES = 64 * 1024;
/**
 * Answers (SETTINGS and PING ACKs) waiting in the socket past which the receiver, which asks for them and does
 * not read them, is given up (nghttp2 calls that a flood).
 */
const MAX_UNREAD_ANSWER_BYTES = 1024 * 1024;
/** How long a cancelled call's socket may stay half-closed. */
const CLOSE_GRACE_MS = 1000;
/** Our SETTINGS: no server push (RFC 9113 §8.4). */
const CLIENT_SETTINGS = settingsFrame([[SettingsId.ENABLE_PUSH, 0]]);
const SETTINGS_ACK = frameHeader(0, FrameType.SETTINGS, FrameFlag.ACK, 0);

export class PeerStreamCall {
  private readonly socket: net.Socket;
  private readonly replies = new GrpcMessageReader(MAX_REPLY_BYTES);
  private readonly headerDecoder = new HpackDecoder();
  private readonly pingTimer: NodeJS.Timeout;
  private pingTimeout: NodeJS.Timeout | undefined;
  private pingsSent = 0;
  /** Input not yet parsed: an incomplete frame. */
  private input: Buffer | undefined;
  /** A header block whose CONTINUATION frames are still to come. */
  private headerBlock: { streamId: number; endStream: boolean; parts: Buffer[]; bytes: number } | undefined;
  /** The receiver's windows for what we send (RFC 9113 §6.9), and its limits. */
  private connectionWindow = INITIAL_WINDOW;
  private streamWindow = INITIAL_WINDOW;
  private peerInitialWindow = INITIAL_WINDOW;
  private peerMaxFrameSize = DEFAULT_MAX_FRAME_SIZE;
  /** Messages (gRPC-framed) not yet sent, and how much of the first one went. */
  private queue: Buffer[] = [];
  private queuedBytes = 0;
  private headSent = 0;
  /** write() returned false: onDrain is owed once the queue and the socket have room. */
  private owesDrain = false;
  /** Reply octets consumed and not yet given back, per connection and stream. */
  private uncredited = 0;
  private status: GrpcErrorStatus | undefined;
  private over = false;

  /** Dials `target` (`host:port`, see grpcTargetOf) and opens the stream; the hello is the caller's first write. */
  constructor(
    target: string,
    private readonly events: PeerStreamCallEvents,
    private readonly options: PeerStreamCallOptions,
  ) {
    const colon = target.lastIndexOf(':');
    const host = target.slice(0, colon).replace(/^\[(.*)\]$/, '$1');
    const port = Number(target.slice(colon + 1));
    if (colon <= 0 || !Number.isInteger(port) || port <= 0 || port > 65535) {
      throw new Error(`peer target ${target}: expected host:port`);
    }
    const peerUrl = options.peerUrl ?? `http://${target}`;
    const dialer = options.dialer ?? PLAINTEXT_PEER_DIALER;
    // Frames are whole messages written at once; Nagle would only hold back the one that matters (the dialer
    // sets noDelay). A dialer that cannot reach this URL at all (https without TLS settings) throws here.
    this.socket = dialer.connect(peerUrl, host, port);
    const scheme = peerUrl.startsWith('https://') ? 'https' : 'http';
    const request = literalHeaderBlock([
      [':method', 'POST'],
      [':scheme', scheme],
      [':path', PEER_STREAM_PATH],
      [':authority', target],
      ['content-type', 'application/grpc'],
      ['te', 'trailers'],
      ['user-agent', 'cairn-peer'],
    ]);
    // Written while the socket connects (it holds writes until then): preface, SETTINGS, the request.
    this.socket.write(
      Buffer.concat([
        HTTP2_PREFACE,
        CLIENT_SETTINGS,
        frameHeader(request.length, FrameType.HEADERS, FrameFlag.END_HEADERS, STREAM_ID),
        request,
      ]),
    );
    this.socket.on('data', (chunk: Buffer) => this.onInput(chunk));
    this.socket.on('drain', () => this.maybeDrained());
    this.socket.on('error', (err) => this.remember(unavailable(err.message)));
    this.socket.on('close', () => this.finish(unavailable('connection closed')));
    this.pingTimer = setInterval(() => this.ping(), options.keepAliveTimeMs);
    this.pingTimer.unref();
  }

  /** Sends one gRPC message (encodeGrpcStreamFrame); false: wait for onDrain before writing more. */
  write(message: Buffer): boolean {
    if (this.over) return true;
    this.queue.push(message);
    this.queuedBytes += message.length;
    this.pump();
    const room = this.queuedBytes < HIGH_WATER_MARK && !this.socket.writableNeedDrain;
    if (!room) this.owesDrain = true;
    return room;
  }

  /** Hangs up without reporting. */
  cancel(): void {
    if (this.over) return;
    this.over = true;
    this.stopTimers();
    // The reset goes out with our end of the connection; a receiver that never closes its end (a stopped
    // process) does not keep the socket.
    this.socket.end(rstStream(Http2ErrorCode.CANCEL));
    setTimeout(() => this.socket.destroy(), CLOSE_GRACE_MS).unref();
  }

  /** Sends what the receiver's windows allow, as DATA frames of at most its frame size, in one socket write. */
  private pump(): void {
    const out: Buffer[] = [];
    while (this.queue.length > 0) {
      const room = Math.min(this.connectionWindow, this.streamWindow, this.peerMaxFrameSize);
      if (room <= 0) break;
      const head = this.queue[0];
      const n = Math.min(room, head.length - this.headSent);
      out.push(frameHeader(n, FrameType.DATA, 0, STREAM_ID), head.subarray(this.headSent, this.headSent + n));
      this.connectionWindow -= n;
      this.streamWindow -= n;
      this.queuedBytes -= n;
      this.headSent += n;
      if (this.headSent === head.length) {
        this.queue.shift();
        this.headSent = 0;
      }
    }
    if (out.length > 0) this.socket.write(Buffer.concat(out));
  }

  private maybeDrained(): void {
    if (!this.owesDrain || this.over) return;
    if (this.queuedBytes >= HIGH_WATER_MARK || this.socket.writableNeedDrain) return;
    this.owesDrain = false;
    this.events.onDrain();
  }

  private onInput(chunk: Buffer): void {
    let data = this.input === undefined ? chunk : Buffer.concat([this.input, chunk]);
    this.input = undefined;
    while (!this.over && data.length >= FRAME_HEADER_SIZE) {
      const length = data.readUIntBE(0, 3);
      // We advertised no larger frame size (RFC 9113 §4.2).
      if (length > DEFAULT_MAX_FRAME_SIZE) return this.protocolError(`a frame of ${length} octets`);
      if (data.length < FRAME_HEADER_SIZE + length) break;
      const type = data[3];
      const flags = data[4];
      const streamId = data.readUInt32BE(5) & 0x7fffffff;
      const payload = data.subarray(FRAME_HEADER_SIZE, FRAME_HEADER_SIZE + length);
      data = data.subarray(FRAME_HEADER_SIZE + length);
      this.onFrame(type, flags, streamId, payload);
    }
    if (!this.over && data.length > 0) this.input = data;
  }

  private onFrame(type: number, flags: number, streamId: number, payload: Buffer): void {
    if (
      this.headerBlock !== undefined &&
      (type !== FrameType.CONTINUATION || streamId !== this.headerBlock.streamId)
    ) {
      return this.protocolError('a header block interrupted'); // RFC 9113 §6.10
    }
    switch (type) {
      case FrameType.DATA:
        return this.onData(flags, streamId, payload);
      case FrameType.HEADERS:
        return this.onHeaders(flags, streamId, payload);
      case FrameType.CONTINUATION:
        return this.onContinuation(flags, payload);
      case FrameType.RST_STREAM:
        if (streamId !== STREAM_ID || payload.length !== 4) return;
        return this.onReset(payload.readUInt32BE(0));
      case FrameType.SETTINGS:
        return this.onSettings(flags, payload);
      case FrameType.PING:
        return this.onPing(flags, payload);
      case FrameType.GOAWAY:
        // The receiver is going away: a stream it names as processed still gets its status; ours is the first.
        if (payload.length >= 8 && (payload.readUInt32BE(0) & 0x7fffffff) < STREAM_ID) {
          this.finish(unavailable(`the receiver is going away (HTTP/2 code ${payload.readUInt32BE(4)})`));
        }
        return;
      case FrameType.WINDOW_UPDATE:
        return this.onWindowUpdate(streamId, payload);
      case FrameType.PUSH_PROMISE:
        return this.protocolError('a PUSH_PROMISE (push is disabled)');
      default:
        return; // PRIORITY and unknown types: nothing to do (RFC 9113 §5.5)
    }
  }

  private onData(flags: number, streamId: number, payload: Buffer): void {
    if (streamId !== STREAM_ID) return this.protocolError(`DATA on stream ${streamId}`);
    this.uncredited += payload.length;
    if (this.uncredited >= CREDIT_BATCH) {
      this.socket.write(
        Buffer.concat([windowUpdate(0, this.uncredited), windowUpdate(STREAM_ID, this.uncredited)]),
      );
      this.uncredited = 0;
    }
    let body = payload;
    if (flags & FrameFlag.PADDED) {
      if (payload.length === 0 || payload[0] >= payload.length) return this.protocolError('bad DATA padding');
      body = payload.subarray(1, payload.length - payload[0]);
    }
    let messages: Buffer[];
    try {
      messages = this.replies.push(body);
    } catch (refusal) {
      this.remember(refusal as GrpcErrorStatus);
      this.socket.destroy();
      return;
    }
    for (const reply of messages) {
      if (this.over) return;
      let memberId: bigint;
      try {
        memberId = decodeStreamReply(reply);
      } catch (err) {
        this.remember({ code: GrpcStatus.INTERNAL, details: (err as Error).message });
        this.socket.destroy();
        return;
      }
      this.events.onAccepted(memberId);
    }
    if (flags & FrameFlag.END_STREAM) this.finish(unavailable('stream closed without a status'));
  }

  private onHeaders(flags: number, streamId: number, payload: Buffer): void {
    let start = 0;
    let end = payload.length;
    if (flags & FrameFlag.PADDED) {
      if (payload.length === 0) return this.protocolError('bad HEADERS padding');
      start = 1;
      end -= payload[0];
    }
    if (flags & FrameFlag.PRIORITY) start += 5;
    if (start > end) return this.protocolError('bad HEADERS padding');
    const block = payload.subarray(start, end);
    const endStream = (flags & FrameFlag.END_STREAM) !== 0;
    if (flags & FrameFlag.END_HEADERS) return this.onHeaderBlock(streamId, endStream, block);
    this.headerBlock = { streamId, endStream, parts: [Buffer.from(block)], bytes: block.length };
  }

  private onContinuation(flags: number, payload: Buffer): void {
    const pending = this.headerBlock;
    if (pending === undefined) return this.protocolError('a CONTINUATION without HEADERS');
    pending.bytes += payload.length;
    if (pending.bytes > MAX_HEADER_BLOCK_BYTES) return this.protocolError('a header block past 64 KiB');
    pending.parts.push(Buffer.from(payload));
    if (!(flags & FrameFlag.END_HEADERS)) return;
    this.headerBlock = undefined;
    this.onHeaderBlock(pending.streamId, pending.endStream, Buffer.concat(pending.parts));
  }

  /** Response headers or trailers: decoded always (the HPACK table must follow every block), read for ours. */
  private onHeaderBlock(streamId: number, endStream: boolean, block: Buffer): void {
    const headers: Record<string, string> = {};
    try {
      for (const field of this.headerDecoder.decodeFields(block)) headers[field.name] = field.value;
    } catch (err) {
      return this.protocolError(`an undecodable header block: ${(err as Error).message}`);
    }
    if (streamId !== STREAM_ID) return;
    // A status (in trailers, or in the headers of a trailers-only answer) ends the call, whether or not our side
    // of the stream is still open.
    const status = statusOfTrailers(headers);
    if (status !== undefined) {
      this.remember(status);
      this.finish(status);
    } else if (endStream) {
      this.finish(unavailable('stream closed without a status'));
    }
  }

  private onReset(code: number): void {
    this.finish(
      code !== Http2ErrorCode.NO_ERROR
        ? unavailable(`stream reset (HTTP/2 code ${code})`)
        : unavailable('stream closed without a status'),
    );
  }

  private onSettings(flags: number, payload: Buffer): void {
    if (flags & FrameFlag.ACK) return;
    if (payload.length % 6 !== 0) return this.protocolError('a malformed SETTINGS frame');
    for (let at = 0; at < payload.length; at += 6) {
      const id = payload.readUInt16BE(at);
      const value = payload.readUInt32BE(at + 2);
      if (id === SettingsId.INITIAL_WINDOW_SIZE) {
        if (value > MAX_WINDOW) return this.protocolError('an initial window past 2^31-1');
        this.streamWindow += value - this.peerInitialWindow; // RFC 9113 §6.9.2: open windows move by the change
        this.peerInitialWindow = value;
      } else if (id === SettingsId.MAX_FRAME_SIZE) {
        if (value < DEFAULT_MAX_FRAME_SIZE || value > 0xffffff) return this.protocolError('a bad frame size');
        this.peerMaxFrameSize = value;
      }
    }
    this.answer(SETTINGS_ACK);
    this.pump();
    this.maybeDrained();
  }

  private onPing(flags: number, payload: Buffer): void {
    if (payload.length !== 8) return this.protocolError('a PING that is not 8 octets');
    if (!(flags & FrameFlag.ACK)) {
      this.answer(Buffer.concat([frameHeader(8, FrameType.PING, FrameFlag.ACK, 0), payload]));
      return;
    }
    if (this.pingTimeout !== undefined && payload.readUInt32BE(4) === this.pingsSent) {
      clearTimeout(this.pingTimeout);
      this.pingTimeout = undefined;
    }
  }

  private onWindowUpdate(streamId: number, payload: Buffer): void {
    if (payload.length !== 4) return this.protocolError('a WINDOW_UPDATE that is not 4 octets');
    const increment = payload.readUInt32BE(0) & 0x7fffffff;
    if (streamId === 0) this.connectionWindow += increment;
    else if (streamId === STREAM_ID) this.streamWindow += increment;
    if (this.connectionWindow > MAX_WINDOW || this.streamWindow > MAX_WINDOW) {
      return this.protocolError('a window past 2^31-1');
    }
    this.pump();
    this.maybeDrained();
  }

  /** Writes an answer the receiver asked for, unless it leaves too many of them unread. */
  private answer(frame: Buffer): void {
    if (this.socket.writableLength > MAX_UNREAD_ANSWER_BYTES) {
      return this.protocolError('SETTINGS or PINGs faster than it reads the answers');
    }
    this.socket.write(frame);
  }

  /** A PING that must come back within keepAliveTimeoutMs, unless one is already out. */
  private ping(): void {
    if (this.over || this.pingTimeout !== undefined) return;
    this.pingsSent++;
    const payload = Buffer.alloc(8);
    payload.writeUInt32BE(this.pingsSent, 4);
    this.pingTimeout = setTimeout(() => {
      this.remember(unavailable('keepalive ping not answered'));
      this.socket.destroy();
    }, this.options.keepAliveTimeoutMs);
    this.pingTimeout.unref();
    this.socket.write(Buffer.concat([frameHeader(8, FrameType.PING, 0, 0), payload]));
  }

  private protocolError(what: string): void {
    this.remember(unavailable(`HTTP/2 protocol error from the receiver: ${what}`));
    this.socket.destroy();
  }

  /** The first status heard wins: the receiver's own status beats what the connection did afterwards. */
  private remember(status: GrpcErrorStatus | undefined): void {
    if (status !== undefined && this.status === undefined) this.status = status;
  }

  private stopTimers(): void {
    clearInterval(this.pingTimer);
    clearTimeout(this.pingTimeout);
    this.pingTimeout = undefined;
  }

  private finish(fallback: GrpcErrorStatus): void {
    if (this.over) return;
    this.over = true;
    this.stopTimers();
    this.socket.destroy();
    this.events.onClosed(this.status ?? fallback);
  }
}

function unavailable(details: string): GrpcErrorStatus {
  return { code: GrpcStatus.UNAVAILABLE, details };
}

function settingsFrame(settings: ReadonlyArray<readonly [number, number]>): Buffer {
  const payload = Buffer.alloc(settings.length * 6);
  settings.forEach(([id, value], i) => {
    payload.writeUInt16BE(id, i * 6);
    payload.writeUInt32BE(value, i * 6 + 2);
  });
  return Buffer.concat([frameHeader(payload.length, FrameType.SETTINGS, 0, 0), payload]);
}

function windowUpdate(streamId: number, increment: number): Buffer {
  const payload = Buffer.alloc(4);
  payload.writeUInt32BE(increment, 0);
  return Buffer.concat([frameHeader(4, FrameType.WINDOW_UPDATE, 0, streamId), payload]);
}

function rstStream(code: number): Buffer {
  const payload = Buffer.alloc(4);
  payload.writeUInt32BE(code, 0);
  return Buffer.concat([frameHeader(4, FrameType.RST_STREAM, 0, STREAM_ID), payload]);
}
