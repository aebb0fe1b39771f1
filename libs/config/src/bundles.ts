// Bundles: a namespace (or one app of it) exported as one JSON document, and imported back (creating what
// is missing, publishing or drafting what differs, never deleting). Exports never carry a secret: a secret
// item is exported marked `secret` with its content masked, and importing it back leaves its content alone.
import type { CallContext } from '@cairn/server';
import { authorNote } from './actor';
import type { ConfigCatalog } from './catalog';
import { checkName } from './checks';
import { ConfigError } from './errors';
import { isConfigFormat, validateContent } from './formats';
import type { ReleaseWorkflow } from './release-workflow';
import { SECRET_MASK } from './secrets/secret-box';
import type { ConfigBundle, ImportResult } from './types';

export class ConfigBundles {
  constructor(
    private readonly catalog: ConfigCatalog,
    private readonly releases: ReleaseWorkflow,
    private readonly now: () => Date,
  ) {}

  async exportBundle(ctx: CallContext, ns: string, app = ''): Promise<ConfigBundle> {
    checkName('namespace', ns);
    // One app's export reads only that app's keys (READ on its prefix); a namespace's reads the namespace.
    const apps = app ? [await this.catalog.getApp(ctx, ns, app)] : await this.catalog.listApps(ctx, ns);
    const bundle: ConfigBundle = {
      kind: 'cairn.config.bundle',
      version: 1,
      exportedAt: this.now().toISOString(),
      namespace: ns,
      apps: [],
    };
    for (const a of apps) {
      const items = await this.catalog.listItems(ctx, ns, a.name);
      bundle.apps.push({
        name: a.name,
        description: a.description,
        items: items.map((i) => ({
          name: i.name,
          format: i.format,
          description: i.description,
          schema: i.schema,
          content: i.content,
          version: i.version,
          ...(i.secret ? { secret: true } : {}),
        })),
      });
    }
    return bundle;
  }

  /**
   * Import a bundle: items are created as needed; content different from the live one is published as a
   * release of kind import (publish: true) or saved as a draft (publish: false). Never deletes.
   */
  async importBundle(
    ctx: CallContext,
    bundle: ConfigBundle,
    opts: { author?: string; publish?: boolean },
  ): Promise<ImportResult> {
    checkBundle(bundle, opts.publish ?? false);
    const author = authorNote(opts.author);
    const result: ImportResult = { items: 0, published: 0, drafts: 0, unchanged: 0 };
    await this.catalog.putNamespace(ctx, bundle.namespace, '').catch(() => undefined);
    for (const app of bundle.apps) {
      await this.catalog.putApp(ctx, bundle.namespace, app.name, app.description ?? '');
      for (const item of app.items) {
        const ref = { namespace: bundle.namespace, app: app.name, name: item.name };
        const view = await this.catalog.putItem(ctx, ref, {
          format: item.format,
          description: item.description ?? '',
          schema: item.schema ?? '',
          ...(item.secret ? { secret: true } : {}),
        });
        result.items++;
        // A masked secret (an export of a secret item) says nothing about the content: leave it as it is.
        const masked = view.secret && item.content === SECRET_MASK;
        const live =
          view.secret && !masked ? (await this.catalog.getItem(ctx, ref, true)).content : view.content;
        if (masked || (view.version > 0 && live === item.content)) {
          result.unchanged++;
          continue;
        }
        if (opts.publish) {
          await this.releases.release(ctx, ref, item.content, {
            author,
            comment: 'import',
            kind: 'import',
            sourceVersion: 0,
          });
          result.published++;
        } else {
          await this.catalog.saveDraft(ctx, ref, { content: item.content, author });
          result.drafts++;
        }
      }
    }
    return result;
  }
}

/** Everything is checked before anything is written: a bundle imports whole or not at all (up to KV failures). */
function checkBundle(bundle: ConfigBundle, publish: boolean): void {
  if (!bundle || bundle.kind !== 'cairn.config.bundle' || !Array.isArray(bundle.apps)) {
    throw new ConfigError('bad-request', 'not a cairn.config.bundle');
  }
  checkName('namespace', bundle.namespace);
  for (const app of bundle.apps) {
    checkName('app', app.name);
    for (const item of app.items) {
      checkName('item name', item.name);
      if (!isConfigFormat(item.format))
        throw new ConfigError('bad-request', `${app.name}/${item.name}: bad format`);
      if (publish && item.content !== '' && !(item.secret && item.content === SECRET_MASK)) {
        const issues = validateContent(item.format, item.content, item.schema);
        if (issues.length > 0) {
          throw new ConfigError('invalid', `${app.name}/${item.name}: ${issues[0].message}`, issues);
        }
      }
    }
  }
}
