// The Kubernetes manifests (deploy/kubernetes): every overlay rendered with `kubectl kustomize`, every
// rendered object validated against the Kubernetes 1.33 schemas of kubernetes-models 4.5.1, and the
// properties the deployment relies on asserted. Renders with each kubectl found: Debian's kubernetes-client
// (1.20, kustomize 2.0.3; scripts/install-test-deps.sh) and /usr/bin/kubectl when it is another build;
// all renderers must give the same objects. No cluster runs here: nothing is applied.
import { execFileSync } from 'node:child_process';
import { existsSync, realpathSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { Service } from 'kubernetes-models/v1/Service';
import { StatefulSet, type IStatefulSet } from 'kubernetes-models/apps/v1/StatefulSet';
import { PodDisruptionBudget } from 'kubernetes-models/policy/v1/PodDisruptionBudget';
import { repoRoot } from '../support';

const KUSTOMIZE_DIR = join(repoRoot, 'deploy', 'kubernetes');
/** Where install-test-deps.sh unpacks Debian's kubectl when /usr/bin/kubectl belongs to another package. */
const DEBIAN_KUBECTL = '/opt/cairn-test/kubernetes-client/usr/bin/kubectl';

function kubectls(): string[] {
  const candidates = [process.env['CAIRN_TEST_KUBECTL'], DEBIAN_KUBECTL, '/usr/bin/kubectl'];
  const seen = new Map<string, string>();
  for (const path of candidates) {
    if (!path || !existsSync(path)) continue;
    const real = realpathSync(path);
    if (!seen.has(real)) seen.set(real, path);
  }
  return [...seen.values()];
}

type K8sObject = { apiVersion: string; kind: string; metadata: { name: string }; [key: string]: unknown };

function render(kubectl: string, overlay: string): K8sObject[] {
  const out = execFileSync(kubectl, ['kustomize', join(KUSTOMIZE_DIR, 'overlays', overlay)], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
    timeout: 30_000,
  });
  return parseAllDocuments(out).map((doc) => doc.toJS() as K8sObject);
}

/** Validates with the model of its kind; throws with the schema errors. */
function validate(obj: K8sObject): void {
  const key = `${obj.apiVersion}/${obj.kind}`;
  const models: Record<string, (o: K8sObject) => { validate(): void }> = {
    'v1/Service': (o) => new Service(o as never),
    'apps/v1/StatefulSet': (o) => new StatefulSet(o as never),
    'policy/v1/PodDisruptionBudget': (o) => new PodDisruptionBudget(o as never),
  };
  const model = models[key];
  if (!model) throw new Error(`no schema for ${key} (${obj.metadata.name})`);
  model(obj).validate();
}

/** Lists whose order kustomize versions differ on and Kubernetes ignores (env, mounts, volumes), sorted by name. */
function normalized(obj: K8sObject): K8sObject {
  const sortLists = (value: unknown): unknown => {
    if (Array.isArray(value)) {
      const items = value.map(sortLists);
      const named = items.every((i) => typeof i === 'object' && i !== null && 'name' in i);
      return named ? items.sort((a, b) => String(a.name).localeCompare(String(b.name))) : items;
    }
    if (typeof value === 'object' && value !== null)
      return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, sortLists(v)]));
    return value;
  };
  return sortLists(obj) as K8sObject;
}

const KUBECTLS = kubectls();
const OVERLAYS = { single: 1, three: 3, 'three-tls': 3 } as const;

