// Serves chosen calls of a grpc-js server straight off their HTTP/2 stream, before grpc-js's call machinery
// (interceptor chain, Metadata and call objects per call) sees them: the etcd KV calls on the client URL
// (fast-unary.ts) and the Raft message stream on the peer URL (peer/peer-stream-route.ts).
// Everything a route does not take goes to grpc-js on the same connection, unchanged.
//
// This wraps the 'stream' listener of the HTTP/2 servers grpc-js made, which grpc-js keeps in a private field;
// when that is not what this expects, nothing is routed and grpc-js serves every call itself.
//
// Never die on one stream: the dispatch is an event handler, so nothing may leave it. A stream the client reset
// in the same read as its HEADERS reaches it already destroyed (Node emits 'stream' a tick after the HEADERS,
// and when the bytes come through JS, as they do after the connection sniffer or through the :authority
// normaliser, the RST_STREAM is processed in between); answering it throws ERR_HTTP2_INVALID_STREAM, as grpc-js's
// _verifyContentType does. Such a stream is ignored. An exception from a route or from grpc-js's handler is
// logged and ends that stream with RST_STREAM(INTERNAL_ERROR), never the process.
import type http2 from 'node:http2';
import type * as grpc from '@grpc/grpc-js';
import { guardSessionsOf } from './session-guards';
import { Http2ErrorCode } from './http2-frames';

/** Takes the stream (returns true) or leaves it to grpc-js (false). Must not touch a stream it leaves. */
export type Http2StreamRoute = (
  stream: http2.ServerHttp2Stream,
  headers: http2.IncomingHttpHeaders,
) => boolean;

type StreamListener = (
  stream: http2.ServerHttp2Stream,
  headers: http2.IncomingHttpHeaders,
  flags: number,
  rawHeaders: string[],
) => void;

/** Where the router reports an exception thrown for one stream (pino and @cairn/server's Logger fit). */
export interface StreamRouterLog {
  warn(obj: object, msg?: string): void;
}

/** The routes of each HTTP/2 server already wrapped, tried in the order added. */
const routesOf = new WeakMap<http2.Http2Server, Http2StreamRoute[]>();
/** Where each wrapped server's dispatch reports exceptions (the first log given for it). */
const logOf = new WeakMap<http2.Http2Server, StreamRouterLog>();

/**
 * Puts `route` in front of grpc-js on every HTTP/2 server `server` has made so far (call it after bindAsync, or
 * after createConnectionInjector). Adding the same route again is a no-op. False: nothing could be wrapped.
 * `first`: before the routes already there (a limit that must see every stream, grpc-connection-policy.ts).
 */
export function routeGrpcStreams(
  server: grpc.Server,
  route: Http2StreamRoute,
  options: { first?: boolean; log?: StreamRouterLog } = {},
): boolean {
  const servers = (server as unknown as { http2Servers?: unknown }).http2Servers;
  if (!(servers instanceof Map)) return false;
  let installed = false;
  for (const h2 of servers.keys() as IterableIterator<http2.Http2Server>) {
    const routes = routesOf.get(h2) ?? wrap(h2);
    if (routes === undefined) continue;
    if (options.log !== undefined && !logOf.has(h2)) logOf.set(h2, options.log);
    if (!routes.includes(route)) {
      if (options.first) routes.unshift(route);
      else routes.push(route);
    }
    installed = true;
  }
  return installed;
}

function wrap(h2: http2.Http2Server): Http2StreamRoute[] | undefined {
  const listeners = h2.listeners('stream') as StreamListener[];
  if (listeners.length !== 1) return undefined;
  const grpcJs = listeners[0];
  const routes: Http2StreamRoute[] = [];
  h2.removeListener('stream', grpcJs);
  // Every session of this server: a client GOAWAY with nothing in flight ends it at once; a client that never
  // finishes its SETTINGS is closed (session-guards.ts).
  guardSessionsOf(h2);
  const dispatch: StreamListener = (stream, headers, flags, rawHeaders) => {
    // Whatever happens to this stream later, its 'error' (a reset with a code other than CANCEL) has a listener.
    stream.on('error', ignore);
    if (stream.destroyed || stream.closed) return; // reset by the client before it got here: nothing to serve
    try {
      for (const route of routes) if (route(stream, headers)) return;
      grpcJs.call(h2, stream, headers, flags, rawHeaders);
    } catch (err) {
      const details = { err, path: headers[':path'], streamId: stream.id };
      logOf.get(h2)?.warn(details, 'a gRPC stream handler threw: that stream is reset');
      resetStream(stream);
    }
  };
  h2.on('stream', dispatch);
  routesOf.set(h2, routes);
  return routes;
}

function ignore(): void {}

/** Ends a stream with RST_STREAM(INTERNAL_ERROR), whatever state it is in. */
function resetStream(stream: http2.ServerHttp2Stream): void {
  try {
    if (!stream.destroyed) stream.close(Http2ErrorCode.INTERNAL_ERROR);
  } catch {
    stream.destroy();
  }
}

/** A POST with gRPC's content type and uncompressed messages: anything else is grpc-js's to judge. */
export function isPlainGrpcCall(headers: http2.IncomingHttpHeaders): boolean {
  return isPlainGrpc(headers[':method'], headers['content-type'], headers['grpc-encoding']);
}

/** The same test on the three headers it reads, whatever holds them (the gRPC front keeps a Map). */
export function isPlainGrpc(
  method: string | undefined,
  contentType: string | undefined,
  encoding: string | string[] | undefined,
): boolean {
  return (
    method === 'POST' &&
    (contentType ?? '').startsWith('application/grpc') &&
    (encoding === undefined || encoding === 'identity')
  );
}
