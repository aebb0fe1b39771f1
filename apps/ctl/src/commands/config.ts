// `cairnctl config ...`: the config center over its REST API (docs/config.md): apps and items, get, edit in
// $EDITOR with a diff before publishing, publish, rollback, release history, diff, gray releases, listeners,
// watch, export and import.
import { readFileSync } from 'node:fs';
import {
  type CommandSpec,
  type Context,
  ExitCode,
  type FlagSpec,
  type ParsedArgs,
  UsageError,
} from '../command';
import { renderYaml } from '../output';
import { type ConfigWatchEvent, ConfigApi, type ItemRef, type Listener, type Release } from './config/api';
import { BUNDLE_FORMATS, type BundleFormat } from './config/bundle';
import { unifiedDiff } from './config/diff';
import { editItem } from './config/edit';
import { exportBundle, importBundle, readBundle } from './config/transfer';
import { guarded, parsePairs, restClient } from './rest/context';

const NAMESPACE_FLAG: FlagSpec = {
  name: 'namespace',
  short: 'n',
  type: 'string',
  default: 'default',
  help: 'config namespace',
  valueName: 'NS',
};
const AUTHOR_FLAG: FlagSpec = {
  name: 'author',
  type: 'string',
  help: 'a note of who you are (the member records the authenticated user too)',
};
const COMMENT_FLAG: FlagSpec = { name: 'comment', short: 'm', type: 'string', help: 'release comment' };
const REVEAL_FLAG: FlagSpec = {
  name: 'reveal',
  type: 'boolean',
  default: false,
  help: 'show secret content decrypted',
};

async function api(ctx: Context, timeoutMs?: number): Promise<ConfigApi> {
  return new ConfigApi(await restClient(ctx, timeoutMs));
}

const ns = (args: ParsedArgs): string => args.flags['namespace'] as string;
const str = (args: ParsedArgs, name: string): string | undefined => {
  const v = args.flags[name];
  return typeof v === 'string' && v !== '' ? v : undefined;
};
const itemRef = (args: ParsedArgs): ItemRef => ({
  namespace: ns(args),
  app: args.positionals[0]!,
  name: args.positionals[1]!,
});
const structured = (ctx: Context): boolean => ctx.output === 'json' || ctx.output === 'yaml';
const notes = (args: ParsedArgs): { author?: string; comment?: string } => ({
  ...(str(args, 'author') ? { author: str(args, 'author') } : {}),
  ...(str(args, 'comment') ? { comment: str(args, 'comment') } : {}),
});

function integer(text: string, what: string): number {
  const n = Number(text);
  if (!Number.isInteger(n) || n < 0)
    throw new UsageError(`${what} must be a non-negative integer, got "${text}"`);
  return n;
}

/** Content from FILE, or stdin for '-'. */
function readContent(path: string): string {
  return readFileSync(path === '-' ? 0 : path, 'utf8');
}

const RELEASE_COLUMNS = [
  { header: 'version', get: (r: Release) => r.version },
  { header: 'kind', get: (r: Release) => r.kind, align: 'left' as const },
  { header: 'actor', get: (r: Release) => r.actor ?? '', align: 'left' as const },
  { header: 'author', get: (r: Release) => r.author, align: 'left' as const },
  { header: 'time', get: (r: Release) => r.time, align: 'left' as const },
  { header: 'revision', get: (r: Release) => r.revision },
  { header: 'comment', get: (r: Release) => r.comment, align: 'left' as const },
];

function printRelease(ctx: Context, verb: string, r: Release): void {
  if (structured(ctx)) ctx.print(r);
  else ctx.stdout.write(`${verb} ${r.namespace}/${r.app}/${r.name} v${r.version} (rev ${r.revision})\n`);
}

// ---- namespaces and apps ----

