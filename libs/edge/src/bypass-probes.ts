// Start-up probes for the edge's bypasses of library internals. Each bypass works on the versions it was
// written for (grpc-js 1.14.7, Node 20) and is proven at start-up against a real loopback exchange; where the
// probe fails, the member takes the public road instead and logs which (test/edge/bypasses.test.ts fails if a
// member on the pinned versions does not engage one of them, libs/edge/test/bypass-probes.test.ts if a probe
// stops passing):
//
// - the stream router (grpc-stream-router.ts) reaches into grpc-js's private `http2Servers` and its 'stream'
//   listener: probeGrpcStreamRouter. Fallback: grpc-js serves every call itself (no fast path, no hand-framed
//   peer stream).
// - one-flush answers (one-flush-answer.ts) flip a Node stream state flag and call its native handle:
//   probeOneFlushAnswers there. Fallback: Node's public respond/sendTrailers.
// - the :authority normaliser (authority-normalizer.ts, with first-request-sniffer.ts) rewrites a client's
//   bytes under Node's HTTP/2, mirroring its HPACK table: probeAuthorityNormalizer. Fallback: every gRPC
//   connection gets the raw socket (clients that send `:authority: http://...` are refused by Node, as without
//   it); and where Node accepts such an authority itself, the normaliser is not needed at all.
//
// On https client URLs the same bypasses run on the decrypted connection: the router and one-flush answers act
// on HTTP/2 streams and the normaliser on the decrypted bytes, none on the socket below; they are proven over
// TLS by libs/edge/test/client-listener-tls.test.ts (router and normaliser) and test/security/client-tls.test.ts
// (the fast path's answers on a real member).
import http2 from 'node:http2';
import net, { type AddressInfo } from 'node:net';
import * as grpc from '@grpc/grpc-js';
import { AuthorityNormalizingSocket } from './authority-normalizer';
import { routeGrpcStreams } from './grpc-stream-router';

const ROUTED_PATH = '/cairn.edge.Probe/Routed';
const NOT_ROUTED_PATH = '/cairn.edge.Probe/NotRouted';
const UNIMPLEMENTED = '12';

/**
 * Whether routeGrpcStreams engages on this grpc-js: a throwaway grpc.Server with a connection injector, a route
 * installed on it, and one loopback HTTP/2 connection whose first call must reach the route and whose second
 * (a path the route leaves) must reach grpc-js (UNIMPLEMENTED).
 */
export async function probeGrpcStreamRouter(timeoutMs = 2000): Promise<boolean> {
  const server = new grpc.Server({ 'grpc.enable_channelz': 0 });
  let injector: ReturnType<grpc.Server['createConnectionInjector']> | undefined;
  let listener: net.Server | undefined;
  let client: http2.ClientHttp2Session | undefined;
  try {
    injector = server.createConnectionInjector(grpc.ServerCredentials.createInsecure());
    let routed = 0;
    const installed = routeGrpcStreams(server, (stream, headers) => {
      if (headers[':path'] !== ROUTED_PATH) return false;
      routed++;
      stream.respond(
        { ':status': 200, 'content-type': 'application/grpc+proto', 'grpc-status': '0' },
        { endStream: true },
      );
      return true;
    });
    if (!installed) return false;
    const inject = injector;
    listener = loopbackListener((socket) => inject.injectConnection(socket));
    const port = await listen(listener);
    client = http2.connect(`http://127.0.0.1:${port}`);
    client.on('error', () => undefined);
    const routedStatus = await grpcStatusOf(client, ROUTED_PATH, timeoutMs);
    const grpcJsStatus = await grpcStatusOf(client, NOT_ROUTED_PATH, timeoutMs);
    return routed === 1 && routedStatus === '0' && grpcJsStatus === UNIMPLEMENTED;
  } catch {
    return false;
  } finally {
    client?.destroy();
    injector?.destroy();
    server.forceShutdown();
    if (listener !== undefined) await close(listener);
  }
}

export interface AuthorityNormalizerProbe {
  /** Node's HTTP/2 refuses a request whose :authority carries a scheme (so clients that send one need it). */
  needed: boolean;
  /** Through AuthorityNormalizingSocket, such a request is served with the scheme gone. */
  works: boolean;
}

