#!/usr/bin/env node
// @ts-check
// Idle RSS of an empty member (issue 18, goal 5), as `bench suite --only memory` measures it: start a fresh
// member (bin/cairn, or --binary /usr/bin/etcd) on loopback, wait --wait seconds, read VmRSS and the
// anonymous / file-backed split from /proc, stop it. --runs fresh members one after the other; prints each
// run and the median.
//
//   node scripts/idle-rss.mjs [--runs 5] [--wait 10] [--binary /usr/bin/etcd] [-- extra member flags]
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const dash = process.argv.indexOf('--');
const args = dash < 0 ? process.argv.slice(2) : process.argv.slice(2, dash);
const extra = dash < 0 ? [] : process.argv.slice(dash + 1);
const opt = (name, fallback) => {
  const at = args.indexOf(`--${name}`);
  return at >= 0 ? args[at + 1] : fallback;
};
const runs = Number(opt('runs', '5'));
const waitSeconds = Number(opt('wait', '10'));
const binary = opt('binary', join(root, 'bin', 'cairn'));
const sleep = (ms) => new Promise((done) => setTimeout(done, ms));

/** @returns {Promise<number>} */
const freePort = () =>
  new Promise((done) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const { port } = /** @type {import('node:net').AddressInfo} */ (server.address());
      server.close(() => done(port));
    });
  });

/** MiB of VmRSS, RssAnon and RssFile of `pid`. */
const memory = (pid) => {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (field) => Number(new RegExp(`${field}:\\s+(\\d+)`).exec(status)?.[1]) / 1024;
  return { rss: kb('VmRSS'), anon: kb('RssAnon'), file: kb('RssFile') };
};

const results = [];
for (let run = 0; run < runs; run++) {
  const dir = mkdtempSync(join(tmpdir(), 'cairn-idle-'));
  const [clientPort, peerPort] = [await freePort(), await freePort()];
  const client = `http://127.0.0.1:${clientPort}`;
  const peer = `http://127.0.0.1:${peerPort}`;
  // prettier-ignore
  const flags = ['--name', 'm', '--data-dir', join(dir, 'data'), '--listen-client-urls', client,
    '--advertise-client-urls', client, '--listen-peer-urls', peer, '--initial-advertise-peer-urls', peer,
    '--initial-cluster', `m=${peer}`, ...extra];
  const child = spawn(binary, flags, { stdio: 'ignore' });
  try {
    await sleep(waitSeconds * 1000);
    const m = memory(/** @type {number} */ (child.pid));
    results.push(m);
    console.log(
      `run ${run + 1}: RSS ${m.rss.toFixed(1)} MiB (anonymous ${m.anon.toFixed(1)}, file ${m.file.toFixed(1)})`,
    );
  } finally {
    child.kill('SIGTERM');
    await new Promise((done) => child.once('exit', done));
    rmSync(dir, { recursive: true, force: true });
  }
}
const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];
console.log(
  `median of ${runs}: RSS ${median(results.map((r) => r.rss)).toFixed(1)} MiB (anonymous ${median(
    results.map((r) => r.anon),
  ).toFixed(1)}, file ${median(results.map((r) => r.file)).toFixed(1)})`,
);
