// The config SDK's entry point: `new ConfigClient(endpoints).subscribe(ns, app, {labels})`, plus thin
// calls of the cairn.config.v1.Config service (publish, rollback, gray release, listeners...).
import { type EndpointOptions, EndpointPool, callWithFailover } from '../etcd/endpoints';
import { CONFIG_SERVICE, ConfigSubscription } from './subscription';
import type { ConfigSubscribeOptions } from './types';

export type ConfigClientOptions = EndpointOptions;

export class ConfigClient {
  readonly pool: EndpointPool;
  private readonly ownsPool: boolean;
  private readonly subscriptions = new Set<ConfigSubscription>();

  /** Endpoints (a URL, a list, or EndpointOptions), or an EndpointPool to share with an EtcdClient. */
  constructor(options: ConfigClientOptions | string | readonly string[] | EndpointPool) {
    if (options instanceof EndpointPool) {
      this.pool = options;
      this.ownsPool = false;
    } else {
      const opts: EndpointOptions =
        typeof options === 'string' || Array.isArray(options)
          ? { endpoints: options as string | readonly string[] }
          : (options as EndpointOptions);
      this.pool = new EndpointPool(opts);
      this.ownsPool = true;
    }
  }

  /** The etcd auth token later calls and streams carry (a renewed one, or undefined for none). */
  setToken(token: string | undefined): void {
    this.pool.setToken(token);
  }

  /**
   * Subscribe to an app's config as it applies to `options.labels`. Resolves once in sync with the server
   * (or, when the server cannot be reached within startTimeoutMs, with the cached config; it keeps trying).
   */
  async subscribe(
    namespace: string,
    app: string,
    options: ConfigSubscribeOptions = {},
  ): Promise<ConfigSubscription> {
    const sub = new ConfigSubscription(this.pool, namespace, app, options);
    this.subscriptions.add(sub);
    try {
      await sub.start();
    } catch (err) {
      this.subscriptions.delete(sub);
      throw err;
    }
    return sub;
  }

  /** A unary call of cairn.config.v1.Config (request/response in the proto's field names). */
  call<Res = Record<string, unknown>>(method: string, request: object, timeoutMs?: number): Promise<Res> {
    return callWithFailover<object, Res>(this.pool, CONFIG_SERVICE, method, request, timeoutMs);
  }

  putItem(
    namespace: string,
    app: string,
    name: string,
    format: string,
    extra: { description?: string; schema?: string } = {},
  ) {
    return this.call('PutItem', { ref: { namespace, app, name }, format, ...extra });
  }

  /** Publish `content`; with expectedRevision the publish fails (ABORTED) if the live release moved on. */
  publish(
    namespace: string,
    app: string,
    name: string,
    content: string,
    opts: { author?: string; comment?: string; expectedRevision?: number } = {},
  ): Promise<{ version: string; revision: string; [k: string]: unknown }> {
    return this.call('Publish', {
      ref: { namespace, app, name },
      content,
      author: opts.author ?? '',
      comment: opts.comment ?? '',
      expected_revision: opts.expectedRevision ?? 0,
      require_expected: opts.expectedRevision !== undefined,
    });
  }

  rollback(namespace: string, app: string, name: string, version: number, author = '') {
    return this.call('Rollback', { ref: { namespace, app, name }, version, author });
  }

  startGray(
    namespace: string,
    app: string,
    name: string,
    content: string,
    rule: { labels?: Record<string, string>; percentage?: number },
    author = '',
  ) {
    return this.call('StartGray', {
      ref: { namespace, app, name },
      content,
      rule: { labels: rule.labels ?? {}, percentage: rule.percentage ?? 100 },
      author,
    });
  }

  promoteGray(namespace: string, app: string, name: string, author = '') {
    return this.call('PromoteGray', { ref: { namespace, app, name }, author });
  }

  abandonGray(namespace: string, app: string, name: string, author = '') {
    return this.call('AbandonGray', { ref: { namespace, app, name }, author });
  }

  listListeners(namespace: string, app: string, name = '') {
    return this.call<{
      listeners: {
        listener: { subscriber_id: string; labels: Record<string, string>; versions: Record<string, string> };
        applied_version: string;
        expected_version: string;
      }[];
    }>('ListListeners', { namespace, app, name });
  }

  close(): void {
    for (const sub of this.subscriptions) sub.close();
    this.subscriptions.clear();
    if (this.ownsPool) this.pool.close();
  }
}
