// A slow client is not a broken one. grpc-js sends its first request only after the server's SETTINGS, so
// every grpc-js connection gets the listener's own SETTINGS (first-request-sniffer.ts) and must acknowledge
// them before its bytes can be handed to HTTP/2. A client process busy opening many channels (a bench worker
// with 1,250 of them on a loaded 2-core machine) acknowledged them up to 13 s late; the listener used to close
// such a connection after 1 s, and the client saw `14 UNAVAILABLE: read ECONNRESET`
// (`bench config-push --members 3 --subscribers 5000`).
import http from 'node:http';
import net from 'node:net';
import type { Duplex } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import { ClientListener } from '../src/client-listener';
import { FrameFlag, FrameType, HTTP2_PREFACE, frameHeader } from '../src/http2-frames';

const EMPTY_SETTINGS = frameHeader(0, FrameType.SETTINGS, 0, 0);
const SETTINGS_ACK = frameHeader(0, FrameType.SETTINGS, FrameFlag.ACK, 0);

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

describe('ClientListener and a client slow to acknowledge the SETTINGS it was sent', () => {
  const cleanups: (() => Promise<void> | void)[] = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });

  it('keeps the connection and hands it over once the late ACK arrives', async () => {
    const handedOver: { bytes: Buffer[] }[] = [];
    const httpServer = http.createServer();
    const listener = new ClientListener({
      grpc: (_socket: net.Socket, connection: Duplex) => {
        // What HTTP/2 would read: everything the client sent, our SETTINGS' ACK removed.
        const seen = { bytes: [] as Buffer[] };
        handedOver.push(seen);
        connection.on('data', (chunk: Buffer) => seen.bytes.push(chunk));
        connection.resume();
      },
      http: httpServer,
    });
    const { port } = await listener.listen('127.0.0.1', 0);
    cleanups.push(() => listener.close());

    const client = net.connect(port, '127.0.0.1');
    cleanups.push(() => void client.destroy());
    let closed = false;
    let error: Error | undefined;
    client.on('close', () => (closed = true));
    client.on('error', (err) => (error = err));
    const received: Buffer[] = [];
    client.on('data', (chunk: Buffer) => received.push(chunk));
    await new Promise<void>((resolve) => client.once('connect', resolve));

    client.write(Buffer.concat([HTTP2_PREFACE, EMPTY_SETTINGS]));
    // The listener answers the preface with its own SETTINGS; this client takes its time to acknowledge them,
    // longer than the listener waits for a first request (1 s).
    await sleep(2_500);
    expect(Buffer.concat(received).subarray(0, 9)).toEqual(EMPTY_SETTINGS);
    expect(closed).toBe(false);
    expect(handedOver).toHaveLength(0);

    client.write(SETTINGS_ACK);
    // Still no request: the listener stops waiting for one within a second and hands the connection over.
    for (let waited = 0; handedOver.length === 0 && waited < 3_000; waited += 50) await sleep(50);
    expect(handedOver).toHaveLength(1);
    await sleep(50);
    expect(Buffer.concat(handedOver[0].bytes)).toEqual(Buffer.concat([HTTP2_PREFACE, EMPTY_SETTINGS]));
    expect(closed).toBe(false);
    expect(error).toBeUndefined();
  }, 10_000);
});
