#!/usr/bin/env node
// @ts-check
// `npm run cluster`: a local cluster of bin/cairn members on loopback, for trying things with etcdctl or the
// console. Ports are free ones picked by the kernel (or fixed with --base-port), data dirs and logs live in a
// temp dir, and Ctrl-C stops every member (SIGTERM, then SIGKILL) and removes the temp dir.
//
//   npm run cluster                       3 members on free ports
//   npm run cluster -- --size 5           5 members
//   npm run cluster -- --base-port 2379   m1 on 2379/2380, m2 on 2381/2382, m3 on 2383/2384
//   npm run cluster -- --binary /usr/bin/etcd   the same cluster of real etcd, to compare
//   npm run cluster -- --keep-data --logs -- --snapshot-count 100    (flags after -- go to every member)
import { spawn } from 'node:child_process';
import {
  closeSync,
  createWriteStream,
  existsSync,
  mkdtempSync,
  openSync,
  readFileSync,
  readSync,
  rmSync,
} from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..');

const USAGE = `usage: npm run cluster -- [--size N] [--base-port P] [--binary PATH] [--keep-data] [--logs] [-- member flags…]
  --size N        members (default 3)
  --base-port P   fixed ports: member k listens on P+2(k-1) for clients and P+2(k-1)+1 for peers
                  (default: free ports)
  --binary PATH   what to start (default <repo>/bin/cairn; /usr/bin/etcd works too)
  --keep-data     keep the temp dir (data dirs and logs) after stopping
  --logs          also print every member's output here, prefixed with its name`;

/**
 * @typedef {{ size: number, basePort: number | undefined, binary: string, keepData: boolean, logs: boolean, extra: string[] }} Options
 * @typedef {{ name: string, clientPort: number, peerPort: number, dataDir: string, logFile: string,
 *   child?: import('node:child_process').ChildProcess, exited: boolean }} Member
 */

/** @param {string[]} argv @returns {Options} */
function parseArgs(argv) {
  /** @type {Options} */
  const options = {
    size: 3,
    basePort: undefined,
    binary: join(repoRoot, 'bin', 'cairn'),
    keepData: false,
    logs: false,
    extra: [],
  };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    const value = () => {
      const next = argv[++i];
      if (next === undefined) fail(`${arg} needs a value\n${USAGE}`);
      return /** @type {string} */ (next);
    };
    if (arg === '--') {
      options.extra = argv.slice(i + 1);
      break;
    } else if (arg === '--size') options.size = Number(value());
    else if (arg === '--base-port') options.basePort = Number(value());
    else if (arg === '--binary') options.binary = resolve(value());
    else if (arg === '--keep-data') options.keepData = true;
    else if (arg === '--logs') options.logs = true;
    else if (arg === '--help' || arg === '-h') {
      process.stdout.write(`${USAGE}\n`);
      process.exit(0);
    } else fail(`unknown argument ${arg}\n${USAGE}`);
  }
  if (!Number.isInteger(options.size) || options.size < 1 || options.size > 9) fail('--size must be 1..9');
  if (
    options.basePort !== undefined &&
    !(options.basePort > 0 && options.basePort + 2 * options.size < 65536)
  ) {
    fail('--base-port must leave room for 2 ports per member below 65536');
  }
  return options;
}

/** @param {string} message @returns {never} */
function fail(message) {
  process.stderr.write(`cluster: ${message}\n`);
  process.exit(2);
}

/** A loopback port that is free right now. @returns {Promise<number>} */
function freePort() {
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen({ host: '127.0.0.1', port: 0 }, () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => resolvePort(port));
    });
  });
}

/** @param {number} ms */
const sleep = (ms) => new Promise((done) => setTimeout(done, ms));

/** @param {Member} member */
async function healthy(member) {
  try {
    const response = await fetch(`http://127.0.0.1:${member.clientPort}/health`, {
      signal: AbortSignal.timeout(1000),
    });
    return (
      response.status === 200 && /** @type {{health?: string}} */ (await response.json()).health === 'true'
    );
  } catch {
    return false;
  }
}

/** @param {Member} member @param {number} chars */
function logTail(member, chars = 3000) {
  try {
    const text = readFileSync(member.logFile, 'utf8');
    return text.length > chars ? `…${text.slice(-chars)}` : text;
  } catch {
    return '(no log)';
  }
}

