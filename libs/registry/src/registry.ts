// The registry's operations over the replicated KV of one member, through its EtcdPort only. Framework-free:
// the Nest controller, the gRPC service and the health checker all call this.
//
// Every operation takes the caller's CallContext first (no default): reads, writes, leases and watches run
// under the caller's identity, so the core checks its permissions on exactly the keys each touches — all
// under `/cairn/registry/<ns>/` (docs/security.md). Only the health checker (a leader's duty no client
// asked for) and the last_heartbeat lookups (records.ts) use the member's own context.
import {
  type CallContext,
  type EtcdPort,
  type KeyValue,
  type Logger,
  type RequestOp,
  type TxnRequest,
  type TxnResult,
  internalContext,
} from '@cairn/server';
import { RegistryError } from './errors';
import { deleteOp, modRevisionIs, prefixRange, putOp } from './kv';
import {
  CHECK_TYPES,
  DEFAULT_TTL,
  LEGACY_NAMING_PREFIX,
  HEALTH_STATUSES,
  INSTANCE_STATUSES,
  type HealthCheckSpec,
  type HeartbeatResult,
  type InstanceFilter,
  type InstanceHealth,
  type InstanceStatus,
  type ListInstancesResult,
  type ListServicesResult,
  MAX_TTL,
  MIN_TTL,
  NAME_PATTERN,
  type RegisterInput,
  type RegisterResult,
  type RegistryInstance,
  RegistryKeys,
  type SessionResult,
  type StoredInstance,
  isHealthy,
  namingValue,
} from './model';
import { InstanceViews, parseStored, tryParse } from './records';
import {
  RegistryWatch,
  type RegistryWatchFlow,
  type RegistryWatchOptions,
  type RegistryWatchSink,
} from './watch';

export interface RegistryOptions {
  /** The member's in-process etcd port: every read, write, lease and watch goes through it. */
  port: EtcdPort;
  logger?: Logger;
  /** Key root of instance records (default /cairn/registry/). */
  root?: string;
  /**
   * Obsolete (`--registry-naming-prefix`): naming entries now live inside each namespace,
   * `<root><ns>/~naming/<service>/<id>` (RegistryKeys.namingKey). A value other than the old default is
   * logged once and ignored.
   */
  namingPrefix?: string;
  /**
   * Also write each instance's etcd naming entry (`<root><ns>/~naming/<service>/<id>`, etcd's `endpoints`
   * format, on the instance's lease) for Go clients that resolve with `etcd:///...` (`--registry-etcd-naming`).
   * Off by default: it doubles the keys, Raft bytes, apply, watch and audit work of every registration, and
   * the registry's own readers (APIs, SDK, gateways) read only the record. Set it alike on every member.
   */
  etcdNaming?: boolean;
  /** Injected clock (ms). */
  now?: () => number;
  /** The member's --max-txn-ops (default 128): RegisterBatch writes maxTxnOps / 2 instances per txn. */
  maxTxnOps?: number;
}

export interface InstanceRef {
  namespace: string;
  service: string;
  id: string;
}

export interface UpdateInput extends InstanceRef {
  /** Merged; an empty-string value removes the key. */
  metadata?: Record<string, string>;
  status?: InstanceStatus;
}

const MAX_ATTEMPTS = 5;
/** Instances one RegisterBatch may carry (split into txns of maxTxnOps / 2). */
export const MAX_REGISTER_BATCH = 10_000;
/** etcd's default --max-txn-ops. */
const DEFAULT_MAX_TXN_OPS = 128;

/** One instance's answer in a batch: its registration, or the error register() would have thrown. */
export type BatchItemResult = { ok: RegisterResult; error?: undefined } | { ok?: undefined; error: unknown };
/** Leases one KeepAlive may renew (a process's instances in per-instance mode; one in session mode). */
export const MAX_KEEPALIVE_BATCH = 10_000;

export class Registry {
  readonly keys: RegistryKeys;
  readonly port: EtcdPort;
  readonly views: InstanceViews;
  readonly logger: Logger | undefined;
  private readonly now: () => number;
  private readonly maxTxnOps: number;
  private readonly etcdNaming: boolean;
  private readonly watches = new Set<RegistryWatch>();

