// A connection that speaks gRPC straight over node:http2: one HTTP/2 stream per call, the
// length-prefixed message in, grpc-status from the trailers. It skips grpc-js's call stack
// (interceptors, filters, resolver, load balancer), which cuts the client's CPU per request to
// less than half (see docs/benchmarks.md), and that CPU is taken from the server under test.
// It has no retries or name resolution; TLS (https:// with the test CA and a client certificate) and an
// etcd auth token (header `token`) are there to measure secured members.

import { EventEmitter } from 'node:events';
import * as http2 from 'node:http2';
import { status as GrpcStatus } from '@grpc/grpc-js';
import { frameMessage, MessageDeframer } from './grpc-framing';
import type { ConnectionSecurity } from './security';
import type { BidiStream, Connection, UnaryCallback } from './transport';

const MESSAGE_PREFIX_BYTES = 5;

export class GrpcCallError extends Error {
  override name = 'GrpcCallError';
  constructor(
    readonly code: number,
    details: string,
  ) {
    // The same "14 UNAVAILABLE: details" shape grpc-js gives, so error tallies read alike.
    super(`${code} ${GrpcStatus[code] ?? 'UNKNOWN'}: ${details}`);
  }
}

export class Http2Connection implements Connection {
  private session: http2.ClientHttp2Session | undefined;
  private sessionError: Error | undefined;
  private readonly headersByMethod = new Map<string, http2.OutgoingHttpHeaders>();

  private token: string | undefined;

  constructor(
    readonly endpoint: string,
    private readonly security: ConnectionSecurity = {},
  ) {
    this.token = security.token;
  }

  setToken(token: string | undefined): void {
    this.token = token;
    this.headersByMethod.clear();
  }

  ready(timeoutMs: number): Promise<void> {
    const session = this.connect();
    if (!session.connecting) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => fail(new Error(`not connected after ${timeoutMs} ms`)), timeoutMs);
      const fail = (error: Error): void => {
        clearTimeout(timer);
        session.off('connect', succeed);
        reject(new Error(`${this.endpoint}: ${error.message}`));
      };
      const succeed = (): void => {
        clearTimeout(timer);
        session.off('error', fail);
        resolve();
      };
      session.once('connect', succeed);
      session.once('error', fail);
    });
  }

  unary(method: string, request: Buffer, done: UnaryCallback): void {
    let stream: http2.ClientHttp2Stream;
    try {
      stream = this.openStream(method);
    } catch (error) {
      // Answer asynchronously, as a real call would, so a closed loop cannot recurse.
      setImmediate(done, error instanceof Error ? error : new Error(String(error)));
      return;
    }
    const chunks: Buffer[] = [];
    let status: number | undefined;
    let details = '';
    let streamError: Error | undefined;
    const readStatus = (headers: http2.IncomingHttpHeaders): void => {
      const raw = headers['grpc-status'];
      if (raw === undefined) return;
      status = Number(raw);
      details = decodeGrpcMessage(headers['grpc-message']);
    };
    stream.on('response', readStatus); // a "trailers-only" error answer has the status here
    stream.on('trailers', readStatus);
    stream.on('data', (chunk: Buffer) => chunks.push(chunk));
    stream.on('error', (error: Error) => (streamError = error));
    stream.on('close', () => {
      if (status === undefined) {
        done(
          streamError ??
            new GrpcCallError(GrpcStatus.UNAVAILABLE, `stream closed (HTTP/2 code ${stream.rstCode})`),
        );
      } else if (status !== GrpcStatus.OK) {
        done(new GrpcCallError(status, details));
      } else {
        const body = chunks.length === 1 ? chunks[0] : Buffer.concat(chunks);
        if (body.length < MESSAGE_PREFIX_BYTES)
          done(new GrpcCallError(GrpcStatus.INTERNAL, 'no response message'));
        else done(null, body.subarray(MESSAGE_PREFIX_BYTES, MESSAGE_PREFIX_BYTES + body.readUInt32BE(1)));
      }
    });
    stream.end(frameMessage(request));
  }

  bidi(method: string): BidiStream {
    return new Http2BidiStream(this.openStream(method));
  }

  close(): void {
    this.session?.close();
    this.session = undefined;
  }

  private connect(): http2.ClientHttp2Session {
    if (this.session && !this.session.destroyed && !this.session.closed) return this.session;
    const tls = this.security.tls;
    const session = tls
      ? http2.connect(`https://${this.endpoint}`, {
          ca: tls.ca,
          cert: tls.cert,
          key: tls.key,
          // SNI takes no IP address; the certificate is checked against the endpoint's IP either way.
          servername: '',
        })
      : http2.connect(`http://${this.endpoint}`);
    // Without a listener a session error would crash the process; calls report it instead.
    session.on('error', (error: Error) => (this.sessionError = error));
    this.session = session;
    return session;
  }

  private openStream(method: string): http2.ClientHttp2Stream {
    const session = this.session;
    if (!session || session.destroyed || session.closed) {
      throw new GrpcCallError(
        GrpcStatus.UNAVAILABLE,
        `connection to ${this.endpoint} is closed${this.sessionError ? `: ${this.sessionError.message}` : ''}`,
      );
    }
    let headers = this.headersByMethod.get(method);
    if (!headers) {
      headers = {
        [http2.constants.HTTP2_HEADER_METHOD]: 'POST',
        [http2.constants.HTTP2_HEADER_PATH]: method,
        [http2.constants.HTTP2_HEADER_CONTENT_TYPE]: 'application/grpc',
        [http2.constants.HTTP2_HEADER_TE]: 'trailers',
        ...(this.token === undefined ? {} : { token: this.token }),
      };
      this.headersByMethod.set(method, headers);
    }
    return session.request(headers, { endStream: false });
  }
}

/** A bidi call on one HTTP/2 stream: framed messages out, deframed messages in. */
class Http2BidiStream extends EventEmitter implements BidiStream {
  private cancelled = false;

  constructor(private readonly stream: http2.ClientHttp2Stream) {
    super();
    const deframer = new MessageDeframer((message) => this.emit('data', message));
    let failed = false;
    const fail = (error: Error): void => {
      if (failed || this.cancelled) return;
      failed = true;
      this.emit('error', error);
    };
    const readStatus = (headers: http2.IncomingHttpHeaders): void => {
      const raw = headers['grpc-status'];
      if (raw !== undefined && Number(raw) !== GrpcStatus.OK) {
        fail(new GrpcCallError(Number(raw), decodeGrpcMessage(headers['grpc-message'])));
      }
    };
    stream.on('response', readStatus);
    stream.on('trailers', readStatus);
    stream.on('data', (chunk: Buffer) => {
      try {
        deframer.push(chunk);
      } catch (error) {
        fail(error instanceof Error ? error : new Error(String(error)));
      }
    });
    stream.on('error', fail);
    stream.on('close', () => fail(new GrpcCallError(GrpcStatus.UNAVAILABLE, 'stream closed by the server')));
  }

  write(message: Buffer): boolean {
    return this.stream.write(frameMessage(message));
  }

  cancel(): void {
    this.cancelled = true;
    this.stream.close(http2.constants.NGHTTP2_CANCEL);
  }
}

/** grpc-message is percent-encoded (gRPC over HTTP/2 spec). */
function decodeGrpcMessage(raw: string | string[] | undefined): string {
  const value = Array.isArray(raw) ? raw.join(',') : (raw ?? '');
  try {
    return decodeURIComponent(value);
  } catch {
    return value;
  }
}