async function main() {
  const options = parseArgs(process.argv.slice(2));
  if (!existsSync(options.binary)) fail(`${options.binary} does not exist`);
  if (
    options.binary === join(repoRoot, 'bin', 'cairn') &&
    !existsSync(join(repoRoot, 'apps', 'server', 'dist', 'main.js'))
  ) {
    fail('the server is not built yet: run `npm run build` first');
  }
  const root = mkdtempSync(join(tmpdir(), 'cairn-cluster-'));
  const token = `cairn-local-${process.pid}`;

  /** @type {Member[]} */
  const members = [];
  const used = new Set();
  for (let k = 1; k <= options.size; k++) {
    let clientPort, peerPort;
    if (options.basePort !== undefined) {
      clientPort = options.basePort + 2 * (k - 1);
      peerPort = clientPort + 1;
    } else {
      do clientPort = await freePort();
      while (used.has(clientPort));
      used.add(clientPort);
      do peerPort = await freePort();
      while (used.has(peerPort));
      used.add(peerPort);
    }
    const name = `m${k}`;
    members.push({
      name,
      clientPort,
      peerPort,
      dataDir: join(root, `${name}.data`),
      logFile: join(root, `${name}.log`),
      exited: false,
    });
  }
  const initialCluster = members.map((m) => `${m.name}=http://127.0.0.1:${m.peerPort}`).join(',');

  let stopping = false;
  /** Stops every member still running: SIGTERM, SIGKILL after 5 s. */
  const stopAll = async () => {
    const running = members.filter((m) => m.child !== undefined && !m.exited);
    for (const m of running) signalMember(m, 'SIGTERM');
    const deadline = Date.now() + 5000;
    while (running.some((m) => !m.exited) && Date.now() < deadline) await sleep(50);
    for (const m of running) {
      if (m.exited) continue;
      process.stdout.write(`${m.name} did not stop within 5 s of SIGTERM: SIGKILL\n`);
      signalMember(m, 'SIGKILL');
    }
    while (running.some((m) => !m.exited) && Date.now() < deadline + 2000) await sleep(50);
  };
  const shutdown = async (/** @type {number} */ code) => {
    if (stopping) return;
    stopping = true;
    process.stdout.write('\nstopping every member…\n');
    await stopAll();
    if (options.keepData) process.stdout.write(`data dirs and logs kept in ${root}\n`);
    else rmSync(root, { recursive: true, force: true });
    process.exit(code);
  };
  for (const signal of /** @type {const} */ (['SIGINT', 'SIGTERM', 'SIGHUP'])) {
    process.on(signal, () => void shutdown(0));
  }
  // Last resort if this process dies some other way: kill the members synchronously.
  process.on('exit', () => {
    for (const m of members) if (m.child !== undefined && !m.exited) signalMember(m, 'SIGKILL');
  });

  for (const member of members) {
    const url = (/** @type {number} */ port) => `http://127.0.0.1:${port}`;
    // prettier-ignore
    const flags = [
      '--name', member.name,
      '--data-dir', member.dataDir,
      '--listen-client-urls', url(member.clientPort),
      '--advertise-client-urls', url(member.clientPort),
      '--listen-peer-urls', url(member.peerPort),
      '--initial-advertise-peer-urls', url(member.peerPort),
      '--initial-cluster', initialCluster,
      '--initial-cluster-state', 'new',
      '--initial-cluster-token', token,
      ...options.extra,
    ];
    const log = createWriteStream(member.logFile);
    // Node scripts (bin/cairn) run under this node; anything else (etcd) is executed directly.
    const isNodeScript = startsWithNodeShebang(options.binary);
    const [command, args] = isNodeScript
      ? [process.execPath, [options.binary, ...flags]]
      : [options.binary, flags];
    const child = spawn(command, args, { detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
    member.child = child;
    for (const stream of [child.stdout, child.stderr]) {
      stream?.on('data', (/** @type {Buffer} */ chunk) => {
        log.write(chunk);
        if (options.logs) {
          for (const line of chunk.toString().split('\n'))
            if (line !== '') process.stdout.write(`[${member.name}] ${line}\n`);
        }
      });
    }
    child.on('exit', (code, signal) => {
      member.exited = true;
      if (!stopping) {
        process.stderr.write(
          `\n${member.name} (pid ${child.pid}) exited (code ${code}, signal ${signal}); its log:\n${logTail(member)}\n`,
        );
      }
    });
  }

  const deadline = Date.now() + 60_000;
  for (;;) {
    const dead = members.find((m) => m.exited);
    if (dead !== undefined) {
      process.stderr.write(`${dead.name} did not start; stopping the others\n`);
      await shutdown(1);
      return;
    }
    const states = await Promise.all(members.map(healthy));
    if (states.every(Boolean)) break;
    if (Date.now() > deadline) {
      process.stderr.write('the members were not all healthy within 60 s; last log lines:\n');
      for (const m of members) process.stderr.write(`--- ${m.name}\n${logTail(m, 1500)}\n`);
      await shutdown(1);
      return;
    }
    await sleep(200);
  }

  const endpoints = members.map((m) => `http://127.0.0.1:${m.clientPort}`).join(',');
  const lines = [
    '',
    `${members.length}-member cluster of ${options.binary} is up (data and logs in ${root}):`,
    ...members.map(
      (m) =>
        `  ${m.name}  pid ${m.child?.pid}  client http://127.0.0.1:${m.clientPort}  peer http://127.0.0.1:${m.peerPort}  log ${m.logFile}`,
    ),
    '',
    'Try:',
    `  export ETCDCTL_API=3 ETCDCTL_ENDPOINTS=${endpoints}`,
    '  etcdctl endpoint status -w table',
    '  etcdctl put greeting hello && etcdctl get greeting',
    '  etcdctl member list -w table',
    '',
    'Ctrl-C stops every member.',
    '',
  ];
  process.stdout.write(lines.join('\n'));
}

/** True for a script run by node (`#!/usr/bin/env node`), like bin/cairn. @param {string} file */
function startsWithNodeShebang(file) {
  const fd = openSync(file, 'r');
  try {
    const head = Buffer.alloc(64);
    const read = readSync(fd, head, 0, head.length, 0);
    return head.subarray(0, read).toString('latin1').startsWith('#!/usr/bin/env node');
  } finally {
    closeSync(fd);
  }
}

/** Signals a member's process group (it was started detached, as its own group). */
function signalMember(/** @type {Member} */ member, /** @type {NodeJS.Signals} */ signal) {
  const pid = member.child?.pid;
  if (pid === undefined) return;
  try {
    process.kill(-pid, signal);
  } catch {
    try {
      process.kill(pid, signal);
    } catch {
      /* already gone */
    }
  }
}

main().catch((error) => {
  process.stderr.write(`cluster: ${error instanceof Error ? error.stack : String(error)}\n`);
  process.exit(1);
});
