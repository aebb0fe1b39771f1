// A short road for the hot unary calls (etcd's KV Range/Put/DeleteRange/Txn): served straight off the HTTP/2
// stream of the client connection instead of through grpc-js's call machinery (interceptor chain, Metadata
// objects, channelz and call objects per request), each answered in one flush (one-flush-answer.ts). A
// grpc-timeout is left to the client, which enforces its deadline itself.
//
// Everything else (streams, other services, compressed messages, anything unusual) still goes to grpc-js on the
// same connection: this only wraps the 'stream' listener of the HTTP/2 server behind grpc-js's connection
// injector. Request and response bytes go through the very (de)serializers grpc-js would use, errors map through
// the same toGrpcStatus, and the grpc_server_* metrics count these calls as before.
import type http2 from 'node:http2';
import type * as grpc from '@grpc/grpc-js';
import { etcdError, toGrpcStatus } from '@cairn/api';
import { codeName, type RpcContext } from './handlers';
import { answerInOneFlush } from './one-flush-answer';

export interface FastUnaryMethod {
  /** The gRPC method name as the metrics label it ('Put'). */
  method: string;
  ctx: RpcContext;
  /** The method's definition, for its path and (de)serializers. */
  definition: grpc.MethodDefinition<unknown, unknown>;
  handler: (request: unknown) => Promise<unknown> | unknown;
}

type StreamListener = (
  stream: http2.ServerHttp2Stream,
  headers: http2.IncomingHttpHeaders,
  flags: number,
  rawHeaders: string[],
) => void;

const RESPONSE_HEADERS = {
  ':status': 200,
  'content-type': 'application/grpc+proto',
  'grpc-accept-encoding': 'identity,deflate,gzip',
  'grpc-encoding': 'identity',
};
const OK_TRAILERS = { 'grpc-status': '0', 'grpc-message': '' };
const INTERNAL = 13;
const RESOURCE_EXHAUSTED = 8;
const wrapped = new WeakSet<http2.Http2Server>();

/**
 * Puts `methods` on the short road in every HTTP/2 server grpc-js made for `server` so far (call it right after
 * createConnectionInjector). Returns false, leaving everything to grpc-js, if grpc-js's internals are not
 * what this expects.
 */
export function installFastUnary(
  server: grpc.Server,
  methods: readonly FastUnaryMethod[],
  maxReceiveBytes: number,
): boolean {
  const servers = (server as unknown as { http2Servers?: unknown }).http2Servers;
  if (!(servers instanceof Map)) return false;
  const byPath = new Map(methods.map((m) => [m.definition.path, m]));
  let installed = false;
  for (const h2 of servers.keys() as IterableIterator<http2.Http2Server>) {
    if (wrapped.has(h2)) {
      installed = true;
      continue;
    }
    const listeners = h2.listeners('stream') as StreamListener[];
    if (listeners.length !== 1) continue;
    const grpcJs = listeners[0];
    h2.removeListener('stream', grpcJs);
    const route: StreamListener = (stream, headers, flags, rawHeaders) => {
      const method = byPath.get(headers[':path'] ?? '');
      if (method !== undefined && isPlainGrpcCall(headers)) serve(method, stream, headers, maxReceiveBytes);
      else grpcJs.call(h2, stream, headers, flags, rawHeaders);
    };
    h2.on('stream', route);
    wrapped.add(h2);
    installed = true;
  }
  return installed;
}

/** A POST with gRPC's content type and uncompressed messages: anything else is grpc-js's to judge. */
function isPlainGrpcCall(headers: http2.IncomingHttpHeaders): boolean {
  const encoding = headers['grpc-encoding'];
  return (
    headers[':method'] === 'POST' &&
    (headers['content-type'] ?? '').startsWith('application/grpc') &&
    (encoding === undefined || encoding === 'identity')
  );
}

function serve(
  m: FastUnaryMethod,
  stream: http2.ServerHttp2Stream,
  headers: http2.IncomingHttpHeaders,
  maxReceiveBytes: number,
): void {
  const { ctx, method } = m;
  ctx.metrics.rpcStarted('unary', ctx.service, method);
  let answered = false;
  const fail = (err: unknown): void => {
    if (answered) return;
    answered = true;
    const status = toGrpcStatus(err);
    ctx.metrics.rpcHandled('unary', ctx.service, method, codeName(status.code));
    if (stream.destroyed || stream.closed) return;
    try {
      stream.respond(
        {
          ...RESPONSE_HEADERS,
          'grpc-status': String(status.code),
          'grpc-message': encodeURI(status.details),
        },
        { endStream: true },
      );
    } catch {
      // The client went away meanwhile.
    }
  };
  const succeed = (response: unknown): void => {
    if (answered) return;
    let payload: Buffer;
    try {
      payload = m.definition.responseSerialize(response);
    } catch {
      fail({ code: INTERNAL, details: 'Error serializing response' });
      return;
    }
    answered = true;
    ctx.metrics.rpcHandled('unary', ctx.service, method, 'OK');
    if (stream.destroyed || stream.closed) return;
    const frame = Buffer.allocUnsafe(5 + payload.length);
    frame[0] = 0;
    frame.writeUInt32BE(payload.length, 1);
    payload.copy(frame, 5);
    try {
      answerInOneFlush(stream, RESPONSE_HEADERS, frame, OK_TRAILERS);
    } catch {
      // The client went away meanwhile.
    }
  };

  const chunks: Buffer[] = [];
  let received = 0;
  stream.on('error', () => undefined); // a reset by the client; nothing to answer
  stream.on('data', (chunk: Buffer) => {
    received += chunk.length;
    if (received <= maxReceiveBytes + 5) chunks.push(chunk);
  });
  stream.once('end', () => {
    const body = chunks.length === 1 ? chunks[0] : Buffer.concat(chunks);
    if (body.length < 5) {
      fail({ code: INTERNAL, details: 'Received incomplete message' });
      return;
    }
    const length = body.readUInt32BE(1);
    if (length > maxReceiveBytes) {
      fail({
        code: RESOURCE_EXHAUSTED,
        details: `Received message larger than max (${length} vs. ${maxReceiveBytes})`,
      });
      return;
    }
    if (body[0] !== 0) {
      fail({
        code: INTERNAL,
        details: 'Received compressed message but "grpc-encoding" header was identity',
      });
      return;
    }
    if (body.length !== 5 + length) {
      fail({ code: INTERNAL, details: 'Received a malformed unary request' });
      return;
    }
    let request: unknown;
    try {
      request = m.definition.requestDeserialize(body.subarray(5));
    } catch {
      fail({ code: INTERNAL, details: 'Error deserializing request' });
      return;
    }
    if (headers.hasleader === 'true' && !ctx.node.hasLeader()) {
      fail(etcdError('no-leader'));
      return;
    }
    let pending: unknown;
    try {
      pending = m.handler(request);
    } catch (err) {
      fail(err);
      return;
    }
    if (pending instanceof Promise) pending.then(succeed, fail);
    else succeed(pending);
  });
}
