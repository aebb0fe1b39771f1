// The config center's facade: one object REST, gRPC and the SDK's watch call, composed of one part per
// lifecycle (each over the member's EtcdPort, through store.ts):
//   catalog.ts            namespaces, apps, item records, drafts, validation
//   release-workflow.ts   publish, rollback, gray release; releases and diffs
//   listener-tracking.ts  listener records and their leases
//   subscribers.ts        subscriptions and long-polls on this member
//   bundles.ts            import/export
//   audit-history.ts      item history from the audit archive
// Every method takes the caller's CallContext first (identity, deadline, cancellation), with no default: a
// client's call runs under the client's identity, so the core checks its permissions on exactly the keys the
// operation touches (docs/security.md). The actor recorded in releases is that identity's user.
import type { CallContext, EtcdPort, Logger } from '@cairn/server';
import { type ConfigAuditSource, itemHistory } from './audit-history';
import { ConfigBundles } from './bundles';
import { ConfigCatalog } from './catalog';
import type { ItemRef } from './checks';
import { type ListenerReport, ListenerTracking } from './listener-tracking';
import { type PublishOptions, ReleaseWorkflow } from './release-workflow';
import { KeyRing } from './secrets/key-ring';
import { SecretBox } from './secrets/secret-box';
import { ConfigStore } from './store';
import { Subscribers, type SubscriptionHandle } from './subscribers';
import type { SubscribeParams } from './subscription';
import type {
  AppView,
  AuditEntryView,
  ConfigBundle,
  ConfigItemView,
  ConfigReleaseView,
  ConfigWatchEvent,
  DraftRecord,
  GrayRecord,
  GrayRule,
  ImportResult,
  ListenerView,
  NamespaceView,
  ValidationIssue,
} from './types';

export interface ConfigCenterOptions {
  /** The member's in-process etcd port: the config center's only way to the core. */
  port: EtcdPort;
  logger: Logger;
  /** The audit archive, when the server runs one: item history past compaction. */
  audit?: ConfigAuditSource;
  /** Clock (tests inject one). */
  now?: () => Date;
  /** TTL of the lease that keeps this member's listener records (seconds). */
  listenerLeaseTtlSeconds?: number;
  /** The member's --max-request-bytes (default etcd's 1.5 MiB): bounds the content one release carries. */
  maxRequestBytes?: number;
  /**
   * --config-encryption-key-file: the keys that encrypt secret items (secrets/key-ring.ts for the format);
   * '' or undefined = no key, and marking an item secret is refused. Read once here (a bad file fails start).
   */
  encryptionKeyFile?: string;
  /** Or the key ring itself (tests). */
  keyRing?: KeyRing;
}

export class ConfigCenter {
  private readonly store: ConfigStore;
  private readonly catalog: ConfigCatalog;
  private readonly releases: ReleaseWorkflow;
  private readonly listeners: ListenerTracking;
  private readonly subscribers: Subscribers;
  private readonly bundles: ConfigBundles;
  private closed = false;

  constructor(private readonly options: ConfigCenterOptions) {
    const now = options.now ?? (() => new Date());
    const ring =
      options.keyRing ?? (options.encryptionKeyFile ? KeyRing.load(options.encryptionKeyFile) : undefined);
    const audit = options.audit;
    this.store = new ConfigStore(
      options.port,
      options.maxRequestBytes,
      new SecretBox(ring),
      audit?.noteActor ? (revision, actor) => audit.noteActor?.(revision, actor) : undefined,
    );
    this.catalog = new ConfigCatalog(this.store, now);
    this.releases = new ReleaseWorkflow(this.store, this.catalog, options.logger, now);
    this.listeners = new ListenerTracking(
      this.store,
      options.logger,
      now,
      options.listenerLeaseTtlSeconds ?? 30,
    );
    this.subscribers = new Subscribers(this.store, this.listeners);
    this.bundles = new ConfigBundles(this.catalog, this.releases, now);
  }

