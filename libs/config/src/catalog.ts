// What an operator edits before anything is released: namespaces, apps, item records (format, schema,
// description, secret) and drafts, plus validating content against an item. Releases: release-workflow.ts.
// Every read and write runs under the caller's context: an app's operations touch only keys under
// `/cairn/config/<ns>/<app>/`, namespace-wide listings read `/cairn/config/<ns>/` (docs/security.md).
import type { CallContext } from '@cairn/server';
import { actorOf, authorNote } from './actor';
import { MAX_ATTEMPTS, type ItemRef, checkName, checkRef, itemNotFound } from './checks';
import { ConfigError } from './errors';
import { isConfigFormat, schemaProblems, validateContent } from './formats';
import {
  CONFIG_ROOT,
  appKey,
  appPrefix,
  draftKey,
  grayKey,
  itemKey,
  liveKey,
  nsKey,
  nsPrefix,
  releaseContentPrefix,
  releasePrefix,
} from './keys';
import { SECRET_MASK, isEnvelope } from './secrets/secret-box';
import { type ConfigStore, deleteOp, modRevisionIs, parseRecord, putOp } from './store';
import type {
  AppRecord,
  AppView,
  ConfigFormat,
  ConfigItemView,
  DraftRecord,
  GrayRecord,
  ItemRecord,
  NamespaceRecord,
  NamespaceView,
  ValidationIssue,
} from './types';

export class ConfigCatalog {
  constructor(
    private readonly store: ConfigStore,
    private readonly now: () => Date,
  ) {}

  private time(): string {
    return this.now().toISOString();
  }

  // ---- namespaces and apps --------------------------------------------------------------------------

  async listNamespaces(ctx: CallContext): Promise<NamespaceView[]> {
    const res = await this.store.prefix(ctx, CONFIG_ROOT, { keysOnly: true });
    const names = new Map<string, Set<string>>();
    for (const kv of res.kvs) {
      const [ns, app, sub] = kv.key.toString('utf8').slice(CONFIG_ROOT.length).split('/');
      // A subscriber's record alone (reported before the app was created) makes no namespace or app.
      if (sub === SUBSCRIBERS) continue;
      let apps = names.get(ns);
      if (!apps) names.set(ns, (apps = new Set()));
      if (app && !app.startsWith('~')) apps.add(app);
    }
    const out: NamespaceView[] = [];
    for (const [name, apps] of [...names].sort(([a], [b]) => a.localeCompare(b))) {
      const rec = parseRecord<NamespaceRecord>(await this.store.get(ctx, nsKey(name)));
      out.push({ name, description: rec?.description ?? '', apps: [...apps].sort() });
    }
    return out;
  }

  async putNamespace(ctx: CallContext, ns: string, description = ''): Promise<NamespaceView> {
    checkName('namespace', ns);
    const existing = parseRecord<NamespaceRecord>(await this.store.get(ctx, nsKey(ns)));
    const rec: NamespaceRecord = { description, createdAt: existing?.createdAt ?? this.time() };
    await this.store.put(ctx, nsKey(ns), JSON.stringify(rec));
    return { name: ns, description, apps: (await this.listApps(ctx, ns)).map((a) => a.name) };
  }

  async listApps(ctx: CallContext, ns: string): Promise<AppView[]> {
    checkName('namespace', ns);
    const res = await this.store.prefix(ctx, nsPrefix(ns), { keysOnly: true });
    const apps = new Map<string, Set<string>>();
    for (const kv of res.kvs) {
      const parts = kv.key.toString('utf8').slice(nsPrefix(ns).length).split('/');
      const app = parts[0];
      if (app.startsWith('~') || parts[1] === SUBSCRIBERS) continue;
      let items = apps.get(app);
      if (!items) apps.set(app, (items = new Set()));
      if (parts[1] === '~item' && parts[2]) items.add(parts[2]);
    }
    const out: AppView[] = [];
    for (const [name, items] of [...apps].sort(([a], [b]) => a.localeCompare(b))) {
      const rec = parseRecord<AppRecord>(await this.store.get(ctx, appKey(ns, name)));
      out.push({ namespace: ns, name, description: rec?.description ?? '', items: [...items].sort() });
    }
    return out;
  }

  /** One app, read from its own prefix only (not-found when it has no record and no items). */
  async getApp(ctx: CallContext, ns: string, app: string): Promise<AppView> {
    checkName('namespace', ns);
    checkName('app', app);
    const [rec, items] = await Promise.all([
      this.store.get(ctx, appKey(ns, app)),
      this.itemNames(ctx, ns, app),
    ]);
    if (!rec && items.length === 0) throw new ConfigError('not-found', `app ${ns}/${app} not found`);
    const description = parseRecord<AppRecord>(rec)?.description ?? '';
    return { namespace: ns, name: app, description, items };
  }