  constructor(readonly options: RegistryOptions) {
    this.port = options.port;
    this.keys = new RegistryKeys(options.root);
    this.now = options.now ?? Date.now;
    this.maxTxnOps = options.maxTxnOps ?? DEFAULT_MAX_TXN_OPS;
    this.etcdNaming = options.etcdNaming ?? false;
    this.views = new InstanceViews(this.port, this.now);
    this.logger = options.logger;
    if (options.namingPrefix && options.namingPrefix !== LEGACY_NAMING_PREFIX) {
      this.logger?.warn(
        { namingPrefix: options.namingPrefix },
        'registry: --registry-naming-prefix is obsolete and ignored; etcd naming entries now live under ' +
          '<root><namespace>/~naming/<service>/ (docs/registry.md)',
      );
    }
  }

  /** The current version of `key`, if any (this member's own view when `serializable`). */
  private async getKv(ctx: CallContext, key: string, serializable = false): Promise<KeyValue | undefined> {
    return (await this.port.range(ctx, { key: Buffer.from(key), serializable })).kvs[0];
  }

  private async records(
    ctx: CallContext,
    range: { key: Buffer; rangeEnd: Buffer },
  ): Promise<{ kvs: KeyValue[]; revision: number }> {
    const { kvs, revision } = await this.port.range(ctx, range);
    return { kvs, revision };
  }

  /**
   * Revokes a lease that may already be gone. A revoke the caller may not make (a lease that still holds a
   * key outside its grant, e.g. a naming entry at the pre-issue-15 place) is left to expire on its TTL.
   */
  private async revoke(ctx: CallContext, lease: bigint): Promise<void> {
    await this.port.leaseRevoke(ctx, lease).catch(() => undefined);
  }

  /** The puts of a record: the record, and its etcd naming entry when those are on. */
  private recordPuts(key: string, record: StoredInstance, lease: bigint): RequestOp[] {
    const put = putOp(key, JSON.stringify(record), lease);
    if (!this.etcdNaming) return [put];
    return [
      put,
      putOp(this.keys.namingKey(record.namespace, record.service, record.id), namingValue(record), lease),
    ];
  }

  // ---- writes ----

