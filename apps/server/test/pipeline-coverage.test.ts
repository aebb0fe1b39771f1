// Every served method passes the one request pipeline: a policy added in one place (here, a test policy that
// refuses requests carrying `x-cairn-test-refuse: 1`) answers every gRPC method of every service on the client
// URL — grpc-js's and the KV fast path's — and every HTTP route: the JSON gateway, the REST APIs, the probes
// and the console. A method that bypassed the pipeline would answer something other than the refusal.
import 'reflect-metadata';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { GATEWAY_ROUTES, etcdError, loadEtcdServices } from '@cairn/api';
import type { Policy } from '@cairn/edge';
import { silentLogger } from '@cairn/server';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { type RunningCairn, startCairn } from '../src/cairn-app';
import { readFlags } from '../src/config/flags';
import { toSettings } from '../src/config/settings';

const REFUSE = 'x-cairn-test-refuse';
/** The policy waits a moment before its answer (as authentication does for a token another member just issued). */
const WAIT = 'x-cairn-test-wait';
const admitted = new Set<string>();

/** The policy a new concern would be: added once, after the member's own. */
const testPolicy: Policy = {
  name: 'test-refusal',
  admit(request) {
    admitted.add(`${request.surface} ${request.method}`);
    const refuse = request.header(REFUSE) === '1';
    if (request.header(WAIT) === '1') {
      return new Promise<void>((resolve, reject) =>
        setTimeout(() => (refuse ? reject(etcdError('permission-denied')) : resolve()), 5),
      );
    }
    if (refuse) throw etcdError('permission-denied');
  },
};

let app: RunningCairn;
let dir: string;
let url: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'cairn-pipeline-'));
  const flags = readFlags(
    [
      '--name=p1',
      `--data-dir=${dir}`,
      '--listen-client-urls=http://127.0.0.1:0',
      '--advertise-client-urls=http://127.0.0.1:0',
      '--listen-peer-urls=http://127.0.0.1:0',
      '--initial-advertise-peer-urls=http://127.0.0.1:12399',
      '--initial-cluster=p1=http://127.0.0.1:12399',
    ],
    {},
  );
  app = await startCairn(toSettings(flags), silentLogger, { extraPolicies: [testPolicy] });
  url = app.clientUrls[0]!;
  await vi.waitFor(() => expect(app.node.isLeader()).toBe(true), { timeout: 10_000 });
}, 30_000);

afterAll(async () => {
  await app?.close();
  await rm(dir, { recursive: true, force: true });
});

type AnyClient = grpc.Client & Record<string, (...args: unknown[]) => unknown>;

/** Calls one gRPC method with the refusal header and resolves the status code it ended with. */
function callRefused(
  client: AnyClient,
  name: string,
  def: grpc.MethodDefinition<unknown, unknown>,
  wait: boolean,
): Promise<number> {
  const metadata = new grpc.Metadata();
  metadata.set(REFUSE, '1');
  if (wait) metadata.set(WAIT, '1');
  const deadline = Date.now() + 5000;
  return new Promise((resolve) => {
    const method = client[name]!.bind(client);
    if (!def.requestStream && !def.responseStream) {
      method({}, metadata, { deadline }, (err: grpc.ServiceError | null) => resolve(err ? err.code : 0));
      return;
    }
    const call = (
      def.requestStream ? method(metadata, { deadline }) : method({}, metadata, { deadline })
    ) as grpc.ClientReadableStream<unknown> & Partial<grpc.ClientWritableStream<unknown>>;
    call.on('data', () => undefined);
    call.on('error', (err: grpc.ServiceError) => resolve(err.code));
    call.on('end', () => resolve(0));
    if (def.requestStream) call.write?.({});
  });
}

