#!/usr/bin/env node
// CPU of one SDK service subscription (libs/client, built) following N registrations that arrive as watch
// batches of B, one batch per event-loop turn — the client side of `bench registry`, without a server: a fake
// client answers the first range (empty) and feeds the watch.
//
//   node scripts/registry-subscription-cpu.mjs [N=100000] [B=64] [path to subscription.js]
import { EventEmitter } from 'node:events';
import { createRequire } from 'node:module';

const [N = '100000', B = '64', modulePath = '../libs/client/dist/registry/subscription.js'] =
  process.argv.slice(2);
const { ServiceSubscription } = createRequire(import.meta.url)(modulePath);
const PREFIX = '/cairn/registry/default/bench/';
const watcher = Object.assign(new EventEmitter(), { close() {} });
const client = { range: async () => ({ kvs: [], revision: 1n }), watch: () => watcher };
const sub = new ServiceSubscription(client, 'bench', {
  root: '/cairn/registry/',
  namespace: 'default',
  emptyProtectionMs: 0,
});
let updates = 0;
sub.on('update', () => updates++);
sub.on('change', () => {});
const turn = () => new Promise((resolve) => setImmediate(resolve));

await sub.ready();
const t0 = process.cpuUsage();
let revision = 2n;
for (let i = 0; i < Number(N); i += Number(B)) {
  const events = [];
  for (let j = i; j < Math.min(i + Number(B), Number(N)); j++) {
    const id = `i${String(j).padStart(6, '0')}`;
    // A record as the registry stores it (the bench's instances).
    const value = Buffer.from(
      JSON.stringify({
        namespace: 'default',
        service: 'bench',
        id,
        address: { host: '10.1.0.1', port: 10_000 + j, scheme: 'http' },
        metadata: { zone: `z${j % 3}` },
        tags: [],
        weight: 1,
        status: 'UP',
        health: { status: 'passing', reason: 'alive (lease kept)', checked_at: '' },
        lease: '123',
        session: true,
        ttl: 10,
      }),
    );
    const kv = { key: Buffer.from(PREFIX + id), value, createRevision: revision, modRevision: revision };
    events.push({ type: 'put', kv: { ...kv, version: 1n, lease: 123n } });
  }
  watcher.emit('events', { revision, events });
  revision++;
  await turn();
}
const used = process.cpuUsage(t0);
const micros = used.user + used.system;
console.log(
  `${N} instances in watch batches of ${B}: ${(micros / 1000).toFixed(0)} ms CPU, ` +
    `${(micros / Number(N)).toFixed(1)} µs per instance; ${updates} updates, view of ${sub.instances().length}`,
);
sub.close();
