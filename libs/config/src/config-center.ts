// The config center over the replicated KV: namespaces, apps, items, drafts, guarded publish, releases,
// rollback, gray release, listeners, import/export and subscriptions. REST, gRPC and the SDK's watch all
// call this one class. Key layout: keys.ts and docs/config.md.
import { createHash } from 'node:crypto';
import type { CairnNode, EtcdApis, Logger } from '@cairn/server';
import { unifiedDiff } from './diff';
import { ConfigError } from './errors';
import { isConfigFormat, parseContentSafe, schemaProblems, validateContent } from './formats';
import { type Cmp, ConfigKv, type Kv, type Op } from './kv';
import {
  CONFIG_ROOT,
  appKey,
  appPrefix,
  draftKey,
  grayKey,
  isValidName,
  isValidSubscriberId,
  itemKey,
  listenerAppPrefix,
  listenerKey,
  liveKey,
  nsKey,
  nsPrefix,
  releaseKey,
  releasePrefix,
} from './keys';
import { ListenerLeases } from './listener-leases';
import { ConfigSubscription, type SubscribeParams, grayApplies } from './subscription';
import type {
  AppRecord,
  AppView,
  AuditEntryView,
  ConfigBundle,
  ConfigFormat,
  ConfigItemView,
  ConfigReleaseView,
  ConfigWatchEvent,
  DraftRecord,
  GrayRecord,
  GrayRule,
  ImportResult,
  ItemRecord,
  ListenerRecord,
  ListenerView,
  NamespaceRecord,
  NamespaceView,
  ReleaseKind,
  ReleaseRecord,
  ValidationIssue,
} from './types';

/** The key the audit archive reads the actor of a txn from (libs/audit ACTOR_MARKER_KEY). */
export const AUDIT_ACTOR_KEY = '/cairn/audit/actor';

/** What the config center reads from the audit archive (libs/audit's AuditArchive fits). */
export interface ConfigAuditSource {
  history(
    key: string,
    options?: { limit?: number; order?: 'asc' | 'desc' },
  ): Promise<
    {
      revision: number;
      key: Buffer;
      operation: string;
      value: Buffer | null;
      actor: string | null;
      observedAtMs: number;
    }[]
  >;
}

export interface ConfigCenterOptions {
  node: CairnNode;
  apis: EtcdApis;
  logger: Logger;
  /** The audit archive, when the server runs one: item history past compaction. */
  audit?: ConfigAuditSource;
  /** Clock (tests inject one). */
  now?: () => Date;
  /** TTL of the lease that keeps this member's listener records (seconds). */
  listenerLeaseTtlSeconds?: number;
}

export interface ItemRef {
  namespace: string;
  app: string;
  name: string;
}

export interface PublishOptions {
  content?: string;
  fromDraft?: boolean;
  author?: string;
  comment?: string;
  /** The live mod_revision the caller based its edit on; 0 = the item must not be published yet. */
  expectedRevision?: number;
}

const MAX_ATTEMPTS = 8;

function parseJson<T>(kv: Kv | undefined): T | undefined {
  return kv ? (JSON.parse(kv.value.toString('utf8')) as T) : undefined;
}

function checkName(what: string, name: string): void {
  if (typeof name !== 'string' || !isValidName(name)) {
    throw new ConfigError(
      'bad-request',
      `invalid ${what} "${String(name)}": 1-128 characters of [A-Za-z0-9._-], starting with a letter or digit`,
    );
  }
}

function checkRef(ref: ItemRef): void {
  checkName('namespace', ref.namespace);
  checkName('app', ref.app);
  checkName('item name', ref.name);
}

function checkRule(rule: GrayRule): GrayRule {
  const labels: Record<string, string> = {};
  for (const [k, v] of Object.entries(rule.labels ?? {})) labels[String(k)] = String(v);
  const percentage =
    rule.percentage === undefined || rule.percentage === null ? 100 : Number(rule.percentage);
  if (!Number.isInteger(percentage) || percentage < 0 || percentage > 100) {
    throw new ConfigError('bad-request', 'gray percentage must be an integer from 0 to 100');
  }
  if (Object.keys(labels).length === 0 && percentage >= 100) {
    throw new ConfigError('bad-request', 'a gray release needs labels or a percentage below 100');
  }
  return { labels, percentage };
}

export class ConfigCenter {
  readonly kv: ConfigKv;
  private readonly logger: Logger;
  private readonly now: () => Date;
  private readonly leases: ListenerLeases;
  private readonly subscriptions = new Set<ConfigSubscription>();
  /** ns/app/subscriberId -> open streams on this member (its listener record goes when the last closes). */
  private readonly streaming = new Map<string, number>();
  /** The last record put for each subscriber streaming here (put back if the member lease is lost). */
  private readonly streamingRecords = new Map<string, { key: string; record: ListenerRecord }>();
  private closed = false;