describe.each([
  ['at once', false],
  ['after waiting', true],
])('the request pipeline covers every served method (a policy refusing %s)', (_when, wait) => {
  it('every gRPC method of every service on the client URL answers the refusal of a policy added once', async () => {
    const pkg = loadEtcdServices() as unknown as Record<string, unknown>;
    const services: Array<[string, grpc.ServiceClientConstructor]> = [];
    const collect = (node: unknown, path: string): void => {
      if (typeof node === 'function' && 'service' in node) {
        services.push([path, node as grpc.ServiceClientConstructor]);
        return;
      }
      if (typeof node !== 'object' || node === null) return;
      for (const [key, child] of Object.entries(node)) collect(child, path ? `${path}.${key}` : key);
    };
    collect(pkg, '');
    const target = url.replace('http://', '');
    const outcomes: Record<string, number> = {};
    for (const [serviceName, Ctor] of services) {
      const client = new Ctor(target, grpc.credentials.createInsecure()) as unknown as AnyClient;
      try {
        for (const [name, def] of Object.entries(Ctor.service)) {
          outcomes[`${serviceName}/${name}`] = await callRefused(client, name, def, wait);
        }
      } finally {
        client.close();
      }
    }
    const served = Object.entries(outcomes).filter(([, code]) => code !== grpc.status.UNIMPLEMENTED);
    const wrong = served.filter(([, code]) => code !== grpc.status.PERMISSION_DENIED);
    expect(wrong, `methods that answered without the pipeline's refusal: ${JSON.stringify(wrong)}`).toEqual(
      [],
    );
    // What the member serves today, at least (a new service is covered the day it is added).
    for (const prefix of [
      'etcdserverpb.KV/',
      'etcdserverpb.Watch/',
      'etcdserverpb.Lease/',
      'etcdserverpb.Maintenance/',
      'etcdserverpb.Cluster/',
      'grpc.health.v1.Health/',
      'cairn.registry.v1.Registry/',
      'cairn.config.v1.Config/',
    ]) {
      expect(
        served.some(([method]) => method.startsWith(prefix)),
        `${prefix} served`,
      ).toBe(true);
    }
    // The KV calls of the fast path and of grpc-js both went through it (Compact is grpc-js's).
    for (const method of ['Range', 'Put', 'DeleteRange', 'Txn', 'Compact']) {
      expect(admitted.has(`grpc etcdserverpb.KV/${method}`)).toBe(true);
    }
    console.log(`pipeline coverage: ${served.length} gRPC methods served, all refused by the test policy`);
  }, 60_000);

  it('every HTTP route — JSON gateway, REST APIs, probes, console — answers the refusal before routing', async () => {
    const openapi = (await (await fetch(`${url}/api/docs-json`)).json()) as {
      paths: Record<string, Record<string, unknown>>;
    };
    // The console charts' routes are REST routes like any other (in the OpenAPI document, so covered here).
    expect(Object.keys(openapi.paths)).toEqual(
      expect.arrayContaining(['/api/metrics/v1/history', '/api/console/v1/metrics']),
    );
    const requests: Array<[string, string]> = [];
    for (const path of Object.keys(GATEWAY_ROUTES)) requests.push(['POST', path]);
    for (const [path, verbs] of Object.entries(openapi.paths)) {
      for (const verb of Object.keys(verbs))
        requests.push([verb.toUpperCase(), path.replace(/\{[^}]+\}/g, 'x')]);
    }
    for (const path of ['/health', '/version', '/metrics', '/', '/api/docs-json'])
      requests.push(['GET', path]);
    expect(requests.length).toBeGreaterThan(60);
    const wrong: string[] = [];
    for (const [verb, path] of requests) {
      const res = await fetch(`${url}${path}`, {
        method: verb,
        headers: { [REFUSE]: '1', ...(wait ? { [WAIT]: '1' } : {}), 'content-type': 'application/json' },
        body: verb === 'GET' || verb === 'HEAD' ? undefined : '{}',
      });
      const body = await res.text();
      if (res.status !== 403 || !body.includes('etcdserver: permission denied')) {
        wrong.push(`${verb} ${path} -> ${res.status} ${body.slice(0, 80)}`);
      }
    }
    expect(wrong, 'routes that answered without the pipeline’s refusal').toEqual([]);
    console.log(`pipeline coverage: ${requests.length} HTTP routes, all refused by the test policy`);
  }, 60_000);
});

describe('a policy that admits after waiting', () => {
  it('lets the call run on every road: the KV fast path, grpc-js, a stream, the gateway', async () => {
    const metadata = new grpc.Metadata();
    metadata.set(WAIT, '1');
    const pkg = loadEtcdServices();
    const target = url.replace('http://', '');
    const kv = new pkg.etcdserverpb.KV(target, grpc.credentials.createInsecure()) as unknown as AnyClient;
    const maintenance = new pkg.etcdserverpb.Maintenance(
      target,
      grpc.credentials.createInsecure(),
    ) as unknown as AnyClient;
    const watch = new pkg.etcdserverpb.Watch(
      target,
      grpc.credentials.createInsecure(),
    ) as unknown as AnyClient;
    try {
      const unary = (client: AnyClient, method: string, request: object) =>
        new Promise<unknown>((resolve, reject) =>
          client[method]!.bind(client)(
            request,
            metadata,
            { deadline: Date.now() + 5000 },
            (err: Error | null, res: unknown) => (err ? reject(err) : resolve(res)),
          ),
        );
      await unary(kv, 'Put', { key: Buffer.from('waited'), value: Buffer.from('1') }); // the fast path
      expect(((await unary(kv, 'Range', { key: Buffer.from('waited') })) as { count: string }).count).toBe(
        '1',
      );
      expect(await unary(maintenance, 'Status', {})).toHaveProperty('version'); // grpc-js
      const created = await new Promise<boolean>((resolve, reject) => {
        const stream = watch['Watch']!.bind(watch)(metadata) as grpc.ClientDuplexStream<
          object,
          { created: boolean }
        >;
        stream.on('data', (response) => {
          resolve(response.created);
          stream.cancel();
        });
        stream.on('error', (err: grpc.ServiceError) => {
          if (err.code !== grpc.status.CANCELLED) reject(err);
        });
        stream.write({ create_request: { key: Buffer.from('waited') } }); // written before admission ends
      });
      expect(created).toBe(true);
    } finally {
      kv.close();
      maintenance.close();
      watch.close();
    }
    const gateway = await fetch(`${url}/v3/kv/range`, {
      method: 'POST',
      headers: { [WAIT]: '1', 'content-type': 'application/json' },
      body: JSON.stringify({ key: Buffer.from('waited').toString('base64') }),
    });
    expect(gateway.status).toBe(200);
    expect(((await gateway.json()) as { count: string }).count).toBe('1');
  }, 30_000);
});
