// `config export` and `config import`: the member's bundle to and from a file, stdout/stdin, a zip or a
// directory; an import goes app by app with progress on stderr.
import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { Context } from '../../command';
import { CommandError, ExitCode, UsageError } from '../../command';
import type { ConfigApi } from './api';
import {
  type BundleFormat,
  BundleError,
  type ConfigBundle,
  type ImportTotals,
  addTotals,
  bundleText,
  bundleToFiles,
  filesToBundle,
  formatOfPath,
  parseBundleText,
  splitByApp,
  zipToBundle,
} from './bundle';

export async function exportBundle(
  ctx: Context,
  api: ConfigApi,
  ns: string,
  app: string,
  out: string | undefined,
  format: BundleFormat | undefined,
): Promise<void> {
  const chosen =
    format ??
    (out && out !== '-' ? formatOfPath(out, existsSync(out) && statSync(out).isDirectory()) : 'json');
  if ((out === undefined || out === '-') && (chosen === 'zip' || chosen === 'dir'))
    throw new UsageError(`--format ${chosen} needs --out PATH`);
  if (chosen === 'zip') {
    writeFileSync(out!, await api.exportZip(ns, app));
  } else {
    const bundle = await api.exportJson(ns, app);
    if (chosen === 'dir') {
      for (const [path, text] of bundleToFiles(bundle)) {
        const target = join(out!, path);
        mkdirSync(dirname(target), { recursive: true });
        writeFileSync(target, text);
      }
    } else if (out === undefined || out === '-') {
      ctx.stdout.write(bundleText(bundle, chosen));
      return;
    } else {
      writeFileSync(out, bundleText(bundle, chosen));
    }
    const items = bundle.apps.reduce((n, a) => n + a.items.length, 0);
    ctx.stderr.write(
      `exported ${bundle.apps.length} app(s), ${items} item(s) of ${ns} to ${out} (${chosen})\n`,
    );
    return;
  }
  ctx.stderr.write(`exported ${app ? `${ns}/${app}` : ns} to ${out} (zip)\n`);
}

/** Reads a bundle from a path (file or directory) or stdin ('-'). */
export function readBundle(path: string, stdin: () => Buffer): ConfigBundle {
  try {
    if (path === '-') {
      const data = stdin();
      const format = formatOfPath('-', false, data.subarray(0, 4));
      if (format === 'zip') return zipToBundle(data, 'stdin');
      const text = data.toString('utf8');
      return parseBundleText(text, text.trimStart().startsWith('{') ? 'json' : 'yaml', 'stdin');
    }
    if (!existsSync(path)) throw new CommandError(`${path}: no such file or directory`, ExitCode.IO);
    const isDir = statSync(path).isDirectory();
    if (isDir) {
      return filesToBundle((rel) => {
        const file = join(path, rel);
        return existsSync(file) ? readFileSync(file, 'utf8') : undefined;
      }, path);
    }
    const data = readFileSync(path);
    const format = formatOfPath(path, false, data.subarray(0, 4));
    if (format === 'zip') return zipToBundle(data, path);
    return parseBundleText(data.toString('utf8'), format === 'yaml' ? 'yaml' : 'json', path);
  } catch (err) {
    if (err instanceof BundleError) throw new CommandError(err.message, ExitCode.InvalidInput);
    throw err;
  }
}

/** Imports app by app (each a request of its own) with progress in bytes of item content. */
export async function importBundle(
  ctx: Context,
  api: ConfigApi,
  bundle: ConfigBundle,
  options: { author?: string; publish: boolean },
): Promise<ImportTotals> {
  const parts = splitByApp(bundle);
  const size = (b: ConfigBundle): number =>
    b.apps.reduce((n, a) => n + a.items.reduce((m, i) => m + Buffer.byteLength(i.content), 0), 0);
  const total = size(bundle);
  const progress = ctx.progress('import', total);
  let done = 0;
  let totals: ImportTotals = { items: 0, published: 0, drafts: 0, unchanged: 0 };
  for (const [index, part] of parts.entries()) {
    const app = part.apps[0]!;
    progress.update(done, total, `app ${index + 1}/${parts.length} (${bundle.namespace}/${app.name})`);
    totals = addTotals(totals, await api.import(part, options));
    done += size(part);
  }
  progress.done(
    `${parts.length} app(s), ${totals.items} item(s): ${totals.published} published, ${totals.drafts} draft(s), ${totals.unchanged} unchanged`,
  );
  return totals;
}
