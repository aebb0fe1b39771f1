// The sending end of one Stream RPC, hand-framed on node:http2 (its own connection): a gRPC bidi call
// without grpc-js's channel, interceptor and retry layers, which cost more than the Raft work on a member's
// busiest path (every AppendEntries and every answer to one crosses a peer stream). The wire is plain gRPC,
// so the receiver may be grpc-js (another build, or peer-stream-route.ts not installed) or the hand-framed route.
import http2 from 'node:http2';
import { GrpcStatus, type GrpcErrorStatus } from '@cairn/api';
import { decodeStreamReply } from './frame-codec';
import { GrpcMessageReader, Http2ErrorCode, statusOfTrailers } from '@cairn/edge';
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

export class PeerStreamCall {
  private readonly session: http2.ClientHttp2Session;
  private readonly stream: http2.ClientHttp2Stream;
  private readonly replies = new GrpcMessageReader(MAX_REPLY_BYTES);
  private readonly pingTimer: NodeJS.Timeout;
  private pingOutstanding = false;
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
    const socket = dialer.connect(peerUrl, host, port);
    const scheme = peerUrl.startsWith('https://') ? 'https' : 'http';
    this.session = http2.connect(`${scheme}://${target}`, { createConnection: () => socket });
    this.session.on('error', (err) => this.remember(unavailable(err.message)));
    this.session.on('close', () => this.finish(unavailable('connection closed')));
    this.stream = this.session.request({
      ':method': 'POST',
      ':path': PEER_STREAM_PATH,
      'content-type': 'application/grpc',
      te: 'trailers',
      'user-agent': 'cairn-peer',
    });
    // A status (in trailers, or in the headers of a trailers-only answer) ends the call, whether or not our
    // side of the stream is still open.
    this.stream.on('response', (headers) => this.onStatus(statusOfTrailers(headers)));
    this.stream.on('trailers', (trailers) => this.onStatus(statusOfTrailers(trailers)));
    this.stream.on('data', (chunk: Buffer) => this.onData(chunk));
    this.stream.on('drain', () => this.events.onDrain());
    this.stream.on('error', (err) => this.remember(unavailable(err.message)));
    this.stream.on('close', () =>
      this.finish(
        this.stream.rstCode !== undefined && this.stream.rstCode !== Http2ErrorCode.NO_ERROR
          ? unavailable(`stream reset (HTTP/2 code ${this.stream.rstCode})`)
          : unavailable('stream closed without a status'),
      ),
    );
    this.pingTimer = setInterval(() => this.ping(), options.keepAliveTimeMs);
    this.pingTimer.unref();
  }

  /** Sends one gRPC message (encodeGrpcStreamFrame); false: wait for onDrain before writing more. */
  write(message: Buffer): boolean {
    if (this.over) return true;
    return this.stream.write(message);
  }

  /** Hangs up without reporting. */
  cancel(): void {
    if (this.over) return;
    this.over = true;
    clearInterval(this.pingTimer);
    this.stream.close(Http2ErrorCode.CANCEL);
    this.session.destroy();
  }

  private onData(chunk: Buffer): void {
    let messages: Buffer[];
    try {
      messages = this.replies.push(chunk);
    } catch (refusal) {
      this.remember(refusal as GrpcErrorStatus);
      this.session.destroy();
      return;
    }
    for (const reply of messages) {
      if (this.over) return;
      let memberId: bigint;
      try {
        memberId = decodeStreamReply(reply);
      } catch (err) {
        this.remember({ code: GrpcStatus.INTERNAL, details: (err as Error).message });
        this.session.destroy();
        return;
      }
      this.events.onAccepted(memberId);
    }
  }

  private onStatus(status: GrpcErrorStatus | undefined): void {
    if (status === undefined) return;
    this.remember(status);
    this.finish(status);
  }

  private ping(): void {
    if (this.over || this.pingOutstanding) return;
    this.pingOutstanding = true;
    const timeout = setTimeout(() => {
      this.remember(unavailable('keepalive ping not answered'));
      this.session.destroy();
    }, this.options.keepAliveTimeoutMs);
    timeout.unref();
    try {
      this.session.ping((err) => {
        clearTimeout(timeout);
        this.pingOutstanding = false;
        if (err) this.remember(unavailable(`keepalive ping failed: ${err.message}`));
      });
    } catch (err) {
      clearTimeout(timeout);
      this.remember(unavailable(`keepalive ping failed: ${(err as Error).message}`));
      this.session.destroy();
    }
  }

  /** The first status heard wins: the receiver's own status beats what the connection did afterwards. */
  private remember(status: GrpcErrorStatus | undefined): void {
    if (status !== undefined && this.status === undefined) this.status = status;
  }

  private finish(fallback: GrpcErrorStatus): void {
    if (this.over) return;
    this.over = true;
    clearInterval(this.pingTimer);
    this.session.destroy();
    this.events.onClosed(this.status ?? fallback);
  }
}

function unavailable(details: string): GrpcErrorStatus {
  return { code: GrpcStatus.UNAVAILABLE, details };
}
