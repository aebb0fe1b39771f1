// One health probe: HTTP (GET, 2xx passes), TCP (connect), gRPC (grpc.health.v1 Check == SERVING).
import { connect } from 'node:net';
import * as grpc from '@grpc/grpc-js';
import { loadEtcdServices } from '@cairn/api';
import type { HealthCheckSpec, StoredInstance } from '../model';

export interface ProbeResult {
  ok: boolean;
  reason: string;
}

export type Probe = (instance: StoredInstance, spec: HealthCheckSpec) => Promise<ProbeResult>;

function hostPort(instance: StoredInstance, target: string): { host: string; port: number } {
  if (target) {
    const at = target.lastIndexOf(':');
    return { host: target.slice(0, at).replace(/^\[|\]$/g, ''), port: Number(target.slice(at + 1)) };
  }
  return { host: instance.address.host, port: instance.address.port };
}

export function httpUrl(instance: StoredInstance, target: string): string {
  if (/^https?:\/\//.test(target)) return target;
  const scheme = instance.address.scheme === 'https' ? 'https' : 'http';
  const path = target ? (target.startsWith('/') ? target : `/${target}`) : '/';
  return `${scheme}://${instance.address.host}:${instance.address.port}${path}`;
}

export async function httpProbe(instance: StoredInstance, spec: HealthCheckSpec): Promise<ProbeResult> {
  const url = httpUrl(instance, spec.target);
  try {
    const response = await fetch(url, { signal: AbortSignal.timeout(spec.timeout_ms), redirect: 'manual' });
    await response.body?.cancel();
    const ok = response.status >= 200 && response.status < 300;
    return { ok, reason: `HTTP GET ${url}: ${response.status}` };
  } catch (err) {
    const cause = (err as { cause?: { code?: string } }).cause?.code;
    const message = err instanceof Error ? err.message : String(err);
    return { ok: false, reason: `HTTP GET ${url}: ${cause ?? message}` };
  }
}

export function tcpProbe(instance: StoredInstance, spec: HealthCheckSpec): Promise<ProbeResult> {
  const { host, port } = hostPort(instance, spec.target);
  return new Promise((resolve) => {
    const socket = connect({ host, port });
    const done = (result: ProbeResult) => {
      socket.destroy();
      resolve(result);
    };
    socket.setTimeout(spec.timeout_ms, () => done({ ok: false, reason: `TCP ${host}:${port}: timeout` }));
    socket.once('connect', () => done({ ok: true, reason: `TCP ${host}:${port}: connected` }));
    socket.once('error', (err: NodeJS.ErrnoException) =>
      done({ ok: false, reason: `TCP ${host}:${port}: ${err.code ?? err.message}` }),
    );
  });
}

export function grpcProbe(instance: StoredInstance, spec: HealthCheckSpec): Promise<ProbeResult> {
  const { host, port } = hostPort(instance, spec.target);
  const Health = loadEtcdServices().grpc.health.v1.Health;
  const client = new Health(`${host}:${port}`, grpc.credentials.createInsecure());
  return new Promise((resolve) => {
    client.Check(
      { service: spec.grpc_service },
      { deadline: Date.now() + spec.timeout_ms },
      (err: grpc.ServiceError | null, response?: { status: number | string }) => {
        client.close();
        if (err)
          return resolve({ ok: false, reason: `gRPC health ${host}:${port}: ${err.details || err.message}` });
        const serving = response?.status === 1 || response?.status === 'SERVING';
        resolve({
          ok: serving,
          reason: `gRPC health ${host}:${port}: ${serving ? 'SERVING' : `status ${String(response?.status)}`}`,
        });
      },
    );
  });
}

export const DEFAULT_PROBES: Record<HealthCheckSpec['type'], Probe> = {
  http: httpProbe,
  tcp: tcpProbe,
  grpc: grpcProbe,
};
