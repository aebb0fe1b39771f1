// A gRPC connection whose hot unary calls (etcd's KV Put/Range/DeleteRange/Txn) the front frames itself, while
// Node's HTTP/2 server (nghttp2, under grpc-js) serves everything else on the same connection through this
// socket. Profiles of puts put Node's HTTP/2 at 37–47 µs of a put's ≈ 120 µs of CPU (a stream object, header
// objects and events per call); the front reads the frames once, decodes the header block against its own copy
// of the client's HPACK table and answers with prebuilt header blocks.
//
// What the client sends:
// - every header block is decoded here; a call the front takes never reaches nghttp2, any other block is
//   re-encoded without indexing (header-blocks.ts) so nghttp2's HPACK table never depends on blocks it did not
//   see; `:authority: http://host:port` (Go clients) is shortened on the way, as the :authority normalizer does;
// - DATA, RST_STREAM and WINDOW_UPDATE of the front's streams stay here; the front gives the client back its
//   connection window for the DATA it consumed (nghttp2 does so for its own streams);
// - the client's WINDOW_UPDATEs on the connection reach nghttp2 less what the front spent (connection-output.ts);
// - anything else passes to nghttp2 byte for byte, which judges it as before.
// What nghttp2 writes passes connection-output.ts, which slips the front's frames in between.
//
// Limits as for nghttp2's streams: --max-concurrent-streams (the front's streams refused with REFUSED_STREAM
// past it), the unary body bound (unary-call.ts), header blocks up to 1 MiB and 8 CONTINUATIONs (nghttp2 1.61's
// bound on CONTINUATION floods), decoded to at most 1 MiB (RFC 9113 §6.5.2's size: a block of one-octet
// references to a large table entry would otherwise be re-encoded for nghttp2 at thousands of times its size);
// past either the connection ends with ENHANCE_YOUR_CALM. A client that stops reading stops being read once
// MAX_QUEUED_OUTPUT of answers waits in the socket (connection-output.ts), as its requests would only queue more.
import type net from 'node:net';
import { DEFAULT_HEADER_TABLE_SIZE, type HeaderField, HpackDecoder } from '../hpack/decoder';
import { HpackError } from '../hpack/errors';
import { headerFrames, headersFramePayload, stripScheme } from '../authority-normalizer';
import type { EdgeStats } from '../edge-stats';
import { ForwardOutput } from '../forward-output';
import { isPlainGrpc } from '../grpc-stream-router';
import {
  DEFAULT_MAX_FRAME_SIZE,
  FRAME_HEADER_SIZE,
  FrameFlag,
  FrameType,
  HTTP2_PREFACE,
  Http2ErrorCode,
  SettingsId,
} from '../http2-frames';
import { SocketProxy } from '../socket-proxy';
import { verifiedCommonName } from '../tls/peer-certificate';
import { ConnectionOutput, DEFAULT_WINDOW } from './connection-output';
import { type FrontCall, FrontStream, type FrontStreamHost, frame } from './front-stream';
import { reencodeForServer } from './header-blocks';
import { ServerStreamData } from './server-stream-data';

/**
 * Who serves the calls the front takes: on the thread that runs the handlers, a UnaryCall each (grpc-front
 * index.ts); in the I/O worker, a record to that thread (io-worker/).
 */
export interface FrontCalls {
  /** Whether the front serves calls to this path. */
  serves(path: string): boolean;
  start(path: string, stream: FrontStream, connection: GrpcFrontSocket): FrontCall;
}

export interface GrpcFrontSettings {
  readonly calls: FrontCalls;
  /** Streams the front serves at once on one connection; 0: no limit. */
  readonly maxConcurrentStreams: number;
  readonly stats?: EdgeStats;
  /** A header block larger than this ends the connection (1 MiB unless said). */
  readonly maxHeaderBlockSize?: number;
}

/** A header block being received: HEADERS and its CONTINUATIONs. */
interface PendingBlock {
  readonly streamId: number;
  readonly flags: number;
  readonly priority: Buffer | undefined;
  readonly fragments: Buffer[];
  size: number;
  /** CONTINUATION frames so far. */
  continuations: number;
}