const namespaces: CommandSpec = {
  name: 'namespaces',
  summary: 'List config namespaces with their apps',
  args: { max: 0 },
  run: (ctx) =>
    guarded(async () => {
      const list = await (await api(ctx)).namespaces();
      ctx.print(list, {
        columns: [
          { header: 'namespace', get: (n) => n.name, align: 'left' },
          { header: 'apps', get: (n) => n.apps.join(','), align: 'left' },
          { header: 'description', get: (n) => n.description, align: 'left' },
        ],
      });
      return ExitCode.Success;
    }),
};

const appsCreate: CommandSpec = {
  name: 'create',
  summary: 'Create (or describe) an app; --create-namespace also records the namespace',
  usage: 'APP [--description TEXT] [--create-namespace]',
  args: { min: 1, max: 1 },
  flags: [
    { name: 'description', type: 'string', help: 'description' },
    { name: 'create-namespace', type: 'boolean', default: false, help: 'also create the namespace record' },
  ],
  run: (ctx, args) =>
    guarded(async () => {
      const config = await api(ctx);
      if (args.flags['create-namespace'] === true) await config.putNamespace(ns(args));
      const app = await config.putApp(ns(args), args.positionals[0]!, str(args, 'description'));
      if (structured(ctx)) ctx.print(app as Record<string, unknown>);
      else ctx.stdout.write(`app ${ns(args)}/${args.positionals[0]} saved\n`);
      return ExitCode.Success;
    }),
};

const apps: CommandSpec = {
  name: 'apps',
  summary: 'List the apps of a namespace (apps create APP: create one)',
  args: { max: 0 },
  subcommands: [appsCreate],
  run: (ctx, args) =>
    guarded(async () => {
      const list = await (await api(ctx)).apps(ns(args));
      ctx.print(list, {
        columns: [
          { header: 'app', get: (a) => a.name, align: 'left' },
          { header: 'items', get: (a) => a.items.join(','), align: 'left' },
          { header: 'description', get: (a) => a.description, align: 'left' },
        ],
      });
      return ExitCode.Success;
    }),
};

// ---- items ----

const itemsCreate: CommandSpec = {
  name: 'create',
  summary: 'Create an item (or change its format, description, schema)',
  usage: 'APP ITEM --format json|yaml|properties|text [--description TEXT] [--schema-file FILE] [--secret]',
  args: { min: 2, max: 2 },
  flags: [
    {
      name: 'format',
      type: 'string',
      choices: ['json', 'yaml', 'properties', 'text'],
      help: 'content format (default: from the name, else text)',
    },
    { name: 'description', type: 'string', help: 'description' },
    { name: 'schema-file', type: 'string', help: 'JSON Schema enforced on publish', complete: 'file' },
    { name: 'secret', type: 'boolean', default: false, help: 'store the content encrypted, show it masked' },
  ],
  run: (ctx, args) =>
    guarded(async () => {
      const body: { format?: string; description?: string; schema?: string; secret?: boolean } = {};
      if (str(args, 'format')) body.format = str(args, 'format');
      if (str(args, 'description') !== undefined) body.description = str(args, 'description');
      if (str(args, 'schema-file')) body.schema = readFileSync(str(args, 'schema-file')!, 'utf8');
      if (args.given.has('secret')) body.secret = args.flags['secret'] === true;
      const item = await (await api(ctx)).putItem(itemRef(args), body);
      if (structured(ctx)) ctx.print(item as unknown as Record<string, unknown>);
      else ctx.stdout.write(`item ${item.namespace}/${item.app}/${item.name} (${item.format}) saved\n`);
      return ExitCode.Success;
    }),
};