  async register(ctx: CallContext, input: RegisterInput): Promise<RegisterResult> {
    let ttl = validateRegister(input);
    const session = input.session ? parseLease('session', input.session) : 0n;
    if (session !== 0n) ttl = await this.sessionTtl(session);
    const key = this.keys.instanceKey(input.namespace, input.service, input.id);
    const check = input.check ? normalizeCheck(input.check) : null;
    for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
      // The first look is this member's own (no read barrier): the txn below is guarded by what was read,
      // so a stale look only costs a retry, which reads linearizably.
      const existing = await this.getKv(ctx, key, attempt === 0);
      const previous = existing ? parseStored(existing) : undefined;
      const previousLease = existing?.lease ?? 0n;
      // Re-register with the same TTL while the lease lives: keep the lease (renew it); else a new one,
      // granted in the same Raft entry as the txn (LeaseGrantTxn). A session brings its own lease.
      let lease = session;
      if (
        session === 0n &&
        previous &&
        !previous.session &&
        previous.ttl === ttl &&
        previousLease !== 0n &&
        (await this.port.leaseKeepAlive(ctx, previousLease)) > 0
      ) {
        lease = previousLease;
      }
      const recordFor = (id: bigint): StoredInstance =>
        this.recordFor(ctx, input, { check, previous, lease: id, ttl, session: session !== 0n });
      // One txn writes the record (and its naming entry), guarded by what was read: a concurrent register retries, nothing is
      // ever half-written.
      const txnFor = (record: StoredInstance, id: bigint): TxnRequest => ({
        compare: [modRevisionIs(key, existing?.modRevision ?? 0)],
        success: this.recordPuts(key, record, id),
      });
      let record: StoredInstance;
      let result: TxnResult;
      if (lease === 0n) {
        // One proposal: the grant and the txn; a txn that fails leaves no lease behind.
        let built: StoredInstance | undefined;
        const applied = await this.port.leaseGrantTxn(ctx, { ttl }, (id) => {
          built = recordFor(id);
          return txnFor(built, id);
        });
        record = built!;
        result = applied.txn;
        lease = applied.lease.id;
      } else {
        record = recordFor(lease);
        result = await this.port.txn(ctx, txnFor(record, lease));
      }
      if (!result.succeeded) continue;
      // The old lease of an instance that moved to another: its own, never a session's (shared).
      if (previousLease !== 0n && previousLease !== lease && !previous?.session) {
        await this.revoke(ctx, previousLease);
      }
      this.logger?.debug({ key, lease: record.lease, ttl }, 'registry: instance registered');
      return {
        instance: await this.views.view(record, result.revision),
        lease: record.lease,
        ttl,
        revision: String(result.revision),
      };
    }
    throw new RegistryError('conflict', `instance ${key} changed concurrently; try again`);
  }

  /** The stored record of a registration: health and registered_at carried over from the previous one. */
  private recordFor(
    ctx: CallContext,
    input: RegisterInput,
    at: {
      check: HealthCheckSpec | null;
      previous: StoredInstance | undefined;
      lease: bigint;
      ttl: number;
      session: boolean;
    },
  ): StoredInstance {
    const { check, previous } = at;
    const sameCheck = previous && JSON.stringify(previous.check) === JSON.stringify(check);
    return {
      namespace: input.namespace,
      service: input.service,
      id: input.id,
      address: {
        host: input.address.host,
        port: input.address.port,
        scheme: input.address.scheme || 'http',
      },
      metadata: { ...(input.metadata ?? {}) },
      tags: [...(input.tags ?? [])],
      weight: input.weight ?? 1,
      zone: input.zone ?? '',
      version: input.version ?? '',
      status: input.status ?? 'UP',
      health:
        previous && sameCheck
          ? previous.health
          : check
            ? { status: 'warning', reason: 'awaiting the first health check', checked_at: '' }
            : { status: 'passing', reason: 'alive (lease kept)', checked_at: '' },
      registered_at: previous?.registered_at ?? new Date(this.now()).toISOString(),
      registered_by: ctx.identity.user || 'anonymous',
      lease: at.lease.toString(),
      ...(at.session ? { session: true } : {}),
      ttl: at.ttl,
      check,
    };
  }

  /**
   * Registers many instances of one namespace on one session (WRITE on the namespace): each validated as
   * register() validates it, then written in txns of at most `maxTxnOps` instances (one put each; half as many
   * with etcd naming entries), each
   * txn ONE Raft entry guarded by the mod_revision of every key it writes. A txn that loses a race falls back
   * to register() for its instances. One answer per instance, in order: its result or its own error.
   */
  async registerBatch(
    ctx: CallContext,
    namespace: string,
    session: string,
    inputs: Omit<RegisterInput, 'namespace' | 'session' | 'ttl'>[],
  ): Promise<BatchItemResult[]> {
    validateName('namespace', namespace);
    const lease = parseLease('session', session);
    if (inputs.length > MAX_REGISTER_BATCH) {
      throw new RegistryError('invalid', `at most ${MAX_REGISTER_BATCH} instances per batch`);
    }
    // The caller's READ on the namespace before anything else is looked at (WRITE is checked by each txn).
    await this.port.range(ctx, {
      key: Buffer.from(this.keys.sessionKey(namespace, lease)),
      serializable: true,
      countOnly: true,
    });
    const ttl = await this.sessionTtl(lease);
    const results: BatchItemResult[] = new Array<BatchItemResult>(inputs.length);
    const valid: { index: number; input: RegisterInput; key: string; check: HealthCheckSpec | null }[] = [];
    const seen = new Set<string>();
    inputs.forEach((raw, index) => {
      const input: RegisterInput = { ...raw, namespace, session };
      try {
        validateRegister(input);
        const key = this.keys.instanceKey(namespace, input.service, input.id);
        if (seen.has(key)) {
          throw new RegistryError(
            'invalid',
            `instance "${input.id}" of "${input.service}" is twice in the batch`,
          );
        }
        seen.add(key);
        valid.push({ index, input, key, check: input.check ? normalizeCheck(input.check) : null });
      } catch (err) {
        results[index] = { error: err };
      }
    });
    // One put per instance (two with etcd naming entries): 128 instances per txn at etcd's default limit.
    const perTxn = Math.max(1, Math.floor(this.maxTxnOps / (this.etcdNaming ? 2 : 1)));
    const chunks: (typeof valid)[] = [];
    for (let i = 0; i < valid.length; i += perTxn) chunks.push(valid.slice(i, i + perTxn));
    await Promise.all(
      chunks.map(async (chunk) => {
        // This member's own look (no read barrier): the txn is guarded by what was read.
        const existing = await Promise.all(chunk.map((item) => this.getKv(ctx, item.key, true)));
        const previous = existing.map((kv) => (kv ? parseStored(kv) : undefined));
        const records = chunk.map((item, i) =>
          this.recordFor(ctx, item.input, {
            check: item.check,
            previous: previous[i],
            lease,
            ttl,
            session: true,
          }),
        );
        const result = await this.port.txn(ctx, {
          compare: chunk.map((item, i) => modRevisionIs(item.key, existing[i]?.modRevision ?? 0)),
          success: chunk.flatMap((item, i) => this.recordPuts(item.key, records[i]!, lease)),
        });
        if (!result.succeeded) {
          // A concurrent change of one of them: each goes its own way (and retries on its own).
          await Promise.all(
            chunk.map((item) =>
              this.register(ctx, item.input).then(
                (ok) => (results[item.index] = { ok }),
                (err: unknown) => (results[item.index] = { error: err }),
              ),
            ),
          );
          return;
        }
        // One lease lookup (the session's) for the views of the whole chunk.
        const views = await this.views.views(
          records.map((record) => ({ record, modRevision: result.revision })),
        );
        await Promise.all(
          chunk.map(async (item, i) => {
            const kv = existing[i];
            // The old lease of an instance that had one of its own (never a session's: shared).
            if (kv && kv.lease !== 0n && kv.lease !== lease && !previous[i]?.session) {
              await this.revoke(ctx, kv.lease);
            }
            results[item.index] = {
              ok: { instance: views[i]!, lease: session, ttl, revision: String(result.revision) },
            };
          }),
        );
      }),
    );
    return results;
  }

  // ---- sessions (one lease per client process, shared by its instances) ----

  /**
   * Opens a session: a lease of `ttl` seconds and its key `<root><ns>/~sessions/<lease>` on it, in one
   * Raft entry (WRITE on the namespace). Instances registered with it go when the lease does.
   */
  async openSession(ctx: CallContext, namespace: string, ttl = DEFAULT_TTL): Promise<SessionResult> {
    validateName('namespace', namespace);
    validateTtl(ttl);
    const opened = await this.port.leaseGrantTxn(ctx, { ttl }, (id) => ({
      compare: [],
      success: [
        putOp(
          this.keys.sessionKey(namespace, id),
          JSON.stringify({
            ttl,
            opened_by: ctx.identity.user || 'anonymous',
            opened_at: new Date(this.now()).toISOString(),
          }),
          id,
        ),
      ],
    }));
    return { session: opened.lease.id.toString(), ttl: opened.lease.ttl };
  }

  /**
   * Batched renewal: one keep-alive of each lease (sessions' or instances'), in request order; 0 for a
   * lease that is gone. READ on the namespace; a follower forwards them to the leader in one peer call.
   */
  async keepAlive(ctx: CallContext, namespace: string, leases: string[]): Promise<{ ttls: string[] }> {
    validateName('namespace', namespace);
    if (leases.length > MAX_KEEPALIVE_BATCH) {
      throw new RegistryError('invalid', `at most ${MAX_KEEPALIVE_BATCH} leases per keep-alive`);
    }
    const ids = leases.map((lease) => parseLease('lease', lease));
    // The caller's READ on the namespace: a look at one key, not a scan of the namespace.
    await this.port.range(ctx, {
      key: Buffer.from(this.keys.namespacePrefix(namespace)),
      serializable: true,
    });
    const ttls = await Promise.all(ids.map((id) => this.port.leaseKeepAlive(ctx, id)));
    return { ttls: ttls.map(String) };
  }

  /**
   * Ends a session: deletes its key (WRITE on the namespace, checked before anything is looked up), then
   * revokes its lease, deleting every instance on it (WRITE on each).
   */
  async closeSession(ctx: CallContext, namespace: string, session: string): Promise<{ revision: string }> {
    validateName('namespace', namespace);
    const id = parseLease('session', session);
    const key = this.keys.sessionKey(namespace, id);
    const closed = await this.port.txn(ctx, {
      compare: [{ key: Buffer.from(key), target: 'VERSION', result: 'GREATER', version: 0 }],
      success: [deleteOp(key)],
    });
    if (!closed.succeeded) {
      throw new RegistryError('not-found', `session ${session} is not open in namespace "${namespace}"`);
    }
    await this.revoke(ctx, id);
    return { revision: String(this.port.revisions().current) };
  }

  /** The TTL a session was opened with; not-found when it is gone (the SDK then opens another). */
  private async sessionTtl(session: bigint): Promise<number> {
    // This member's lessor first; one that has not applied the session's grant yet (a follower behind the
    // member that opened it) asks again linearizably.
    const ctx = internalContext();
    const info =
      (await this.port.leaseTimeToLive(ctx, session, { serializable: true })) ??
      (await this.port.leaseTimeToLive(ctx, session));
    if (!info) throw new RegistryError('not-found', `session ${session} has expired or was closed`);
    return info.grantedTtl;
  }

  /** One keep-alive of the instance's lease, after a read of its record (READ on it). */
  async heartbeat(ctx: CallContext, ref: InstanceRef): Promise<HeartbeatResult> {
    validateRef(ref);
    const { stored, kv } = await this.load(ctx, ref);
    const ttl = kv.lease === 0n ? 0 : await this.port.leaseKeepAlive(ctx, kv.lease);
    if (ttl <= 0) throw new RegistryError('not-found', `the lease of instance ${stored.id} has expired`);
    return { lease: kv.lease.toString(), ttl };
  }

  async update(ctx: CallContext, input: UpdateInput): Promise<RegistryInstance> {
    validateRef(input);
    if (input.status !== undefined && !INSTANCE_STATUSES.includes(input.status)) {
      throw new RegistryError('invalid', `status must be one of ${INSTANCE_STATUSES.join(', ')}`);
    }
    if (input.metadata) validateMetadata(input.metadata);
    return this.modify(ctx, input, (record) => {
      if (input.metadata) {
        for (const [k, v] of Object.entries(input.metadata)) {
          if (v === '') delete record.metadata[k];
          else record.metadata[k] = v;
        }
      }
      if (input.status) record.status = input.status;
      return record;
    });
  }

  /**
   * Sets the health of an instance: the health checker's write, a leader's duty (the caller passes the
   * member's own context); false if the instance is gone. No client request sets health.
   */
  async setHealth(ctx: CallContext, ref: InstanceRef, health: InstanceHealth): Promise<boolean> {
    try {
      await this.modify(ctx, ref, (record) => ({ ...record, health }));
      return true;
    } catch (err) {
      if (err instanceof RegistryError && err.kind === 'not-found') return false;
      throw err;
    }
  }

  /** Read-modify-write of one record, guarded by its mod_revision, keeping its lease. */
  private async modify(
    ctx: CallContext,
    ref: InstanceRef,
    change: (record: StoredInstance) => StoredInstance,
  ): Promise<RegistryInstance> {
    const key = this.keys.instanceKey(ref.namespace, ref.service, ref.id);
    for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
      const { stored, kv } = await this.load(ctx, ref);
      const record = change(structuredClone(stored));
      const result = await this.port.txn(ctx, {
        compare: [modRevisionIs(key, kv.modRevision)],
        success: this.recordPuts(key, record, kv.lease),
      });
      if (result.succeeded) return this.views.view(record, result.revision);
    }
    throw new RegistryError('conflict', `instance ${key} changed concurrently; try again`);
  }

  async deregister(ctx: CallContext, ref: InstanceRef): Promise<{ revision: string }> {
    validateRef(ref);
    const key = this.keys.instanceKey(ref.namespace, ref.service, ref.id);
    const { kv, stored } = await this.load(ctx, ref);
    // The naming entry goes too, whether or not entries are written now (one left from when they were).
    const result = await this.port.txn(ctx, {
      compare: [modRevisionIs(key, kv.modRevision)],
      success: [deleteOp(key), deleteOp(this.keys.namingKey(ref.namespace, ref.service, ref.id))],
    });
    if (!result.succeeded)
      throw new RegistryError('conflict', `instance ${key} changed concurrently; try again`);
    // A session's lease stays: the session's other instances are on it.
    if (kv.lease !== 0n && !stored.session) await this.revoke(ctx, kv.lease);
    return { revision: String(result.revision) };
  }

  // ---- reads ----

  async get(ctx: CallContext, ref: InstanceRef): Promise<RegistryInstance> {
    validateRef(ref);
    const { stored, kv } = await this.load(ctx, ref);
    return this.views.view(stored, kv.modRevision);
  }

  /** Every namespace with instances: READ on the whole registry root. */
  async listNamespaces(ctx: CallContext): Promise<string[]> {
    const { kvs } = await this.records(ctx, prefixRange(this.keys.root));
    const names = new Set<string>();
    for (const kv of kvs) {
      const parts = this.keys.parse(kv.key.toString());
      if (parts) names.add(parts.namespace);
    }
    return [...names].sort();
  }

  async listServices(ctx: CallContext, namespace: string): Promise<ListServicesResult> {
    validateName('namespace', namespace);
    const { kvs, revision } = await this.records(ctx, this.keys.namespaceRecords(namespace));
    const services = new Map<string, { healthy: number; total: number }>();
    for (const kv of kvs) {
      const record = tryParse(kv);
      if (!record) continue;
      const entry = services.get(record.service) ?? { healthy: 0, total: 0 };
      entry.total++;
      if (isHealthy(record)) entry.healthy++;
      services.set(record.service, entry);
    }
    return {
      services: [...services.entries()]
        .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
        .map(([name, counts]) => ({ name, ...counts })),
      revision: String(revision),
    };
  }

  async listInstances(
    ctx: CallContext,
    namespace: string,
    service: string,
    filter: InstanceFilter = {},
  ): Promise<ListInstancesResult> {
    validateName('namespace', namespace);
    validateName('service', service);
    if (filter.health !== undefined && !HEALTH_STATUSES.includes(filter.health)) {
      throw new RegistryError('invalid', `health must be one of ${HEALTH_STATUSES.join(', ')}`);
    }
    const { kvs, revision } = await this.records(
      ctx,
      prefixRange(this.keys.servicePrefix(namespace, service)),
    );
    const records: { record: StoredInstance; modRevision: number }[] = [];
    for (const kv of kvs) {
      const record = tryParse(kv);
      if (record && matches(record, filter)) records.push({ record, modRevision: kv.modRevision });
    }
    const instances: RegistryInstance[] = await this.views.views(records);
    return { instances, revision: String(revision) };
  }

  /**
   * Throws the core's permission error unless the caller may READ what a watch of this service (or
   * namespace) covers: a stream checks it before it answers, so a refusal is a 403 (or PermissionDenied),
   * not a stream that opens and ends.
   */
  async checkWatch(ctx: CallContext, namespace: string, service = ''): Promise<void> {
    validateName('namespace', namespace);
    if (service) validateName('service', service);
    const range = service
      ? prefixRange(this.keys.servicePrefix(namespace, service))
      : this.keys.namespaceRecords(namespace);
    await this.port.range(ctx, { ...range, countOnly: true, serializable: true });
  }

  /**
   * Watches a service (or a whole namespace when `service` is empty); see RegistryWatch. It runs under `ctx`,
   * the context of the request that opened the stream: its READ is checked when the watch is created.
   */
  watch(
    ctx: CallContext,
    options: RegistryWatchOptions,
    sink: RegistryWatchSink,
    flow?: RegistryWatchFlow,
  ): RegistryWatch {
    validateName('namespace', options.namespace);
    if (options.service) validateName('service', options.service);
    const watch = new RegistryWatch(this, ctx, options, sink, () => this.watches.delete(watch), flow);
    this.watches.add(watch);
    watch.start();
    return watch;
  }

  close(): void {
    for (const watch of [...this.watches]) watch.close();
  }

  // ---- records ----

  private async load(ctx: CallContext, ref: InstanceRef): Promise<{ stored: StoredInstance; kv: KeyValue }> {
    const key = this.keys.instanceKey(ref.namespace, ref.service, ref.id);
    const kv = await this.getKv(ctx, key);
    const stored = kv ? tryParse(kv) : undefined;
    if (!kv || !stored) {
      throw new RegistryError(
        'not-found',
        `instance "${ref.id}" of service "${ref.service}" in namespace "${ref.namespace}" is not registered`,
      );
    }
    return { stored, kv };
  }
}