/** CONTINUATION frames one header block may take (nghttp2 1.61's default, NGHTTP2_DEFAULT_MAX_CONTINUATIONS). */
const MAX_CONTINUATIONS = 8;
/** RFC 9113 §6.5.2: a field's size is its name and value octets plus 32. */
const FIELD_OVERHEAD = 32;
/** The largest window RFC 9113 §6.9.1 allows. */
const MAX_WINDOW = 0x7fffffff;
/** Connection credit the front holds before it gives it back (giveCredit): a quarter of the connection window. */
const CONNECTION_CREDIT_BATCH = Math.floor(DEFAULT_WINDOW / 4);

/** Thrown to end the connection after a GOAWAY (the socket proxy destroys it). */
class ConnectionError extends Error {}

export class GrpcFrontSocket extends SocketProxy implements FrontStreamHost {
  readonly output: ConnectionOutput;
  readonly peerAddress: string | undefined;
  readonly peerCommonName: string | undefined;
  clientMaxFrameSize = DEFAULT_MAX_FRAME_SIZE;
  private readonly decoder = new HpackDecoder(DEFAULT_HEADER_TABLE_SIZE);
  private readonly streams = new Map<number, FrontStream>();
  private prefaceDone = false;
  /** Received bytes not yet handled: a partial preface, frame header or frame the front must see whole. */
  private pending: Buffer | undefined;
  /** Payload octets of a frame for nghttp2 still to forward as they come. */
  private skip = 0;
  private block: PendingBlock | undefined;
  /** The highest stream the client opened, the highest handed to nghttp2, the highest the front took. */
  private lastClientStream = 0;
  private lastServerStream = 0;
  private lastFrontStream = 0;
  /** Set once nghttp2 sent GOAWAY: no new stream is taken above this. */
  private goawayLastStream: number | undefined;
  /** The client's SETTINGS_INITIAL_WINDOW_SIZE (the front's send window on a new stream). */
  private clientInitialWindow = DEFAULT_WINDOW;
  /** nghttp2's SETTINGS_INITIAL_WINDOW_SIZE (the client's send window on each stream, the front's too). */
  private serverInitialWindow = DEFAULT_WINDOW;
  /** DATA octets the front consumed and has not yet given back with a connection WINDOW_UPDATE. */
  private connectionCredit = 0;
  /** Streams the front has taken so far. */
  private taken = 0;
  private readonly pingListeners: Array<() => void> = [];
  /** DATA the front writes on streams nghttp2 serves (Watch responses). */
  private readonly serverData = new ServerStreamData(this);

  constructor(
    socket: net.Socket,
    private readonly settings: GrpcFrontSettings,
  ) {
    super(socket);
    this.peerAddress = socket.remoteAddress;
    this.peerCommonName = verifiedCommonName(socket);
    this.output = new ConnectionOutput(socket, {
      highestFrontStream: () => this.lastFrontStream,
      serverInitialWindow: (size) => (this.serverInitialWindow = size),
      goingAway: (last) => (this.goawayLastStream = Math.min(last, this.goawayLastStream ?? last)),
      serverHeaders: (id, endStream) => this.serverData.serverHeaders(id, endStream),
      serverReset: (id) => this.serverData.reset(id),
      windowOpened: () => this.pumpAll(),
      backlogged: () => this.holdReading(),
    });
  }

  /** The client is not reading what it asked for: read no more of its requests until the socket drains. */
  private backlogged = false;

  private holdReading(): void {
    if (this.backlogged) return;
    this.backlogged = true;
    this.socket.pause();
    setImmediate(() => this.whenDrained()); // once this tick's answers are written
  }

  /** Reads on once the socket needs no drain and the front's own frames are out. */
  private whenDrained(): void {
    if (this.destroyed) return;
    if (this.socket.writableNeedDrain) this.socket.once('drain', () => this.whenDrained());
    // The front's frames wait for the end of one of nghttp2's (rare, brief): look again, without spinning.
    else if (this.output.backedUp) setTimeout(() => this.whenDrained(), 10);
    else this.readOn();
  }

  /** DATA waiting for the connection window or the socket: sent as far as they now allow. */
  private pumpAll(): void {
    this.serverData.connectionWindowOpened();
    for (const stream of this.streams.values()) stream.pump();
  }