  get memberName(): string {
    return this.store.memberName;
  }

  /** Whether secret items can be stored (a key file was given). */
  get secretsEnabled(): boolean {
    return this.store.secrets.enabled;
  }

  // ---- catalog ------------------------------------------------------------------------------------------

  /** READ on /cairn/config/. */
  listNamespaces(ctx: CallContext): Promise<NamespaceView[]> {
    return this.catalog.listNamespaces(ctx);
  }

  /** WRITE on the namespace record, READ on the namespace (its apps). */
  putNamespace(ctx: CallContext, ns: string, description = ''): Promise<NamespaceView> {
    return this.catalog.putNamespace(ctx, ns, description);
  }

  listApps(ctx: CallContext, ns: string): Promise<AppView[]> {
    return this.catalog.listApps(ctx, ns);
  }

  putApp(ctx: CallContext, ns: string, app: string, description = ''): Promise<AppView> {
    return this.catalog.putApp(ctx, ns, app, description);
  }

  /** Items of an app (a secret's content masked unless `reveal`). */
  listItems(ctx: CallContext, ns: string, app: string, reveal = false): Promise<ConfigItemView[]> {
    return this.catalog.listItems(ctx, ns, app, reveal);
  }

  /** An item (a secret's content masked unless `reveal`: then decrypted, after the caller's own read). */
  getItem(ctx: CallContext, ref: ItemRef, reveal = false): Promise<ConfigItemView> {
    return this.catalog.getItem(ctx, ref, reveal);
  }

  /**
   * Create an item or change its format, description, schema or secrecy (content changes go through
   * publish). `secret: true` without an encryption key is refused (400).
   */
  putItem(
    ctx: CallContext,
    ref: ItemRef,
    spec: { format?: string; description?: string; schema?: string; secret?: boolean },
  ): Promise<ConfigItemView> {
    return this.catalog.putItem(ctx, ref, spec);
  }

  /** Delete an item with its drafts, gray release and releases (the audit archive keeps its history). */
  deleteItem(ctx: CallContext, ref: ItemRef): Promise<boolean> {
    return this.catalog.deleteItem(ctx, ref);
  }

  saveDraft(
    ctx: CallContext,
    ref: ItemRef,
    input: { content: string; author?: string; baseRevision?: number },
  ): Promise<DraftRecord> {
    return this.catalog.saveDraft(ctx, ref, input);
  }

  getDraft(ctx: CallContext, ref: ItemRef, reveal = false): Promise<DraftRecord> {
    return this.catalog.getDraft(ctx, ref, reveal);
  }

  discardDraft(ctx: CallContext, ref: ItemRef): Promise<boolean> {
    return this.catalog.discardDraft(ctx, ref);
  }

  validate(ctx: CallContext, ref: ItemRef, content: string, format?: string): Promise<ValidationIssue[]> {
    return this.catalog.validate(ctx, ref, content, format);
  }

  // ---- release workflow -----------------------------------------------------------------------------------

  publish(ctx: CallContext, ref: ItemRef, opts: PublishOptions): Promise<ConfigReleaseView> {
    return this.releases.publish(ctx, ref, opts);
  }

  rollback(
    ctx: CallContext,
    ref: ItemRef,
    opts: { version: number; author?: string; comment?: string; expectedRevision?: number },
  ): Promise<ConfigReleaseView> {
    return this.releases.rollback(ctx, ref, opts);
  }

  /** Releases, newest first (a secret's content masked unless `reveal`). */
  listReleases(ctx: CallContext, ref: ItemRef, limit = 0, reveal = false): Promise<ConfigReleaseView[]> {
    return this.releases.listReleases(ctx, ref, limit, reveal);
  }

  getRelease(ctx: CallContext, ref: ItemRef, version: number, reveal = false): Promise<ConfigReleaseView> {
    return this.releases.getRelease(ctx, ref, version, reveal);
  }

