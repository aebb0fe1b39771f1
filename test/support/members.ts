// Starting, stopping, killing and restarting server members (real etcd or Cairn) with etcd's own flags,
// on loopback ports, one data dir per member. Works for 1-, 3- and 5-member clusters.
import { request as httpsRequest } from 'node:https';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { allocatePort } from './ports';
import { spawnManaged, type ExitStatus, type ManagedProcess } from './processes';
import { currentTarget, assertTargetInstalled, type Target } from './target';
import { makeTempDir } from './temp-dirs';
import { sleep } from './wait';

export interface MemberPlan {
  name: string;
  clientPort: number;
  peerPort: number;
  /**
   * Peer port the other members dial (--initial-advertise-peer-urls, --initial-cluster) when it differs from
   * the port the member listens on: a test puts a proxy there (see tcp-proxy.ts). Default: peerPort.
   */
  advertisedPeerPort?: number;
  dataDir: string;
  /** https: the peer URLs are https (the test passes the --peer-* TLS flags in extraFlags). Default http. */
  peerScheme?: 'http' | 'https';
}

/**
 * TLS on the client URL: the member listens and advertises `https://127.0.0.1:<port>`, and the harness's
 * /health probe trusts `caFile` (presenting `certFile`/`keyFile` when given, for --client-cert-auth).
 * The server's own TLS flags (--cert-file, --key-file, --trusted-ca-file, --client-cert-auth) are the
 * test's extraFlags.
 */
export interface ClientTls {
  caFile: string;
  certFile?: string;
  keyFile?: string;
}

export class Member {
  process: ManagedProcess | undefined;
  /** How many times this member has been launched (restarts included). */
  launches = 0;

  constructor(
    readonly plan: MemberPlan,
    readonly target: Target,
    /** `name=peerURL,...` passed as --initial-cluster. */
    public initialCluster: string,
    public initialClusterState: 'new' | 'existing',
    readonly clusterToken: string,
    public extraFlags: string[],
    /** Set when the client URL is https (see ClientTls). */
    readonly clientTls?: ClientTls,
  ) {}

  get name(): string {
    return this.plan.name;
  }

  get clientUrl(): string {
    return `${this.clientTls ? 'https' : 'http'}://127.0.0.1:${this.plan.clientPort}`;
  }

  /** The peer URL the cluster knows this member by (advertised; a proxy's when the plan has one). */
  get peerUrl(): string {
    return `${this.plan.peerScheme ?? 'http'}://127.0.0.1:${this.plan.advertisedPeerPort ?? this.plan.peerPort}`;
  }

  /** The peer URL the member itself listens on. */
  get listenPeerUrl(): string {
    return `${this.plan.peerScheme ?? 'http'}://127.0.0.1:${this.plan.peerPort}`;
  }

  get pid(): number | undefined {
    return this.process?.running ? this.process.pid : undefined;
  }

  get running(): boolean {
    return this.process?.running ?? false;
  }

  flags(): string[] {
    // prettier-ignore
    return [
      '--name', this.name,
      '--data-dir', this.plan.dataDir,
      '--listen-client-urls', this.clientUrl,
      '--advertise-client-urls', this.clientUrl,
      '--listen-peer-urls', this.listenPeerUrl,
      '--initial-advertise-peer-urls', this.peerUrl,
      '--initial-cluster', this.initialCluster,
      '--initial-cluster-state', this.initialClusterState,
      '--initial-cluster-token', this.clusterToken,
      ...this.extraFlags,
    ];
  }
}

export interface ClusterOptions {
  size?: number;
  /** Flags appended for every member, e.g. ['--snapshot-count', '100']. */
  extraFlags?: string[];
  readyTimeoutMs?: number;
  /** https client URLs (see ClientTls). */
  clientTls?: ClientTls;
  /** https peer URLs (the --peer-* TLS flags go in extraFlags). */
  peerTls?: boolean;
  /** Which server to start; default currentTarget() (a test that needs both kinds at once sets it). */
  target?: Target;
}

const DEFAULT_READY_TIMEOUT_MS = 20_000;
let clusterCounter = 0;

function childEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) {
    // Inherited ETCD_*/ETCDCTL_* variables would silently change etcd's flags; our own test knobs are not
    // server configuration.
    if (/^(ETCD_|ETCDCTL_|CAIRN_TEST_|CAIRN_E2E_)/.test(key)) continue;
    env[key] = value;
  }
  return env;
}

export interface PlanOptions {
  /** Give every member an advertisedPeerPort apart from its listen port (for a proxy in between). */
  indirectPeerUrls?: boolean;
  /** https client URLs (see ClientTls). */
  clientTls?: ClientTls;
  /** https peer URLs (the --peer-* TLS flags go in extraFlags). */
  peerTls?: boolean;
  /** Which server to start; default currentTarget(). */
  target?: Target;
}

/** Allocates ports and data dirs for `size` members named m1..mN; starts nothing. */
export async function planCluster(
  size: number,
  extraFlags: string[] = [],
  options: PlanOptions = {},
): Promise<Member[]> {
  const target = options.target ?? currentTarget();
  const baseDir = makeTempDir('cairn-e2e-cluster-');
  const token = `cairn-e2e-${process.pid}-${++clusterCounter}`;
  const plans: MemberPlan[] = [];
  for (let i = 1; i <= size; i++) {
    plans.push({
      name: `m${i}`,
      clientPort: await allocatePort(),
      peerPort: await allocatePort(),
      ...(options.indirectPeerUrls ? { advertisedPeerPort: await allocatePort() } : {}),
      dataDir: join(baseDir, `m${i}.data`),
      ...(options.peerTls ? { peerScheme: 'https' as const } : {}),
    });
  }
  const initialCluster = plans
    .map((p) => `${p.name}=${p.peerScheme ?? 'http'}://127.0.0.1:${p.advertisedPeerPort ?? p.peerPort}`)
    .join(',');
  return plans.map(
    (plan) => new Member(plan, target, initialCluster, 'new', token, [...extraFlags], options.clientTls),
  );
}

/**
 * Plans one more member for a running cluster (to be announced with `etcdctl member add` before it is
 * launched): its --initial-cluster lists the existing members plus itself, state "existing".
 */
export async function planJoiningMember(existing: readonly Member[], name: string): Promise<Member> {
  if (existing.length === 0) throw new Error('planJoiningMember needs at least one existing member');
  const first = existing[0]!;
  const plan: MemberPlan = {
    name,
    clientPort: await allocatePort(),
    peerPort: await allocatePort(),
    dataDir: join(makeTempDir('cairn-e2e-member-'), `${name}.data`),
    ...(first.plan.peerScheme ? { peerScheme: first.plan.peerScheme } : {}),
  };
  const initialCluster = [
    ...existing.map((m) => `${m.name}=${m.peerUrl}`),
    `${name}=${plan.peerScheme ?? 'http'}://127.0.0.1:${plan.peerPort}`,
  ].join(',');
  return new Member(
    plan,
    first.target,
    initialCluster,
    'existing',
    first.clusterToken,
    [...first.extraFlags],
    first.clientTls,
  );
}

/** Spawns the member's process without waiting for it to be ready. */
export function launchMember(member: Member): ManagedProcess {
  if (member.running) throw new Error(`${member.name} is already running (pid ${member.pid})`);
  assertTargetInstalled(member.target);
  member.launches++;
  member.process = spawnManaged(member.target.binary, member.flags(), {
    label: `${member.target.kind} ${member.name} (launch ${member.launches})`,
    env: childEnv(),
  });
  return member.process;
}

/** True when GET /health answers 200 with {"health":"true"}. */
export async function isHealthy(member: Member, timeoutMs = 1000): Promise<boolean> {
  if (member.clientTls) return isHealthyTls(member, member.clientTls, timeoutMs);
  try {
    const response = await fetch(`${member.clientUrl}/health`, { signal: AbortSignal.timeout(timeoutMs) });
    if (response.status !== 200) return false;
    const body = (await response.json()) as { health?: unknown };
    return body.health === 'true';
  } catch {
    return false;
  }
}

