// The config center's REST API (/api/config/v1, docs/config.md) as typed calls, each naming the grant a 403
// means is missing (docs/security.md "Config center: each operation and the keys it needs").
import type { Needs, RestClient } from '../rest/client';
import type { SseEvent } from '../rest/sse';
import type { ConfigBundle, ImportTotals } from './bundle';

export interface ItemRef {
  namespace: string;
  app: string;
  name: string;
}

export interface Draft {
  content: string;
  actor?: string;
  author: string;
  updatedAt: string;
  baseRevision: number;
}

export interface GrayRule {
  labels: Record<string, string>;
  percentage: number;
}

export interface Gray {
  version: number;
  content: string;
  rule: GrayRule;
  actor?: string;
  author: string;
  comment: string;
  time: string;
  baseVersion: number;
}

export interface Item {
  namespace: string;
  app: string;
  name: string;
  format: string;
  description: string;
  schema: string;
  version: number;
  content: string;
  secret: boolean;
  modRevision: number;
  latestRelease: number;
  draft: Draft | null;
  gray: Gray | null;
  createdAt: string;
  updatedAt: string;
}

export interface Release {
  namespace: string;
  app: string;
  name: string;
  version: number;
  format: string;
  content: string;
  actor?: string;
  author: string;
  comment: string;
  time: string;
  kind: string;
  sourceVersion: number;
  rule?: GrayRule;
  revision: number;
}

export interface Listener {
  subscriberId: string;
  labels: Record<string, string>;
  versions: Record<string, number>;
  host: string;
  connectedAt: string;
  reportedAt: string;
  member: string;
  user?: string;
  appliedVersion: number;
  expectedVersion: number;
  gray: boolean;
}

export interface AuditEntry {
  revision: number;
  key: string;
  operation: string;
  actor: string;
  time: string;
  value: string | null;
}

export interface ConfigWatchEvent {
  kind: 'snapshot' | 'change' | 'resumed';
  revision: number;
  items: {
    name: string;
    format: string;
    version: number;
    content: string;
    gray: boolean;
    revision: number;
  }[];
  deleted: string[];
}

const BASE = '/api/config/v1';
const seg = encodeURIComponent;

const appPrefix = (ns: string, app: string): string => `/cairn/config/${ns}/${app}/`;
const read = (prefix: string): Needs => ({ perm: 'READ', prefix });
const write = (prefix: string): Needs => ({ perm: 'READWRITE', prefix });

export class ConfigApi {
  constructor(readonly rest: RestClient) {}

  namespaces(): Promise<{ name: string; description: string; apps: string[] }[]> {
    return this.rest.request('GET', `${BASE}/namespaces`, { needs: read('/cairn/config/') });
  }

  putNamespace(ns: string, description?: string): Promise<unknown> {
    return this.rest.request('PUT', `${BASE}/namespaces/${seg(ns)}`, {
      body: description === undefined ? {} : { description },
      needs: write(`/cairn/config/${ns}/`),
    });
  }

  apps(ns: string): Promise<{ namespace: string; name: string; description: string; items: string[] }[]> {
    return this.rest.request('GET', `${BASE}/namespaces/${seg(ns)}/apps`, {
      needs: read(`/cairn/config/${ns}/`),
    });
  }

  putApp(ns: string, app: string, description?: string): Promise<unknown> {
    return this.rest.request('PUT', this.appPath(ns, app), {
      body: description === undefined ? {} : { description },
      needs: write(appPrefix(ns, app)),
    });
  }

  items(ns: string, app: string, reveal = false): Promise<Item[]> {
    return this.rest.request('GET', `${this.appPath(ns, app)}/items`, {
      query: { reveal: reveal || undefined },
      needs: read(appPrefix(ns, app)),
    });
  }

  item(ref: ItemRef, reveal = false): Promise<Item> {
    return this.rest.request('GET', this.itemPath(ref), {
      query: { reveal: reveal || undefined },
      needs: this.r(ref),
    });
  }

  putItem(
    ref: ItemRef,
    body: { format?: string; description?: string; schema?: string; secret?: boolean },
  ): Promise<Item> {
    return this.rest.request('PUT', this.itemPath(ref), { body, needs: this.w(ref) });
  }

  deleteItem(ref: ItemRef): Promise<{ deleted: boolean }> {
    return this.rest.request('DELETE', this.itemPath(ref), { needs: this.w(ref) });
  }

  saveDraft(ref: ItemRef, body: { content: string; author?: string; baseRevision?: number }): Promise<Draft> {
    return this.rest.request('PUT', `${this.itemPath(ref)}/draft`, { body, needs: this.w(ref) });
  }

  publish(
    ref: ItemRef,
    body: {
      content?: string;
      fromDraft?: boolean;
      author?: string;
      comment?: string;
      expectedRevision?: number;
    },
  ): Promise<Release> {
    return this.rest.request('POST', `${this.itemPath(ref)}/publish`, { body, needs: this.w(ref) });
  }

  releases(ref: ItemRef, limit = 0, reveal = false): Promise<Release[]> {
    return this.rest.request('GET', `${this.itemPath(ref)}/releases`, {
      query: { limit: limit || undefined, reveal: reveal || undefined },
      needs: this.r(ref),
    });
  }

