// The fault-injecting TCP proxy used between cluster members: each fault does what it says on real loopback
// sockets, faults can target one source, and close() leaves nothing open.
import { randomBytes } from 'node:crypto';
import { createConnection, createServer, type Server, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import {
  BLACKHOLE,
  CUT_TO_CLIENT,
  CUT_TO_TARGET,
  PASS,
  RESET,
  STALL,
  TcpProxy,
  delay,
} from '../support/tcp-proxy';
import { sleep, waitFor } from '../support';

/** A target that greets each connection with `hello\n`, echoes what it gets, and records it. */
class EchoTarget {
  readonly received: Buffer[] = [];
  readonly sockets = new Set<Socket>();
  ended = 0;

  private constructor(
    readonly server: Server,
    readonly port: number,
  ) {}

  static async start(): Promise<EchoTarget> {
    const server = createServer({ allowHalfOpen: true });
    const port = await new Promise<number>((resolve) =>
      server.listen({ host: '127.0.0.1', port: 0 }, () => {
        const address = server.address();
        resolve(typeof address === 'object' && address !== null ? address.port : 0);
      }),
    );
    const target = new EchoTarget(server, port);
    server.on('connection', (socket) => {
      target.sockets.add(socket);
      socket.on('error', () => undefined);
      socket.on('close', () => target.sockets.delete(socket));
      socket.on('data', (chunk: Buffer) => {
        target.received.push(chunk);
        socket.write(chunk);
      });
      socket.on('end', () => {
        target.ended++;
        socket.end();
      });
      socket.write('hello\n');
    });
    return target;
  }

  receivedBytes(): number {
    return this.received.reduce((sum, chunk) => sum + chunk.length, 0);
  }

  async close(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

/** A client socket that records what it reads and how it ended. */
class Client {
  data = Buffer.alloc(0);
  closed = false;
  ended = false;
  error: NodeJS.ErrnoException | undefined;
  readonly connected: Promise<void>;

  constructor(
    port: number,
    readonly socket: Socket = createConnection({ host: '127.0.0.1', port, allowHalfOpen: true }),
  ) {
    socket.on('data', (chunk: Buffer) => (this.data = Buffer.concat([this.data, chunk])));
    socket.on('end', () => (this.ended = true));
    socket.on('error', (error: NodeJS.ErrnoException) => (this.error = error));
    socket.on('close', () => (this.closed = true));
    this.connected = new Promise((resolve, reject) => {
      socket.once('connect', () => resolve());
      socket.once('error', reject);
    });
    // Tests that expect a refused or reset connect await it; the others must not see an unhandled rejection.
    this.connected.catch(() => undefined);
  }

  text(): string {
    return this.data.toString('latin1');
  }

  async waitForData(bytes: number, what: string): Promise<void> {
    await waitFor(() => (this.data.length >= bytes ? true : undefined), {
      timeoutMs: 5000,
      what: `${what} (have ${this.data.length} of ${bytes} bytes)`,
    });
  }

  async waitClosed(what: string): Promise<void> {
    await waitFor(() => (this.closed ? true : undefined), { timeoutMs: 5000, what });
  }
}

const GREETING = 'hello\n';
let target: EchoTarget;
let proxy: TcpProxy;
const clients: Client[] = [];

function connect(port = proxy.port): Client {
  const client = new Client(port);
  clients.push(client);
  return client;
}

async function setUp(classify?: (socket: Socket) => Promise<string | undefined>): Promise<void> {
  target = await EchoTarget.start();
  proxy = await TcpProxy.start({ targetPort: target.port, classify });
}

afterEach(async () => {
  for (const client of clients.splice(0)) client.socket.destroy();
  await proxy?.close();
  await target?.close();
});

describe('TcpProxy', () => {
  it('pass forwards both directions byte for byte on several connections, half-close included', async () => {
    await setUp();
    const payloads = Array.from({ length: 5 }, () => randomBytes(256 * 1024));
    const conns = payloads.map(() => connect());
    await Promise.all(conns.map((c) => c.connected));
    conns.forEach((c, i) => c.socket.end(payloads[i]));
    await Promise.all(
      conns.map((c, i) => c.waitForData(GREETING.length + payloads[i]!.length, `echo on connection ${i}`)),
    );
    conns.forEach((c, i) => {
      expect(c.data.subarray(0, GREETING.length).toString(), `greeting on connection ${i}`).toBe(GREETING);
      expect(c.data.subarray(GREETING.length).equals(payloads[i]!), `echo on connection ${i}`).toBe(true);
    });
    // The client's end reached the target, and the target's end came back through the proxy.
    await Promise.all(conns.map((c, i) => c.waitClosed(`connection ${i} closed after both ends`)));
    expect(conns.every((c) => c.ended && c.error === undefined)).toBe(true);
    expect(target.ended).toBe(5);
    const stats = proxy.stats();
    expect(stats.accepted).toBe(5);
    expect(stats.forwarded['to-target']).toBe(5 * 256 * 1024);
    expect(stats.dropped).toEqual({ 'to-target': 0, 'to-client': 0 });
    await waitFor(() => (proxy.stats().open === 0 ? true : undefined), {
      timeoutMs: 5000,
      what: 'the proxy to forget closed connections',
    });
  });

  it('blackhole accepts and drops every byte; lifting it resets holed connections, new ones pass', async () => {
    await setUp();
    proxy.setFault(BLACKHOLE);
    const client = connect();
    await client.connected;
    client.socket.write(Buffer.alloc(1000, 1));
    await waitFor(() => (proxy.stats().dropped['to-target'] >= 1000 ? true : undefined), {
      timeoutMs: 5000,
      what: 'the proxy to read and drop 1000 bytes',
    });
    expect(target.receivedBytes(), 'bytes that reached the target').toBe(0);
    expect(client.data.length, 'bytes that reached the client (not even the greeting)').toBe(0);
    expect(proxy.stats().dropped['to-client']).toBe(GREETING.length);

    proxy.heal();
    await client.waitClosed('the holed connection to be reset on heal');
    expect(client.error?.code).toBe('ECONNRESET');
    const fresh = connect();
    fresh.socket.write('after');
    await fresh.waitForData(GREETING.length + 5, 'echo after heal');
    expect(fresh.text()).toBe(`${GREETING}after`);
  });

  it('stall holds bytes back and delivers them intact once passing again', async () => {
    const names = new Map<number, string>();
    await setUp(async (socket) => {
      const port = socket.remotePort ?? 0;
      return waitFor(() => names.get(port), { timeoutMs: 2000, what: `name of client port ${port}` });
    });
    proxy.setSourceFault('slow', STALL);
    const slow = connect();
    const quick = connect();
    await Promise.all([slow.connected, quick.connected]);
    names.set(slow.socket.localPort!, 'slow');
    names.set(quick.socket.localPort!, 'quick');
    const payload = randomBytes(100_000);
    slow.socket.write(payload);
    quick.socket.write('ping');
    await quick.waitForData(GREETING.length + 4, 'the unstalled connection to echo');
    await sleep(200);
    expect(slow.data.length, 'bytes the stalled client got').toBe(0);
    expect(target.receivedBytes(), 'bytes the target got (only the quick ping)').toBe(4);

    proxy.clearSourceFault('slow');
    await slow.waitForData(GREETING.length + payload.length, 'the stalled bytes after the stall');
    expect(slow.data.subarray(GREETING.length).equals(payload)).toBe(true);
    expect(slow.error).toBeUndefined();
  });

  it('reset resets open connections and every new one until lifted', async () => {
    await setUp();
    const open = connect();
    await open.waitForData(GREETING.length, 'greeting');
    proxy.setFault(RESET);
    await open.waitClosed('the open connection to be reset');
    expect(open.error?.code).toBe('ECONNRESET');

    const refused = connect();
    await refused.waitClosed('a new connection to be reset');
    expect(refused.data.length).toBe(0);
    expect(target.sockets.size, 'connections the target still has').toBe(0);

    proxy.setFault(PASS);
    const fresh = connect();
    await fresh.waitForData(GREETING.length, 'greeting after reset is lifted');
  });

  it('delay forwards every chunk at least that late, in order, in both directions', async () => {
    await setUp();
    const client = connect();
    await client.waitForData(GREETING.length, 'greeting');
    proxy.setFault(delay(150));
    const chunks = Array.from({ length: 20 }, (_, i) => `<${i}>`);
    const sentAt = Date.now();
    for (const chunk of chunks) {
      client.socket.write(chunk);
      await sleep(5);
    }
    const expected = GREETING + chunks.join('');
    await client.waitForData(expected.length, 'the delayed echo');
    const firstEchoAt = Date.now();
    expect(client.text()).toBe(expected);
    // Two delayed hops: client → target and the echo back.
    expect(firstEchoAt - sentAt, 'round trip through a 150 ms delay each way').toBeGreaterThanOrEqual(300);

    proxy.setFault(PASS);
    client.socket.write('!');
    await client.waitForData(expected.length + 1, 'echo after the delay is lifted');
    expect(client.text()).toBe(`${expected}!`);
  });

  it('one-way cuts drop one direction while the other flows', async () => {
    await setUp();
    proxy.setFault(CUT_TO_TARGET);
    const toTargetCut = connect();
    await toTargetCut.waitForData(GREETING.length, 'the greeting through a to-target cut');
    toTargetCut.socket.write('lost');
    await waitFor(() => (proxy.stats().dropped['to-target'] >= 4 ? true : undefined), {
      timeoutMs: 5000,
      what: 'the client bytes to be dropped',
    });
    expect(target.receivedBytes()).toBe(0);

    proxy.setFault(CUT_TO_CLIENT);
    // The first connection lost bytes and its fault still drops: it stays open (now cut the other way).
    expect(toTargetCut.closed).toBe(false);
    const toClientCut = connect();
    await toClientCut.connected;
    toClientCut.socket.write('seen');
    await waitFor(() => (target.receivedBytes() >= 4 ? true : undefined), {
      timeoutMs: 5000,
      what: 'the target to receive the client bytes',
    });
    expect(Buffer.concat(target.received).toString()).toBe('seen');
    await waitFor(() => (proxy.stats().dropped['to-client'] >= GREETING.length + 4 ? true : undefined), {
      timeoutMs: 5000,
      what: 'greeting and echo to be dropped on the way back',
    });
    expect(toClientCut.data.length).toBe(0);

    proxy.heal();
    await toTargetCut.waitClosed('the first holed connection to be reset on heal');
    await toClientCut.waitClosed('the second holed connection to be reset on heal');
  });

  it('a source fault applies only to connections classified as that source', async () => {
    const names = new Map<number, string>();
    await setUp(async (socket) => {
      const port = socket.remotePort ?? 0;
      return waitFor(() => names.get(port), { timeoutMs: 2000, what: `name of client port ${port}` });
    });
    proxy.setSourceFault('a', BLACKHOLE);
    const a = connect();
    const b = connect();
    await Promise.all([a.connected, b.connected]);
    names.set(a.socket.localPort!, 'a');
    names.set(b.socket.localPort!, 'b');
    a.socket.write('from-a');
    b.socket.write('from-b');
    await b.waitForData(GREETING.length + 6, 'echo for source b');
    await waitFor(() => (proxy.stats().dropped['to-target'] >= 6 ? true : undefined), {
      timeoutMs: 5000,
      what: "source a's bytes to be dropped",
    });
    expect(Buffer.concat(target.received).toString()).toBe('from-b');
    expect(a.data.length).toBe(0);
    expect(proxy.openSources().sort()).toEqual(['a', 'b']);

    // A default fault does not override a source's own fault.
    proxy.setFault(RESET);
    await b.waitClosed('source b to be reset by the default fault');
    expect(a.closed, 'source a keeps its blackhole').toBe(false);
  });

  it('close() resets every connection, frees the port and leaves no handle or timer behind', async () => {
    const before = process.getActiveResourcesInfo();
    await setUp();
    const plain = connect();
    const delayed = connect();
    await Promise.all([plain.waitForData(GREETING.length, 'greeting'), delayed.connected]);
    proxy.setFault(delay(10_000));
    delayed.socket.write('in flight');
    await waitFor(() => (proxy.stats().open === 2 ? true : undefined), {
      timeoutMs: 5000,
      what: 'two open connections',
    });
    const port = proxy.port;
    await proxy.close();
    await plain.waitClosed('the plain connection to be closed by close()');
    await delayed.waitClosed('the delayed connection to be closed by close()');
    expect(proxy.stats().open).toBe(0);

    const late = connect(port);
    await expect(late.connected).rejects.toMatchObject({ code: 'ECONNREFUSED' });
    for (const client of clients.splice(0)) client.socket.destroy();
    await target.close();
    await waitFor(
      () => {
        const after = process.getActiveResourcesInfo();
        const count = (list: string[], kind: string) => list.filter((r) => r === kind).length;
        const leaked = ['TCPSocketWrap', 'TCPServerWrap', 'Timeout'].filter(
          (kind) => count(after, kind) > count(before, kind),
        );
        return leaked.length === 0 ? true : undefined;
      },
      {
        timeoutMs: 5000,
        what: `no more sockets, servers or timers than before: ${process.getActiveResourcesInfo()}`,
      },
    );
  });
});