const items: CommandSpec = {
  name: 'items',
  summary: "List an app's items (items create APP ITEM: create one)",
  usage: 'APP',
  args: { min: 1, max: 1 },
  subcommands: [itemsCreate],
  run: (ctx, args) =>
    guarded(async () => {
      const list = await (await api(ctx)).items(ns(args), args.positionals[0]!);
      ctx.print(list, {
        columns: [
          { header: 'item', get: (i) => i.name, align: 'left' },
          { header: 'format', get: (i) => i.format, align: 'left' },
          { header: 'version', get: (i) => i.version },
          { header: 'draft', get: (i) => (i.draft ? 'yes' : ''), align: 'left' },
          { header: 'gray', get: (i) => (i.gray ? `v${i.gray.version}` : ''), align: 'left' },
          { header: 'secret', get: (i) => (i.secret ? 'yes' : ''), align: 'left' },
          { header: 'updated', get: (i) => i.updatedAt, align: 'left' },
        ],
      });
      return ExitCode.Success;
    }),
};

const get: CommandSpec = {
  name: 'get',
  summary: "Print an item's live content (or a release's, or the draft's)",
  usage: 'APP ITEM [--version N | --draft] [--reveal]',
  description:
    '-w simple (default) prints the content only; -w table the item; -w json|yaml the whole item view.',
  args: { min: 2, max: 2 },
  flags: [
    { name: 'version', type: 'number', help: 'this release instead of the live one' },
    { name: 'draft', type: 'boolean', default: false, help: 'the draft instead of the live content' },
    REVEAL_FLAG,
  ],
  run: (ctx, args) =>
    guarded(async () => {
      const config = await api(ctx);
      const ref = itemRef(args);
      const reveal = args.flags['reveal'] === true;
      if (args.given.has('version')) {
        const release = await config.release(
          ref,
          integer(String(args.flags['version']), '--version'),
          reveal,
        );
        if (structured(ctx)) ctx.print(release);
        else if (ctx.output === 'table') ctx.print(release, { columns: RELEASE_COLUMNS });
        else ctx.stdout.write(release.content);
        return ExitCode.Success;
      }
      const item = await config.item(ref, reveal);
      if (args.flags['draft'] === true) {
        if (!item.draft) throw new UsageError(`${ref.namespace}/${ref.app}/${ref.name} has no draft`);
        if (structured(ctx)) ctx.print(item.draft as unknown as Record<string, unknown>);
        else ctx.stdout.write(item.draft.content);
        return ExitCode.Success;
      }
      if (structured(ctx)) ctx.print(item as unknown as Record<string, unknown>);
      else if (ctx.output === 'table')
        ctx.print(item, {
          columns: [
            { header: 'item', get: (i) => `${i.namespace}/${i.app}/${i.name}`, align: 'left' },
            { header: 'format', get: (i) => i.format, align: 'left' },
            { header: 'version', get: (i) => i.version },
            { header: 'mod revision', get: (i) => i.modRevision },
            { header: 'draft', get: (i) => (i.draft ? 'yes' : ''), align: 'left' },
            { header: 'gray', get: (i) => (i.gray ? `v${i.gray.version}` : ''), align: 'left' },
            { header: 'updated', get: (i) => i.updatedAt, align: 'left' },
          ],
        });
      else ctx.stdout.write(item.content);
      return ExitCode.Success;
    }),
};

const edit: CommandSpec = {
  name: 'edit',
  summary: 'Edit an item in $EDITOR, show the diff, and publish after confirmation',
  usage: 'APP ITEM [--yes] [--draft-only] [-m COMMENT]',
  description:
    'Opens $VISUAL or $EDITOR (default vi) on the draft, or the live content when there is none. The edit is\n' +
    'saved as the draft, its unified diff against the live release is printed, and cairnctl asks before\n' +
    'publishing it (guarded: if someone published meanwhile the publish fails with 409 and the draft stays).\n' +
    'Without a terminal on stdin it publishes only with --yes.',
  args: { min: 2, max: 2 },
  flags: [
    { name: 'yes', short: 'y', type: 'boolean', default: false, help: 'publish without asking' },
    {
      name: 'draft-only',
      type: 'boolean',
      default: false,
      help: 'save the edit as the draft, do not publish',
    },
    AUTHOR_FLAG,
    COMMENT_FLAG,
  ],
  run: (ctx, args) =>
    guarded(async () =>
      editItem(ctx, await api(ctx), itemRef(args), {
        yes: args.flags['yes'] === true,
        draftOnly: args.flags['draft-only'] === true,
        ...notes(args),
        interactive: Boolean(process.stdin.isTTY && process.stderr.isTTY),
      }),
    ),
};

