// Client of the config center's REST API (/api/config/v1). Types are the config lib's own (libs/config/src/
// types.ts, a dependency-free file), imported type-only.
import type {
  AppView,
  ConfigBundle,
  ConfigConflictBody,
  ConfigFormat,
  ConfigItemView,
  ConfigReleaseView,
  ConfigValidationErrorBody,
  DraftRecord,
  GrayRecord,
  ImportResult,
  ListenerView,
  NamespaceView,
  ValidationIssue,
} from '../../libs/config/src/types';
import { ApiError, request } from './api';
// What a secret item's content reads as unless revealed (an import-free file of the audit lib).
export { SECRET_MASK } from '../../libs/audit/src/secret-mask';

export type * from '../../libs/config/src/types';

const B = '/api/config/v1';
const e = encodeURIComponent;
const item = (ns: string, app: string, name: string): string =>
  `${B}/namespaces/${e(ns)}/apps/${e(app)}/items/${e(name)}`;

export const configApi = {
  namespaces: () => request<NamespaceView[]>('GET', `${B}/namespaces`),
  putNamespace: (ns: string, description = '') =>
    request<NamespaceView>('PUT', `${B}/namespaces/${e(ns)}`, { description }),
  apps: (ns: string) => request<AppView[]>('GET', `${B}/namespaces/${e(ns)}/apps`),
  putApp: (ns: string, app: string, description = '') =>
    request<AppView>('PUT', `${B}/namespaces/${e(ns)}/apps/${e(app)}`, { description }),
  items: (ns: string, app: string) =>
    request<ConfigItemView[]>('GET', `${B}/namespaces/${e(ns)}/apps/${e(app)}/items`),
  /** `reveal`: a secret item's content decrypted (needs read on it); otherwise it comes masked. */
  item: (ns: string, app: string, name: string, reveal = false) =>
    request<ConfigItemView>('GET', `${item(ns, app, name)}${reveal ? '?reveal=true' : ''}`),
  putItem: (
    ns: string,
    app: string,
    name: string,
    body: { format?: ConfigFormat; description?: string; schema?: string; secret?: boolean },
  ) => request<ConfigItemView>('PUT', item(ns, app, name), body),
  saveDraft: (
    ns: string,
    app: string,
    name: string,
    body: { content: string; author?: string; baseRevision?: number },
  ) => request<DraftRecord>('PUT', `${item(ns, app, name)}/draft`, body),
  discardDraft: (ns: string, app: string, name: string) =>
    request<{ discarded: boolean }>('DELETE', `${item(ns, app, name)}/draft`),
  validate: (ns: string, app: string, name: string, content: string, format?: ConfigFormat) =>
    request<{ valid: boolean; issues: ValidationIssue[] }>('POST', `${item(ns, app, name)}/validate`, {
      content,
      format,
    }),
  publish: (
    ns: string,
    app: string,
    name: string,
    body: {
      content?: string;
      fromDraft?: boolean;
      author?: string;
      comment?: string;
      expectedRevision?: number;
    },
  ) => request<ConfigReleaseView>('POST', `${item(ns, app, name)}/publish`, body),
  releases: (ns: string, app: string, name: string) =>
    request<ConfigReleaseView[]>('GET', `${item(ns, app, name)}/releases`),
  rollback: (
    ns: string,
    app: string,
    name: string,
    body: { version: number; author?: string; comment?: string; expectedRevision?: number },
  ) => request<ConfigReleaseView>('POST', `${item(ns, app, name)}/rollback`, body),
  startGray: (
    ns: string,
    app: string,
    name: string,
    body: {
      content: string;
      rule: { labels: Record<string, string>; percentage: number };
      author?: string;
      comment?: string;
    },
  ) => request<GrayRecord>('POST', `${item(ns, app, name)}/gray`, body),
  promoteGray: (ns: string, app: string, name: string, body: { author?: string; comment?: string }) =>
    request<ConfigReleaseView>('POST', `${item(ns, app, name)}/gray/promote`, body),
  abandonGray: (ns: string, app: string, name: string, body: { author?: string; comment?: string }) =>
    request<{ abandoned: boolean }>('POST', `${item(ns, app, name)}/gray/abandon`, body),
  listeners: (ns: string, app: string, name: string) =>
    request<ListenerView[]>('GET', `${item(ns, app, name)}/listeners`),
  exportUrl: (ns: string, app?: string, zip = false) =>
    `${B}/namespaces/${e(ns)}${app ? `/apps/${e(app)}` : ''}/export${zip ? '?format=zip' : ''}`,
  importBundle: (bundle: ConfigBundle, opts: { author?: string; publish?: boolean }) =>
    request<ImportResult>('POST', `${B}/import`, { bundle, ...opts }),
};

export function conflictOf(err: unknown): ConfigConflictBody | undefined {
  if (err instanceof ApiError && err.status === 409 && err.body && typeof err.body === 'object') {
    return err.body as ConfigConflictBody;
  }
  return undefined;
}

export function issuesOf(err: unknown): ValidationIssue[] {
  if (err instanceof ApiError && err.status === 400 && err.body && typeof err.body === 'object') {
    return (err.body as Partial<ConfigValidationErrorBody>).issues ?? [];
  }
  return [];
}