  private async itemNames(ctx: CallContext, ns: string, app: string): Promise<string[]> {
    const itemsPrefix = `${appPrefix(ns, app)}~item/`;
    const items = await this.store.prefix(ctx, itemsPrefix, { keysOnly: true });
    return items.kvs.map((kv) => kv.key.toString('utf8').slice(itemsPrefix.length)).sort();
  }

  async putApp(ctx: CallContext, ns: string, app: string, description = ''): Promise<AppView> {
    checkName('namespace', ns);
    checkName('app', app);
    const existing = parseRecord<AppRecord>(await this.store.get(ctx, appKey(ns, app)));
    const rec: AppRecord = { description, createdAt: existing?.createdAt ?? this.time() };
    await this.store.put(ctx, appKey(ns, app), JSON.stringify(rec));
    // Its items from the app's own prefix only (a namespace-wide listing would need READ on the namespace).
    return { namespace: ns, name: app, description, items: await this.itemNames(ctx, ns, app) };
  }

  // ---- items ------------------------------------------------------------------------------------------

  async listItems(ctx: CallContext, ns: string, app: string, reveal = false): Promise<ConfigItemView[]> {
    checkName('namespace', ns);
    checkName('app', app);
    const items = await this.store.prefix(ctx, `${appPrefix(ns, app)}~item/`);
    const out: ConfigItemView[] = [];
    for (const kv of items.kvs) {
      const name = kv.key.toString('utf8').slice(`${appPrefix(ns, app)}~item/`.length);
      out.push(await this.getItem(ctx, { namespace: ns, app, name }, reveal));
    }
    return out;
  }

  /**
   * An item with its live content, draft and gray release. A secret item's content is masked unless
   * `reveal`: then it is decrypted, which is only reached after the caller's own reads of those keys
   * succeeded (the port checked its READ permission).
   */
  async getItem(ctx: CallContext, ref: ItemRef, reveal = false): Promise<ConfigItemView> {
    checkRef(ref);
    const { namespace: ns, app, name } = ref;
    const [itemKv, live, draft, gray] = await Promise.all([
      this.store.get(ctx, itemKey(ns, app, name)),
      this.store.get(ctx, liveKey(ns, app, name)),
      this.store.get(ctx, draftKey(ns, app, name)),
      this.store.get(ctx, grayKey(ns, app, name)),
    ]);
    const item = parseRecord<ItemRecord>(itemKv);
    if (!item) throw itemNotFound(ref);
    const secret = item.secret === true;
    const draftRecord = parseRecord<DraftRecord>(draft);
    const grayRecord = parseRecord<GrayRecord>(gray);
    return {
      namespace: ns,
      app,
      name,
      format: item.format,
      description: item.description,
      schema: item.schema,
      version: item.version,
      content: live ? this.present(ref, live.value.toString('utf8'), secret, reveal) : '',
      secret,
      modRevision: live?.modRevision ?? 0,
      latestRelease: item.latestRelease,
      draft: draftRecord
        ? { ...draftRecord, content: this.present(ref, draftRecord.content, secret, reveal) }
        : null,
      gray: grayRecord
        ? { ...grayRecord, content: this.present(ref, grayRecord.content, secret, reveal) }
        : null,
      createdAt: item.createdAt,
      updatedAt: item.updatedAt,
    };
  }

  /**
   * Content as a view shows it: a secret (an item marked secret, or an encrypted value, e.g. a release
   * written before the item was unmarked) is masked, or decrypted when `reveal`.
   */
  present(ref: ItemRef, stored: string, secret: boolean, reveal: boolean): string {
    if (!secret && !isEnvelope(stored)) return stored;
    return reveal ? this.store.secrets.open(ref, stored) : SECRET_MASK;
  }