const publish: CommandSpec = {
  name: 'publish',
  summary: 'Publish FILE (or stdin: -) or the draft as a new release',
  usage: 'APP ITEM (FILE | - | --from-draft) [--expected-revision REV] [-m COMMENT]',
  args: { min: 2, max: 3 },
  flags: [
    { name: 'from-draft', type: 'boolean', default: false, help: 'publish the saved draft' },
    {
      name: 'expected-revision',
      type: 'number',
      help: 'fail (409) unless the live release is at this mod revision',
    },
    AUTHOR_FLAG,
    COMMENT_FLAG,
  ],
  run: (ctx, args) =>
    guarded(async () => {
      const fromDraft = args.flags['from-draft'] === true;
      const file = args.positionals[2];
      if (fromDraft === (file !== undefined)) throw new UsageError('give either FILE (or -) or --from-draft');
      const release = await (
        await api(ctx)
      ).publish(itemRef(args), {
        ...(fromDraft ? { fromDraft: true } : { content: readContent(file!) }),
        ...(args.given.has('expected-revision')
          ? { expectedRevision: args.flags['expected-revision'] as number }
          : {}),
        ...notes(args),
      });
      printRelease(ctx, 'published', release);
      return ExitCode.Success;
    }),
};

const rollback: CommandSpec = {
  name: 'rollback',
  summary: "Roll back: a new release with release VERSION's content",
  usage: 'APP ITEM VERSION [-m COMMENT]',
  args: { min: 3, max: 3 },
  flags: [AUTHOR_FLAG, COMMENT_FLAG],
  run: (ctx, args) =>
    guarded(async () => {
      const version = integer(args.positionals[2]!, 'VERSION');
      const release = await (await api(ctx)).rollback(itemRef(args), { version, ...notes(args) });
      printRelease(ctx, `rolled back to v${version}:`, release);
      return ExitCode.Success;
    }),
};

const history: CommandSpec = {
  name: 'history',
  summary: "An item's releases, newest first (--audit: every change from the audit archive)",
  usage: 'APP ITEM [--limit N] [--audit]',
  args: { min: 2, max: 2 },
  flags: [
    { name: 'limit', type: 'number', default: 0, help: 'at most this many (0: all releases; audit: 100)' },
    {
      name: 'audit',
      type: 'boolean',
      default: false,
      help: "the audit archive's change history (needs the archive enabled)",
    },
  ],
  run: (ctx, args) =>
    guarded(async () => {
      const config = await api(ctx);
      const limit = args.flags['limit'] as number;
      if (args.flags['audit'] === true) {
        const entries = await config.history(itemRef(args), limit || undefined);
        ctx.print(entries, {
          columns: [
            { header: 'revision', get: (e) => e.revision },
            { header: 'operation', get: (e) => e.operation, align: 'left' },
            { header: 'key', get: (e) => e.key, align: 'left' },
            { header: 'actor', get: (e) => e.actor, align: 'left' },
            { header: 'time', get: (e) => e.time, align: 'left' },
          ],
        });
        return ExitCode.Success;
      }
      const releases = await config.releases(itemRef(args), limit);
      ctx.print(releases, { columns: RELEASE_COLUMNS });
      return ExitCode.Success;
    }),
};