/** isHealthy over https, trusting the test CA (and presenting a client certificate if configured). */
function isHealthyTls(member: Member, tls: ClientTls, timeoutMs: number): Promise<boolean> {
  return new Promise((resolve) => {
    const req = httpsRequest(
      `${member.clientUrl}/health`,
      {
        ca: readFileSync(tls.caFile),
        ...(tls.certFile ? { cert: readFileSync(tls.certFile) } : {}),
        ...(tls.keyFile ? { key: readFileSync(tls.keyFile) } : {}),
        timeout: timeoutMs,
      },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (body += chunk));
        res.on('end', () => {
          try {
            resolve(res.statusCode === 200 && (JSON.parse(body) as { health?: unknown }).health === 'true');
          } catch {
            resolve(false);
          }
        });
        res.on('error', () => resolve(false));
      },
    );
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(false));
    req.end();
  });
}

export class MemberStartError extends Error {
  constructor(
    message: string,
    readonly portInUse: boolean,
  ) {
    super(message);
  }
}

/** Waits until the member answers /health; fails fast with its output if it exits or never gets there. */
export async function waitReady(member: Member, timeoutMs = DEFAULT_READY_TIMEOUT_MS): Promise<void> {
  const proc = member.process;
  if (proc === undefined) throw new Error(`${member.name} was never launched`);
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (!proc.running) {
      const status = await proc.exited;
      const output = proc.describeOutput();
      throw new MemberStartError(
        `${proc.label} exited during startup (code ${status.code}, signal ${status.signal})\n${output}`,
        /address already in use|EADDRINUSE/i.test(output),
      );
    }
    if (await isHealthy(member)) return;
    await sleep(50);
  }
  await proc.kill();
  throw new MemberStartError(
    `${proc.label} was not healthy at ${member.clientUrl}/health within ${timeoutMs} ms\n${proc.describeOutput()}`,
    false,
  );
}

/**
 * Plans, launches and waits for a fresh cluster of `size` members (all launched before any is awaited:
 * members only turn healthy once a quorum is up). Retries with new ports if one was taken meanwhile.
 */
export async function startCluster(options: ClusterOptions = {}): Promise<Member[]> {
  const size = options.size ?? 1;
  for (let attempt = 1; ; attempt++) {
    const members = await planCluster(size, options.extraFlags, {
      ...(options.clientTls ? { clientTls: options.clientTls } : {}),
      ...(options.peerTls ? { peerTls: true } : {}),
      ...(options.target ? { target: options.target } : {}),
    });
    for (const member of members) launchMember(member);
    try {
      await Promise.all(members.map((member) => waitReady(member, options.readyTimeoutMs)));
      return members;
    } catch (error) {
      await Promise.all(members.map((member) => member.process?.kill()));
      if (!(error instanceof MemberStartError && error.portInUse && attempt < 3)) throw error;
    }
  }
}

/** One fresh single-member cluster, ready to serve. */
export async function startMember(options: Omit<ClusterOptions, 'size'> = {}): Promise<Member> {
  const [member] = await startCluster({ ...options, size: 1 });
  return member!;
}

/** Graceful stop: SIGTERM, then SIGKILL if still running after `graceMs`. */
export async function stopMember(member: Member, graceMs = 5000): Promise<ExitStatus | undefined> {
  return member.process?.terminate(graceMs);
}

/** Crash: SIGKILL, and wait until the process is gone. */
export async function killMember(member: Member): Promise<ExitStatus | undefined> {
  return member.process?.kill();
}

export interface RestartOptions {
  /** Replace the member's extra flags for this and later launches. */
  extraFlags?: string[];
  /** Wait for /health (default true). Members of a cluster that lost quorum need the others first. */
  waitReady?: boolean;
  readyTimeoutMs?: number;
}

/** Launches a stopped or killed member again on the same ports and data dir. */
export async function restartMember(member: Member, options: RestartOptions = {}): Promise<void> {
  if (member.running)
    throw new Error(`${member.name} is still running (pid ${member.pid}); stop or kill it first`);
  if (options.extraFlags) member.extraFlags = [...options.extraFlags];
  launchMember(member);
  if (options.waitReady ?? true) await waitReady(member, options.readyTimeoutMs);
}
