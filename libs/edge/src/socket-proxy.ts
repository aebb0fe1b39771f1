// A client socket as Node's HTTP/2 server should see it when the edge reads the bytes first (the :authority
// normalizer, the gRPC front): what the client sends passes through `fromClient`, what the server writes goes
// through `toClient` (straight to the socket unless a subclass says otherwise). It only starts reading the
// socket when it is itself first read, so one that is never used leaves the socket alone.
import { Duplex } from 'node:stream';
import type net from 'node:net';
import type tls from 'node:tls';
import { BridgedSocket } from './io-worker/bridged-socket';

const NO_OWN_STREAMS = { opened: 0, open: 0 };

export abstract class SocketProxy extends Duplex {
  private reading = false;

  constructor(protected readonly socket: net.Socket) {
    super();
    socket.once('close', () => this.destroy());
  }

  /** What to hand the server for a chunk the client sent (may be empty). Throwing ends the connection. */
  protected abstract fromClient(chunk: Buffer): Buffer;

  /** What is still held back when the client ends its side. */
  protected abstract clientEnded(): Buffer;

  /**
   * Calls served by the proxy itself, never seen by the HTTP/2 server: opened so far and open now (the gRPC
   * front's; the client ping rule counts them as streams, grpc-connection-policy.ts).
   */
  get ownStreams(): { opened: number; open: number } {
    return NO_OWN_STREAMS;
  }

  /**
   * Whether the proxy answers the client's PINGs itself (then the HTTP/2 server never sees them): if so,
   * `listener` hears each one, for the client ping rule (grpc-connection-policy.ts), and this returns true.
   */
  onClientPing(_listener: () => void): boolean {
    return false;
  }

  // Read by grpc-js for peer addresses and logging.
  get remoteAddress(): string | undefined {
    return this.socket.remoteAddress;
  }
  get remotePort(): number | undefined {
    return this.socket.remotePort;
  }
  get remoteFamily(): string | undefined {
    return this.socket.remoteFamily;
  }
  get localAddress(): string | undefined {
    return this.socket.localAddress;
  }
  get localPort(): number | undefined {
    return this.socket.localPort;
  }
  // Read by the client ping rule (grpc-connection-policy.ts): whether the member sent anything since a PING.
  get bytesWritten(): number {
    return this.socket.bytesWritten;
  }
  // Read for the verified client certificate's CN (tls/peer-certificate.ts) when the socket below is TLS.
  get authorized(): boolean {
    return (this.socket as Partial<tls.TLSSocket>).authorized === true;
  }
  getPeerCertificate(): tls.PeerCertificate | object | null {
    const socket = this.socket as Partial<tls.TLSSocket>;
    return typeof socket.getPeerCertificate === 'function' ? socket.getPeerCertificate(false) : null;
  }

  override _read(): void {
    if (!this.reading) {
      this.reading = true;
      // Event handlers: a defect in the transform ends this connection (destroyed without an error, which
      // HTTP/2 would report as a session error), never the process.
      this.socket.on('data', (chunk: Buffer) => {
        let out: Buffer;
        try {
          out = this.fromClient(chunk);
        } catch {
          this.destroy();
          return;
        }
        if (out.length > 0 && !this.push(out)) this.socket.pause();
      });
      this.socket.once('end', () => {
        try {
          const rest = this.clientEnded();
          if (rest.length > 0) this.push(rest);
          this.push(null);
        } catch {
          this.destroy();
        }
      });
      this.socket.on('error', (err) => this.destroy(err));
    }
    this.socket.resume();
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    this.toClient([chunk], callback);
  }

  // HTTP/2 hands over every frame of a flush at once: pass them on corked, as ONE writev to the socket. Without
  // this each frame waited for the previous write's callback and went out in a syscall (and a TCP segment) of
  // its own (strace of puts at 1 in flight: 3 socket writes per answer before, 1 writev + the trailers after).
  override _writev(
    chunks: Array<{ chunk: Buffer; encoding: BufferEncoding }>,
    callback: (error?: Error | null) => void,
  ): void {
    this.toClient(
      chunks.map((c) => c.chunk),
      callback,
    );
  }

  /** The server's bytes to the client; `callback` once they are taken. */
  protected toClient(chunks: Buffer[], callback: (error?: Error | null) => void): void {
    writeCorked(this.socket, chunks, callback);
  }

  override _final(callback: (error?: Error | null) => void): void {
    this.socket.end(callback);
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    this.socket.destroy();
    callback(error);
  }
}

/** Writes `chunks` as one writev (corked), `callback` after the last. */
export function writeCorked(
  socket: net.Socket,
  chunks: readonly Buffer[],
  callback?: (error?: Error | null) => void,
): void {
  const last = chunks.length - 1;
  if (last < 0) {
    callback?.();
    return;
  }
  socket.cork();
  for (let i = 0; i < last; i++) socket.write(chunks[i]);
  socket.write(chunks[last], callback);
  socket.uncork();
}

/**
 * The SocketProxy (or the I/O worker's BridgedSocket) Node's HTTP/2 session reads, given the session's `socket`:
 * Node wraps a connection that is not a net.Socket in its internal JSStreamSocket, which keeps the wrapped stream
 * as `stream`.
 */
export function socketProxyUnder(sessionSocket: unknown): SocketProxy | BridgedSocket | undefined {
  const isProxy = (s: unknown): s is SocketProxy | BridgedSocket =>
    s instanceof SocketProxy || s instanceof BridgedSocket;
  if (isProxy(sessionSocket)) return sessionSocket;
  const wrapped = (sessionSocket as { stream?: unknown } | null | undefined)?.stream;
  return isProxy(wrapped) ? wrapped : undefined;
}