function matches(record: StoredInstance, filter: InstanceFilter): boolean {
  if (filter.health && record.health.status !== filter.health) return false;
  if (filter.tag && !record.tags.includes(filter.tag)) return false;
  if (filter.zone !== undefined && filter.zone !== '' && record.zone !== filter.zone) return false;
  for (const [k, v] of Object.entries(filter.metadata ?? {})) {
    if (record.metadata[k] !== v) return false;
  }
  return true;
}

// ---- validation (the REST DTOs check shapes; these rules hold for every surface) ----

export function validateName(what: string, value: unknown): void {
  if (typeof value !== 'string' || value.length === 0) {
    throw new RegistryError('invalid', `${what} name is required`);
  }
  if (!NAME_PATTERN.test(value)) {
    throw new RegistryError(
      'invalid',
      `${what} name "${value}" is invalid: 1-128 characters of letters, digits, '.', '_', ':', '@', '-', starting with a letter or digit`,
    );
  }
}

function validateRef(ref: InstanceRef): void {
  validateName('namespace', ref.namespace);
  validateName('service', ref.service);
  validateName('instance', ref.id);
}

function validateMetadata(metadata: Record<string, string>): void {
  for (const [k, v] of Object.entries(metadata)) {
    if (typeof v !== 'string')
      throw new RegistryError('invalid', `metadata value of "${k}" must be a string`);
  }
}

