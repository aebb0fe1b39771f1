// DATA the front writes on streams Node's HTTP/2 (nghttp2) serves: the responses of a Watch (etcd's, the config
// center's) that watch-stream-writer.ts frames itself. Through nghttp2 each stream's write is a JS stream write,
// a native write and a pass through the JS socket; a config publish to 100 subscribers on one connection was 100
// of them. Here the frames join the connection's one write per tick (connection-output.ts).
//
// nghttp2 still sends the stream's HEADERS and trailers, and never a DATA frame of its own on such a stream (the
// writer sends every response), so the front alone spends the stream's flow-control window: it follows the
// client's window of every stream nghttp2 serves (opened at SETTINGS_INITIAL_WINDOW_SIZE, grown by the client's
// WINDOW_UPDATEs, which still reach nghttp2) and sends no DATA before nghttp2's HEADERS of the stream went out.
// nghttp2's trailers wait until the front's DATA of that stream is out (connection-output.ts holds them).
import { FrameType } from '../http2-frames';
import type { ConnectionOutput } from './connection-output';
import { frame } from './front-stream';

interface Pending {
  readonly data: Buffer;
  sent: number;
  readonly written: () => void;
}

interface StreamState {
  /** The client's window for this stream. */
  window: number;
  /** nghttp2 sent the stream's HEADERS: DATA may follow. */
  headersOut: boolean;
  readonly queue: Pending[];
}

export interface ServerStreamDataHost {
  readonly output: ConnectionOutput;
  readonly clientMaxFrameSize: number;
}

export class ServerStreamData {
  private readonly streams = new Map<number, StreamState>();

  constructor(private readonly host: ServerStreamDataHost) {}

  /** nghttp2 got a new stream: the client's window for it starts at `window`. */
  opened(streamId: number, window: number): void {
    this.streams.set(streamId, { window, headersOut: false, queue: [] });
  }

  /** The client's WINDOW_UPDATE for a stream of nghttp2's. */
  windowUpdate(streamId: number, increment: number): void {
    const stream = this.streams.get(streamId);
    if (stream === undefined) return;
    stream.window += increment;
    this.pump(streamId, stream);
  }

  /** The client changed SETTINGS_INITIAL_WINDOW_SIZE by `delta`. */
  initialWindowChanged(delta: number): void {
    for (const [id, stream] of this.streams) {
      stream.window += delta;
      this.pump(id, stream);
    }
  }

  /** The connection window grew. */
  connectionWindowOpened(): void {
    for (const [id, stream] of this.streams) if (stream.queue.length > 0) this.pump(id, stream);
  }

  /**
   * nghttp2 writes a HEADERS frame of the stream. False: hold it (trailers while the front's DATA of the stream
   * is still queued); resumed through the output once that DATA is out.
   */
  serverHeaders(streamId: number, endStream: boolean): boolean {
    const stream = this.streams.get(streamId);
    if (stream === undefined) return true;
    if (endStream && stream.queue.length > 0) return false;
    if (endStream) {
      this.streams.delete(streamId);
      return true;
    }
    stream.headersOut = true;
    if (stream.queue.length > 0) process.nextTick(() => this.pump(streamId, stream)); // after these HEADERS
    return true;
  }

  /** The stream was reset (by either side): what waits for it is dropped. */
  reset(streamId: number): void {
    const queued = this.streams.get(streamId)?.queue.length ?? 0;
    this.streams.delete(streamId);
    // nghttp2's output may be held behind this stream's trailers (serverHeaders): nothing waits for them now.
    if (queued > 0) this.host.output.resume();
  }

  /**
   * Sends `data` (gRPC messages, already framed) as DATA of nghttp2's stream `streamId`; `written` once it is
   * handed to the socket. False: the front does not know the stream (the caller writes through nghttp2).
   */
  send(streamId: number, data: Buffer, written: () => void): boolean {
    const stream = this.streams.get(streamId);
    if (stream === undefined) return false;
    stream.queue.push({ data, sent: 0, written });
    this.pump(streamId, stream);
    return true;
  }

  /** Whether the stream still has DATA of the front's waiting. */
  hasQueued(streamId: number): boolean {
    return (this.streams.get(streamId)?.queue.length ?? 0) > 0;
  }

  private pump(streamId: number, stream: StreamState): void {
    if (!stream.headersOut || this.streams.get(streamId) !== stream) return;
    const output = this.host.output;
    while (stream.queue.length > 0) {
      const head = stream.queue[0]!;
      while (head.sent < head.data.length) {
        const n = Math.min(
          head.data.length - head.sent,
          stream.window,
          output.available,
          this.host.clientMaxFrameSize,
        );
        if (n <= 0) return; // a WINDOW_UPDATE pumps again
        if (output.backedUp) {
          // The client opened its windows but does not read: `written` waits for the socket to drain, so the
          // writer's own bound on unsent bytes parks the watch instead of the socket buffering without end.
          output.waitForDrain();
          return;
        }
        output.send(frame(FrameType.DATA, 0, streamId, head.data.subarray(head.sent, head.sent + n)));
        output.spend(n);
        stream.window -= n;
        head.sent += n;
      }
      stream.queue.shift();
      head.written();
    }
    output.resume(); // trailers of this stream may have waited
  }
}