  /** The socket drained: DATA that waited for it, what was read and not yet handled, then the socket again. */
  private readOn(): void {
    this.backlogged = false;
    if (this.destroyed) return;
    let out: Buffer | undefined;
    try {
      this.pumpAll();
      if (this.pending !== undefined) out = this.fromClient(Buffer.alloc(0));
    } catch {
      this.destroy(); // as SocketProxy does for a chunk: this connection ends, never the process
      return;
    }
    if (out !== undefined && out.length > 0) this.push(out);
    if (!this.backlogged) super._read(); // reads on; pauses again if nghttp2 is full
  }

  override _read(): void {
    if (!this.backlogged) super._read();
  }

  /** An open stream the front serves (for an answer that comes from another thread). */
  frontStream(streamId: number): FrontStream | undefined {
    return this.streams.get(streamId);
  }

  /** DATA of a stream nghttp2 serves, written by the front (server-stream-data.ts); false: not one it follows. */
  sendStreamData(streamId: number, data: Buffer, written: () => void): boolean {
    return this.serverData.send(streamId, data, written);
  }

  override get ownStreams(): { opened: number; open: number } {
    return { opened: this.taken, open: this.streams.size };
  }

  // grpc-go clients ping once per response they read (BDP estimation): at one call in flight, a PING per call
  // through the JS socket into nghttp2 and its ACK back cost more than the call's own framing. So the front
  // answers client PINGs itself; the ping rule hears them here. Acknowledgements of nghttp2's own keepalive
  // PINGs still go to nghttp2.
  override onClientPing(listener: () => void): boolean {
    this.pingListeners.push(listener);
    return true;
  }

  protected override toClient(chunks: Buffer[], callback: (error?: Error | null) => void): void {
    this.output.fromServer(chunks, callback);
  }

  protected clientEnded(): Buffer {
    return Buffer.alloc(0);
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    this.output.close();
    const open = [...this.streams.values()];
    this.streams.clear();
    for (const stream of open) this.closeStream(stream, true);
    super._destroy(error, callback);
  }

  protected fromClient(chunk: Buffer): Buffer {
    const data = this.pending ? Buffer.concat([this.pending, chunk]) : chunk;
    this.pending = undefined;
    const out = new ForwardOutput();
    let pos = 0;
    try {
      while (pos < data.length) {
        if (this.skip > 0) {
          const n = Math.min(this.skip, data.length - pos);
          out.add(data, pos, pos + n);
          pos += n;
          this.skip -= n;
          continue;
        }
        if (this.backlogged || this.output.backedUp) {
          // The client is not reading its answers: the rest of what it sent waits in `pending`.
          this.holdReading();
          break;
        }
        if (!this.prefaceDone) {
          if (data.length - pos < HTTP2_PREFACE.length) break;
          if (!data.subarray(pos, pos + HTTP2_PREFACE.length).equals(HTTP2_PREFACE)) {
            throw this.connectionError(Http2ErrorCode.PROTOCOL_ERROR);
          }
          out.add(data, pos, pos + HTTP2_PREFACE.length);
          pos += HTTP2_PREFACE.length;
          this.prefaceDone = true;
          continue;
        }
        if (data.length - pos < FRAME_HEADER_SIZE) break;
        const length = data.readUIntBE(pos, 3);
        const type = data[pos + 3];
        const flags = data[pos + 4];
        const streamId = data.readUInt32BE(pos + 5) & 0x7fffffff;
        if (
          this.block !== undefined &&
          (type !== FrameType.CONTINUATION || streamId !== this.block.streamId)
        ) {
          throw this.connectionError(Http2ErrorCode.PROTOCOL_ERROR); // RFC 9113 §6.10
        }
        if (!this.needsWhole(type, flags, streamId)) {
          out.add(data, pos, pos + FRAME_HEADER_SIZE);
          pos += FRAME_HEADER_SIZE;
          this.skip = length;
          continue;
        }
        if (length > DEFAULT_MAX_FRAME_SIZE) throw this.connectionError(Http2ErrorCode.FRAME_SIZE_ERROR);
        if (data.length - pos < FRAME_HEADER_SIZE + length) break;
        const whole = data.subarray(pos, pos + FRAME_HEADER_SIZE + length);
        pos += whole.length;
        this.onFrame(whole, type, flags, streamId, out);
      }
    } finally {
      if (pos < data.length) this.pending = data.subarray(pos);
      this.giveCredit();
    }
    return out.result();
  }

