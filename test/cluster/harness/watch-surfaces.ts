// Every watch surface a member serves, opened on that one member and recorded: etcd's gRPC Watch (through
// etcdctl and through the etcd3 client), the console's SSE feed, the registry's SSE and gRPC watches, the
// config center's SSE and gRPC subscriptions, and the SDK's registry and config subscriptions (given only
// that member's URL). Each surface records what it delivered, in arrival order, as (kind, detail,
// revision), and the incidents a client would notice (stream ended, reconnected, errors), so a scenario
// can compare them with what was written. The SSE streams are read with the registry suite's `readSse`.
import * as grpc from '@grpc/grpc-js';
import { loadEtcdServices, type ConfigWatchEvent__Output, type RegistryWatchEvent__Output } from '@cairn/api';
import {
  ConfigClient,
  RegistryClient,
  type ConfigChange,
  type ServiceView,
  type InstanceChange,
} from '@cairn/client';
import type { Etcd3, IWatchResponse } from 'etcd3';
import {
  fromB64,
  parseExactJson,
  spawnEtcdctl,
  str,
  waitFor,
  type ExactJson,
  type Member,
} from '../../support';
import { readSse, type SseEvent } from '../../registry/helpers';

/** One thing a surface delivered. */
export interface Delivery {
  /**
   * raw KV surfaces: put | delete | compacted; registry: snapshot | added | updated | removed;
   * config: snapshot | change | resumed.
   */
  kind: string;
  /** raw: the key; registry: the instance id (snapshot: every id, sorted); config: name@version list. */
  detail: string;
  /** The revision the surface gives for it (a compaction: the compact revision; 0n when not told). */
  revision: bigint;
}

export type SurfaceFamily = 'raw' | 'registry' | 'config';

export interface Surface {
  readonly name: string;
  readonly family: SurfaceFamily;
  /** Everything delivered so far, in arrival order. */
  deliveries(): Delivery[];
  /** Stream ends, reconnects and errors seen so far. */
  incidents(): string[];
  /** How many times the client had to re-establish its stream (0 when the server kept it). */
  reconnects(): number;
  close(): Promise<void>;
}

export function describeDelivery(d: Delivery): string {
  return `${d.kind}${d.detail === '' ? '' : ` ${d.detail}`}@${d.revision}`;
}

const READY_TIMEOUT_MS = 10_000;

