// The timeouts and limits lean on two library internals; these fail on the pinned Node and grpc-js versions if
// either stops engaging (the member would then only log a warning at start):
// - Node's HTTP/1.1 connection tracking, started by its own 'listening' handler (http1-timeouts.ts), so that
//   headersTimeout/requestTimeout apply to sockets handed over with emit('connection');
// - grpc-js's HTTP/2 servers (a private field), where the stream limit and the client ping rule hook in
//   (grpc-connection-policy.ts).
// And the listener's own two: the protocol decision timeout and the connection limit, with their counters.
import http from 'node:http';
import net from 'node:net';
import * as grpc from '@grpc/grpc-js';
import { afterEach, describe, expect, it } from 'vitest';
import {
  ClientListener,
  EdgeStats,
  HTTP2_PREFACE,
  applyHttp1Timeouts,
  installGrpcConnectionPolicy,
  tracksConnections,
} from '../src';

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0)) await cleanup();
});

/** Connects, writes `bytes`, resolves with what came back and how long the connection lived. */
async function exchange(port: number, bytes: string | Buffer): Promise<{ text: string; lifetimeMs: number }> {
  const socket = net.connect({ host: '127.0.0.1', port });
  const opened = Date.now();
  let text = '';
  socket.on('data', (chunk: Buffer) => (text += chunk.toString('latin1')));
  socket.on('error', () => undefined);
  socket.on('connect', () => {
    if (bytes.length > 0) socket.write(bytes);
  });
  await new Promise<void>((resolve) => socket.once('close', () => resolve()));
  return { text, lifetimeMs: Date.now() - opened };
}

async function listen(listener: ClientListener): Promise<number> {
  const address = await listener.listen('127.0.0.1', 0);
  cleanups.push(() => listener.close());
  return address.port;
}

describe('HTTP/1.1 timeouts on handed-over connections', () => {
  it('are enforced once applyHttp1Timeouts started Node’s connection tracking', async () => {
    const server = http.createServer((_req, res) => res.end('ok'));
    expect(tracksConnections(server), 'a server that never listened is not tracked').toBe(false);
    expect(
      applyHttp1Timeouts(server, { headersTimeoutMs: 300, requestTimeoutMs: 600, keepAliveTimeoutMs: 500 }),
    ).toBe(true);
    expect(tracksConnections(server)).toBe(true);
    const port = await listen(new ClientListener({ grpc: () => undefined, http: server }));
    const { text, lifetimeMs } = await exchange(port, 'GET / HT');
    expect(text).toMatch(/^HTTP\/1\.1 408 /);
    expect(lifetimeMs).toBeGreaterThanOrEqual(250);
    expect(lifetimeMs).toBeLessThan(3000);
  });
});

describe('the client listener', () => {
  it('closes a connection that shows no protocol within the decision timeout, and counts it', async () => {
    const stats = new EdgeStats();
    const listener = new ClientListener(
      { grpc: () => undefined, http: http.createServer() },
      { protocolDecisionTimeoutMs: 200, maxConnections: 0, stats },
    );
    const port = await listen(listener);
    const [silent, magic] = await Promise.all([exchange(port, ''), exchange(port, HTTP2_PREFACE)]);
    for (const { lifetimeMs } of [silent, magic]) {
      expect(lifetimeMs).toBeGreaterThanOrEqual(150);
      expect(lifetimeMs).toBeLessThan(2000);
    }
    expect(stats.connectionsClosed.protocol_decision_timeout).toBe(2);
    // The member's side of a socket closes a moment after the client saw it close.
    for (let i = 0; i < 50 && stats.openConnections > 0; i++) await new Promise((r) => setTimeout(r, 10));
    expect(stats.openConnections).toBe(0);
  });

  it('closes connections past its limit at accept, and counts them', async () => {
    const stats = new EdgeStats();
    const listener = new ClientListener(
      { grpc: () => undefined, http: http.createServer() },
      { protocolDecisionTimeoutMs: 1000, maxConnections: 2, stats },
    );
    const port = await listen(listener);
    const lives = await Promise.all([1, 2, 3, 4].map(() => exchange(port, '')));
    const refused = lives.filter((l) => l.lifetimeMs < 500);
    expect(refused.length).toBe(2);
    expect(stats.connectionsRefused.limit).toBe(2);
    expect(stats.connectionsClosed.protocol_decision_timeout).toBe(2);
  });
});

describe('grpc-js hooks', () => {
  it('install the stream limit and the ping rule on the HTTP/2 server createConnectionInjector made', () => {
    const server = new grpc.Server();
    const injector = server.createConnectionInjector(grpc.ServerCredentials.createInsecure());
    cleanups.push(() => {
      injector.destroy();
      server.forceShutdown();
    });
    expect(
      installGrpcConnectionPolicy(
        server,
        { maxConcurrentStreams: 1, keepAliveMinTimeMs: 5000 },
        new EdgeStats(),
      ),
    ).toEqual({ streamLimit: true, pingPolicy: true });
  });
});