  /** Frames the front must read whole; the rest stream through to nghttp2. */
  private needsWhole(type: number, flags: number, streamId: number): boolean {
    switch (type) {
      case FrameType.HEADERS:
      case FrameType.CONTINUATION:
      case FrameType.WINDOW_UPDATE:
      case FrameType.RST_STREAM:
        return true;
      case FrameType.SETTINGS:
        return (flags & FrameFlag.ACK) === 0;
      case FrameType.PING:
        return (flags & FrameFlag.ACK) === 0;
      case FrameType.DATA:
        return this.isFrontStream(streamId);
      default:
        return false;
    }
  }

  /** A stream the front took (open, or closed: nghttp2 never heard of it). */
  private isFrontStream(streamId: number): boolean {
    return (
      this.streams.has(streamId) ||
      (streamId > this.lastServerStream && streamId <= this.lastClientStream && streamId !== 0)
    );
  }

  private onFrame(whole: Buffer, type: number, flags: number, streamId: number, out: ForwardOutput): void {
    const payload = whole.subarray(FRAME_HEADER_SIZE);
    switch (type) {
      case FrameType.HEADERS:
      case FrameType.CONTINUATION:
        this.onHeaderFrame(whole, payload, type, flags, streamId, out);
        return;
      case FrameType.DATA:
        this.onData(payload, flags, streamId);
        return;
      case FrameType.WINDOW_UPDATE:
        this.onWindowUpdate(whole, payload, streamId, out);
        return;
      case FrameType.RST_STREAM: {
        if (payload.length !== 4) {
          out.add(whole); // nghttp2 answers the FRAME_SIZE_ERROR
          return;
        }
        const stream = this.streams.get(streamId);
        if (stream !== undefined) this.closeStream(stream, true);
        else if (!this.isFrontStream(streamId)) {
          this.serverData.reset(streamId);
          out.add(whole);
        }
        return;
      }
      case FrameType.SETTINGS:
        this.onSettings(payload);
        out.add(whole);
        return;
      case FrameType.PING:
        if ((flags & FrameFlag.ACK) !== 0 || streamId !== 0 || payload.length !== 8) {
          out.add(whole); // nghttp2's ping answered, or a malformed PING for nghttp2 to report
          return;
        }
        this.output.sendSoon(frame(FrameType.PING, FrameFlag.ACK, 0, payload));
        for (const listener of this.pingListeners) listener();
        return;
      default:
        out.add(whole);
    }
  }

  private onHeaderFrame(
    whole: Buffer,
    payload: Buffer,
    type: number,
    flags: number,
    streamId: number,
    out: ForwardOutput,
  ): void {
    if (type === FrameType.CONTINUATION) {
      if (this.block === undefined) {
        out.add(whole); // not after a HEADERS: nghttp2's protocol error to report
        return;
      }
      if (++this.block.continuations > MAX_CONTINUATIONS) {
        throw this.connectionError(Http2ErrorCode.ENHANCE_YOUR_CALM);
      }
      this.block.fragments.push(payload);
      this.block.size += payload.length;
    } else {
      const parts = headersFramePayload(payload, flags);
      if (parts === undefined) throw this.connectionError(Http2ErrorCode.PROTOCOL_ERROR);
      this.block = {
        streamId,
        flags,
        priority: parts.priority,
        fragments: [parts.fragment],
        size: payload.length,
        continuations: 0,
      };
    }
    if (this.block.size > (this.settings.maxHeaderBlockSize ?? 1 << 20)) {
      throw this.connectionError(Http2ErrorCode.ENHANCE_YOUR_CALM);
    }
    if (flags & FrameFlag.END_HEADERS) this.onHeaderBlock(out);
  }

