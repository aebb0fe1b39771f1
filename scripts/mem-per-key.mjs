#!/usr/bin/env node
// @ts-check
// Memory per key of one member (issue 18, goal 5): start bin/cairn (or --binary /usr/bin/etcd) on loopback,
// put N distinct keys with 256-byte values through the etcd3 npm client, 64 in flight, and print the
// member's RSS before, right after the load and after an idle wait. For Cairn it also prints
// process.memoryUsage() after a forced GC (heapUsed, external, arrayBuffers) through a preload that answers
// trigger files; with --snapshots it writes heap snapshots before and after into the temp dir.
//
// With --compact it then compacts at the current revision (physical), defragments, waits --idle again
// and prints RSS (and, for Cairn, memoryUsage after GC) once more; the data dir's size on disk is printed
// after the load and after the defragment.
//
//   node scripts/mem-per-key.mjs [--keys 150000] [--idle 30] [--snapshots] [--compact] [--binary /usr/bin/etcd]
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const { Etcd3 } = createRequire(join(root, 'package.json'))('etcd3');
const args = process.argv.slice(2);
const opt = (name, fallback) => {
  const at = args.indexOf(`--${name}`);
  return at >= 0 ? args[at + 1] : fallback;
};
const keys = Number(opt('keys', '150000'));
const idleSeconds = Number(opt('idle', '30'));
const snapshots = args.includes('--snapshots');
const compactAfter = args.includes('--compact');
const binary = opt('binary', join(root, 'bin', 'cairn'));
const isCairn = binary.endsWith('cairn');
const dir = mkdtempSync(join(tmpdir(), 'cairn-mem-'));
const sleep = (ms) => new Promise((done) => setTimeout(done, ms));
/** Bytes of the files under `path` (the member's data dir: backend, WAL, snapshots). */
const diskBytes = (path) => {
  let total = 0;
  for (const entry of readdirSync(path, { withFileTypes: true })) {
    const full = join(path, entry.name);
    total += entry.isDirectory() ? diskBytes(full) : statSync(full).size;
  }
  return total;
};

/** @returns {Promise<number>} */
const freePort = () =>
  new Promise((done) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const { port } = /** @type {import('node:net').AddressInfo} */ (server.address());
      server.close(() => done(port));
    });
  });

// The preload: on <dir>/trigger-<name>, GC (unless the name ends in -nogc), write memoryUsage (and a heap
// snapshot for names ending in -snap) to <dir>/<name>.json.
const probeFile = join(dir, 'probe.cjs');
writeFileSync(
  probeFile,
  `const fs = require('node:fs'); const v8 = require('node:v8'); const dir = ${JSON.stringify(dir)};
// RSS by kind of mapping (MiB): malloc's main heap, other anonymous memory (V8's pages, malloc's thread
// arenas, mmap'd allocations) and files (Node's binary, shared libraries).
const smaps = () => { const out = { heap: 0, anon: 0, file: 0 }; let kind = 'anon';
  for (const line of fs.readFileSync('/proc/self/smaps', 'utf8').split('\\n')) {
    const head = /^[0-9a-f]+-[0-9a-f]+ \\S+ \\S+ \\S+ (\\d+)\\s*(.*)$/.exec(line);
    if (head) kind = head[2] === '[heap]' ? 'heap' : head[2].startsWith('/') ? 'file' : 'anon';
    else if (line.startsWith('Rss:')) out[kind] += Number(line.slice(4).trim().split(' ')[0]) / 1024; }
  for (const k in out) out[k] = Math.round(out[k]); return out; };
setInterval(() => { for (const f of fs.readdirSync(dir)) { if (!f.startsWith('trigger-')) continue;
  const name = f.slice(8); fs.rmSync(dir + '/' + f); if (!name.endsWith('-nogc')) for (let i = 0; i < 3; i++) global.gc();
  const out = { ...process.memoryUsage(), spaces: Object.fromEntries(v8.getHeapSpaceStatistics().map((s) =>
    [s.space_name, Math.round(s.space_used_size / 1048576) + '/' + Math.round(s.physical_space_size / 1048576)])),
    smaps: smaps() }; if (name.endsWith('-snap')) out.snapshot = v8.writeHeapSnapshot(dir + '/' + name + '.heapsnapshot');
  fs.writeFileSync(dir + '/' + name + '.json', JSON.stringify(out)); } }, 200).unref();\n`,
);

const [clientPort, peerPort] = [await freePort(), await freePort()];
const client = `http://127.0.0.1:${clientPort}`;
const peer = `http://127.0.0.1:${peerPort}`;
// prettier-ignore
const flags = ['--name', 'm', '--data-dir', join(dir, 'data'), '--listen-client-urls', client,
  '--advertise-client-urls', client, '--listen-peer-urls', peer, '--initial-advertise-peer-urls', peer,
  '--initial-cluster', `m=${peer}`];