  constructor(private readonly options: ConfigCenterOptions) {
    this.kv = new ConfigKv(options.apis, options.node);
    this.logger = options.logger;
    this.now = options.now ?? (() => new Date());
    this.leases = new ListenerLeases(
      options.apis,
      options.listenerLeaseTtlSeconds ?? 30,
      options.logger,
      () =>
        this.restoreListeners().catch((err: unknown) =>
          this.logger.warn({ err }, 'config listener records could not be restored after the lease was lost'),
        ),
    );
  }

  get memberName(): string {
    return this.options.node.config.name;
  }

  private time(): string {
    return this.now().toISOString();
  }

  // ---- namespaces and apps --------------------------------------------------------------------------

  async listNamespaces(): Promise<NamespaceView[]> {
    const res = await this.kv.prefix(CONFIG_ROOT, { keysOnly: true });
    const names = new Map<string, Set<string>>();
    for (const kv of res.kvs) {
      const [ns, app] = kv.key.toString('utf8').slice(CONFIG_ROOT.length).split('/');
      if (!names.has(ns)) names.set(ns, new Set());
      if (app && !app.startsWith('~')) names.get(ns)!.add(app);
    }
    const out: NamespaceView[] = [];
    for (const [name, apps] of [...names].sort(([a], [b]) => a.localeCompare(b))) {
      const rec = parseJson<NamespaceRecord>(await this.kv.get(nsKey(name)));
      out.push({ name, description: rec?.description ?? '', apps: [...apps].sort() });
    }
    return out;
  }

  async putNamespace(ns: string, description = ''): Promise<NamespaceView> {
    checkName('namespace', ns);
    const existing = parseJson<NamespaceRecord>(await this.kv.get(nsKey(ns)));
    const rec: NamespaceRecord = { description, createdAt: existing?.createdAt ?? this.time() };
    await this.kv.put(nsKey(ns), JSON.stringify(rec));
    return { name: ns, description, apps: (await this.listApps(ns)).map((a) => a.name) };
  }

  async listApps(ns: string): Promise<AppView[]> {
    checkName('namespace', ns);
    const res = await this.kv.prefix(nsPrefix(ns), { keysOnly: true });
    const apps = new Map<string, Set<string>>();
    for (const kv of res.kvs) {
      const parts = kv.key.toString('utf8').slice(nsPrefix(ns).length).split('/');
      const app = parts[0];
      if (app.startsWith('~')) continue;
      if (!apps.has(app)) apps.set(app, new Set());
      if (parts[1] === '~item' && parts[2]) apps.get(app)!.add(parts[2]);
    }
    const out: AppView[] = [];
    for (const [name, items] of [...apps].sort(([a], [b]) => a.localeCompare(b))) {
      const rec = parseJson<AppRecord>(await this.kv.get(appKey(ns, name)));
      out.push({ namespace: ns, name, description: rec?.description ?? '', items: [...items].sort() });
    }
    return out;
  }

  async putApp(ns: string, app: string, description = ''): Promise<AppView> {
    checkName('namespace', ns);
    checkName('app', app);
    const existing = parseJson<AppRecord>(await this.kv.get(appKey(ns, app)));
    const rec: AppRecord = { description, createdAt: existing?.createdAt ?? this.time() };
    await this.kv.put(appKey(ns, app), JSON.stringify(rec));
    return (await this.listApps(ns)).find((a) => a.name === app)!;
  }

  // ---- items ------------------------------------------------------------------------------------------

  async listItems(ns: string, app: string): Promise<ConfigItemView[]> {
    checkName('namespace', ns);
    checkName('app', app);
    const items = await this.kv.prefix(`${appPrefix(ns, app)}~item/`);
    const out: ConfigItemView[] = [];
    for (const kv of items.kvs) {
      const name = kv.key.toString('utf8').slice(`${appPrefix(ns, app)}~item/`.length);
      out.push(await this.getItem({ namespace: ns, app, name }));
    }
    return out;
  }

  async getItem(ref: ItemRef): Promise<ConfigItemView> {
    checkRef(ref);
    const { namespace: ns, app, name } = ref;
    const [itemKv, live, draft, gray] = await Promise.all([
      this.kv.get(itemKey(ns, app, name)),
      this.kv.get(liveKey(ns, app, name)),
      this.kv.get(draftKey(ns, app, name)),
      this.kv.get(grayKey(ns, app, name)),
    ]);
    const item = parseJson<ItemRecord>(itemKv);
    if (!item) throw new ConfigError('not-found', `config item ${ns}/${app}/${name} not found`);
    return {
      namespace: ns,
      app,
      name,
      format: item.format,
      description: item.description,
      schema: item.schema,
      version: item.version,
      content: live ? live.value.toString('utf8') : '',
      modRevision: live?.modRevision ?? 0,
      latestRelease: item.latestRelease,
      draft: parseJson<DraftRecord>(draft) ?? null,
      gray: parseJson<GrayRecord>(gray) ?? null,
      createdAt: item.createdAt,
      updatedAt: item.updatedAt,
    };
  }