const diff: CommandSpec = {
  name: 'diff',
  summary: 'Unified diff between two releases (TO omitted: the live content; --draft: live vs the draft)',
  usage: 'APP ITEM FROM [TO] | APP ITEM --draft',
  args: { min: 2, max: 4 },
  flags: [
    { name: 'draft', type: 'boolean', default: false, help: 'the draft against the live content' },
    REVEAL_FLAG,
  ],
  run: (ctx, args) =>
    guarded(async () => {
      const config = await api(ctx);
      const ref = itemRef(args);
      let text: string;
      if (args.flags['draft'] === true) {
        if (args.positionals.length > 2) throw new UsageError('--draft takes no versions');
        const item = await config.item(ref, args.flags['reveal'] === true);
        if (!item.draft) throw new UsageError(`${ref.namespace}/${ref.app}/${ref.name} has no draft`);
        const label = `${ref.namespace}/${ref.app}/${ref.name}`;
        text = unifiedDiff(
          item.content,
          item.draft.content,
          `${label} (live v${item.version})`,
          `${label} (draft)`,
        );
        if (structured(ctx)) ctx.print({ from: item.version, to: 'draft', unified: text });
        else ctx.stdout.write(text);
        return ExitCode.Success;
      }
      if (args.positionals.length < 3)
        throw new UsageError('FROM (a release version) or --draft is required');
      const from = integer(args.positionals[2]!, 'FROM');
      const to = args.positionals[3] === undefined ? undefined : integer(args.positionals[3], 'TO');
      const answer = await config.diff(ref, from, to);
      if (structured(ctx)) ctx.print(answer);
      else
        ctx.stdout.write(
          answer.unified.endsWith('\n') || answer.unified === '' ? answer.unified : `${answer.unified}\n`,
        );
      return ExitCode.Success;
    }),
};

// ---- gray releases ----

const grayStart: CommandSpec = {
  name: 'start',
  summary: 'Start (or replace) a gray release of FILE for subscribers matching --labels / --percentage',
  usage: 'APP ITEM FILE|- [--labels k=v,...] [--percentage P]',
  args: { min: 3, max: 3 },
  flags: [
    { name: 'labels', type: 'strings', help: 'subscribers whose labels all match', valueName: 'K=V,...' },
    {
      name: 'percentage',
      type: 'number',
      default: 100,
      help: 'of the matching subscribers (stable by subscriber id)',
    },
    AUTHOR_FLAG,
    COMMENT_FLAG,
  ],
  run: (ctx, args) =>
    guarded(async () => {
      const percentage = args.flags['percentage'] as number;
      if (!(percentage >= 0 && percentage <= 100)) throw new UsageError('--percentage must be 0..100');
      const gray = await (
        await api(ctx)
      ).startGray(itemRef(args), {
        content: readContent(args.positionals[2]!),
        rule: { labels: parsePairs(args.flags['labels'] as string[] | undefined, 'labels'), percentage },
        ...notes(args),
      });
      if (structured(ctx)) ctx.print(gray as unknown as Record<string, unknown>);
      else ctx.stdout.write(`gray release v${gray.version} started for ${ruleText(gray.rule)}\n`);
      return ExitCode.Success;
    }),
};

const grayPromote: CommandSpec = {
  name: 'promote',
  summary: 'Promote the gray release to everyone (a new main release)',
  usage: 'APP ITEM',
  args: { min: 2, max: 2 },
  flags: [AUTHOR_FLAG, COMMENT_FLAG],
  run: (ctx, args) =>
    guarded(async () => {
      printRelease(ctx, 'promoted', await (await api(ctx)).promoteGray(itemRef(args), notes(args)));
      return ExitCode.Success;
    }),
};

const grayAbandon: CommandSpec = {
  name: 'abandon',
  summary: 'Abandon the gray release (its subscribers go back to the main release)',
  usage: 'APP ITEM',
  args: { min: 2, max: 2 },
  run: (ctx, args) =>
    guarded(async () => {
      const answer = await (await api(ctx)).abandonGray(itemRef(args));
      if (structured(ctx)) ctx.print(answer);
      else ctx.stdout.write(answer.abandoned ? 'gray release abandoned\n' : 'no gray release\n');
      return ExitCode.Success;
    }),
};

function ruleText(rule: { labels: Record<string, string>; percentage: number }): string {
  const labels = Object.entries(rule.labels)
    .map(([k, v]) => `${k}=${v}`)
    .join(',');
  return `${labels ? `labels ${labels}, ` : 'every subscriber, '}${rule.percentage}%`;
}

