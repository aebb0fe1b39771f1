// The client listener on an https URL: TLS terminated first, then the same routing by the decrypted bytes
// (HTTP/2 → grpc-js through its connection injector, HTTP/1.1 → the HTTP server); the verified client
// certificate's CN reaches every road — grpc-js on the raw TLS socket (public getAuthContext), grpc-js through
// the :authority normaliser (grpc-js's call chain, grpc-js 1.14), the fast path's stream (the session's
// socket) and HTTP/1.1 (req.socket); the protocol decision timeout bounds a handshake that never comes, and
// the connection limit counts TLS connections too.
import { readFileSync } from 'node:fs';
import http from 'node:http';
import http2 from 'node:http2';
import https from 'node:https';
import net from 'node:net';
import tls from 'node:tls';
import * as grpc from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ClientListener, EdgeStats, routeGrpcStreams } from '../src';
import { grpcCallCommonName, verifiedCommonName } from '../src/tls/peer-certificate';
import { TlsTerminator } from '../src/tls/tls-terminator';
import { CLIENT_URL_ALPN } from '../src/tls/client-tls';
import { type TlsFixtures, makeTlsFixtures } from './tls-fixtures';

let fx: TlsFixtures;
let port: number;
const stats = new EdgeStats();
const seen: Array<{ road: string; cn: string | undefined }> = [];
const cleanups: Array<() => Promise<void> | void> = [];

const GRPC_JS_PATH = '/cairn.test.Echo/Call';
const ROUTED_PATH = '/cairn.test.Echo/Routed';

beforeAll(async () => {
  fx = makeTlsFixtures();
  const server = new grpc.Server();
  server.register(
    GRPC_JS_PATH,
    (call: grpc.ServerUnaryCall<Buffer, Buffer>, callback: grpc.sendUnaryData<Buffer>) => {
      seen.push({ road: `grpc-js ${call.metadata.get('road')[0]}`, cn: grpcCallCommonName(call) });
      callback(null, Buffer.alloc(0));
    },
    (value: Buffer) => value,
    (value: Buffer) => value,
    'unary',
  );
  const injector = server.createConnectionInjector(grpc.ServerCredentials.createInsecure());
  const routed = routeGrpcStreams(server, (stream, headers) => {
    if (headers[':path'] !== ROUTED_PATH) return false;
    seen.push({ road: 'fast path', cn: verifiedCommonName(stream.session?.socket) });
    stream.respond(
      { ':status': 200, 'content-type': 'application/grpc', 'grpc-status': '0' },
      { endStream: true },
    );
    return true;
  });
  expect(routed, 'the stream router engages').toBe(true);
  const httpServer = http.createServer((req, res) => {
    seen.push({ road: 'http', cn: verifiedCommonName(req.socket) });
    res.end('ok');
  });
  const terminator = await TlsTerminator.create({
    certFile: fx.server.cert,
    keyFile: fx.server.key,
    trustedCaFile: fx.ca,
    clientCertAuth: true,
    crlFile: '',
    cipherSuites: [],
    minVersion: 'TLS1.2',
    alpnProtocols: CLIENT_URL_ALPN,
  });
  const listener = new ClientListener(
    {
      grpc: (_socket, connection) => injector.injectConnection(connection),
      http: httpServer,
      tls: terminator,
    },
    { protocolDecisionTimeoutMs: 400, maxConnections: 0, stats },
  );
  port = (await listener.listen('127.0.0.1', 0)).port;
  cleanups.push(
    () => listener.close(),
    () => injector.destroy(),
    () => server.forceShutdown(),
  );
});

afterAll(async () => {
  for (const cleanup of cleanups.splice(0)) await cleanup();
  fx?.remove();
});

const alice = (): tls.ConnectionOptions => ({
  ca: readFileSync(fx.ca),
  cert: readFileSync(fx.alice.cert),
  key: readFileSync(fx.alice.key),
});

