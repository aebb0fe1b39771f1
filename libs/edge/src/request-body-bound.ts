// The server-side bound on reading a unary call's request body (--unary-request-timeout): a call whose body
// never ends is answered "etcdserver: request timed out" (etcd's answer for a request that outlived the server's
// bound) and released, instead of being held forever. Calls that wait by design (streams, Lock, Campaign) have
// only the client's deadline. Once the body is in, the request pipeline's deadline policy bounds the handler.
//
// Three readers, one rule each: grpc-js calls (a server interceptor, grpc-js's public API: the handler only
// runs after the body ends), the KV fast path (boundRequestBody on the HTTP/2 stream), and HTTP/1.1 bodies
// (readBodyWithin, used by apps/server's raw-body.ts). On gRPC the answer is trailers, then RST_STREAM
// NO_ERROR for a client still sending (grpc-connection-policy.ts closes every stream the member has finished).
import type http2 from 'node:http2';
import type { Readable } from 'node:stream';
import * as grpc from '@grpc/grpc-js';
import { etcdError, toGrpcStatus } from '@cairn/api';
import type { EdgeStats } from './edge-stats';

/** gRPC methods that wait by design: bounded only by the client's deadline (etcd's Lock and Campaign). */
export const BLOCKING_UNARY_METHODS: ReadonlySet<string> = new Set([
  '/v3lockpb.Lock/Lock',
  '/v3electionpb.Election/Campaign',
]);

/** The error a call gets when its body has not arrived within the bound. */
export function requestBodyTimeout(): Error {
  return etcdError('timeout');
}

/**
 * A grpc-js server interceptor (ServerOptions.interceptors): a unary call that does not wait by design must
 * have its whole request (message and half-close) within `boundMs`, else it is answered with
 * requestBodyTimeout() and never reaches its handler.
 */
export function requestBodyBoundInterceptor(
  boundMs: number,
  stats: EdgeStats,
  blocking: ReadonlySet<string> = BLOCKING_UNARY_METHODS,
): grpc.ServerInterceptor {
  return (method, call) => {
    if (method.requestStream || method.responseStream || blocking.has(method.path)) {
      return new grpc.ServerInterceptingCall(call);
    }
    let timer: NodeJS.Timeout | undefined;
    const stop = (): void => {
      clearTimeout(timer);
      timer = undefined;
    };
    return new grpc.ServerInterceptingCall(call, {
      start: (next) => {
        timer = setTimeout(() => {
          timer = undefined;
          stats.requestBodyTimeouts.grpc++;
          const status = toGrpcStatus(requestBodyTimeout());
          call.sendStatus({ code: status.code, details: status.details, metadata: new grpc.Metadata() });
        }, boundMs);
        next({
          onReceiveHalfClose: (nextHalfClose) => {
            stop();
            nextHalfClose();
          },
          onCancel: stop,
        });
      },
      sendStatus: (status, next) => {
        stop();
        next(status);
      },
    });
  };
}

/**
 * Calls `expire` unless the client ends the stream's request body by `deadline` (absolute ms since the
 * epoch; undefined: no bound). For the KV fast path, whose deadline comes from the request pipeline.
 */
export function boundRequestBody(
  stream: http2.ServerHttp2Stream,
  deadline: number | undefined,
  expire: () => void,
): void {
  if (deadline === undefined || !Number.isFinite(deadline)) return;
  const timer = setTimeout(expire, Math.max(0, deadline - Date.now()));
  const stop = (): void => clearTimeout(timer);
  stream.once('end', stop);
  stream.once('close', stop);
}

/**
 * Reads a whole HTTP request body of at most `limit` bytes within `boundMs`: `tooLarge()` past the limit,
 * requestBodyTimeout() (and the request destroyed) past the bound.
 */
export async function readBodyWithin(
  body: Readable,
  limit: number,
  boundMs: number,
  tooLarge: () => Error,
  stats?: EdgeStats,
): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      if (stats) stats.requestBodyTimeouts.http++;
      reject(requestBodyTimeout());
      body.destroy();
    }, boundMs);
  });
  expired.catch(() => undefined);
  const read = (async () => {
    for await (const chunk of body) {
      size += (chunk as Buffer).length;
      if (size > limit) throw tooLarge();
      chunks.push(chunk as Buffer);
    }
    return Buffer.concat(chunks);
  })();
  try {
    return await Promise.race([read, expired]);
  } finally {
    clearTimeout(timer);
    read.catch(() => undefined);
  }
}
