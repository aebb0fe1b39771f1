// Starts a fresh cluster of one kind (real etcd or Cairn) on loopback: every member gets its own
// data dir and ports and the same etcd launch flags, so either binary can be started the same way.
// One member is the usual case; N members form one cluster through --initial-cluster.

import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { TlsFiles } from '../grpc/security';
import { freePorts } from './free-port';
import { waitForHealthy } from './health';
import { ServerProcess } from './server-process';

export interface ClusterSpec {
  /** Label for logs and reports, and the member-name prefix: "etcd", "cairn". */
  label: string;
  command: string;
  /** Extra flags for every member, after the standard ones. */
  extraArgs?: readonly string[];
  members: number;
  /** Each member's data dir and log go under here. */
  baseDir: string;
  readyTimeoutMs?: number;
  /**
   * https client URLs; the health probe trusts `caFile` and presents the client certificate. The server's
   * own TLS flags are in extraArgs (see clientTlsFlags in pki.ts).
   */
  tls?: TlsFiles;
}

export interface ClusterMember {
  name: string;
  clientUrl: string;
  peerUrl: string;
  dataDir: string;
  process: ServerProcess;
}

export interface MemberLayout {
  name: string;
  clientUrl: string;
  peerUrl: string;
  dataDir: string;
}

/** The etcd launch flags for one member; Cairn's bin/cairn accepts the same ones. */
export function memberArgs(member: MemberLayout, everyone: readonly MemberLayout[]): string[] {
  return [
    '--name',
    member.name,
    '--data-dir',
    member.dataDir,
    '--listen-client-urls',
    member.clientUrl,
    '--advertise-client-urls',
    member.clientUrl,
    '--listen-peer-urls',
    member.peerUrl,
    '--initial-advertise-peer-urls',
    member.peerUrl,
    '--initial-cluster',
    everyone.map((m) => `${m.name}=${m.peerUrl}`).join(','),
    '--initial-cluster-state',
    'new',
  ];
}

export class Cluster {
  constructor(
    readonly label: string,
    readonly members: readonly ClusterMember[],
  ) {}

  get pids(): number[] {
    return this.members.map((member) => member.process.pid);
  }

  /** host:port of every member's client URL, as gRPC wants it. */
  get endpoints(): string[] {
    return this.members.map((member) => member.clientUrl.replace(/^https?:\/\//, ''));
  }

  async stop(): Promise<void> {
    await Promise.all(this.members.map((member) => member.process.stop()));
  }

  killNow(): void {
    for (const member of this.members) member.process.killNow();
  }
}

export async function planMembers(
  label: string,
  count: number,
  baseDir: string,
  clientScheme: 'http' | 'https' = 'http',
): Promise<MemberLayout[]> {
  const ports = await freePorts(count * 2);
  return Array.from({ length: count }, (_, i) => ({
    name: `${label}-${i + 1}`,
    clientUrl: `${clientScheme}://127.0.0.1:${ports[2 * i]}`,
    peerUrl: `http://127.0.0.1:${ports[2 * i + 1]}`,
    dataDir: join(baseDir, `${label}-${i + 1}.data`),
  }));
}

/**
 * Starts every member at once (a multi-member cluster only becomes healthy when a quorum is up),
 * then waits for each /health. On failure, whatever was started is stopped before rethrowing.
 */
export async function startCluster(
  spec: ClusterSpec,
  onStarted?: (process: ServerProcess) => void,
): Promise<Cluster> {
  mkdirSync(spec.baseDir, { recursive: true });
  const layout = await planMembers(spec.label, spec.members, spec.baseDir, spec.tls ? 'https' : 'http');
  const started: ClusterMember[] = [];
  try {
    for (const member of layout) {
      const serverProcess = await ServerProcess.start({
        name: member.name,
        command: spec.command,
        args: [...memberArgs(member, layout), ...(spec.extraArgs ?? [])],
        logFile: join(spec.baseDir, `${member.name}.log`),
      });
      onStarted?.(serverProcess);
      started.push({ ...member, process: serverProcess });
    }
    await Promise.all(
      started.map((member) =>
        waitForHealthy(member.clientUrl, member.process, spec.readyTimeoutMs ?? 30_000, spec.tls),
      ),
    );
    return new Cluster(spec.label, started);
  } catch (error) {
    await Promise.all(started.map((member) => member.process.stop()));
    throw error;
  }
}