  /** Unified diff between two releases (to = 0: the live content; from = 0: empty); secrets masked. */
  diff(ctx: CallContext, ref: ItemRef, from: number, to: number): Promise<string> {
    return this.releases.diff(ctx, ref, from, to);
  }

  /**
   * Who changed the item's keys when, from the audit archive (survives compaction). The archive is not the
   * KV, so the caller's READ on the item's keys is proven through the port first; secrets stay masked.
   */
  async history(ctx: CallContext, ref: ItemRef, limit = 100): Promise<AuditEntryView[]> {
    await this.catalog.checkItemReadable(ctx, ref);
    return itemHistory(this.options.audit, ref, limit);
  }

  startGray(
    ctx: CallContext,
    ref: ItemRef,
    input: { content: string; rule: GrayRule; author?: string; comment?: string },
  ): Promise<GrayRecord> {
    return this.releases.startGray(ctx, ref, input);
  }

  getGray(ctx: CallContext, ref: ItemRef, reveal = false): Promise<GrayRecord> {
    return this.releases.getGray(ctx, ref, reveal);
  }

  /** The gray content becomes the main release (a new release of kind promote) for everyone. */
  promoteGray(
    ctx: CallContext,
    ref: ItemRef,
    opts: { author?: string; comment?: string },
  ): Promise<ConfigReleaseView> {
    return this.releases.promoteGray(ctx, ref, opts);
  }

  /** Gray subscribers go back to the main release; the gray release record stays in history. */
  abandonGray(ctx: CallContext, ref: ItemRef): Promise<boolean> {
    return this.releases.abandonGray(ctx, ref);
  }

  // ---- listeners and subscriptions ---------------------------------------------------------------------------

  /** A subscriber reports what it applied (needs READ on the app; the member writes the record). */
  report(ctx: CallContext, input: ListenerReport): Promise<void> {
    return this.listeners.report(ctx, input);
  }

  listListeners(ctx: CallContext, ns: string, app: string, name = ''): Promise<ListenerView[]> {
    return this.listeners.listListeners(ctx, ns, app, name);
  }

  /**
   * Stream an app's config as it applies to `params.labels`: a snapshot (or, when resuming from a revision
   * MVCC still has, only what changed since), then a change event per revision that changes it. Runs under
   * the context of the call that opened it (its reads and its watch: READ on the app); secret items arrive
   * decrypted, since a subscriber is who the config is for.
   */
  subscribe(
    ctx: CallContext,
    params: SubscribeParams & { host?: string; trackListener?: boolean },
    send: (event: ConfigWatchEvent) => void,
    onEnd: (err?: Error) => void = () => undefined,
  ): Promise<SubscriptionHandle> {
    return this.subscribers.subscribe(ctx, params, send, onEnd);
  }

  /** Long-poll: events after `revision` (a snapshot when 0), waiting up to `timeoutMs` for the first. */
  poll(
    ctx: CallContext,
    params: SubscribeParams,
    timeoutMs: number,
  ): Promise<{ revision: number; events: ConfigWatchEvent[] }> {
    return this.subscribers.poll(ctx, params, timeoutMs);
  }

  // ---- bundles ------------------------------------------------------------------------------------------------

  /** A namespace (or one app) as a bundle; secret items' content is masked (exports never carry secrets). */
  exportBundle(ctx: CallContext, ns: string, app = ''): Promise<ConfigBundle> {
    return this.bundles.exportBundle(ctx, ns, app);
  }

  /**
   * Import a bundle: items are created as needed; content different from the live one is published as a
   * release of kind import (publish: true) or saved as a draft (publish: false). Never deletes.
   */
  importBundle(
    ctx: CallContext,
    bundle: ConfigBundle,
    opts: { author?: string; publish?: boolean },
  ): Promise<ImportResult> {
    return this.bundles.importBundle(ctx, bundle, opts);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.subscribers.close();
    await this.listeners.close();
  }
}
