// socketOwner() names the process that dialled a loopback connection, which is how the peer proxies tell
// which member a peer connection comes from.
import { createServer, type Socket } from 'node:net';
import { afterAll, expect, it } from 'vitest';
import { cleanupAll, spawnManaged, waitFor } from '../support';
import { socketOwner } from './harness/socket-owner';

afterAll(() => cleanupAll());

it('names the child process that dialled each accepted connection, and nobody for our own sockets', async () => {
  const accepted: Socket[] = [];
  const server = createServer((socket) => accepted.push(socket));
  const port = await new Promise<number>((resolve) =>
    server.listen({ host: '127.0.0.1', port: 0 }, () => {
      const address = server.address();
      resolve(typeof address === 'object' && address !== null ? address.port : 0);
    }),
  );
  try {
    // Two dialling processes that hold their connection open until killed.
    const dial = `require('net').connect(${port}, '127.0.0.1').on('connect', () => process.stdout.write('up\\n')); setInterval(() => {}, 1000);`;
    const children = [1, 2].map((n) =>
      spawnManaged(process.execPath, ['-e', dial], { label: `dialler ${n}` }),
    );
    await Promise.all(children.map((c) => c.waitForStdout((out) => out.includes('up'), 10_000)));
    await waitFor(() => (accepted.length === 2 ? true : undefined), {
      timeoutMs: 5000,
      what: 'two connections',
    });

    const candidates = [...children.map((c) => c.pid), process.pid];
    const owners = await Promise.all(accepted.map((socket) => socketOwner(socket, candidates)));
    expect(owners.sort()).toEqual(children.map((c) => c.pid).sort());

    // A candidate list without the dialler names nobody.
    expect(await socketOwner(accepted[0]!, [process.pid])).toBeUndefined();
    await Promise.all(children.map((c) => c.kill()));
  } finally {
    for (const socket of accepted) socket.destroy();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
});
