// The key prefixes the registry's and the config center's permissions are expressed over (docs/security.md):
// write on `/cairn/config/<ns>/<app>/` may change that app, write on `/cairn/registry/<ns>/` may change that
// namespace's instances. Taken from the libs' own key layout (import-free files), so they cannot drift.
import { appKey, appPrefix, nsKey } from '../../../libs/config/src/keys';
import { DEFAULT_ROOT } from '../../../libs/registry/src/model';

/** Everything of one config app: items, drafts, releases, gray releases. */
export const configAppPrefix = (ns: string, app: string): string => appPrefix(ns, app);
/** The record that creates a config namespace. */
export const configNamespaceKey = (ns: string): string => nsKey(ns);
/** The record that creates a config app. */
export const configAppKey = (ns: string, app: string): string => appKey(ns, app);
/** Every instance of one registry namespace (the console assumes the registry's default root). */
export const registryNamespacePrefix = (ns: string): string => `${DEFAULT_ROOT}${ns}/`;