const child = isCairn
  ? spawn(process.execPath, ['--expose-gc', '--require', probeFile, binary, ...flags], { stdio: 'ignore' })
  : spawn(binary, flags, { stdio: 'ignore' });
const pid = /** @type {number} */ (child.pid);
const rssMiB = () => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1]) / 1024;
/** @returns {Promise<Record<string, number> | undefined>} */
const probe = async (name) => {
  if (!isCairn) return undefined;
  writeFileSync(join(dir, `trigger-${name}`), '');
  const file = join(dir, `${name}.json`);
  while (!existsSync(file)) await sleep(100);
  await sleep(100);
  return JSON.parse(readFileSync(file, 'utf8'));
};

const etcd = new Etcd3({ hosts: client });
try {
  for (let tries = 0; ; tries++) {
    try {
      await etcd.put('warm').value('x');
      break;
    } catch (err) {
      if (tries > 100) throw err;
      await sleep(300);
    }
  }
  await sleep(1000);
  const before = await probe(snapshots ? 'before-snap' : 'before');
  const rssBefore = rssMiB();
  const value = Buffer.alloc(256, 'v');
  let next = 0;
  const started = Date.now();
  await Promise.all(
    Array.from({ length: 64 }, async () => {
      while (next < keys) await etcd.put(`/bench/key-${String(next++).padStart(8, '0')}`).value(value);
    }),
  );
  const seconds = (Date.now() - started) / 1000;
  const rssLoaded = rssMiB();
  // Where the RSS is right after the load (no GC): V8 spaces (used/physical MiB), anonymous memory.
  const loaded = await probe('loaded-nogc');
  const idle = [];
  for (let t = 0; t < idleSeconds; t += 5) {
    await sleep(5000);
    idle.push(Math.round(rssMiB()));
  }
  const after = await probe(snapshots ? 'after-snap' : 'after');
  const diskLoaded = diskBytes(join(dir, 'data'));
  /** @type {Record<string, unknown> | undefined} */
  let compacted;
  if (compactAfter) {
    const { header } = await etcd.kv.range({ key: Buffer.from('warm') });
    // A long physical compaction may be retried by the client and answer 'compacted': it is done then.
    await etcd.kv.compact({ revision: header.revision, physical: true }).catch((err) => {
      if (!String(err).includes('compacted')) throw err;
    });
    await etcd.maintenance.defragment();
    const idleCompacted = [];
    for (let t = 0; t < Math.max(idleSeconds, 5); t += 5) {
      await sleep(5000);
      idleCompacted.push(Math.round(rssMiB()));
    }
    const gc = await probe('compacted');
    compacted = {
      rssMiBEvery5s: idleCompacted,
      rssBytesPerKey: Math.round(((idleCompacted[idleCompacted.length - 1] - rssBefore) * 1048576) / keys),
      diskMiB: Math.round(diskBytes(join(dir, 'data')) / 104857.6) / 10,
      ...(gc && before
        ? { afterGcHeapUsedBytesPerKey: Math.round((gc.heapUsed - before.heapUsed) / keys) }
        : {}),
    };
  }
  const perKey = (a, b) => Math.round((b - a) / keys);
  const mib = (bytes) => Math.round((bytes / 1048576) * 10) / 10;
  const report = {
    binary,
    keys,
    putsPerSecond: Math.round(keys / seconds),
    rssMiB: { before: mib(rssBefore * 1048576), loaded: mib(rssLoaded * 1048576), idleEvery5s: idle },
    rssBytesPerKey: {
      loaded: Math.round(((rssLoaded - rssBefore) * 1048576) / keys),
      idle: Math.round(((idle[idle.length - 1] - rssBefore) * 1048576) / keys),
    },
    diskMiB: Math.round(diskLoaded / 104857.6) / 10,
    ...(before && after
      ? {
          afterGcBytesPerKey: {
            heapUsed: perKey(before.heapUsed, after.heapUsed),
            external: perKey(before.external, after.external),
            arrayBuffers: perKey(before.arrayBuffers, after.arrayBuffers),
          },
          afterGcMiB: { heapUsed: mib(after.heapUsed), heapTotal: mib(after.heapTotal), rss: mib(after.rss) },
          loadedNoGc: loaded && {
            heapUsedMiB: mib(loaded.heapUsed),
            heapTotalMiB: mib(loaded.heapTotal),
            externalMiB: mib(loaded.external),
            spacesUsedPhysicalMiB: loaded.spaces,
            smapsMiB: loaded.smaps,
          },
          afterGcSpaces: after.spaces,
          afterGcSmapsMiB: after.smaps,
        }
      : {}),
    ...(compacted ? { afterCompactDefrag: compacted } : {}),
    dir: snapshots ? dir : undefined,
  };
  console.log(JSON.stringify(report, null, 2));
} finally {
  etcd.close();
  child.kill('SIGTERM');
  await new Promise((done) => child.once('exit', done));
  if (!snapshots) rmSync(dir, { recursive: true, force: true });
}
