// The files `cairnctl config export` writes and `config import` reads. The member's own bundle
// (`cairn.config.bundle` v1, JSON) is the format; around it the CLI offers YAML, the member's zip, and a
// directory (bundle.json plus one file per item, as in the zip, so items can be edited with any tool).
// Pure: the member does the real import (drafts or releases); this only reads, checks and splits bundles.
import { strFromU8, unzipSync } from 'fflate';
import { parse as parseYaml, stringify as stringifyYaml } from 'yaml';

export interface BundleItem {
  name: string;
  format: string;
  description: string;
  schema: string;
  content: string;
  version: number;
  secret?: boolean;
}

export interface BundleApp {
  name: string;
  description: string;
  items: BundleItem[];
}

export interface ConfigBundle {
  kind: 'cairn.config.bundle';
  version: 1;
  exportedAt: string;
  namespace: string;
  apps: BundleApp[];
}

export type BundleFormat = 'json' | 'yaml' | 'zip' | 'dir';
export const BUNDLE_FORMATS: readonly BundleFormat[] = ['json', 'yaml', 'zip', 'dir'];

export class BundleError extends Error {
  override name = 'BundleError';
}

/** The format a path implies: a directory, `.zip`, `.yaml`/`.yml`, else JSON. */
export function formatOfPath(path: string, isDirectory: boolean, head?: Uint8Array): BundleFormat {
  if (isDirectory) return 'dir';
  if (head && head.length >= 4 && head[0] === 0x50 && head[1] === 0x4b && head[2] === 3 && head[3] === 4)
    return 'zip';
  if (/\.zip$/i.test(path)) return 'zip';
  if (/\.ya?ml$/i.test(path)) return 'yaml';
  return 'json';
}

/** Checks a parsed document is a bundle the member takes, with a message naming the first problem. */
export function checkBundle(doc: unknown, source = 'bundle'): ConfigBundle {
  const fail = (what: string): never => {
    throw new BundleError(`${source}: ${what}`);
  };
  if (!doc || typeof doc !== 'object' || Array.isArray(doc)) fail('not a config bundle (expected an object)');
  const b = doc as Record<string, unknown>;
  if (b.kind !== 'cairn.config.bundle')
    fail(`kind is ${JSON.stringify(b.kind)}, expected "cairn.config.bundle"`);
  if (b.version !== 1) fail(`bundle version ${JSON.stringify(b.version)} is not supported (1 is)`);
  if (typeof b.namespace !== 'string' || b.namespace === '') fail('namespace is missing');
  if (!Array.isArray(b.apps)) fail('apps is not a list');
  (b.apps as unknown[]).forEach((app, i) => {
    const a = app as Record<string, unknown> | null;
    if (!a || typeof a.name !== 'string' || a.name === '') fail(`apps[${i}] has no name`);
    if (!Array.isArray(a!.items)) fail(`app ${String(a!.name)}: items is not a list`);
    (a!.items as unknown[]).forEach((item, j) => {
      const it = item as Record<string, unknown> | null;
      if (!it || typeof it.name !== 'string' || it.name === '')
        fail(`app ${String(a!.name)}: items[${j}] has no name`);
      if (typeof it!.content !== 'string')
        fail(`item ${String(a!.name)}/${String(it!.name)}: content is not a string`);
    });
  });
  return doc as ConfigBundle;
}

/** Reads a JSON or YAML bundle text. */
export function parseBundleText(text: string, format: 'json' | 'yaml', source: string): ConfigBundle {
  let doc: unknown;
  try {
    doc = format === 'yaml' ? parseYaml(text) : JSON.parse(text);
  } catch (err) {
    throw new BundleError(`${source}: not valid ${format.toUpperCase()}: ${(err as Error).message}`);
  }
  return checkBundle(doc, source);
}

export function bundleText(bundle: ConfigBundle, format: 'json' | 'yaml'): string {
  return format === 'yaml' ? stringifyYaml(bundle, { lineWidth: 0 }) : `${JSON.stringify(bundle, null, 2)}\n`;
}

/** The directory layout (the same as the member's zip): bundle.json plus `<ns>/<app>/<item>` per item. */
export function bundleToFiles(bundle: ConfigBundle): Map<string, string> {
  const files = new Map<string, string>([['bundle.json', bundleText(bundle, 'json')]]);
  for (const app of bundle.apps) {
    for (const item of app.items) files.set(`${bundle.namespace}/${app.name}/${item.name}`, item.content);
  }
  return files;
}

/** Back from the directory layout: an item file, where present, overrides the content in bundle.json. */
export function filesToBundle(
  read: (relativePath: string) => string | undefined,
  source: string,
): ConfigBundle {
  const manifest = read('bundle.json');
  if (manifest === undefined) throw new BundleError(`${source}: no bundle.json`);
  const bundle = parseBundleText(manifest, 'json', `${source}/bundle.json`);
  for (const app of bundle.apps) {
    for (const item of app.items) {
      const file = read(`${bundle.namespace}/${app.name}/${item.name}`);
      if (file !== undefined) item.content = file;
    }
  }
  return bundle;
}

/** One bundle per app, so an import reports progress app by app (the member imports each atomically per item). */
export function splitByApp(bundle: ConfigBundle): ConfigBundle[] {
  return bundle.apps.map((app) => ({ ...bundle, apps: [app] }));
}

export interface ImportTotals {
  items: number;
  published: number;
  drafts: number;
  unchanged: number;
}

export function addTotals(a: ImportTotals, b: ImportTotals): ImportTotals {
  return {
    items: a.items + b.items,
    published: a.published + b.published,
    drafts: a.drafts + b.drafts,
    unchanged: a.unchanged + b.unchanged,
  };
}

/** The member's zip export (or a zipped directory export) read back into a bundle. */
export function zipToBundle(zip: Uint8Array, source: string): ConfigBundle {
  let files: Record<string, Uint8Array>;
  try {
    files = unzipSync(zip);
  } catch (err) {
    throw new BundleError(`${source}: not a zip file: ${(err as Error).message}`);
  }
  return filesToBundle((path) => (files[path] ? strFromU8(files[path]) : undefined), source);
}