describe.skipIf(KUBECTLS.length === 0)('Kubernetes manifests', () => {
  it('finds a kubectl (install: scripts/install-test-deps.sh)', () => {
    expect(KUBECTLS.length).toBeGreaterThan(0);
  });

  for (const [overlay, replicas] of Object.entries(OVERLAYS)) {
    describe(`overlay ${overlay}`, () => {
      const rendered = KUBECTLS.map((kubectl) => render(kubectl, overlay));
      const objects = rendered[0];
      const find = <T>(kind: string, name: string): T => {
        const obj = objects.find((o) => o.kind === kind && o.metadata.name === name);
        if (!obj) throw new Error(`${kind} ${name} not rendered`);
        return obj as unknown as T;
      };

      it('renders the same objects with every kubectl found', () => {
        const sorted = (objs: K8sObject[]): K8sObject[] =>
          [...objs]
            .map(normalized)
            .sort((a, b) => `${a.kind}/${a.metadata.name}`.localeCompare(`${b.kind}/${b.metadata.name}`));
        for (const other of rendered.slice(1)) expect(sorted(other)).toEqual(sorted(objects));
        expect(objects.map((o) => `${o.kind}/${o.metadata.name}`).sort()).toEqual([
          'PodDisruptionBudget/cairn',
          'Service/cairn',
          'Service/cairn-peer',
          'StatefulSet/cairn',
        ]);
      });

      it('every object is valid against the Kubernetes 1.33 schemas', () => {
        for (const obj of objects)
          expect(() => validate(obj), `${obj.kind}/${obj.metadata.name}`).not.toThrow();
      });

      it('StatefulSet: members, identity env, probes, security, anti-affinity, resources, volumes', () => {
        const sts = find<IStatefulSet>('StatefulSet', 'cairn');
        const spec = sts.spec!;
        const pod = spec.template.spec!;
        const container = pod.containers.find((c) => c.name === 'cairn')!;
        const env = new Map((container.env ?? []).map((e) => [e.name, e]));
        expect(spec.replicas).toBe(replicas);
        expect(env.get('CAIRN_K8S_INITIAL_SIZE')?.value).toBe(String(replicas));
        expect(spec.podManagementPolicy).toBe('Parallel');
        expect(spec.serviceName).toBe('cairn-peer');
        expect(env.get('CAIRN_K8S_SERVICE')?.value).toBe(spec.serviceName);
        expect(env.get('CAIRN_K8S_NAMESPACE')?.valueFrom?.fieldRef?.fieldPath).toBe('metadata.namespace');
        expect(env.get('CAIRN_DATA_DIR')?.value).toMatch(/^\/var\/lib\/cairn\//);

        const ports = new Map((container.ports ?? []).map((p) => [p.name, p.containerPort]));
        expect(Object.fromEntries(ports)).toEqual({ client: 2379, peer: 2380, metrics: 2381 });
        expect(env.get('CAIRN_LISTEN_METRICS_URLS')?.value).toBe('http://0.0.0.0:2381');
        expect(container.livenessProbe?.httpGet).toMatchObject({ path: '/livez', port: 'metrics' });
        expect(container.startupProbe?.httpGet).toMatchObject({ path: '/livez', port: 'metrics' });
        expect(container.readinessProbe?.httpGet).toMatchObject({ path: '/readyz', port: 'metrics' });

        expect(pod.securityContext).toMatchObject({ runAsNonRoot: true, runAsUser: 10001, fsGroup: 10001 });
        expect(container.securityContext).toMatchObject({
          allowPrivilegeEscalation: false,
          readOnlyRootFilesystem: true,
        });
        const anti = pod.affinity?.podAntiAffinity?.requiredDuringSchedulingIgnoredDuringExecution ?? [];
        expect(anti[0]?.topologyKey).toBe('kubernetes.io/hostname');
        expect(anti[0]?.labelSelector?.matchLabels).toEqual(spec.selector.matchLabels);
        expect(container.resources?.requests).toMatchObject({
          cpu: expect.any(String),
          memory: expect.any(String),
        });
        expect(container.resources?.limits?.memory).toBeDefined();

        const claim = spec.volumeClaimTemplates?.[0];
        expect(claim?.metadata?.name).toBe('data');
        expect(claim?.spec?.resources?.requests?.storage).toBeDefined();
        expect(container.volumeMounts).toContainEqual({ name: 'data', mountPath: '/var/lib/cairn' });
        expect(spec.template.metadata?.labels).toMatchObject(spec.selector.matchLabels!);
      });

      it('Services: headless for the peers (not-ready published), client Service on 2379', () => {
        const peer = find<Service>('Service', 'cairn-peer').spec!;
        expect(peer.clusterIP).toBe('None');
        expect(peer.publishNotReadyAddresses).toBe(true);
        expect(peer.ports?.map((p) => p.port).sort()).toEqual([2379, 2380]);
        const client = find<Service>('Service', 'cairn').spec!;
        expect(client.ports?.find((p) => p.name === 'client')?.port).toBe(2379);
        const podLabels = find<IStatefulSet>('StatefulSet', 'cairn').spec!.template.metadata!.labels;
        for (const svc of [peer, client]) expect(podLabels).toMatchObject(svc.selector!);
      });

      it('PodDisruptionBudget: one member down at a time, selecting the pods', () => {
        const pdb = find<PodDisruptionBudget>('PodDisruptionBudget', 'cairn').spec!;
        expect(pdb.maxUnavailable).toBe(1);
        const podLabels = find<IStatefulSet>('StatefulSet', 'cairn').spec!.template.metadata!.labels;
        expect(podLabels).toMatchObject(pdb.selector!.matchLabels!);
      });

      if (overlay === 'three-tls') {
        it('TLS: client and peer certificates from Secrets, every file path under its mount', () => {
          const pod = find<IStatefulSet>('StatefulSet', 'cairn').spec!.template.spec!;
          const container = pod.containers[0];
          const env = new Map((container.env ?? []).map((e) => [e.name, e.value]));
          const secrets = new Map(
            pod.volumes?.filter((v) => v.secret).map((v) => [v.name, v.secret!.secretName]),
          );
          expect(Object.fromEntries(secrets)).toEqual({
            'client-tls': 'cairn-client-tls',
            'peer-tls': 'cairn-peer-tls',
          });
          const mounts = new Map(container.volumeMounts?.map((m) => [m.name, m.mountPath]));
          const files: Record<string, string> = {
            CAIRN_CERT_FILE: 'client-tls/tls.crt',
            CAIRN_KEY_FILE: 'client-tls/tls.key',
            CAIRN_TRUSTED_CA_FILE: 'client-tls/ca.crt',
            CAIRN_PEER_CERT_FILE: 'peer-tls/tls.crt',
            CAIRN_PEER_KEY_FILE: 'peer-tls/tls.key',
            CAIRN_PEER_TRUSTED_CA_FILE: 'peer-tls/ca.crt',
          };
          for (const [name, file] of Object.entries(files)) {
            const [volume, key] = file.split('/');
            expect(env.get(name), name).toBe(`${mounts.get(volume)}/${key}`);
          }
          expect(env.get('CAIRN_CLIENT_CERT_AUTH')).toBe('true');
          expect(env.get('CAIRN_PEER_CLIENT_CERT_AUTH')).toBe('true');
        });
      }
    });
  }

  it('the schema check rejects an invalid object (it really validates)', () => {
    const objects = render(KUBECTLS[0], 'three');
    const sts = structuredClone(objects.find((o) => o.kind === 'StatefulSet')!) as K8sObject & {
      spec: { replicas: unknown };
    };
    sts.spec.replicas = 'three';
    expect(() => validate(sts)).toThrow(/replicas must be integer/);
  });
});