/** One gRPC-shaped request on a new TLS HTTP/2 connection; resolves with its grpc-status. */
function h2Call(path: string, headers: http2.OutgoingHttpHeaders = {}): Promise<string | undefined> {
  return new Promise((resolve, reject) => {
    const session = http2.connect(`https://127.0.0.1:${port}`, alice());
    session.on('error', reject);
    const stream = session.request({
      ':method': 'POST',
      ':path': path,
      'content-type': 'application/grpc',
      te: 'trailers',
      ...headers,
    });
    let status: string | undefined;
    stream.on('response', (h) => (status ??= h['grpc-status'] as string | undefined));
    stream.on('trailers', (t) => (status = t['grpc-status'] as string | undefined));
    stream.on('data', () => undefined);
    stream.on('close', () => {
      session.close();
      resolve(status);
    });
    stream.on('error', reject);
    stream.end(Buffer.from([0, 0, 0, 0, 0]));
  });
}

describe('TLS on the client listener', () => {
  it('the verified CN reaches grpc-js (raw socket and normaliser), the fast path and HTTP/1.1', async () => {
    expect(await h2Call(GRPC_JS_PATH, { road: 'raw' })).toBe('0');
    // A scheme-prefixed :authority (what Go clients send for their endpoints) takes the normaliser.
    expect(
      await h2Call(GRPC_JS_PATH, { road: 'normalized', ':authority': `https://127.0.0.1:${port}` }),
    ).toBe('0');
    expect(await h2Call(ROUTED_PATH)).toBe('0');
    expect(await h2Call(ROUTED_PATH, { ':authority': `https://127.0.0.1:${port}` })).toBe('0');
    const status = await new Promise<number | undefined>((resolve, reject) => {
      const request = https.get({ host: '127.0.0.1', port, path: '/', agent: false, ...alice() }, (res) => {
        res.resume();
        resolve(res.statusCode);
      });
      request.on('error', reject);
    });
    expect(status).toBe(200);
    expect(seen).toEqual([
      { road: 'grpc-js raw', cn: 'alice' },
      { road: 'grpc-js normalized', cn: 'alice' },
      { road: 'fast path', cn: 'alice' },
      { road: 'fast path', cn: 'alice' },
      { road: 'http', cn: 'alice' },
    ]);
  });

  it('ALPN: h2 for an h2-only client, http/1.1 for one offering both', async () => {
    const negotiate = (ALPNProtocols: string[]): Promise<string | false | null> =>
      new Promise((resolve, reject) => {
        const socket = tls.connect({ host: '127.0.0.1', port, ...alice(), ALPNProtocols }, () => {
          resolve(socket.alpnProtocol);
          socket.destroy();
        });
        socket.on('error', reject);
      });
    expect(await negotiate(['h2'])).toBe('h2');
    expect(await negotiate(['h2', 'http/1.1'])).toBe('http/1.1');
  });

  it('a certificate from another CA is refused in the handshake', async () => {
    await new Promise((resolve) => setTimeout(resolve, 50)); // earlier connections' closes
    const failedBefore = stats.connectionsClosed.tls_handshake_failed;
    const outcome = await new Promise<string>((resolve) => {
      const socket = tls.connect({
        host: '127.0.0.1',
        port,
        ca: readFileSync(fx.ca),
        cert: readFileSync(fx.mallory.cert),
        key: readFileSync(fx.mallory.key),
      });
      socket.on('secureConnect', () => socket.write('GET / HTTP/1.1\r\nHost: x\r\n\r\n'));
      socket.on('data', () => resolve('answered'));
      socket.on('error', (err) => resolve(`refused: ${err.message}`));
      socket.on('close', () => resolve('closed'));
    });
    expect(outcome).not.toBe('answered');
    for (let i = 0; i < 50 && stats.connectionsClosed.tls_handshake_failed === failedBefore; i++) {
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    expect(stats.connectionsClosed.tls_handshake_failed, 'counted as a failed handshake').toBe(
      failedBefore + 1,
    );
  });

  it('the protocol decision timeout closes a connection that never starts its handshake', async () => {
    const before = stats.connectionsClosed.protocol_decision_timeout;
    const failedBefore = stats.connectionsClosed.tls_handshake_failed;
    const socket = net.connect({ host: '127.0.0.1', port });
    socket.on('error', () => undefined);
    const opened = Date.now();
    await new Promise<void>((resolve) => socket.once('close', () => resolve()));
    expect(Date.now() - opened).toBeGreaterThanOrEqual(300);
    expect(Date.now() - opened).toBeLessThan(3000);
    expect(stats.connectionsClosed.protocol_decision_timeout).toBe(before + 1);
    expect(stats.connectionsClosed.tls_handshake_failed, 'not also a failed handshake').toBe(failedBefore);
  });
});