function grpcAddress(member: Member): string {
  return member.clientUrl.replace(/^http:\/\//, '');
}

function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

// ---- etcd gRPC Watch ---------------------------------------------------------------------------------

/**
 * `etcdctl watch --prefix <prefix> --rev <start> -w json` against the member (the client of the original
 * report). Each stdout line is one WatchResponse; a compaction is a canceled response with
 * CompactRevision (etcdctl then exits 5).
 */
export function openEtcdctlWatch(
  member: Member,
  prefix: string,
  start: bigint,
  name = 'etcdctl watch',
): Surface {
  const proc = spawnEtcdctl(['watch', '--prefix', prefix, '--rev', start.toString(), '-w', 'json'], {
    endpoints: member,
  });
  const parse = (): Delivery[] => {
    const out: Delivery[] = [];
    for (const line of proc.stdout().split('\n')) {
      if (!line.startsWith('{')) continue;
      let response: ExactJson;
      try {
        response = parseExactJson(line);
      } catch {
        continue; // a line still being written
      }
      if (response === null || typeof response !== 'object' || Array.isArray(response)) continue;
      const compact = response['CompactRevision'];
      if (typeof compact === 'string' && compact !== '0') {
        out.push({ kind: 'compacted', detail: '', revision: BigInt(compact) });
      }
      const events = response['Events'];
      for (const event of Array.isArray(events) ? events : []) {
        const type =
          event !== null && typeof event === 'object' && !Array.isArray(event) ? event['type'] : null;
        out.push({
          kind: type === 'DELETE' ? 'delete' : 'put',
          detail: fromB64(str(event, 'kv', 'key')),
          revision: BigInt(str(event, 'kv', 'mod_revision')),
        });
      }
    }
    return out;
  };
  return {
    name,
    family: 'raw',
    deliveries: parse,
    incidents: () =>
      proc.running ? [] : [`etcdctl exited (${proc.stderr().trim().split('\n').join(' | ') || 'no stderr'})`],
    reconnects: () => 0,
    close: async () => {
      await proc.kill();
    },
  };
}

/** The etcd3 npm client's watcher on the prefix from `start` (etcd3 re-watches after a broken stream). */
export async function openEtcd3Watch(
  client: Etcd3,
  prefix: string,
  start: bigint,
  name = 'etcd3 watch',
): Promise<Surface> {
  const delivered: Delivery[] = [];
  const incidents: string[] = [];
  let disconnects = 0;
  let canceled = false;
  const watcher = await client.watch().prefix(prefix).startRevision(start.toString()).create();
  watcher.on('data', (response: IWatchResponse) => {
    for (const event of response.events) {
      delivered.push({
        kind: event.type === 'Delete' ? 'delete' : 'put',
        detail: event.kv.key.toString('utf8'),
        revision: BigInt(event.kv.mod_revision),
      });
    }
  });
  watcher.on('disconnected', (err) => {
    disconnects++;
    incidents.push(`stream broke, re-watching: ${errorText(err)}`);
  });
  watcher.on('error', (err) => {
    // etcd3 1.1.2 turns a canceled response into the error "Watcher canceled: <cancel_reason>" and drops
    // its compact_revision; etcd cancels a compacted watcher with compact_revision and no reason.
    canceled = true;
    const message = errorText(err).trim();
    if (message === 'Watcher canceled:' || /compacted/.test(message)) {
      delivered.push({ kind: 'compacted', detail: '', revision: 0n });
    } else {
      incidents.push(`watcher canceled: ${message}`);
    }
  });
  return {
    name,
    family: 'raw',
    deliveries: () => [...delivered],
    incidents: () => [...incidents],
    reconnects: () => disconnects,
    // A watcher the server canceled is gone: etcd3's cancel() would wait for an answer that never comes.
    close: async () => {
      if (canceled) return;
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([
        watcher.cancel().catch(() => undefined),
        new Promise<void>((resolve) => (timer = setTimeout(resolve, 2000))),
      ]);
      clearTimeout(timer);
    },
  };
}

// ---- SSE: console, registry, config -------------------------------------------------------------------

interface SseSurfaceOptions {
  name: string;
  family: SurfaceFamily;
  url: string;
  /** Turns one SSE event into a delivery (undefined: not one, e.g. the console's first status). */
  map: (event: SseEvent) => Delivery | undefined;
  /** The stream is open and in sync once an event satisfies this. */
  isReady: (event: SseEvent) => boolean;
}

async function openSse(options: SseSurfaceOptions): Promise<Surface> {
  const stream = readSse(options.url);
  const incidents: string[] = [];
  let ended = false;
  stream.done.then(
    () => {
      ended = true;
      incidents.push('the server ended the stream');
    },
    (err: unknown) => {
      ended = true;
      incidents.push(`the stream failed: ${errorText(err)}`);
    },
  );
  await waitFor(() => (stream.events.some(options.isReady) ? true : ended ? false : undefined), {
    timeoutMs: READY_TIMEOUT_MS,
    what: `${options.name} (${options.url}) to open`,
  }).then((ready) => {
    if (!ready)
      throw new Error(`${options.name} (${options.url}) ended before it opened: ${incidents.join('; ')}`);
  });
  return {
    name: options.name,
    family: options.family,
    deliveries: () => stream.events.flatMap((e) => options.map(e) ?? []),
    incidents: () => [...incidents],
    reconnects: () => 0,
    close: async () => {
      stream.abort();
      await stream.done.catch(() => undefined);
    },
  };
}

/** The console's live watch feed (`/api/console/v1/watch`): a `status`, then a `change` per event. */
export function openConsoleWatch(member: Member, prefix: string, start: bigint): Promise<Surface> {
  return openSse({
    name: 'console SSE',
    family: 'raw',
    url: `${member.clientUrl}/api/console/v1/watch?prefix=${encodeURIComponent(prefix)}&start=${start}`,
    isReady: (e) => e.event === 'status',
    map: (e) => {
      if (e.event === 'status') {
        // The first status opens the feed; a later one with `compacted` restarts it from now.
        return e.data['compacted'] === true
          ? { kind: 'compacted', detail: '', revision: BigInt(String(e.data['revision'])) }
          : undefined;
      }
      if (e.event !== 'change') return { kind: e.event, detail: JSON.stringify(e.data), revision: 0n };
      return {
        kind: String(e.data['type']),
        detail: String(e.data['key']),
        revision: BigInt(String(e.data['revision'])),
      };
    },
  });
}

interface InstanceLike {
  id: string;
}

function registryDelivery(
  kind: string,
  revision: string,
  instances: InstanceLike[],
  instance: InstanceLike | null,
): Delivery {
  const detail =
    kind === 'snapshot'
      ? instances
          .map((i) => i.id)
          .sort()
          .join(',')
      : (instance?.id ?? '?');
  return { kind, detail, revision: BigInt(revision) };
}

/** The registry's SSE watch of one service (`/api/registry/v1/namespaces/:ns/services/:service/watch`). */
export function openRegistrySse(member: Member, namespace: string, service: string): Promise<Surface> {
  return openSse({
    name: 'registry SSE',
    family: 'registry',
    url: `${member.clientUrl}/api/registry/v1/namespaces/${namespace}/services/${service}/watch`,
    isReady: (e) => e.event === 'snapshot',
    map: (e) =>
      registryDelivery(
        e.event,
        String(e.data['revision']),
        (e.data['instances'] as InstanceLike[] | undefined) ?? [],
        (e.data['instance'] as InstanceLike | undefined) ?? null,
      ),
  });
}

function configDetail(
  items: ReadonlyArray<{ name: string; version: number | string }>,
  deleted: readonly string[],
): string {
  return [...items.map((i) => `${i.name}@${i.version}`), ...deleted.map((d) => `-${d}`)].join(',');
}

/** The config center's SSE subscription of one app (`/api/config/v1/namespaces/:ns/apps/:app/watch`). */
export function openConfigSse(
  member: Member,
  namespace: string,
  app: string,
  subscriber: string,
): Promise<Surface> {
  return openSse({
    name: 'config SSE',
    family: 'config',
    url: `${member.clientUrl}/api/config/v1/namespaces/${namespace}/apps/${app}/watch?subscriber=${subscriber}`,
    isReady: (e) => e.event === 'snapshot',
    map: (e) => {
      const items = (e.data['items'] as Array<{ name: string; version: number }> | undefined) ?? [];
      const deleted = (e.data['deleted'] as string[] | undefined) ?? [];
      return {
        kind: e.event,
        detail: configDetail(items, deleted),
        revision: BigInt(String(e.data['revision'])),
      };
    },
  });
}

// ---- gRPC streams of the registry and the config center ------------------------------------------------

interface GrpcStreamSurfaceOptions<T> {
  name: string;
  family: SurfaceFamily;
  call: grpc.ClientReadableStream<T>;
  client: grpc.Client;
  map: (message: T) => Delivery;
  isReady: (delivery: Delivery) => boolean;
}

async function openGrpcStream<T>(options: GrpcStreamSurfaceOptions<T>): Promise<Surface> {
  const delivered: Delivery[] = [];
  const incidents: string[] = [];
  let closing = false;
  options.call.on('data', (message: T) => delivered.push(options.map(message)));
  options.call.on('error', (err: grpc.ServiceError) => {
    if (!closing) incidents.push(`the stream failed: ${grpc.status[err.code] ?? err.code} ${err.details}`);
  });
  options.call.on('end', () => {
    if (!closing) incidents.push('the server ended the stream');
  });
  await waitFor(() => (delivered.some(options.isReady) ? true : incidents.length > 0 ? false : undefined), {
    timeoutMs: READY_TIMEOUT_MS,
    what: `${options.name} to open`,
  }).then((ready) => {
    if (!ready) throw new Error(`${options.name} ended before it opened: ${incidents.join('; ')}`);
  });
  return {
    name: options.name,
    family: options.family,
    deliveries: () => [...delivered],
    incidents: () => [...incidents],
    reconnects: () => 0,
    close: async () => {
      closing = true;
      options.call.cancel();
      options.client.close();
      await Promise.resolve();
    },
  };
}

/** cairn.registry.v1.Registry/Watch of one service, from a snapshot. */
export function openRegistryGrpc(member: Member, namespace: string, service: string): Promise<Surface> {
  const client = new (loadEtcdServices().cairn.registry.v1.Registry)(
    grpcAddress(member),
    grpc.credentials.createInsecure(),
  );
  const call = client.Watch({ namespace, service, start_revision: '0' });
  return openGrpcStream<RegistryWatchEvent__Output>({
    name: 'registry gRPC',
    family: 'registry',
    call,
    client,
    map: (e) => registryDelivery(e.type, e.revision, e.instances, e.instance),
    isReady: (d) => d.kind === 'snapshot',
  });
}

/** cairn.config.v1.Config/Watch of one app, from a snapshot. */
export function openConfigGrpc(
  member: Member,
  namespace: string,
  app: string,
  subscriber: string,
): Promise<Surface> {
  const client = new (loadEtcdServices().cairn.config.v1.Config)(
    grpcAddress(member),
    grpc.credentials.createInsecure(),
  );
  const call = client.Watch({ namespace, app, revision: '0', subscriber_id: subscriber });
  return openGrpcStream<ConfigWatchEvent__Output>({
    name: 'config gRPC',
    family: 'config',
    call,
    client,
    map: (e) => ({ kind: e.kind, detail: configDetail(e.items, e.deleted), revision: BigInt(e.revision) }),
    isReady: (d) => d.kind === 'snapshot',
  });
}

// ---- the SDK (libs/client), connected to the member only -------------------------------------------------

/**
 * The registry SDK's live view of one service. Its first list and every re-list (after a compaction) are
 * `snapshot` deliveries with the view's ids; each applied change is one delivery.
 */
export async function openSdkRegistry(member: Member, namespace: string, service: string): Promise<Surface> {
  const registry = new RegistryClient(
    { endpoints: [member.clientUrl], connectTimeoutMs: 1000 },
    { namespace },
  );
  const subscription = registry.subscribe(service, { emptyProtectionMs: 0 });
  const delivered: Delivery[] = [];
  const incidents: string[] = [];
  const snapshot = (view: ServiceView): Delivery => ({
    kind: 'snapshot',
    detail: view.instances
      .map((i) => i.id)
      .sort()
      .join(','),
    revision: view.revision,
  });
  subscription.on('change', (change: InstanceChange) =>
    delivered.push({ kind: change.type, detail: change.instance.id, revision: change.revision }),
  );
  subscription.on('relisted', (view: ServiceView) => delivered.push(snapshot(view)));
  subscription.on('error', (err: unknown) => incidents.push(`re-list failed: ${errorText(err)}`));
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new Error('the SDK registry subscription was not ready within 10 s')),
      READY_TIMEOUT_MS,
    );
  });
  try {
    delivered.unshift(snapshot(await Promise.race([subscription.ready(), timedOut])));
  } finally {
    clearTimeout(timer);
  }
  return {
    name: 'SDK registry',
    family: 'registry',
    deliveries: () => [...delivered],
    incidents: () => [...incidents],
    reconnects: () => 0,
    close: () => registry.close(),
  };
}