const HOST_PATTERN =
  /^(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$|^\[?[0-9A-Fa-f:.]+\]?$/;

/** Checks a register input; returns the TTL to use. */
export function validateRegister(input: RegisterInput): number {
  validateName('namespace', input.namespace);
  validateName('service', input.service);
  validateName('instance', input.id);
  const address = input.address as RegisterInput['address'] | undefined;
  if (!address || typeof address !== 'object') throw new RegistryError('invalid', 'address is required');
  if (typeof address.host !== 'string' || !HOST_PATTERN.test(address.host)) {
    throw new RegistryError(
      'invalid',
      `invalid address: host "${String(address.host)}" is not a hostname or IP`,
    );
  }
  if (!Number.isInteger(address.port) || address.port < 1 || address.port > 65535) {
    throw new RegistryError('invalid', `invalid address: port ${String(address.port)} is not in 1..65535`);
  }
  if (address.scheme !== undefined && !/^[a-z][a-z0-9+.-]{0,15}$/.test(address.scheme)) {
    throw new RegistryError('invalid', `invalid address: scheme "${address.scheme}"`);
  }
  const ttl = input.ttl ?? DEFAULT_TTL;
  validateTtl(ttl);
  if (input.status !== undefined && !INSTANCE_STATUSES.includes(input.status)) {
    throw new RegistryError('invalid', `status must be one of ${INSTANCE_STATUSES.join(', ')}`);
  }
  if (
    input.weight !== undefined &&
    (!Number.isInteger(input.weight) || input.weight < 0 || input.weight > 10000)
  ) {
    throw new RegistryError('invalid', 'weight must be an integer in 0..10000');
  }
  if (input.metadata) validateMetadata(input.metadata);
  if (input.check) {
    if (!CHECK_TYPES.includes(input.check.type)) {
      throw new RegistryError('invalid', `check.type must be one of ${CHECK_TYPES.join(', ')}`);
    }
    const c = normalizeCheck(input.check);
    if (c.interval_ms < 100 || c.interval_ms > 3_600_000) {
      throw new RegistryError('invalid', 'check.interval_ms must be in 100..3600000');
    }
    if (c.timeout_ms < 10 || c.timeout_ms > 60_000) {
      throw new RegistryError('invalid', 'check.timeout_ms must be in 10..60000');
    }
  }
  return ttl;
}

function validateTtl(ttl: number): void {
  if (!Number.isInteger(ttl) || ttl < MIN_TTL || ttl > MAX_TTL) {
    throw new RegistryError('invalid', `ttl ${String(ttl)} is out of range: ${MIN_TTL}..${MAX_TTL} seconds`);
  }
}

/** A decimal lease ID from a request (positive, 63-bit). */
function parseLease(what: string, value: string): bigint {
  if (!/^[1-9]\d{0,18}$/.test(value) || BigInt(value) > 0x7fff_ffff_ffff_ffffn) {
    throw new RegistryError('invalid', `${what} "${value}" is not a lease ID`);
  }
  return BigInt(value);
}

export function normalizeCheck(
  check: Partial<HealthCheckSpec> & { type: HealthCheckSpec['type'] },
): HealthCheckSpec {
  return {
    type: check.type,
    target: check.target ?? '',
    grpc_service: check.grpc_service ?? '',
    interval_ms: check.interval_ms || 10_000,
    timeout_ms: check.timeout_ms || 2_000,
    failures_before_critical: Math.max(1, check.failures_before_critical || 1),
    successes_before_passing: Math.max(1, check.successes_before_passing || 1),
    deregister_critical_after_ms: check.deregister_critical_after_ms || 0,
  };
}
