#!/usr/bin/env node
// CPU µs per put of the MVCC store alone (no Raft, no network): 100,000 keys with 256-byte values, then
// random overwrites in batches of 256 (a busy member's apply), counting LevelDB reads made at apply.
//   node scripts/mvcc-overwrite-cpu.cjs [built tree, default: this repository]
'use strict';
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

const tree = path.resolve(process.argv[2] ?? path.join(__dirname, '..'));
const { Backend } = require(path.join(tree, 'libs/storage/dist/index.js'));
const { KvStore } = require(path.join(tree, 'libs/mvcc/dist/index.js'));

(async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mvcc-overwrite-'));
  const backend = await Backend.open(path.join(dir, 'db'));
  const kv = await KvStore.open(backend, {});
  let reads = 0;
  // Builds before values left the key index (d0ea423) have no getSync: they never read at apply.
  if (backend.getSync) {
    const getSync = backend.getSync.bind(backend);
    backend.getSync = (...args) => (reads++, getSync(...args));
  }
  const key = (n) => Buffer.from(String(n).padStart(16, '0'));
  const value = Buffer.alloc(256, 0x61);
  const run = async (count, pick) => {
    for (let i = 0; i < count; i += 256) {
      const batch = backend.batch();
      for (let j = i; j < Math.min(count, i + 256); j++) kv.put({ key: key(pick(j)), value }, batch);
      await batch.write();
    }
  };
  const random = () => Math.floor(Math.random() * 100000);
  await run(100000, (j) => j);
  await run(20000, random); // warm-up
  reads = 0;
  const puts = 100000;
  const cpu = process.cpuUsage();
  await run(puts, random);
  const used = process.cpuUsage(cpu);
  console.log(
    `${tree}: ${((used.user + used.system) / puts).toFixed(1)} µs CPU per put, ${(reads / puts).toFixed(2)} LevelDB reads per put at apply`,
  );
  await kv.close();
  await backend.close();
  fs.rmSync(dir, { recursive: true, force: true });
})();
