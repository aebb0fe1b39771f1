// What a gRPC front connection sends its client: the bytes Node's HTTP/2 server (nghttp2) writes, with the
// front's own frames (the answers of the calls it serves, its WINDOW_UPDATEs) slipped in between nghttp2's
// frames — never inside one, nor inside a HEADERS/CONTINUATION sequence.
//
// Both senders spend one connection-level flow-control window, the client's (RFC 9113 §6.9), and only the
// front sees all of it: every DATA frame of either passes here and every WINDOW_UPDATE of the client passes the
// front's input. nghttp2 believes the window is larger by what the front spent (`debt`), so the front takes that
// out of the client's next WINDOW_UPDATEs before they reach nghttp2, and holds back a DATA frame of nghttp2's
// that the real window cannot take yet (with its write callback, so nghttp2 waits) until the client opens it.
//
// A GOAWAY of nghttp2's names the last stream nghttp2 processed; the front's own streams do not count there,
// and a client retries every stream above that number elsewhere — a Put the front already applied would apply
// twice. So its last-stream-id is raised to the highest stream the front has taken.
import type net from 'node:net';
import { FRAME_HEADER_SIZE, FrameFlag, FrameType, SettingsId } from '../http2-frames';
import { writeCorked } from '../socket-proxy';

/** RFC 9113 §6.9.2: every window starts at 65,535 octets until SETTINGS say otherwise. */
export const DEFAULT_WINDOW = 65_535;

type WriteCallback = (error?: Error | null) => void;

export interface ConnectionOutputHooks {
  /** The highest client stream the front has taken (served or serving): a GOAWAY must not be below it. */
  highestFrontStream(): number;
  /** nghttp2 advertised SETTINGS_INITIAL_WINDOW_SIZE: the client's send window on every stream, the front's too. */
  serverInitialWindow(size: number): void;
  /** nghttp2 sent a GOAWAY naming `lastStreamId` (after the rewrite): the front takes no new stream above it. */
  goingAway(lastStreamId: number): void;
  /** The connection window grew: streams of the front waiting for it may send. */
  windowOpened(): void;
  /**
   * nghttp2 writes a HEADERS frame of one of its streams (server-stream-data.ts): false holds it and all after
   * it until resume() (trailers that must follow DATA the front still has queued for that stream).
   */
  serverHeaders(streamId: number, endStream: boolean): boolean;
  /** nghttp2 reset one of its streams. */
  serverReset(streamId: number): void;
  /** MAX_QUEUED_OUTPUT or more waits in the socket (a client that does not read): stop reading its requests. */
  backlogged(): void;
}

/**
 * Octets waiting in the socket past which the client is no longer read. The client's windows do not bound
 * them: a client can open its windows with WINDOW_UPDATEs and never read, and the front's RST_STREAMs and
 * WINDOW_UPDATEs take no window at all. What one read of requests asks for still goes out (a read is at most
 * 64 KiB of requests).
 */
export const MAX_QUEUED_OUTPUT = 1 << 20;

export class ConnectionOutput {
  /** The client's connection-level receive window, as both senders spend it. */
  private window = DEFAULT_WINDOW;
  /** Octets the front sent that nghttp2 does not know of. */
  private debt = 0;
  /** nghttp2's bytes not yet written: an incomplete frame header, or a frame the front must see whole. */
  private carry: Buffer | undefined;
  /** Payload octets of nghttp2's current frame still to pass through as they come. */
  private frameLeft = 0;
  /** nghttp2 is inside a header block (HEADERS without END_HEADERS): nothing may come between its frames. */
  private inHeaderBlock = false;
  /** nghttp2's bytes waiting for the window, from a DATA frame's header on, and the callback of their write. */
  private held: { data: Buffer; callback: WriteCallback } | undefined;
  /** The front's frames, written together at the end of the tick (or at nghttp2's next frame boundary). */
  private parts: Buffer[] = [];
  /** Octets in `parts`. */
  private queued = 0;
  private flushScheduled = false;
  /** A flush on the next turn (setImmediate) is due: frames nobody waits for are queued (sendSoon). */
  private soonScheduled = false;
  private closed = false;
  /**
   * Whether nghttp2 has written its first frame: a server's connection preface is a SETTINGS frame that must
   * come first (RFC 9113 §3.4), so the front's frames wait for it.
   */
  private serverStarted = false;

