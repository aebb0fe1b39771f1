// The client listener's fallbacks and guards: with the :authority normalizer off (its start-up probe failed,
// or Node does not need it) every gRPC connection gets the raw socket at once; an exception while handing a
// connection over is logged and closes that connection only, and the listener keeps serving.
import http from 'node:http';
import net from 'node:net';
import type { Duplex } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import { AuthorityNormalizingSocket } from '../src/authority-normalizer';
import { ClientListener, type ClientListenerTargets } from '../src/client-listener';
import { FrameFlag, FrameType, HTTP2_PREFACE, frameHeader } from '../src/http2-frames';

const open: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const close of open.splice(0)) await close();
});

/** A literal header field without indexing, new name (RFC 7541 §6.2.2); names and values under 127 bytes. */
function literal(name: string, value: string): Buffer {
  return Buffer.concat([
    Buffer.from([0, name.length]),
    Buffer.from(name),
    Buffer.from([value.length]),
    Buffer.from(value),
  ]);
}

function firstRequest(authority: string): Buffer {
  const block = Buffer.concat([
    literal(':method', 'POST'),
    literal(':scheme', 'http'),
    literal(':path', '/etcdserverpb.KV/Range'),
    literal(':authority', authority),
  ]);
  return Buffer.concat([
    HTTP2_PREFACE,
    frameHeader(0, FrameType.SETTINGS, 0, 0),
    frameHeader(block.length, FrameType.HEADERS, FrameFlag.END_HEADERS, 1),
    block,
  ]);
}

async function startListener(
  targets: Partial<ClientListenerTargets> & Pick<ClientListenerTargets, 'grpc'>,
): Promise<number> {
  const httpServer = http.createServer();
  const listener = new ClientListener({ http: httpServer, ...targets });
  const { port } = await listener.listen('127.0.0.1', 0);
  open.push(() => listener.close());
  return port;
}

async function connectAndSend(port: number, bytes: Buffer): Promise<net.Socket> {
  const socket = net.connect({ host: '127.0.0.1', port });
  socket.on('error', () => undefined);
  await new Promise<void>((resolve) => socket.once('connect', resolve));
  socket.write(bytes);
  open.push(async () => {
    socket.destroy();
  });
  return socket;
}

function nextHandOver(): {
  grpc: ClientListenerTargets['grpc'];
  handedOver: Promise<{ socket: net.Socket; connection: Duplex; afterMs: number }>;
} {
  const start = Date.now();
  let resolve!: (value: { socket: net.Socket; connection: Duplex; afterMs: number }) => void;
  const handedOver = new Promise<{ socket: net.Socket; connection: Duplex; afterMs: number }>(
    (r) => (resolve = r),
  );
  return {
    grpc: (socket, connection) => {
      resolve({ socket, connection, afterMs: Date.now() - start });
      connection.on('error', () => undefined);
      connection.destroy();
    },
    handedOver,
  };
}

describe('ClientListener fallbacks and guards', () => {
  it("routes a first request with ':authority: http://...' through the normalizer by default", async () => {
    const target = nextHandOver();
    const port = await startListener({ grpc: target.grpc });
    await connectAndSend(port, firstRequest(`http://127.0.0.1:${port}`));
    const { connection, socket } = await target.handedOver;
    expect(connection).toBeInstanceOf(AuthorityNormalizingSocket);
    expect(connection).not.toBe(socket);
  });

  it('with normalizeAuthority false, hands over the raw socket at once, without waiting for a request', async () => {
    const target = nextHandOver();
    const port = await startListener({ grpc: target.grpc, normalizeAuthority: false });
    // Only the preface and SETTINGS: a sniffing listener would wait up to a second for the first request.
    await connectAndSend(port, Buffer.concat([HTTP2_PREFACE, frameHeader(0, FrameType.SETTINGS, 0, 0)]));
    const { connection, socket, afterMs } = await target.handedOver;
    expect(connection, 'the raw socket').toBe(socket);
    expect(afterMs, 'handed over before the first-request wait').toBeLessThan(900);
  });

  it('with normalizeAuthority false, even an http:// authority gets the raw socket (the fallback)', async () => {
    const target = nextHandOver();
    const port = await startListener({ grpc: target.grpc, normalizeAuthority: false });
    await connectAndSend(port, firstRequest(`http://127.0.0.1:${port}`));
    const { connection, socket } = await target.handedOver;
    expect(connection).toBe(socket);
  });

  it('a hand-over that throws is logged and closes that connection; the listener keeps serving', async () => {
    const warnings: Array<{ obj: object; msg?: string }> = [];
    let calls = 0;
    const second = nextHandOver();
    const port = await startListener({
      grpc: (socket, connection) => {
        calls++;
        if (calls === 1) throw new Error('hand-over defect');
        second.grpc(socket, connection);
      },
      log: { warn: (obj, msg) => warnings.push({ obj, msg }) },
    });
    const first = await connectAndSend(port, firstRequest(`127.0.0.1:${port}`));
    await new Promise<void>((resolve) => first.once('close', () => resolve()));
    expect(warnings.map((w) => w.msg)).toEqual([
      'a gRPC connection could not be handed over: connection closed',
    ]);
    await connectAndSend(port, firstRequest(`127.0.0.1:${port}`));
    const { connection } = await second.handedOver;
    expect(connection).toBeDefined();
  });
});
