#!/usr/bin/env node
// What one postMessage to another thread costs the sender, when the receiver is busy (its queue already has
// work: no wake-up) and when it is idle (asleep in its event loop: an eventfd write wakes it). The I/O worker
// (libs/edge io-worker/) batches its main thread's answers per turn because of the second figure.
//   node scripts/thread-wake-cost.mjs [posts]
import { loadavg } from 'node:os';
import { Worker } from 'node:worker_threads';

const posts = Number(process.argv[2] ?? 3000);
const worker = new Worker(
  `const { parentPort } = require('node:worker_threads');
   let n = 0;
   parentPort.on('message', (m) => (m === 'count' ? parentPort.postMessage(n) : n++));`,
  { eval: true },
);
await new Promise((resolve) => setTimeout(resolve, 200));
const now = process.hrtime.bigint;
const spin = (us) => {
  const end = now() + BigInt(us * 1000);
  while (now() < end);
};

function measure(label, gapUs) {
  let cpu = 0;
  let wall = 0n;
  for (let i = 0; i < posts; i++) {
    if (gapUs > 0) spin(gapUs); // the receiver drains its queue and goes to sleep meanwhile
    const chunk = new ArrayBuffer(700);
    const c0 = process.cpuUsage();
    const t0 = now();
    worker.postMessage({ records: chunk }, [chunk]);
    wall += now() - t0;
    const c = process.cpuUsage(c0);
    cpu += c.user + c.system;
  }
  console.log(
    `${label}: ${(cpu / posts).toFixed(1)} µs CPU, ${(Number(wall) / 1000 / posts).toFixed(1)} µs wall per post`,
  );
}

measure('receiver busy (back-to-back posts)', 0);
measure('receiver idle (300 µs between posts)', 300);
worker.postMessage('count');
worker.once('message', (n) => {
  console.log(`received ${n} of ${2 * posts}; load average ${loadavg()[0].toFixed(1)}`);
  void worker.terminate();
});