  release(ref: ItemRef, version: number, reveal = false): Promise<Release> {
    return this.rest.request('GET', `${this.itemPath(ref)}/releases/${version}`, {
      query: { reveal: reveal || undefined },
      needs: this.r(ref),
    });
  }

  diff(ref: ItemRef, from: number, to?: number): Promise<{ from: number; to: number; unified: string }> {
    return this.rest.request('GET', `${this.itemPath(ref)}/diff`, {
      query: { from, to },
      needs: this.r(ref),
    });
  }

  rollback(
    ref: ItemRef,
    body: { version: number; author?: string; comment?: string; expectedRevision?: number },
  ): Promise<Release> {
    return this.rest.request('POST', `${this.itemPath(ref)}/rollback`, { body, needs: this.w(ref) });
  }

  history(ref: ItemRef, limit?: number): Promise<AuditEntry[]> {
    return this.rest.request('GET', `${this.itemPath(ref)}/history`, {
      query: { limit },
      needs: this.r(ref),
    });
  }

  gray(ref: ItemRef, reveal = false): Promise<Gray> {
    return this.rest.request('GET', `${this.itemPath(ref)}/gray`, {
      query: { reveal: reveal || undefined },
      needs: this.r(ref),
    });
  }

  startGray(
    ref: ItemRef,
    body: { content: string; rule: Partial<GrayRule>; author?: string; comment?: string },
  ): Promise<Gray> {
    return this.rest.request('POST', `${this.itemPath(ref)}/gray`, { body, needs: this.w(ref) });
  }

  promoteGray(ref: ItemRef, body: { author?: string; comment?: string }): Promise<Release> {
    return this.rest.request('POST', `${this.itemPath(ref)}/gray/promote`, { body, needs: this.w(ref) });
  }

  abandonGray(ref: ItemRef): Promise<{ abandoned: boolean }> {
    return this.rest.request('POST', `${this.itemPath(ref)}/gray/abandon`, { body: {}, needs: this.w(ref) });
  }

  listeners(ns: string, app: string, item?: string): Promise<Listener[]> {
    const path = item
      ? `${this.itemPath({ namespace: ns, app, name: item })}/listeners`
      : `${this.appPath(ns, app)}/listeners`;
    return this.rest.request('GET', path, { needs: read(appPrefix(ns, app)) });
  }

  /** The bundle of a namespace (app '') or one app. */
  exportJson(ns: string, app: string): Promise<ConfigBundle> {
    const path = app ? `${this.appPath(ns, app)}/export` : `${BASE}/namespaces/${seg(ns)}/export`;
    return this.rest.request('GET', path, { needs: read(app ? appPrefix(ns, app) : `/cairn/config/${ns}/`) });
  }

  exportZip(ns: string, app: string): Promise<Buffer> {
    const path = app ? `${this.appPath(ns, app)}/export` : `${BASE}/namespaces/${seg(ns)}/export`;
    return this.rest.request('GET', path, {
      query: { format: 'zip' },
      binary: true,
      needs: read(app ? appPrefix(ns, app) : `/cairn/config/${ns}/`),
    });
  }

  import(bundle: ConfigBundle, options: { author?: string; publish?: boolean }): Promise<ImportTotals> {
    const app = bundle.apps.length === 1 ? bundle.apps[0]!.name : '';
    return this.rest.request('POST', `${BASE}/import`, {
      body: { bundle, author: options.author, publish: options.publish ?? false },
      needs: write(app ? appPrefix(bundle.namespace, app) : `/cairn/config/${bundle.namespace}/`),
    });
  }

  /** Follows an app as it applies to `labels` until `signal` aborts. */
  watch(
    ns: string,
    app: string,
    options: { labels?: string; subscriber?: string },
    signal: AbortSignal,
    onEvent: (event: ConfigWatchEvent) => void,
    onRetry?: (message: string) => void,
  ): Promise<void> {
    return this.rest.stream(`${this.appPath(ns, app)}/watch`, {
      query: { labels: options.labels, subscriber: options.subscriber },
      needs: read(appPrefix(ns, app)),
      signal,
      ...(onRetry ? { onRetry } : {}),
      onEvent: (event: SseEvent) => {
        if (event.event === 'error') throw new Error(`watch ended by the member: ${event.data}`);
        if (!['snapshot', 'change', 'resumed'].includes(event.event)) return;
        onEvent(JSON.parse(event.data) as ConfigWatchEvent);
      },
    });
  }

  private appPath(ns: string, app: string): string {
    return `${BASE}/namespaces/${seg(ns)}/apps/${seg(app)}`;
  }

  private itemPath(ref: ItemRef): string {
    return `${this.appPath(ref.namespace, ref.app)}/items/${seg(ref.name)}`;
  }

  private r(ref: ItemRef): Needs {
    return read(appPrefix(ref.namespace, ref.app));
  }

  private w(ref: ItemRef): Needs {
    return write(appPrefix(ref.namespace, ref.app));
  }
}