const gray: CommandSpec = {
  name: 'gray',
  summary: 'Show the gray release of an item (gray start|promote|abandon APP ITEM ...)',
  usage: 'APP ITEM',
  args: { min: 2, max: 2 },
  flags: [REVEAL_FLAG],
  subcommands: [grayStart, grayPromote, grayAbandon],
  run: (ctx, args) =>
    guarded(async () => {
      const g = await (await api(ctx)).gray(itemRef(args), args.flags['reveal'] === true);
      if (structured(ctx)) ctx.print(g as unknown as Record<string, unknown>);
      else
        ctx.print(g, {
          columns: [
            { header: 'version', get: (x) => x.version },
            { header: 'base version', get: (x) => x.baseVersion },
            { header: 'rule', get: (x) => ruleText(x.rule), align: 'left' },
            { header: 'actor', get: (x) => x.actor ?? '', align: 'left' },
            { header: 'time', get: (x) => x.time, align: 'left' },
          ],
        });
      return ExitCode.Success;
    }),
};

// ---- listeners, watch ----

const listeners: CommandSpec = {
  name: 'listeners',
  summary: 'Subscribers of an app (or item) with their labels and the versions they hold',
  usage: 'APP [ITEM]',
  args: { min: 1, max: 2 },
  run: (ctx, args) =>
    guarded(async () => {
      const item = args.positionals[1];
      const list = await (await api(ctx)).listeners(ns(args), args.positionals[0]!, item);
      const columns = [
        { header: 'subscriber', get: (l: Listener) => l.subscriberId, align: 'left' as const },
        {
          header: 'labels',
          get: (l: Listener) =>
            Object.entries(l.labels)
              .map(([k, v]) => `${k}=${v}`)
              .join(','),
          align: 'left' as const,
        },
        { header: 'host', get: (l: Listener) => l.host, align: 'left' as const },
        { header: 'member', get: (l: Listener) => l.member, align: 'left' as const },
        item
          ? {
              header: 'applied/expected',
              get: (l: Listener) => `${l.appliedVersion}/${l.expectedVersion}${l.gray ? ' (gray)' : ''}`,
              align: 'left' as const,
            }
          : {
              header: 'versions',
              get: (l: Listener) =>
                Object.entries(l.versions)
                  .map(([k, v]) => `${k}=${v}`)
                  .join(','),
              align: 'left' as const,
            },
        { header: 'reported', get: (l: Listener) => l.reportedAt, align: 'left' as const },
      ];
      ctx.print(list, { columns });
      return ExitCode.Success;
    }),
};

/** A config watch event as lines: `SNAPSHOT|CHANGE|RESUMED rev=N` then one line per item or deletion. */
export function configWatchLines(event: ConfigWatchEvent): string {
  let out = `${event.kind.toUpperCase()} rev=${event.revision}\n`;
  for (const item of event.items)
    out += `  ${item.name} v${item.version}${item.gray ? ' (gray)' : ''} ${item.format} ${Buffer.byteLength(item.content)} bytes\n`;
  for (const name of event.deleted) out += `  ${name} deleted\n`;
  return out;
}

