// The config center's key layout in the replicated KV (docs/config.md):
//   /cairn/config/<ns>/~namespace                 namespace record (JSON)
//   /cairn/config/<ns>/<app>/~app                 app record (JSON)
//   /cairn/config/<ns>/<app>/<name>               live content: exactly the published bytes
//   /cairn/config/<ns>/<app>/~draft/<name>        draft (JSON)
//   /cairn/config/<ns>/<app>/~gray/<name>         gray release: rule + content (JSON)
//   /cairn/config/<ns>/<app>/~item/<name>         item record: format, schema, live version (JSON)
//   /cairn/config/<ns>/<app>/~release/<name>/<v>  release v (10 digits), never rewritten (JSON, no content)
//   /cairn/config/<ns>/<app>/~release-content/<name>/<v>  release v's content: exactly its bytes,
//                                                 written right after the release's own txn (see
//                                                 release-workflow.ts: a publish carries the content once)
//   /cairn/config/<ns>/<app>/~subscriber/<id>     a subscriber: labels and applied versions (leased)
// Names never contain '/' or '~', so live keys sort before every '~' subtree of their app and a
// subscriber's watch covers [app/, app/~r): live keys, ~app, ~draft, ~gray and ~item, not releases (nor
// their contents: '~release-content' sorts after '~r'), nor subscriber records ('~s' > '~r': a report
// wakes no subscriber).
//
// Every key of an app is under its own prefix, so one grant on `/cairn/config/<ns>/<app>/` covers all its
// operations (docs/security.md). Before issue 15 listener records lived under
// `/cairn/config-listeners/` (LEGACY_LISTENER_ROOT): they are leased (120 s at most past their last report,
// or a member lease) and simply lapse; nothing reads them any more.

export const CONFIG_ROOT = '/cairn/config/';
/** Where listener records lived before issue 15 (leased: they lapse on their own; nothing reads them). */
export const LEGACY_LISTENER_ROOT = '/cairn/config-listeners/';

const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;
const SUBSCRIBER = /^[A-Za-z0-9][A-Za-z0-9._:@-]{0,199}$/;

export function isValidName(name: string): boolean {
  return NAME.test(name);
}

export function isValidSubscriberId(id: string): boolean {
  return SUBSCRIBER.test(id);
}

export const nsPrefix = (ns: string): string => `${CONFIG_ROOT}${ns}/`;
export const nsKey = (ns: string): string => `${CONFIG_ROOT}${ns}/~namespace`;
export const appPrefix = (ns: string, app: string): string => `${CONFIG_ROOT}${ns}/${app}/`;
export const appKey = (ns: string, app: string): string => `${appPrefix(ns, app)}~app`;
export const liveKey = (ns: string, app: string, name: string): string => `${appPrefix(ns, app)}${name}`;
export const itemKey = (ns: string, app: string, name: string): string =>
  `${appPrefix(ns, app)}~item/${name}`;
export const draftKey = (ns: string, app: string, name: string): string =>
  `${appPrefix(ns, app)}~draft/${name}`;
export const grayKey = (ns: string, app: string, name: string): string =>
  `${appPrefix(ns, app)}~gray/${name}`;
export const releasePrefix = (ns: string, app: string, name: string): string =>
  `${appPrefix(ns, app)}~release/${name}/`;
export const releaseKey = (ns: string, app: string, name: string, version: number): string =>
  `${releasePrefix(ns, app, name)}${String(version).padStart(10, '0')}`;
export const releaseContentPrefix = (ns: string, app: string, name: string): string =>
  `${appPrefix(ns, app)}~release-content/${name}/`;
export const releaseContentKey = (ns: string, app: string, name: string, version: number): string =>
  `${releaseContentPrefix(ns, app, name)}${String(version).padStart(10, '0')}`;
export const listenerAppPrefix = (ns: string, app: string): string => `${appPrefix(ns, app)}~subscriber/`;
export const listenerKey = (ns: string, app: string, id: string): string =>
  `${listenerAppPrefix(ns, app)}${id}`;

/** The range a subscriber's watch covers: live keys and the ~app/~draft/~gray/~item subtrees. */
export function subscriptionRange(ns: string, app: string): { key: Buffer; rangeEnd: Buffer } {
  const prefix = appPrefix(ns, app);
  return { key: Buffer.from(prefix), rangeEnd: Buffer.from(`${prefix}~r`) };
}

/** What a key under an app prefix is. */
export type AppKeyKind =
  | { kind: 'live'; name: string }
  | { kind: 'item' | 'gray' | 'draft'; name: string }
  | { kind: 'release'; name: string; version: number }
  | { kind: 'app' }
  | { kind: 'other' };

export function classifyAppKey(prefix: string, key: string): AppKeyKind {
  if (!key.startsWith(prefix)) return { kind: 'other' };
  const rest = key.slice(prefix.length);
  if (rest === '~app') return { kind: 'app' };
  if (!rest.startsWith('~')) return rest.includes('/') ? { kind: 'other' } : { kind: 'live', name: rest };
  const [sub, name, version] = rest.slice(1).split('/');
  if (sub === 'item' || sub === 'gray' || sub === 'draft') return { kind: sub, name };
  // ~subscriber/<id> and ~release-content/... are 'other': not part of an item's state.
  if (sub === 'release' && version !== undefined) return { kind: 'release', name, version: Number(version) };
  return { kind: 'other' };
}