  constructor(
    private readonly socket: net.Socket,
    private readonly hooks: ConnectionOutputHooks,
  ) {}

  /** Whether the front's frames can go out now (the socket's byte stream is between two of nghttp2's frames). */
  private get atBoundary(): boolean {
    return this.serverStarted && this.frameLeft === 0 && !this.inHeaderBlock;
  }

  /** The connection window the front may still spend (a DATA frame of the front's takes it with spend()). */
  get available(): number {
    return this.window;
  }

  /** The front sends `octets` of DATA payload: out of the window, and a debt toward nghttp2's view of it. */
  spend(octets: number): void {
    this.window -= octets;
    this.debt += octets;
  }

  /**
   * The client's WINDOW_UPDATE on stream 0: the window grows; returns the increment nghttp2 should hear (what
   * is left after the front's debt is paid; 0: forward nothing).
   */
  clientWindowUpdate(increment: number): number {
    this.window += increment;
    const paid = Math.min(increment, this.debt);
    this.debt -= paid;
    this.resume();
    this.hooks.windowOpened();
    return increment - paid;
  }

  /** Passes nghttp2's held bytes on if what held them is gone (the window, or a stream's queued DATA). */
  resume(): void {
    if (this.held === undefined) return;
    const { data, callback } = this.held;
    this.held = undefined;
    this.pass(data, callback);
  }

  /** Whether MAX_QUEUED_OUTPUT or more waits to be written (in the socket, or the front's not yet written). */
  get backedUp(): boolean {
    return this.socket.writableLength + this.queued >= MAX_QUEUED_OUTPUT;
  }

  /**
   * A sender found the output backed up: the client is read no more and the front's senders are pumped again
   * (windowOpened) once the socket drains.
   */
  waitForDrain(): void {
    this.hooks.backlogged();
  }

  /** Queues the front's frames; they leave in one write at the end of the tick. */
  send(frame: Buffer): void {
    if (!this.addPart(frame) || this.flushScheduled) return;
    this.flushScheduled = true;
    process.nextTick(this.flushNow);
  }

  /**
   * Queues a frame nobody waits for (a PING's ACK, window credit): it leaves with the next answer, or from a
   * setImmediate. So it never goes ahead of what this turn still has to do — at one request in flight, the
   * request's propose and its Raft messages — and costs no write of its own when an answer follows.
   */
  sendSoon(frame: Buffer): void {
    if (!this.addPart(frame) || this.soonScheduled) return;
    this.soonScheduled = true;
    setImmediate(this.flushSoon);
  }

  /** Adds a frame to the next flush; false once the connection is closed. */
  private addPart(frame: Buffer): boolean {
    if (this.closed) return false;
    this.parts.push(frame);
    this.queued += frame.length;
    return true;
  }

  private readonly flushNow = (): void => {
    this.flushScheduled = false;
    this.flush();
  };

  private readonly flushSoon = (): void => {
    this.soonScheduled = false;
    this.flush();
  };

  /** The bytes nghttp2 wrote; `callback` once they are on their way (later, when flow control holds them). */
  fromServer(chunks: readonly Buffer[], callback: WriteCallback): void {
    if (this.closed) {
      callback();
      return;
    }
    const data = chunks.length === 1 && this.carry === undefined ? chunks[0] : concat(this.carry, chunks);
    this.carry = undefined;
    this.pass(data, callback);
  }

  close(): void {
    this.closed = true;
    this.parts = [];
    this.queued = 0;
    const held = this.held;
    this.held = undefined;
    held?.callback();
  }

  private flush(): void {
    if (this.closed || this.parts.length === 0 || !this.atBoundary) return; // the next boundary takes them
    const parts = this.parts;
    this.parts = [];
    this.queued = 0;
    writeCorked(this.socket, parts);
    this.checkBacklog();
  }

  private checkBacklog(): void {
    if (this.socket.writableLength >= MAX_QUEUED_OUTPUT) this.hooks.backlogged();
  }