const watch: CommandSpec = {
  name: 'watch',
  summary: "Print an app's config changes live (as they apply to --labels) until Ctrl-C",
  usage: 'APP [--labels k=v,...] [--subscriber ID]',
  description:
    'Subscribes as an application would (gray rules match --labels and --subscriber) but reports nothing, so\n' +
    'it is not listed by `config listeners`: first a SNAPSHOT of every item, then a CHANGE per release.\n' +
    '-w json prints each event (with contents) as one JSON line.',
  args: { min: 1, max: 1 },
  flags: [
    {
      name: 'labels',
      type: 'strings',
      help: 'subscriber labels (gray rules match them)',
      valueName: 'K=V,...',
    },
    { name: 'subscriber', type: 'string', help: 'subscriber id (default cairnctl-<pid>)' },
  ],
  run: (ctx, args) =>
    guarded(async () => {
      const labels = Object.entries(parsePairs(args.flags['labels'] as string[] | undefined, 'labels'))
        .map(([k, v]) => `${k}=${v}`)
        .join(',');
      await (
        await api(ctx)
      ).watch(
        ns(args),
        args.positionals[0]!,
        { labels: labels || undefined, subscriber: str(args, 'subscriber') ?? `cairnctl-${process.pid}` },
        ctx.signal,
        (event) => {
          if (ctx.output === 'json') ctx.print(event);
          else if (ctx.output === 'yaml') ctx.stdout.write(`---\n${renderYaml(event)}`);
          else ctx.stdout.write(configWatchLines(event));
        },
        (message) => ctx.stderr.write(`watch: ${message}\n`),
      );
      return ExitCode.Success;
    }),
};

// ---- export / import ----

const exportCommand: CommandSpec = {
  name: 'export',
  summary: 'Export a namespace (or one app) as a bundle: json (stdout by default), yaml, zip or a directory',
  usage: '[APP] [-o PATH] [--format json|yaml|zip|dir]',
  args: { max: 1 },
  flags: [
    {
      name: 'out',
      short: 'o',
      type: 'string',
      help: 'write here (default stdout); format from the extension',
      complete: 'file',
    },
    {
      name: 'format',
      type: 'string',
      choices: BUNDLE_FORMATS,
      help: 'bundle format (default from --out, else json)',
    },
  ],
  run: (ctx, args) =>
    guarded(async () => {
      await exportBundle(
        ctx,
        await api(ctx),
        ns(args),
        args.positionals[0] ?? '',
        str(args, 'out'),
        str(args, 'format') as BundleFormat | undefined,
      );
      return ExitCode.Success;
    }),
};

const importCommand: CommandSpec = {
  name: 'import',
  summary:
    'Import a bundle (json, yaml, zip, directory, or - for stdin): changed items become drafts, or releases with --publish',
  usage: 'PATH|- [--publish] [--author NAME]',
  description:
    'The bundle names its namespace (-n is not used). Apps are imported one by one, with progress on stderr.',
  args: { min: 1, max: 1 },
  flags: [
    {
      name: 'publish',
      type: 'boolean',
      default: false,
      help: 'publish changed items (default: save drafts)',
    },
    AUTHOR_FLAG,
  ],
  run: (ctx, args) =>
    guarded(async () => {
      const bundle = readBundle(args.positionals[0]!, () => readFileSync(0));
      // A large app is written as several requests by the member: give it more than a short command's time.
      const config = await api(ctx, Math.max(ctx.globals.commandTimeoutMs, 60_000));
      const totals = await importBundle(ctx, config, bundle, {
        publish: args.flags['publish'] === true,
        ...(str(args, 'author') ? { author: str(args, 'author') } : {}),
      });
      if (structured(ctx)) ctx.print(totals as unknown as Record<string, unknown>);
      else
        ctx.stdout.write(
          `imported ${totals.items} item(s) into ${bundle.namespace}: ${totals.published} published, ${totals.drafts} draft(s), ${totals.unchanged} unchanged\n`,
        );
      return ExitCode.Success;
    }),
};

export const configCommand: CommandSpec = {
  name: 'config',
  summary:
    'Config center: apps, items, get, edit, publish, rollback, history, diff, gray, listeners, export, import',
  description:
    'Talks to the config center REST API (/api/config/v1) of --endpoints. With auth on, a 403 names the grant\n' +
    'the user lacks (see docs/security.md: read or readwrite on /cairn/config/<ns>/<app>/).',
  flags: [NAMESPACE_FLAG],
  subcommands: [
    namespaces,
    apps,
    items,
    get,
    edit,
    publish,
    rollback,
    history,
    diff,
    gray,
    listeners,
    watch,
    exportCommand,
    importCommand,
  ],
};
