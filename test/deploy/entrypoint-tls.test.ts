// The entrypoint with the three-tls overlay's environment: client and peer TLS with client certificate
// authentication (CAIRN_CERT_FILE, CAIRN_PEER_CERT_FILE, ...), probes on a plain-HTTP metrics URL as the
// manifests have them. cairn-0 bootstraps alone, cairn-1 joins as a learner through the https member API
// (the entrypoint presents the client certificate) and is promoted. Also the settings derived from the
// service DNS (CAIRN_ENTRYPOINT_DRY_RUN=1): https advertised URLs once the certificate files are set.
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  allocatePorts,
  cleanupAll,
  createCertAuthority,
  etcdctl,
  issueServerCert,
  makeTempDir,
  parseExactJson,
  repoRoot,
  spawnManaged,
  waitFor,
  type ManagedProcess,
} from '../support';

const ENTRYPOINT = join(repoRoot, 'deploy', 'entrypoint.mjs');

afterAll(async () => {
  await cleanupAll();
});

async function ready(metricsUrl: string): Promise<true | undefined> {
  const res = await fetch(`${metricsUrl}/readyz`, { signal: AbortSignal.timeout(2000) });
  return res.status === 200 ? true : undefined;
}

describe('entrypoint with client and peer TLS', () => {
  it('a learner joins through the https member API and is promoted', async () => {
    const ca = createCertAuthority();
    const cert = issueServerCert(ca);
    const dataRoot = makeTempDir('cairn-e2e-k8s-tls-');
    const ports = await allocatePorts(6);
    const addresses = Object.fromEntries(
      [0, 1].map((n) => [
        `cairn-${n}`,
        { client: `https://127.0.0.1:${ports[3 * n]}`, peer: `https://127.0.0.1:${ports[3 * n + 1]}` },
      ]),
    );
    const metricsUrl = (n: number): string => `http://127.0.0.1:${ports[3 * n + 2]}`;
    const pods: ManagedProcess[] = [];
    for (const n of [0, 1]) {
      pods.push(
        spawnManaged(process.execPath, [ENTRYPOINT], {
          label: `cairn-${n}`,
          env: {
            PATH: process.env['PATH'],
            HOSTNAME: `cairn-${n}`,
            CAIRN_K8S_SERVICE: 'cairn-peer',
            CAIRN_K8S_INITIAL_SIZE: '1',
            CAIRN_K8S_ADDRESSES: JSON.stringify(addresses),
            CAIRN_K8S_JOIN_TIMEOUT: '30',
            CAIRN_DATA_DIR: join(dataRoot, `cairn-${n}`),
            CAIRN_LISTEN_METRICS_URLS: metricsUrl(n),
            CAIRN_CERT_FILE: cert.certFile,
            CAIRN_KEY_FILE: cert.keyFile,
            CAIRN_TRUSTED_CA_FILE: ca.certFile,
            CAIRN_CLIENT_CERT_AUTH: 'true',
            CAIRN_PEER_CERT_FILE: cert.certFile,
            CAIRN_PEER_KEY_FILE: cert.keyFile,
            CAIRN_PEER_TRUSTED_CA_FILE: ca.certFile,
            CAIRN_PEER_CLIENT_CERT_AUTH: 'true',
            CAIRN_LOG_LEVEL: 'warn',
          },
        }),
      );
      await waitFor(() => ready(metricsUrl(n)), { timeoutMs: 45_000, what: `cairn-${n} ready` });
    }
    await waitFor(() => (pods[1].stderr().includes('promoted learner cairn-1') ? true : undefined), {
      timeoutMs: 45_000,
      what: 'cairn-1 promoted',
    });
    expect(pods[1].stderr()).toContain('added as learner');

    const list = await etcdctl(
      [
        '--cacert',
        ca.certFile,
        '--cert',
        cert.certFile,
        '--key',
        cert.keyFile,
        'member',
        'list',
        '-w',
        'json',
      ],
      { endpoints: addresses['cairn-0'].client },
    );
    expect(list.code, list.stderr).toBe(0);
    const members = (parseExactJson(list.stdout) as { members: { name: string; isLearner?: boolean }[] })
      .members;
    expect(members.map((m) => [m.name, m.isLearner ?? false]).sort()).toEqual([
      ['cairn-0', false],
      ['cairn-1', false],
    ]);
  });

  it('derives https URLs on the service DNS when the certificate files are set (dry run)', async () => {
    const proc = spawnManaged(process.execPath, [ENTRYPOINT], {
      label: 'dry-run',
      env: {
        PATH: process.env['PATH'],
        HOSTNAME: 'cairn-1',
        CAIRN_K8S_SERVICE: 'cairn-peer',
        CAIRN_K8S_NAMESPACE: 'prod',
        // .invalid never resolves (RFC 6761): nobody answers, so the pod bootstraps.
        CAIRN_K8S_CLUSTER_DOMAIN: 'cluster.invalid',
        CAIRN_K8S_INITIAL_SIZE: '3',
        CAIRN_CERT_FILE: '/etc/cairn/client-tls/tls.crt',
        CAIRN_PEER_CERT_FILE: '/etc/cairn/peer-tls/tls.crt',
        CAIRN_DATA_DIR: join(makeTempDir(), 'data'),
        CAIRN_ENTRYPOINT_DRY_RUN: '1',
      },
    });
    const status = await proc.exited;
    expect(status.code, proc.stderr()).toBe(0);
    const dns = (n: number): string => `cairn-${n}.cairn-peer.prod.svc.cluster.invalid`;
    expect(JSON.parse(proc.stdout())).toEqual({
      derived: {
        CAIRN_NAME: 'cairn-1',
        CAIRN_INITIAL_ADVERTISE_PEER_URLS: `https://${dns(1)}:2380`,
        CAIRN_ADVERTISE_CLIENT_URLS: `https://${dns(1)}:2379`,
        CAIRN_LISTEN_PEER_URLS: 'https://0.0.0.0:2380',
        CAIRN_LISTEN_CLIENT_URLS: 'https://0.0.0.0:2379',
        CAIRN_INITIAL_CLUSTER: [0, 1, 2].map((n) => `cairn-${n}=https://${dns(n)}:2380`).join(','),
        CAIRN_INITIAL_CLUSTER_STATE: 'new',
      },
      promote: false,
    });
  });
});