/**
 * The config SDK's subscription of one app. Its start and every later full sync (a server `snapshot`) are
 * `snapshot` deliveries with the applied versions: the SDK announces a snapshot as the `change`s it brought,
 * then `synced` at the same revision, so those changes are folded into the snapshot delivery. A `synced`
 * after a reconnect that brought nothing is a resume, counted as a reconnect.
 */
export async function openSdkConfig(
  member: Member,
  namespace: string,
  app: string,
  subscriber: string,
): Promise<Surface> {
  const config = new ConfigClient({
    endpoints: member.clientUrl,
    connectTimeoutMs: 1000,
    callTimeoutMs: 5000,
  });
  const delivered: Delivery[] = [];
  const incidents: string[] = [];
  let disconnects = 0;
  const versions = (): string =>
    Object.entries(subscription.versions())
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([name, version]) => `${name}@${version}`)
      .join(',');
  const subscription = await config.subscribe(namespace, app, {
    subscriberId: subscriber,
    cacheDir: false,
    startTimeoutMs: READY_TIMEOUT_MS,
  });
  delivered.push({ kind: 'snapshot', detail: versions(), revision: BigInt(subscription.revision) });
  subscription.on('change', (change: ConfigChange) =>
    delivered.push({
      kind: 'change',
      detail: configDetail(
        change.newVersion === 0 ? [] : [{ name: change.name, version: change.newVersion }],
        change.newVersion === 0 ? [change.name] : [],
      ),
      revision: BigInt(change.revision),
    }),
  );
  subscription.on('synced', (revision: number) => {
    let folded = 0;
    while (delivered.length > 0) {
      const last = delivered[delivered.length - 1]!;
      if (last.kind !== 'change' || last.revision !== BigInt(revision)) break;
      delivered.pop();
      folded++;
    }
    if (folded > 0) delivered.push({ kind: 'snapshot', detail: versions(), revision: BigInt(revision) });
  });
  subscription.on('disconnected', (err: Error) => {
    disconnects++;
    incidents.push(`stream broke, resuming: ${err.message}`);
  });
  subscription.on('error', (err: Error) => incidents.push(`error: ${err.message}`));
  return {
    name: 'SDK config',
    family: 'config',
    deliveries: () => [...delivered],
    incidents: () => [...incidents],
    reconnects: () => disconnects,
    close: async () => {
      subscription.close();
      config.close();
      await Promise.resolve();
    },
  };
}