  /** Walks nghttp2's frames in `data`, writing what may go, and calls `callback` once all of it went (or waits). */
  private pass(data: Buffer, callback: WriteCallback): void {
    const out: Buffer[] = [];
    let start = 0;
    let pos = 0;
    while (pos < data.length) {
      if (this.frameLeft > 0) {
        const n = Math.min(this.frameLeft, data.length - pos);
        pos += n;
        this.frameLeft -= n;
        continue;
      }
      if (this.parts.length > 0 && this.atBoundary) {
        // The front's waiting frames go between two of nghttp2's.
        if (pos > start) out.push(data.subarray(start, pos));
        start = pos;
        out.push(...this.parts);
        this.parts = [];
        this.queued = 0;
      }
      if (data.length - pos < FRAME_HEADER_SIZE) break;
      const length = data.readUIntBE(pos, 3);
      const type = data[pos + 3];
      const flags = data[pos + 4];
      if (type === FrameType.DATA) {
        if (length > this.window) {
          if (pos > start) out.push(data.subarray(start, pos));
          writeCorked(this.socket, out);
          this.held = { data: data.subarray(pos), callback };
          return;
        }
        this.window -= length;
      } else if (type === FrameType.HEADERS || type === FrameType.CONTINUATION) {
        if (type === FrameType.HEADERS) {
          const streamId = data.readUInt32BE(pos + 5) & 0x7fffffff;
          if (!this.hooks.serverHeaders(streamId, (flags & FrameFlag.END_STREAM) !== 0)) {
            if (pos > start) out.push(data.subarray(start, pos));
            writeCorked(this.socket, out);
            this.held = { data: data.subarray(pos), callback };
            return;
          }
        }
        this.inHeaderBlock = (flags & FrameFlag.END_HEADERS) === 0;
      } else if (type === FrameType.RST_STREAM) {
        this.hooks.serverReset(data.readUInt32BE(pos + 5) & 0x7fffffff);
      } else if (
        type === FrameType.GOAWAY ||
        (type === FrameType.SETTINGS && (flags & FrameFlag.ACK) === 0)
      ) {
        // Seen whole: a GOAWAY to rewrite, SETTINGS to read.
        const end = pos + FRAME_HEADER_SIZE + length;
        if (end > data.length) break;
        const frame = data.subarray(pos, end);
        this.serverStarted = true;
        if (type === FrameType.SETTINGS) this.readSettings(frame);
        else {
          if (pos > start) out.push(data.subarray(start, pos));
          out.push(this.rewriteGoaway(frame));
          start = end;
        }
        pos = end;
        continue;
      }
      pos += FRAME_HEADER_SIZE;
      this.frameLeft = length;
      this.serverStarted = true;
    }
    if (pos < data.length) this.carry = Buffer.from(data.subarray(pos)); // an incomplete frame header or frame
    if (pos > start) out.push(data.subarray(start, pos));
    if (this.parts.length > 0 && this.atBoundary) {
      out.push(...this.parts);
      this.parts = [];
      this.queued = 0;
    }
    if (out.length === 0) callback();
    else {
      writeCorked(this.socket, out, callback);
      this.checkBacklog();
    }
  }

  private readSettings(frame: Buffer): void {
    for (let i = FRAME_HEADER_SIZE; i + 6 <= frame.length; i += 6) {
      if (frame.readUInt16BE(i) === SettingsId.INITIAL_WINDOW_SIZE) {
        this.hooks.serverInitialWindow(frame.readUInt32BE(i + 2));
      }
    }
  }

  private rewriteGoaway(frame: Buffer): Buffer {
    if (frame.length < FRAME_HEADER_SIZE + 8) return frame;
    const named = frame.readUInt32BE(FRAME_HEADER_SIZE) & 0x7fffffff;
    const last = Math.max(named, this.hooks.highestFrontStream());
    this.hooks.goingAway(last);
    if (last === named) return frame;
    const copy = Buffer.from(frame);
    copy.writeUInt32BE(last, FRAME_HEADER_SIZE);
    return copy;
  }
}

function concat(carry: Buffer | undefined, chunks: readonly Buffer[]): Buffer {
  return Buffer.concat(carry === undefined ? chunks : [carry, ...chunks]);
}