  private onHeaderBlock(out: ForwardOutput): void {
    const block = this.block!;
    this.block = undefined;
    let fields: HeaderField[];
    try {
      fields = this.decoder.decodeFields(
        block.fragments.length === 1 ? block.fragments[0] : Buffer.concat(block.fragments),
      );
    } catch (err) {
      if (err instanceof HpackError) throw this.connectionError(Http2ErrorCode.COMPRESSION_ERROR);
      throw err;
    }
    let listSize = 0;
    for (const field of fields) listSize += field.name.length + field.value.length + FIELD_OVERHEAD;
    if (listSize > (this.settings.maxHeaderBlockSize ?? 1 << 20)) {
      throw this.connectionError(Http2ErrorCode.ENHANCE_YOUR_CALM);
    }
    const id = block.streamId;
    const endStream = (block.flags & FrameFlag.END_STREAM) !== 0;
    const open = this.streams.get(id);
    if (open !== undefined) {
      // Trailers from the client: gRPC clients send none; END_STREAM in them ends the request all the same.
      if (endStream) this.clientEnd(open);
      else this.reset(open, Http2ErrorCode.PROTOCOL_ERROR);
      return;
    }
    if (id > this.lastClientStream && id % 2 === 1) {
      this.lastClientStream = id;
      if (this.goawayLastStream === undefined && this.serveIfFront(id, fields, endStream)) return;
    } else if (this.isFrontStream(id)) {
      return; // a late block on a stream the front closed: nothing to do
    }
    if (id > this.lastServerStream) {
      this.lastServerStream = id;
      this.serverData.opened(id, this.clientInitialWindow);
    }
    // Re-encoded header block frames for nghttp2: HEADERS (+ CONTINUATION), unpadded, flags and priority kept.
    for (const part of headerFrames(reencodeForServer(fields, authorityWithoutScheme), block)) out.add(part);
  }

  /** Serves the call if it is one of the front's; false: nghttp2's. */
  private serveIfFront(id: number, fields: readonly HeaderField[], endStream: boolean): boolean {
    const headers = new Map<string, string>();
    for (const field of fields) if (!headers.has(field.name)) headers.set(field.name, field.value);
    const path = headers.get(':path') ?? '';
    if (
      !this.settings.calls.serves(path) ||
      !isPlainGrpc(headers.get(':method'), headers.get('content-type'), headers.get('grpc-encoding'))
    )
      return false;
    this.lastFrontStream = id;
    this.taken++;
    const { maxConcurrentStreams, stats } = this.settings;
    if (maxConcurrentStreams > 0 && this.streams.size >= maxConcurrentStreams) {
      if (stats) stats.streamsRefused++;
      this.output.send(rstStream(id, Http2ErrorCode.REFUSED_STREAM));
      return true;
    }
    const stream = new FrontStream(id, headers, this, this.clientInitialWindow);
    this.streams.set(id, stream);
    if (stats) stats.streams++;
    stream.call = this.settings.calls.start(path, stream, this);
    if (endStream) this.clientEnd(stream);
    return true;
  }

  private onData(payload: Buffer, flags: number, streamId: number): void {
    // Flow control counts the whole payload, padding included (RFC 9113 §6.9.1).
    this.connectionCredit += payload.length;
    const stream = this.streams.get(streamId);
    if (stream === undefined || stream.clientEnded) return; // a stream the front closed: dropped
    let body = payload;
    if (flags & FrameFlag.PADDED) {
      const padding = payload.length > 0 ? payload[0] : 0;
      if (payload.length === 0 || padding >= payload.length) {
        this.reset(stream, Http2ErrorCode.PROTOCOL_ERROR);
        return;
      }
      body = payload.subarray(1, payload.length - padding);
    }
    stream.call?.data(body);
    if (flags & FrameFlag.END_STREAM) {
      this.clientEnd(stream);
      return;
    }
    stream.uncredited += payload.length;
    if (stream.uncredited >= this.serverInitialWindow / 2) {
      this.output.send(windowUpdate(streamId, stream.uncredited));
      stream.uncredited = 0;
    }
  }

  private onWindowUpdate(whole: Buffer, payload: Buffer, streamId: number, out: ForwardOutput): void {
    if (payload.length !== 4) {
      out.add(whole); // nghttp2 answers the FRAME_SIZE_ERROR (it checks the length before the stream)
      return;
    }
    const increment = payload.readUInt32BE(0) & 0x7fffffff;
    if (streamId === 0) {
      if (increment === 0) {
        out.add(whole); // nghttp2 reports the malformed frame
        return;
      }
      const forNghttp2 = this.output.clientWindowUpdate(increment);
      if (forNghttp2 === increment) out.add(whole);
      else if (forNghttp2 > 0) out.add(windowUpdate(0, forNghttp2));
      return;
    }
    if (increment > 0 && !this.streams.has(streamId)) this.serverData.windowUpdate(streamId, increment);
    const stream = this.streams.get(streamId);
    if (stream === undefined) {
      if (!this.isFrontStream(streamId)) out.add(whole);
    } else if (increment === 0) {
      this.reset(stream, Http2ErrorCode.PROTOCOL_ERROR); // RFC 9113 §6.9
    } else if (stream.window + increment > MAX_WINDOW) {
      this.reset(stream, Http2ErrorCode.FLOW_CONTROL_ERROR); // RFC 9113 §6.9.1
    } else {
      stream.windowGrew(increment);
    }
  }