  /**
   * Create an item or change its format, description, schema or secrecy (content changes go through
   * publish). Marking an item secret needs an encryption key; its next release is stored encrypted.
   */
  async putItem(
    ctx: CallContext,
    ref: ItemRef,
    spec: { format?: string; description?: string; schema?: string; secret?: boolean },
  ): Promise<ConfigItemView> {
    checkRef(ref);
    if (spec.secret === true) this.store.secrets.requireEnabled();
    if (spec.format !== undefined && !isConfigFormat(spec.format)) {
      throw new ConfigError('bad-request', `format must be one of json, yaml, properties, text`);
    }
    if (spec.schema) {
      const problems = schemaProblems(spec.schema);
      if (problems.length > 0) throw new ConfigError('invalid', problems[0].message, problems);
    }
    const key = itemKey(ref.namespace, ref.app, ref.name);
    for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
      const kv = await this.store.get(ctx, key);
      const existing = parseRecord<ItemRecord>(kv);
      const time = this.time();
      const format = (spec.format as ConfigFormat | undefined) ?? existing?.format;
      if (!format) throw new ConfigError('bad-request', 'a new item needs a format');
      const rec: ItemRecord = {
        format,
        description: spec.description ?? existing?.description ?? '',
        schema: spec.schema ?? existing?.schema ?? '',
        version: existing?.version ?? 0,
        latestRelease: existing?.latestRelease ?? 0,
        secret: spec.secret ?? existing?.secret ?? false,
        createdAt: existing?.createdAt ?? time,
        updatedAt: time,
      };
      const res = await this.store.txn(
        ctx,
        [modRevisionIs(key, kv?.modRevision ?? 0)],
        [putOp(key, JSON.stringify(rec))],
      );
      if (res.succeeded) return this.getItem(ctx, ref);
    }
    throw new ConfigError('conflict', 'the item kept changing; try again');
  }

  /** Delete an item with its drafts, gray release and releases (the audit archive keeps its history). */
  async deleteItem(ctx: CallContext, ref: ItemRef): Promise<boolean> {
    checkRef(ref);
    const { namespace: ns, app, name } = ref;
    const exists = await this.store.get(ctx, itemKey(ns, app, name));
    if (!exists) return false;
    await this.store.txn(
      ctx,
      [],
      [
        deleteOp(liveKey(ns, app, name)),
        deleteOp(itemKey(ns, app, name)),
        deleteOp(draftKey(ns, app, name)),
        deleteOp(grayKey(ns, app, name)),
        deleteOp(releasePrefix(ns, app, name), { prefix: true }),
        deleteOp(releaseContentPrefix(ns, app, name), { prefix: true }),
      ],
    );
    return true;
  }

  /** Proves the caller may READ every key of the item (for what is served from outside the KV: history). */
  async checkItemReadable(ctx: CallContext, ref: ItemRef): Promise<void> {
    checkRef(ref);
    const { namespace: ns, app, name } = ref;
    const keys = [
      liveKey(ns, app, name),
      grayKey(ns, app, name),
      draftKey(ns, app, name),
      itemKey(ns, app, name),
    ];
    await Promise.all(keys.map((key) => this.store.checkRead(ctx, Buffer.from(key), Buffer.alloc(0))));
  }

  // ---- drafts -----------------------------------------------------------------------------------------

  async saveDraft(
    ctx: CallContext,
    ref: ItemRef,
    input: { content: string; author?: string; baseRevision?: number },
  ): Promise<DraftRecord> {
    const item = await this.getItem(ctx, ref);
    if (typeof input.content !== 'string') throw new ConfigError('bad-request', 'content must be a string');
    const draft: DraftRecord = {
      content: this.store.secrets.store(ref, item.secret, input.content),
      actor: actorOf(ctx),
      author: authorNote(input.author),
      updatedAt: this.time(),
      baseRevision: input.baseRevision && input.baseRevision > 0 ? input.baseRevision : item.modRevision,
    };
    await this.store.put(ctx, draftKey(ref.namespace, ref.app, ref.name), JSON.stringify(draft));
    return { ...draft, content: this.present(ref, draft.content, item.secret, false) };
  }

  async getDraft(ctx: CallContext, ref: ItemRef, reveal = false): Promise<DraftRecord> {
    checkRef(ref);
    const { namespace: ns, app, name } = ref;
    const [draftKv, itemKv] = await Promise.all([
      this.store.get(ctx, draftKey(ns, app, name)),
      this.store.get(ctx, itemKey(ns, app, name)),
    ]);
    const draft = parseRecord<DraftRecord>(draftKv);
    if (!draft) throw new ConfigError('not-found', `no draft for ${ns}/${app}/${name}`);
    const secret = parseRecord<ItemRecord>(itemKv)?.secret === true;
    return { ...draft, content: this.present(ref, draft.content, secret, reveal) };
  }

  async discardDraft(ctx: CallContext, ref: ItemRef): Promise<boolean> {
    checkRef(ref);
    const key = draftKey(ref.namespace, ref.app, ref.name);
    if (!(await this.store.get(ctx, key))) return false;
    await this.store.delete(ctx, key);
    return true;
  }

  /** Problems of `content` as `format` (default: the item's) under the item's schema (none before it exists). */
  async validate(
    ctx: CallContext,
    ref: ItemRef,
    content: string,
    format?: string,
  ): Promise<ValidationIssue[]> {
    if (format !== undefined && format !== '') {
      if (!isConfigFormat(format)) throw new ConfigError('bad-request', `unknown format "${format}"`);
      let schema = '';
      try {
        schema = (await this.getItem(ctx, ref)).schema;
      } catch {
        // validating before the item exists: no schema
      }
      return validateContent(format, content, schema);
    }
    const item = await this.getItem(ctx, ref);
    return validateContent(item.format, content, item.schema);
  }
}

/** The sub-prefix of an app that holds its subscribers' records (keys.ts listenerAppPrefix). */
const SUBSCRIBERS = '~subscriber';