  /** Create an item or change its format, description or schema (content changes go through publish). */
  async putItem(
    ref: ItemRef,
    spec: { format?: string; description?: string; schema?: string },
  ): Promise<ConfigItemView> {
    checkRef(ref);
    if (spec.format !== undefined && !isConfigFormat(spec.format)) {
      throw new ConfigError('bad-request', `format must be one of json, yaml, properties, text`);
    }
    if (spec.schema) {
      const problems = schemaProblems(spec.schema);
      if (problems.length > 0) throw new ConfigError('invalid', problems[0].message, problems);
    }
    const key = itemKey(ref.namespace, ref.app, ref.name);
    for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
      const kv = await this.kv.get(key);
      const existing = parseJson<ItemRecord>(kv);
      const time = this.time();
      const format = (spec.format as ConfigFormat | undefined) ?? existing?.format;
      if (!format) throw new ConfigError('bad-request', 'a new item needs a format');
      const rec: ItemRecord = {
        format,
        description: spec.description ?? existing?.description ?? '',
        schema: spec.schema ?? existing?.schema ?? '',
        version: existing?.version ?? 0,
        latestRelease: existing?.latestRelease ?? 0,
        createdAt: existing?.createdAt ?? time,
        updatedAt: time,
      };
      const res = await this.kv.txn(
        [{ key, modRevision: kv?.modRevision ?? 0 }],
        [{ put: key, value: JSON.stringify(rec) }],
      );
      if (res.succeeded) return this.getItem(ref);
    }
    throw new ConfigError('conflict', 'the item kept changing; try again');
  }

  /** Delete an item with its drafts, gray release and releases (the audit archive keeps its history). */
  async deleteItem(ref: ItemRef, author = ''): Promise<boolean> {
    checkRef(ref);
    const { namespace: ns, app, name } = ref;
    const ops: Op[] = [
      { del: liveKey(ns, app, name) },
      { del: itemKey(ns, app, name) },
      { del: draftKey(ns, app, name) },
      { del: grayKey(ns, app, name) },
      { del: releasePrefix(ns, app, name), prefix: true },
      ...this.actorOps(author),
    ];
    const exists = await this.kv.get(itemKey(ns, app, name));
    if (!exists) return false;
    await this.kv.txn([], ops);
    return true;
  }

  // ---- drafts -----------------------------------------------------------------------------------------

  async saveDraft(
    ref: ItemRef,
    input: { content: string; author?: string; baseRevision?: number },
  ): Promise<DraftRecord> {
    const item = await this.getItem(ref);
    if (typeof input.content !== 'string') throw new ConfigError('bad-request', 'content must be a string');
    const draft: DraftRecord = {
      content: input.content,
      author: input.author ?? '',
      updatedAt: this.time(),
      baseRevision: input.baseRevision && input.baseRevision > 0 ? input.baseRevision : item.modRevision,
    };
    await this.kv.txn(
      [],
      [
        { put: draftKey(ref.namespace, ref.app, ref.name), value: JSON.stringify(draft) },
        ...this.actorOps(draft.author),
      ],
    );
    return draft;
  }

  async getDraft(ref: ItemRef): Promise<DraftRecord> {
    checkRef(ref);
    const draft = parseJson<DraftRecord>(await this.kv.get(draftKey(ref.namespace, ref.app, ref.name)));
    if (!draft) throw new ConfigError('not-found', `no draft for ${ref.namespace}/${ref.app}/${ref.name}`);
    return draft;
  }

  async discardDraft(ref: ItemRef): Promise<boolean> {
    checkRef(ref);
    const key = draftKey(ref.namespace, ref.app, ref.name);
    if (!(await this.kv.get(key))) return false;
    await this.kv.delete(key);
    return true;
  }

  async validate(ref: ItemRef, content: string, format?: string): Promise<ValidationIssue[]> {
    if (format !== undefined && format !== '') {
      if (!isConfigFormat(format)) throw new ConfigError('bad-request', `unknown format "${format}"`);
      let schema = '';
      try {
        schema = (await this.getItem(ref)).schema;
      } catch {
        // validating before the item exists: no schema
      }
      return validateContent(format, content, schema);
    }
    const item = await this.getItem(ref);
    return validateContent(item.format, content, item.schema);
  }

  // ---- publish, releases, rollback ----------------------------------------------------------------------

  async publish(ref: ItemRef, opts: PublishOptions): Promise<ConfigReleaseView> {
    checkRef(ref);
    let content = opts.content;
    let expected = opts.expectedRevision;
    let draftModRevision: number | undefined;
    if (opts.fromDraft) {
      const draftKv = await this.kv.get(draftKey(ref.namespace, ref.app, ref.name));
      const draft = parseJson<DraftRecord>(draftKv);
      if (!draft) throw new ConfigError('not-found', `no draft for ${ref.namespace}/${ref.app}/${ref.name}`);
      content = draft.content;
      expected ??= draft.baseRevision;
      draftModRevision = draftKv!.modRevision;
    }
    if (typeof content !== 'string')
      throw new ConfigError('bad-request', 'content (or fromDraft) is required');
    return this.writeRelease(ref, content, {
      author: opts.author ?? '',
      comment: opts.comment ?? '',
      kind: 'publish',
      sourceVersion: 0,
      expectedRevision: expected,
      draftModRevision,
    });
  }

  async rollback(
    ref: ItemRef,
    opts: { version: number; author?: string; comment?: string; expectedRevision?: number },
  ): Promise<ConfigReleaseView> {
    const target = await this.getRelease(ref, opts.version);
    if (target.kind === 'gray') {
      throw new ConfigError(
        'bad-request',
        `release ${opts.version} is a gray release; roll back to a main release`,
      );
    }
    return this.writeRelease(ref, target.content, {
      author: opts.author ?? '',
      comment: opts.comment || `rollback to version ${opts.version}`,
      kind: 'rollback',
      sourceVersion: opts.version,
      expectedRevision: opts.expectedRevision,
    });
  }

  /**
   * One txn guarded by the item record's and the live key's mod_revision: live content, item record
   * (live version), release record, and the actor marker for the audit archive.
   */
  private async writeRelease(
    ref: ItemRef,
    content: string,
    opts: {
      author: string;
      comment: string;
      kind: ReleaseKind;
      sourceVersion: number;
      expectedRevision?: number;
      draftModRevision?: number;
      /** promote: the gray record must still be this one; it is deleted in the same txn. */
      grayModRevision?: number;
      skipValidation?: boolean;
    },
  ): Promise<ConfigReleaseView> {
    const { namespace: ns, app, name } = ref;
    const iKey = itemKey(ns, app, name);
    const lKey = liveKey(ns, app, name);
    for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
      const [itemKv, liveKv] = await Promise.all([this.kv.get(iKey), this.kv.get(lKey)]);
      const item = parseJson<ItemRecord>(itemKv);
      if (!item) throw new ConfigError('not-found', `config item ${ns}/${app}/${name} not found`);
      if (!opts.skipValidation) {
        const issues = validateContent(item.format, content, item.schema);
        if (issues.length > 0) {
          const first = issues[0];
          const where = first.line > 0 ? ` (line ${first.line}, column ${first.column})` : '';
          throw new ConfigError('invalid', `invalid ${item.format}: ${first.message}${where}`, issues);
        }
      }
      const liveRevision = liveKv?.modRevision ?? 0;
      if (opts.expectedRevision !== undefined && opts.expectedRevision !== liveRevision) {
        throw await this.conflict(ref, item, opts.expectedRevision, liveRevision);
      }
      const version = item.latestRelease + 1;
      const time = this.time();
      const release: ReleaseRecord = {
        version,
        format: item.format,
        content,
        author: opts.author,
        comment: opts.comment,
        time,
        kind: opts.kind,
        sourceVersion: opts.sourceVersion,
      };
      const next: ItemRecord = { ...item, version, latestRelease: version, updatedAt: time };
      const compare: Cmp[] = [
        { key: iKey, modRevision: itemKv!.modRevision },
        { key: lKey, modRevision: liveRevision },
      ];
      const ops: Op[] = [
        { put: lKey, value: content },
        { put: iKey, value: JSON.stringify(next) },
        { put: releaseKey(ns, app, name, version), value: JSON.stringify(release) },
        ...this.actorOps(opts.author),
      ];
      if (opts.draftModRevision !== undefined) {
        compare.push({ key: draftKey(ns, app, name), modRevision: opts.draftModRevision });
        ops.push({ del: draftKey(ns, app, name) });
      }
      if (opts.grayModRevision !== undefined) {
        compare.push({ key: grayKey(ns, app, name), modRevision: opts.grayModRevision });
        ops.push({ del: grayKey(ns, app, name) });
      }
      const res = await this.kv.txn(compare, ops);
      if (res.succeeded) {
        this.logger.info(
          { ns, app, name, version, revision: res.revision, kind: opts.kind, author: opts.author },
          'config release published',
        );
        return { ...release, namespace: ns, app, name, revision: res.revision };
      }
      if (opts.grayModRevision !== undefined) {
        throw new ConfigError('conflict', 'the gray release changed while promoting it; reload and retry');
      }
      if (opts.draftModRevision !== undefined) {
        throw new ConfigError('conflict', 'the draft changed while publishing it; reload and retry');
      }
      // Lost a race: with an expected revision that is a conflict (checked on the next pass), else retry.
    }
    throw new ConfigError('conflict', 'the item kept changing; try again');
  }

  private async conflict(
    ref: ItemRef,
    item: ItemRecord,
    expectedRevision: number,
    currentRevision: number,
  ): Promise<ConfigError> {
    const releases = await this.listReleases(ref);
    const base =
      expectedRevision === 0
        ? null
        : (releases.find((r) => r.revision === expectedRevision && r.kind !== 'gray') ?? null);
    const current = releases.find((r) => r.version === item.version) ?? null;
    return new ConfigError(
      'conflict',
      `${ref.namespace}/${ref.app}/${ref.name} changed since revision ${expectedRevision}: ` +
        `live is version ${item.version} at revision ${currentRevision}`,
      [],
      { expectedRevision, currentRevision, base, current },
    );
  }

  /** Releases, newest first. */
  async listReleases(ref: ItemRef, limit = 0): Promise<ConfigReleaseView[]> {
    checkRef(ref);
    const res = await this.kv.prefix(releasePrefix(ref.namespace, ref.app, ref.name));
    const out = res.kvs
      .map((kv) => ({
        ...(JSON.parse(kv.value.toString('utf8')) as ReleaseRecord),
        namespace: ref.namespace,
        app: ref.app,
        name: ref.name,
        revision: kv.modRevision,
      }))
      .reverse();
    return limit > 0 ? out.slice(0, limit) : out;
  }

  async getRelease(ref: ItemRef, version: number): Promise<ConfigReleaseView> {
    checkRef(ref);
    if (!Number.isInteger(version) || version <= 0) {
      throw new ConfigError('bad-request', 'version must be a positive integer');
    }
    const kv = await this.kv.get(releaseKey(ref.namespace, ref.app, ref.name, version));
    if (!kv) {
      throw new ConfigError(
        'not-found',
        `release ${version} of ${ref.namespace}/${ref.app}/${ref.name} not found`,
      );
    }
    return {
      ...(JSON.parse(kv.value.toString('utf8')) as ReleaseRecord),
      namespace: ref.namespace,
      app: ref.app,
      name: ref.name,
      revision: kv.modRevision,
    };
  }

  /** Unified diff between two releases (to = 0: the live content; from = 0: empty). */
  async diff(ref: ItemRef, from: number, to: number): Promise<string> {
    const before = from > 0 ? (await this.getRelease(ref, from)).content : '';
    let after: string;
    let toLabel: string;
    if (to > 0) {
      after = (await this.getRelease(ref, to)).content;
      toLabel = `${ref.name}@v${to}`;
    } else {
      const item = await this.getItem(ref);
      after = item.content;
      toLabel = `${ref.name}@live(v${item.version})`;
    }
    return unifiedDiff(before, after, from > 0 ? `${ref.name}@v${from}` : '/dev/null', toLabel);
  }

  /** Who changed the item's keys when, from the audit archive (survives compaction). */
  async history(ref: ItemRef, limit = 100): Promise<AuditEntryView[]> {
    checkRef(ref);
    const audit = this.options.audit;
    if (!audit) throw new ConfigError('unavailable', 'the audit archive is not enabled on this server');
    const keys = [
      liveKey(ref.namespace, ref.app, ref.name),
      grayKey(ref.namespace, ref.app, ref.name),
      draftKey(ref.namespace, ref.app, ref.name),
      itemKey(ref.namespace, ref.app, ref.name),
    ];
    const all = (await Promise.all(keys.map((k) => audit.history(k, { limit, order: 'desc' })))).flat();
    return all
      .sort((a, b) => b.revision - a.revision)
      .slice(0, limit)
      .map((r) => ({
        revision: r.revision,
        key: r.key.toString('utf8'),
        operation: r.operation,
        actor: r.actor ?? '',
        time: new Date(r.observedAtMs).toISOString(),
        value: r.value ? r.value.toString('utf8') : null,
      }));
  }

  // ---- gray release --------------------------------------------------------------------------------------

  async startGray(
    ref: ItemRef,
    input: { content: string; rule: GrayRule; author?: string; comment?: string },
  ): Promise<GrayRecord> {
    checkRef(ref);
    const rule = checkRule(input.rule);
    const { namespace: ns, app, name } = ref;
    const iKey = itemKey(ns, app, name);
    for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
      const itemKv = await this.kv.get(iKey);
      const item = parseJson<ItemRecord>(itemKv);
      if (!item) throw new ConfigError('not-found', `config item ${ns}/${app}/${name} not found`);
      if (item.version === 0) throw new ConfigError('bad-request', 'publish the item before a gray release');
      const issues = validateContent(item.format, input.content, item.schema);
      if (issues.length > 0) {
        const first = issues[0];
        const where = first.line > 0 ? ` (line ${first.line}, column ${first.column})` : '';
        throw new ConfigError('invalid', `invalid ${item.format}: ${first.message}${where}`, issues);
      }
      const version = item.latestRelease + 1;
      const time = this.time();
      const gray: GrayRecord = {
        version,
        content: input.content,
        rule,
        author: input.author ?? '',
        comment: input.comment ?? '',
        time,
        baseVersion: item.version,
      };
      const release: ReleaseRecord = {
        version,
        format: item.format,
        content: input.content,
        author: gray.author,
        comment: gray.comment,
        time,
        kind: 'gray',
        sourceVersion: 0,
        rule,
      };
      const res = await this.kv.txn(
        [{ key: iKey, modRevision: itemKv!.modRevision }],
        [
          { put: grayKey(ns, app, name), value: JSON.stringify(gray) },
          { put: iKey, value: JSON.stringify({ ...item, latestRelease: version, updatedAt: time }) },
          { put: releaseKey(ns, app, name, version), value: JSON.stringify(release) },
          ...this.actorOps(gray.author),
        ],
      );
      if (res.succeeded) return gray;
    }
    throw new ConfigError('conflict', 'the item kept changing; try again');
  }

  async getGray(ref: ItemRef): Promise<GrayRecord> {
    checkRef(ref);
    const gray = parseJson<GrayRecord>(await this.kv.get(grayKey(ref.namespace, ref.app, ref.name)));
    if (!gray)
      throw new ConfigError('not-found', `no gray release for ${ref.namespace}/${ref.app}/${ref.name}`);
    return gray;
  }

  /** The gray content becomes the main release (a new release of kind promote) for everyone. */
  async promoteGray(ref: ItemRef, opts: { author?: string; comment?: string }): Promise<ConfigReleaseView> {
    checkRef(ref);
    const grayKv = await this.kv.get(grayKey(ref.namespace, ref.app, ref.name));
    const gray = parseJson<GrayRecord>(grayKv);
    if (!gray)
      throw new ConfigError('not-found', `no gray release for ${ref.namespace}/${ref.app}/${ref.name}`);
    return this.writeRelease(ref, gray.content, {
      author: opts.author ?? '',
      comment: opts.comment || `promote gray version ${gray.version}`,
      kind: 'promote',
      sourceVersion: gray.version,
      grayModRevision: grayKv!.modRevision,
    });
  }

  /** Gray subscribers go back to the main release; the gray release record stays in history. */
  async abandonGray(ref: ItemRef, opts: { author?: string } = {}): Promise<boolean> {
    checkRef(ref);
    const key = grayKey(ref.namespace, ref.app, ref.name);
    const kv = await this.kv.get(key);
    if (!kv) return false;
    const res = await this.kv.txn(
      [{ key, modRevision: kv.modRevision }],
      [{ del: key }, ...this.actorOps(opts.author ?? '')],
    );
    return res.succeeded;
  }

  // ---- listeners -----------------------------------------------------------------------------------------

  /** A subscriber reports what it applied (its labels and the release number per item). */
  async report(input: {
    subscriberId: string;
    namespace: string;
    app: string;
    labels?: Record<string, string>;
    versions?: Record<string, number>;
    host?: string;
  }): Promise<void> {
    checkName('namespace', input.namespace);
    checkName('app', input.app);
    if (!isValidSubscriberId(input.subscriberId)) {
      throw new ConfigError('bad-request', `invalid subscriber ID "${input.subscriberId}"`);
    }
    const key = listenerKey(input.namespace, input.app, input.subscriberId);
    const existing = parseJson<ListenerRecord>(await this.kv.get(key));
    const time = this.time();
    const versions: Record<string, number> = {};
    for (const [name, v] of Object.entries(input.versions ?? {})) versions[name] = Number(v);
    const rec: ListenerRecord = {
      subscriberId: input.subscriberId,
      namespace: input.namespace,
      app: input.app,
      labels: input.labels ?? existing?.labels ?? {},
      versions,
      host: input.host ?? existing?.host ?? '',
      connectedAt: existing?.connectedAt ?? time,
      reportedAt: time,
      member: this.memberName,
    };
    // A subscriber with an open stream here lives as long as the stream (member lease); one that only
    // polls gets a lease of its own that lapses if it stops reporting.
    const streamKey = `${input.namespace}/${input.app}/${input.subscriberId}`;
    const streaming = this.streaming.has(streamKey);
    const lease = streaming ? await this.leases.memberLease() : await this.leases.pollerLease();
    await this.kv.put(key, JSON.stringify(rec), lease);
    if (streaming && this.streaming.has(streamKey)) {
      this.streamingRecords.set(streamKey, { key, record: rec });
    }
  }

  /** The member lease lapsed (e.g. a long partition): its listener records went with it; put them back. */
  private async restoreListeners(): Promise<void> {
    if (this.closed || this.streamingRecords.size === 0) return;
    const lease = await this.leases.memberLease();
    for (const { key, record } of this.streamingRecords.values()) {
      await this.kv.put(key, JSON.stringify(record), lease);
    }
  }

  async listListeners(ns: string, app: string, name = ''): Promise<ListenerView[]> {
    checkName('namespace', ns);
    checkName('app', app);
    if (name) checkName('item name', name);
    const res = await this.kv.prefix(listenerAppPrefix(ns, app));
    const records = res.kvs.map((kv) => JSON.parse(kv.value.toString('utf8')) as ListenerRecord);
    let item: ItemRecord | undefined;
    let gray: GrayRecord | undefined;
    if (name) {
      [item, gray] = await Promise.all([
        this.kv.get(itemKey(ns, app, name)).then((kv) => parseJson<ItemRecord>(kv)),
        this.kv.get(grayKey(ns, app, name)).then((kv) => parseJson<GrayRecord>(kv)),
      ]);
    }
    return records.map((rec) => {
      const isGray = !!gray && grayApplies(gray.rule, rec.labels, rec.subscriberId);
      return {
        ...rec,
        appliedVersion: name ? (rec.versions[name] ?? 0) : 0,
        expectedVersion: name ? (isGray ? gray!.version : (item?.version ?? 0)) : 0,
        gray: isGray,
      };
    });
  }

  private async removeListener(ns: string, app: string, subscriberId: string): Promise<void> {
    const key = listenerKey(ns, app, subscriberId);
    const kv = await this.kv.get(key);
    const rec = parseJson<ListenerRecord>(kv);
    if (!rec || rec.member !== this.memberName) return; // it reconnected elsewhere: not ours to remove
    await this.kv.txn([{ key, modRevision: kv!.modRevision }], [{ del: key }]);
  }

  // ---- import / export -------------------------------------------------------------------------------------

  async exportBundle(ns: string, app = ''): Promise<ConfigBundle> {
    checkName('namespace', ns);
    const apps = (await this.listApps(ns)).filter((a) => !app || a.name === app);
    if (app && apps.length === 0) throw new ConfigError('not-found', `app ${ns}/${app} not found`);
    const bundle: ConfigBundle = {
      kind: 'cairn.config.bundle',
      version: 1,
      exportedAt: this.time(),
      namespace: ns,
      apps: [],
    };
    for (const a of apps) {
      const items = await this.listItems(ns, a.name);
      bundle.apps.push({
        name: a.name,
        description: a.description,
        items: items.map((i) => ({
          name: i.name,
          format: i.format,
          description: i.description,
          schema: i.schema,
          content: i.content,
          version: i.version,
        })),
      });
    }
    return bundle;
  }

  /**
   * Import a bundle: items are created as needed; content different from the live one is published as a
   * release of kind import (publish: true) or saved as a draft (publish: false). Never deletes.
   */
  async importBundle(
    bundle: ConfigBundle,
    opts: { author?: string; publish?: boolean },
  ): Promise<ImportResult> {
    if (!bundle || bundle.kind !== 'cairn.config.bundle' || !Array.isArray(bundle.apps)) {
      throw new ConfigError('bad-request', 'not a cairn.config.bundle');
    }
    checkName('namespace', bundle.namespace);
    // Validate everything first: a bundle imports whole or not at all (up to KV failures mid-way).
    for (const app of bundle.apps) {
      checkName('app', app.name);
      for (const item of app.items) {
        checkName('item name', item.name);
        if (!isConfigFormat(item.format))
          throw new ConfigError('bad-request', `${app.name}/${item.name}: bad format`);
        if (opts.publish && item.content !== '') {
          const issues = validateContent(item.format, item.content, item.schema);
          if (issues.length > 0) {
            throw new ConfigError('invalid', `${app.name}/${item.name}: ${issues[0].message}`, issues);
          }
        }
      }
    }
    const result: ImportResult = { items: 0, published: 0, drafts: 0, unchanged: 0 };
    await this.putNamespace(bundle.namespace, '').catch(() => undefined);
    for (const app of bundle.apps) {
      await this.putApp(bundle.namespace, app.name, app.description ?? '');
      for (const item of app.items) {
        const ref = { namespace: bundle.namespace, app: app.name, name: item.name };
        const view = await this.putItem(ref, {
          format: item.format,
          description: item.description ?? '',
          schema: item.schema ?? '',
        });
        result.items++;
        if (view.version > 0 && view.content === item.content) {
          result.unchanged++;
          continue;
        }
        if (opts.publish) {
          await this.writeRelease(ref, item.content, {
            author: opts.author ?? '',
            comment: 'import',
            kind: 'import',
            sourceVersion: 0,
          });
          result.published++;
        } else {
          await this.saveDraft(ref, { content: item.content, author: opts.author ?? '' });
          result.drafts++;
        }
      }
    }
    return result;
  }

  // ---- subscriptions ----------------------------------------------------------------------------------------

  /**
   * Stream an app's config as it applies to `params.labels`: a snapshot (or, when resuming from a revision
   * MVCC still has, only what changed since), then a change event per revision that changes it.
   */
  async subscribe(
    params: SubscribeParams & { host?: string; trackListener?: boolean },
    send: (event: ConfigWatchEvent) => void,
    onEnd: (err?: Error) => void = () => undefined,
  ): Promise<{ close(): void; lastRevision(): number }> {
    if (this.closed) throw new ConfigError('unavailable', 'the config center is shutting down');
    checkName('namespace', params.namespace);
    checkName('app', params.app);
    if (params.subscriberId && !isValidSubscriberId(params.subscriberId)) {
      throw new ConfigError('bad-request', `invalid subscriber ID "${params.subscriberId}"`);
    }
    const sub = new ConfigSubscription(this.kv, params, send, (err) => {
      finish();
      onEnd(err);
    });
    this.subscriptions.add(sub);
    const id = params.trackListener && params.subscriberId ? params.subscriberId : undefined;
    const streamKey = `${params.namespace}/${params.app}/${id}`;
    if (id) this.streaming.set(streamKey, (this.streaming.get(streamKey) ?? 0) + 1);
    let finished = false;
    const finish = (): void => {
      if (finished) return;
      finished = true;
      this.subscriptions.delete(sub);
      sub.close();
      if (!id) return;
      const left = (this.streaming.get(streamKey) ?? 1) - 1;
      if (left > 0) {
        this.streaming.set(streamKey, left);
        return;
      }
      this.streaming.delete(streamKey);
      this.streamingRecords.delete(streamKey);
      if (!this.closed) {
        this.removeListener(params.namespace, params.app, id).catch((err: unknown) =>
          this.logger.debug({ err, subscriberId: id }, 'config listener removal failed'),
        );
      }
    };
    try {
      await sub.start();
    } catch (err) {
      finish();
      throw err;
    }
    return { close: finish, lastRevision: () => sub.lastRevision };
  }

  /** Long-poll: events after `revision` (a snapshot when 0), waiting up to `timeoutMs` for the first. */
  async poll(
    params: SubscribeParams,
    timeoutMs: number,
  ): Promise<{ revision: number; events: ConfigWatchEvent[] }> {
    const events: ConfigWatchEvent[] = [];
    let wake: () => void = () => undefined;
    const woken = new Promise<void>((resolve) => (wake = resolve));
    const handle = await this.subscribe(
      { ...params, trackListener: false },
      (event) => {
        if (event.kind === 'resumed') return;
        events.push(event);
        // Let the rest of this revision batch arrive before answering.
        setImmediate(wake);
      },
      () => wake(),
    );
    const timer = setTimeout(wake, Math.max(0, timeoutMs));
    try {
      await woken;
    } finally {
      clearTimeout(timer);
      handle.close();
    }
    const last = events.length > 0 ? events[events.length - 1].revision : 0;
    return { revision: Math.max(last, handle.lastRevision(), params.revision ?? 0), events };
  }

  private actorOps(author: string): Op[] {
    const actor = author.trim();
    return actor ? [{ put: AUDIT_ACTOR_KEY, value: actor }] : [];
  }

  /** Item content parsed for subscribers (json/yaml/properties/text), memoized by content. */
  static parse(format: ConfigFormat, content: string): unknown {
    return parseContentSafe(format, content);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const sub of [...this.subscriptions]) sub.close();
    this.subscriptions.clear();
    await this.leases.close();
  }
}

export function contentHash(content: string): string {
  return createHash('sha256').update(content).digest('hex').slice(0, 16);
}
