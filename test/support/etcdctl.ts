// Runs Debian's etcdctl (v3 API) against members, either to completion or as a long-running process
// (watch, lease keep-alive) whose output the test reads while it runs.
import { spawnManaged, type ManagedProcess } from './processes';
import { ETCDCTL_BINARY } from './target';
import type { Member } from './members';

export interface EtcdctlResult {
  /** Exit code; null when it was killed (see timedOut). */
  code: number | null;
  stdout: string;
  stderr: string;
  timedOut: boolean;
}

export interface EtcdctlOptions {
  /** Members or client URLs passed as --endpoints. */
  endpoints: Member | string | ReadonlyArray<Member | string>;
  stdin?: string;
  timeoutMs?: number;
}

function endpointList(endpoints: EtcdctlOptions['endpoints']): string {
  const list = Array.isArray(endpoints) ? endpoints : [endpoints];
  return list.map((e: Member | string) => (typeof e === 'string' ? e : e.clientUrl)).join(',');
}

function etcdctlEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (!key.startsWith('ETCDCTL_')) env[key] = value;
  }
  env['ETCDCTL_API'] = '3';
  return env;
}

/** Starts etcdctl and returns the running process (the caller reads its output and kills it). */
export function spawnEtcdctl(args: readonly string[], options: EtcdctlOptions): ManagedProcess {
  return spawnManaged(ETCDCTL_BINARY, [`--endpoints=${endpointList(options.endpoints)}`, ...args], {
    label: `etcdctl ${args.join(' ')}`,
    env: etcdctlEnv(),
    stdin: options.stdin,
    keepBytes: 4 * 1024 * 1024,
  });
}

/** Runs etcdctl to completion; kills it (by PID) after `timeoutMs`. */
export async function etcdctl(args: readonly string[], options: EtcdctlOptions): Promise<EtcdctlResult> {
  const proc = spawnEtcdctl(args, options);
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    proc.signal('SIGKILL');
  }, options.timeoutMs ?? 15_000);
  const status = await proc.exited;
  clearTimeout(timer);
  return { code: status.code, stdout: proc.stdout(), stderr: proc.stderr(), timedOut };
}

/** An etcdctl bound to one member's (or several members') endpoints. */
export function etcdctlAt(endpoints: EtcdctlOptions['endpoints']) {
  return (args: readonly string[], options: Omit<EtcdctlOptions, 'endpoints'> = {}) =>
    etcdctl(args, { ...options, endpoints });
}

/** Describes a result for assertion messages. */
export function describeResult(result: EtcdctlResult): string {
  return `exit ${result.code}${result.timedOut ? ' (timed out)' : ''}\nstdout:\n${result.stdout}\nstderr:\n${result.stderr}`;
}
