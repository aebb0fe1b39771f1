// A throwaway PostgreSQL server for tests: Debian's `postgresql` binaries (scripts/install-test-deps.sh),
// a temp data dir, a loopback port, trust auth. Run as the `postgres` user when we are root (PostgreSQL
// refuses to run as root). Stopped by the PID in postmaster.pid. If the binaries are missing the caller
// gets the reason and skips.
import { execFileSync } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from 'pg';

export interface PostgresServer {
  port: number;
  /** The postmaster's PID and binary (for a run-level cleanup that checks the PID still runs it). */
  pid: number;
  binary: string;
  /** postgres://postgres@127.0.0.1:<port>/<database> */
  url(database?: string): string;
  createDatabase(name: string): Promise<string>;
  /** Stop the server, keeping its data (an outage); `resume()` starts it again on the same port. */
  halt(): void;
  resume(): void;
  /** Stop for good and remove the data. */
  stop(): void;
}

/** The newest installed PostgreSQL's bin dir, or undefined. */
export function postgresBinDir(): string | undefined {
  const root = '/usr/lib/postgresql';
  if (!existsSync(root)) return undefined;
  const versions = readdirSync(root)
    .filter((name) => existsSync(join(root, name, 'bin', 'initdb')))
    .sort((a, b) => Number(b) - Number(a));
  return versions.length > 0 ? join(root, versions[0], 'bin') : undefined;
}

/** Why PostgreSQL tests cannot run here, or undefined when they can. */
export function postgresMissingReason(): string | undefined {
  return postgresBinDir()
    ? undefined
    : 'PostgreSQL binaries not found under /usr/lib/postgresql/*/bin (install Debian `postgresql`: scripts/install-test-deps.sh)';
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

export async function startPostgres(): Promise<PostgresServer> {
  const bin = postgresBinDir();
  if (!bin) throw new Error(postgresMissingReason());
  const asRoot = process.getuid?.() === 0;
  const dir = mkdtempSync(join(tmpdir(), 'cairn-pg-'));
  const dataDir = join(dir, 'data');
  const run = (command: string, args: string[]): string => {
    const argv = asRoot ? ['-u', 'postgres', '--', join(bin, command), ...args] : args;
    return execFileSync(asRoot ? 'runuser' : join(bin, command), argv, {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
      timeout: 60_000,
    });
  };
  if (asRoot) chownSync(dir, uid('postgres'), gid('postgres'));
  run('initdb', [
    '-D',
    dataDir,
    '-A',
    'trust',
    '-U',
    'postgres',
    '-E',
    'UTF8',
    '--no-sync',
    '--no-instructions',
  ]);
  const port = await freePort();
  const options = [
    `-p ${port}`,
    `-k ${dir}`,
    "-c listen_addresses='127.0.0.1'",
    '-c fsync=off',
    '-c synchronous_commit=off',
    '-c full_page_writes=off',
    '-c max_connections=50',
    '-c shared_buffers=16MB',
  ].join(' ');
  const start = (): number => {
    run('pg_ctl', ['start', '-D', dataDir, '-o', options, '-l', join(dir, 'server.log'), '-w', '-t', '60']);
    return Number(readFileSync(join(dataDir, 'postmaster.pid'), 'utf8').split('\n')[0]);
  };
  let pid = start();
  let stopped = false;
  const url = (database = 'postgres') => `postgres://postgres@127.0.0.1:${port}/${database}`;
  const server: PostgresServer = {
    port,
    pid,
    binary: join(bin, 'postgres'),
    url,
    async createDatabase(name: string): Promise<string> {
      const client = new Client({ connectionString: url() });
      await client.connect();
      try {
        await client.query(`CREATE DATABASE "${name}"`);
      } finally {
        await client.end();
      }
      return url(name);
    },
    halt(): void {
      stopByPid(pid);
    },
    resume(): void {
      pid = start();
      server.pid = pid;
    },
    stop(): void {
      if (stopped) return;
      stopped = true;
      stopByPid(pid);
      rmSync(dir, { recursive: true, force: true });
    },
  };
  return server;
}

/** Fast shutdown by PID (SIGINT), then wait for the postmaster to go; SIGKILL if it lingers. */
function stopByPid(pid: number): void {
  try {
    process.kill(pid, 'SIGINT');
  } catch {
    /* gone */
  }
  const deadline = Date.now() + 10_000;
  while (Date.now() < deadline && alive(pid)) execFileSync('sleep', ['0.05']);
  if (alive(pid)) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      /* gone */
    }
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

function uid(user: string): number {
  return Number(execFileSync('id', ['-u', user], { encoding: 'utf8' }).trim());
}

function gid(user: string): number {
  return Number(execFileSync('id', ['-g', user], { encoding: 'utf8' }).trim());
}