/**
 * Sends a request with `:authority: http://127.0.0.1:PORT` to a loopback HTTP/2 server twice: on the raw
 * socket (is the normaliser needed?) and through AuthorityNormalizingSocket (does it work?).
 */
export async function probeAuthorityNormalizer(timeoutMs = 2000): Promise<AuthorityNormalizerProbe> {
  const [raw, normalized] = await Promise.all([
    authoritySeen(false, timeoutMs),
    authoritySeen(true, timeoutMs),
  ]);
  return {
    needed: raw === undefined,
    works: normalized !== undefined && normalized.seen === normalized.expected,
  };
}

/** Use the normaliser when Node needs it and it works. */
export function shouldNormalizeAuthority(probe: AuthorityNormalizerProbe): boolean {
  return probe.needed && probe.works;
}

async function authoritySeen(
  normalize: boolean,
  timeoutMs: number,
): Promise<{ seen: string; expected: string } | undefined> {
  const h2 = http2.createServer();
  h2.on('stream', (stream, headers) => {
    stream.on('error', () => undefined);
    try {
      stream.respond({ ':status': 200, 'x-authority': String(headers[':authority']) }, { endStream: true });
    } catch {
      stream.destroy();
    }
  });
  h2.on('sessionError', () => undefined);
  const listener = loopbackListener((socket) =>
    h2.emit('connection', normalize ? new AuthorityNormalizingSocket(socket) : socket),
  );
  let client: http2.ClientHttp2Session | undefined;
  try {
    const port = await listen(listener);
    const expected = `127.0.0.1:${port}`;
    client = http2.connect(`http://${expected}`);
    client.on('error', () => undefined);
    const session = client;
    const seen = await new Promise<string | undefined>((resolve) => {
      const timer = setTimeout(() => resolve(undefined), timeoutMs);
      const request = session.request({ ':path': '/', ':authority': `http://${expected}` });
      request.on('response', (headers) => {
        clearTimeout(timer);
        resolve(headers[':status'] === 200 ? String(headers['x-authority']) : undefined);
      });
      request.on('error', () => resolve(undefined));
      request.on('close', () => resolve(undefined));
      request.resume();
      request.end();
    });
    return seen === undefined ? undefined : { seen, expected };
  } catch {
    return undefined;
  } finally {
    client?.destroy();
    await close(listener);
    h2.close();
  }
}

/** The grpc-status a unary call to `path` (an empty message) ends with; undefined when none came in time. */
function grpcStatusOf(
  client: http2.ClientHttp2Session,
  path: string,
  timeoutMs: number,
): Promise<string | undefined> {
  return new Promise((resolve) => {
    let status: string | undefined;
    const timer = setTimeout(() => resolve(undefined), timeoutMs);
    const request = client.request({
      ':method': 'POST',
      ':path': path,
      'content-type': 'application/grpc',
      te: 'trailers',
    });
    const take = (headers: http2.IncomingHttpHeaders): void => {
      if (headers['grpc-status'] !== undefined) status = String(headers['grpc-status']);
    };
    request.on('response', take);
    request.on('trailers', take);
    request.on('error', () => undefined);
    request.on('close', () => {
      clearTimeout(timer);
      resolve(status);
    });
    request.resume();
    request.end(Buffer.from([0, 0, 0, 0, 0]));
  });
}

/** A loopback listener that hands each connection to `onConnection` and can drop them all at close. */
function loopbackListener(onConnection: (socket: net.Socket) => void): net.Server {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.on('error', () => undefined);
    socket.once('close', () => sockets.delete(socket));
    onConnection(socket);
  });
  dropAll.set(server, () => {
    for (const socket of sockets) socket.destroy();
  });
  return server;
}

const dropAll = new WeakMap<net.Server, () => void>();

function listen(server: net.Server): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      server.off('error', reject);
      resolve((server.address() as AddressInfo).port);
    });
  });
}

function close(server: net.Server): Promise<void> {
  dropAll.get(server)?.();
  return new Promise((resolve) => server.close(() => resolve()));
}
