// The config center's facade: one object REST, gRPC and the SDK's watch call, composed of one part per
// lifecycle (each over the member's EtcdPort, through store.ts):
//   catalog.ts            namespaces, apps, item records, drafts, validation
//   release-workflow.ts   publish, rollback, gray release; releases and diffs
//   listener-tracking.ts  listener records and their leases
//   subscribers.ts        subscriptions and long-polls on this member
//   bundles.ts            import/export
//   audit-history.ts      item history from the audit archive
// Every method takes the caller's CallContext last (identity, deadline, cancellation); without one it
// runs as the member's own duty. Authors and actors recorded in releases come from the arguments.
import { type CallContext, type EtcdPort, type Logger, internalContext } from '@cairn/server';
import { type ConfigAuditSource, itemHistory } from './audit-history';
import { ConfigBundles } from './bundles';
import { ConfigCatalog } from './catalog';
import type { ItemRef } from './checks';
import { type ListenerReport, ListenerTracking } from './listener-tracking';
import { type PublishOptions, ReleaseWorkflow } from './release-workflow';
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
    this.store = new ConfigStore(options.port, options.maxRequestBytes);
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

  // ---- catalog ------------------------------------------------------------------------------------------

  listNamespaces(ctx: CallContext = internalContext()): Promise<NamespaceView[]> {
    return this.catalog.listNamespaces(ctx);
  }

  putNamespace(ns: string, description = '', ctx: CallContext = internalContext()): Promise<NamespaceView> {
    return this.catalog.putNamespace(ctx, ns, description);
  }

  listApps(ns: string, ctx: CallContext = internalContext()): Promise<AppView[]> {
    return this.catalog.listApps(ctx, ns);
  }

  putApp(ns: string, app: string, description = '', ctx: CallContext = internalContext()): Promise<AppView> {
    return this.catalog.putApp(ctx, ns, app, description);
  }

  listItems(ns: string, app: string, ctx: CallContext = internalContext()): Promise<ConfigItemView[]> {
    return this.catalog.listItems(ctx, ns, app);
  }

  getItem(ref: ItemRef, ctx: CallContext = internalContext()): Promise<ConfigItemView> {
    return this.catalog.getItem(ctx, ref);
  }

  /** Create an item or change its format, description or schema (content changes go through publish). */
  putItem(
    ref: ItemRef,
    spec: { format?: string; description?: string; schema?: string },
    ctx: CallContext = internalContext(),
  ): Promise<ConfigItemView> {
    return this.catalog.putItem(ctx, ref, spec);
  }

  /** Delete an item with its drafts, gray release and releases (the audit archive keeps its history). */
  deleteItem(ref: ItemRef, author = '', ctx: CallContext = internalContext()): Promise<boolean> {
    return this.catalog.deleteItem(ctx, ref, author);
  }

  saveDraft(
    ref: ItemRef,
    input: { content: string; author?: string; baseRevision?: number },
    ctx: CallContext = internalContext(),
  ): Promise<DraftRecord> {
    return this.catalog.saveDraft(ctx, ref, input);
  }

  getDraft(ref: ItemRef, ctx: CallContext = internalContext()): Promise<DraftRecord> {
    return this.catalog.getDraft(ctx, ref);
  }

  discardDraft(ref: ItemRef, ctx: CallContext = internalContext()): Promise<boolean> {
    return this.catalog.discardDraft(ctx, ref);
  }

  validate(
    ref: ItemRef,
    content: string,
    format?: string,
    ctx: CallContext = internalContext(),
  ): Promise<ValidationIssue[]> {
    return this.catalog.validate(ctx, ref, content, format);
  }

  // ---- release workflow -----------------------------------------------------------------------------------

  publish(
    ref: ItemRef,
    opts: PublishOptions,
    ctx: CallContext = internalContext(),
  ): Promise<ConfigReleaseView> {
    return this.releases.publish(ctx, ref, opts);
  }

  rollback(
    ref: ItemRef,
    opts: { version: number; author?: string; comment?: string; expectedRevision?: number },
    ctx: CallContext = internalContext(),
  ): Promise<ConfigReleaseView> {
    return this.releases.rollback(ctx, ref, opts);
  }

  /** Releases, newest first. */
  listReleases(ref: ItemRef, limit = 0, ctx: CallContext = internalContext()): Promise<ConfigReleaseView[]> {
    return this.releases.listReleases(ctx, ref, limit);
  }

  getRelease(
    ref: ItemRef,
    version: number,
    ctx: CallContext = internalContext(),
  ): Promise<ConfigReleaseView> {
    return this.releases.getRelease(ctx, ref, version);
  }

  /** Unified diff between two releases (to = 0: the live content; from = 0: empty). */
  diff(ref: ItemRef, from: number, to: number, ctx: CallContext = internalContext()): Promise<string> {
    return this.releases.diff(ctx, ref, from, to);
  }

  /** Who changed the item's keys when, from the audit archive (survives compaction). */
  history(ref: ItemRef, limit = 100): Promise<AuditEntryView[]> {
    return itemHistory(this.options.audit, ref, limit);
  }

  startGray(
    ref: ItemRef,
    input: { content: string; rule: GrayRule; author?: string; comment?: string },
    ctx: CallContext = internalContext(),
  ): Promise<GrayRecord> {
    return this.releases.startGray(ctx, ref, input);
  }

  getGray(ref: ItemRef, ctx: CallContext = internalContext()): Promise<GrayRecord> {
    return this.releases.getGray(ctx, ref);
  }

  /** The gray content becomes the main release (a new release of kind promote) for everyone. */
  promoteGray(
    ref: ItemRef,
    opts: { author?: string; comment?: string },
    ctx: CallContext = internalContext(),
  ): Promise<ConfigReleaseView> {
    return this.releases.promoteGray(ctx, ref, opts);
  }

  /** Gray subscribers go back to the main release; the gray release record stays in history. */
  abandonGray(
    ref: ItemRef,
    opts: { author?: string } = {},
    ctx: CallContext = internalContext(),
  ): Promise<boolean> {
    return this.releases.abandonGray(ctx, ref, opts);
  }

  // ---- listeners and subscriptions ---------------------------------------------------------------------------

  /** A subscriber reports what it applied (its labels and the release number per item). */
  report(input: ListenerReport, ctx: CallContext = internalContext()): Promise<void> {
    return this.listeners.report(ctx, input);
  }

  listListeners(
    ns: string,
    app: string,
    name = '',
    ctx: CallContext = internalContext(),
  ): Promise<ListenerView[]> {
    return this.listeners.listListeners(ctx, ns, app, name);
  }

  /**
   * Stream an app's config as it applies to `params.labels`: a snapshot (or, when resuming from a revision
   * MVCC still has, only what changed since), then a change event per revision that changes it.
   */
  subscribe(
    params: SubscribeParams & { host?: string; trackListener?: boolean },
    send: (event: ConfigWatchEvent) => void,
    onEnd: (err?: Error) => void = () => undefined,
    ctx: CallContext = internalContext(),
  ): Promise<SubscriptionHandle> {
    return this.subscribers.subscribe(ctx, params, send, onEnd);
  }

  /** Long-poll: events after `revision` (a snapshot when 0), waiting up to `timeoutMs` for the first. */
  poll(
    params: SubscribeParams,
    timeoutMs: number,
    ctx: CallContext = internalContext(),
  ): Promise<{ revision: number; events: ConfigWatchEvent[] }> {
    return this.subscribers.poll(ctx, params, timeoutMs);
  }

  // ---- bundles ------------------------------------------------------------------------------------------------

  exportBundle(ns: string, app = '', ctx: CallContext = internalContext()): Promise<ConfigBundle> {
    return this.bundles.exportBundle(ctx, ns, app);
  }

  /**
   * Import a bundle: items are created as needed; content different from the live one is published as a
   * release of kind import (publish: true) or saved as a draft (publish: false). Never deletes.
   */
  importBundle(
    bundle: ConfigBundle,
    opts: { author?: string; publish?: boolean },
    ctx: CallContext = internalContext(),
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
