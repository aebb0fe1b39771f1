// Free loopback TCP ports. The kernel picks a free ephemeral port for a throw-away listener; we remember
// every port handed out in this process so two members of one test never get the same one.
import { createServer } from 'node:net';

const handedOut = new Set<number>();

function probeFreePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.once('error', reject);
    server.listen({ host: '127.0.0.1', port: 0, exclusive: true }, () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => (port > 0 ? resolve(port) : reject(new Error('listener has no port'))));
    });
  });
}

/** One loopback port that was free a moment ago and has not been handed out by this process before. */
export async function allocatePort(): Promise<number> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const port = await probeFreePort();
    if (!handedOut.has(port)) {
      handedOut.add(port);
      return port;
    }
  }
  throw new Error('could not find a free loopback port after 50 attempts');
}

export async function allocatePorts(count: number): Promise<number[]> {
  const ports: number[] = [];
  for (let i = 0; i < count; i++) ports.push(await allocatePort());
  return ports;
}
