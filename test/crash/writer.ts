// Child process of crash.test.ts (transpiled and run with plain node). Puts <prefix>k<i> for i = 0, 1, …
// one at a time through the etcd3 client and prints one JSON line per acknowledged put:
//   {"i":3,"key":"crash/k3","value":"v3-a1","revision":"57"}
// A put that fails (server down, deadline) is retried with a new attempt number in its value until it is
// acknowledged, so the last write of every key is the acknowledged one. SIGTERM stops it after the
// current put.
import { noop } from 'cockatiel';
import { Etcd3 } from 'etcd3';

interface Ack {
  i: number;
  key: string;
  value: string;
  revision: string;
}

const [endpoint, countText, prefix] = process.argv.slice(2);
if (endpoint === undefined || countText === undefined || prefix === undefined) {
  throw new Error('usage: writer <endpoint> <count> <prefix>');
}
const count = Number(countText);

let stopping = false;
process.on('SIGTERM', () => {
  stopping = true;
});

// No client-side retries or circuit breaking (this loop retries itself) and fast reconnects after a restart.
const client = new Etcd3({
  hosts: endpoint,
  dialTimeout: 1000,
  faultHandling: { host: () => noop, global: noop },
  grpcOptions: { 'grpc.initial_reconnect_backoff_ms': 50, 'grpc.max_reconnect_backoff_ms': 250 },
});

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

async function putUntilAcknowledged(i: number): Promise<Ack | undefined> {
  const key = `${prefix}k${i}`;
  for (let attempt = 0; !stopping; attempt++) {
    const value = `v${i}-a${attempt}`;
    try {
      const response = await client
        .put(key)
        .value(value)
        .options({ deadline: Date.now() + 1000 });
      return { i, key, value, revision: response.header.revision };
    } catch {
      await sleep(25);
    }
  }
  return undefined;
}

async function main(): Promise<void> {
  for (let i = 0; i < count && !stopping; i++) {
    const ack = await putUntilAcknowledged(i);
    if (ack) process.stdout.write(`${JSON.stringify(ack)}\n`);
  }
}

main().then(
  () => client.close(),
  (error: unknown) => {
    console.error(error);
    client.close();
    process.exitCode = 1;
  },
);