  private onSettings(payload: Buffer): void {
    for (let i = 0; i + 6 <= payload.length; i += 6) {
      const id = payload.readUInt16BE(i);
      const value = payload.readUInt32BE(i + 2);
      if (id === SettingsId.INITIAL_WINDOW_SIZE && value <= MAX_WINDOW) {
        const delta = value - this.clientInitialWindow;
        this.clientInitialWindow = value;
        this.serverData.initialWindowChanged(delta);
        for (const stream of this.streams.values()) {
          // RFC 9113 §6.9.2: a window the change takes past 2^31-1 is a connection error.
          if (stream.window + delta > MAX_WINDOW)
            throw this.connectionError(Http2ErrorCode.FLOW_CONTROL_ERROR);
          stream.windowGrew(delta);
        }
      } else if (id === SettingsId.MAX_FRAME_SIZE && value >= DEFAULT_MAX_FRAME_SIZE && value < 1 << 24) {
        this.clientMaxFrameSize = value;
      }
    }
  }

  private clientEnd(stream: FrontStream): void {
    stream.clientEnded = true;
    stream.call?.end();
    if (stream.finished) this.closeStream(stream, false);
  }

  answered(stream: FrontStream): void {
    if (stream.clientEnded) {
      this.closeStream(stream, false);
      return;
    }
    // Answered while the client still sends (a refusal, a body timeout): release the stream as grpc-go does.
    this.output.send(rstStream(stream.id, Http2ErrorCode.NO_ERROR));
    this.closeStream(stream, false);
  }

  reset(stream: FrontStream, code: number): void {
    if (!this.streams.has(stream.id)) return;
    this.output.send(rstStream(stream.id, code));
    this.closeStream(stream, true);
  }

  private closeStream(stream: FrontStream, aborted: boolean): void {
    const known = this.streams.delete(stream.id);
    if (known && this.settings.stats) this.settings.stats.streams--;
    stream.finished = true;
    // As a stream of Node's closes (fast-unary.ts): a call not answered successfully hears that its work is
    // abandoned, through its signal.
    if (aborted || stream.call?.answeredOk === false) stream.call?.abort();
  }

  /**
   * Gives the client back the connection window of the DATA the front consumed, once that is a quarter of the
   * window: a WINDOW_UPDATE per read was a write (and a wake-up of the client) per request at one in flight,
   * where nghttp2 waits for half the window. A quarter, because nghttp2 may hold back up to half for the DATA
   * of its own streams: the client always keeps more than a quarter to send with.
   */
  private giveCredit(): void {
    if (this.connectionCredit < CONNECTION_CREDIT_BATCH) return;
    this.output.sendSoon(windowUpdate(0, this.connectionCredit));
    this.connectionCredit = 0;
  }

  /** Sends GOAWAY(code) straight to the socket; the caller throws the result to end the connection. */
  private connectionError(code: number): ConnectionError {
    const payload = Buffer.alloc(8);
    payload.writeUInt32BE(Math.max(this.lastServerStream, this.lastFrontStream), 0);
    payload.writeUInt32BE(code, 4);
    try {
      this.socket.write(frame(FrameType.GOAWAY, 0, 0, payload));
    } catch {
      // The socket is going anyway.
    }
    return new ConnectionError(`HTTP/2 connection error ${code}`);
  }
}

function authorityWithoutScheme(value: string): string {
  return stripScheme(value) ?? value;
}

function rstStream(streamId: number, code: number): Buffer {
  const payload = Buffer.allocUnsafe(4);
  payload.writeUInt32BE(code, 0);
  return frame(FrameType.RST_STREAM, 0, streamId, payload);
}

function windowUpdate(streamId: number, increment: number): Buffer {
  const payload = Buffer.allocUnsafe(4);
  payload.writeUInt32BE(increment, 0);
  return frame(FrameType.WINDOW_UPDATE, 0, streamId, payload);
}
