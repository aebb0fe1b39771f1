// `cairnctl config edit`: the draft (or the live content) in $EDITOR, the diff against the live release,
// a confirmation, then a publish guarded by the live revision the edit started from. The edit is saved as the
// item's draft before anything is asked, so a declined or refused publish loses nothing.
import { CommandError, type Context, ExitCode } from '../../command';
import type { ConfigApi, ItemRef } from './api';
import { colorDiff, unifiedDiff } from './diff';
import { confirm, editText } from './editor';

export interface EditOptions {
  yes: boolean;
  draftOnly: boolean;
  author?: string;
  comment?: string;
  /** Whether a person can answer the question (stdin and stderr are terminals). */
  interactive: boolean;
  /** Asks the question (default: on the terminal). */
  ask?: (question: string) => Promise<boolean>;
}

export async function editItem(
  ctx: Context,
  api: ConfigApi,
  ref: ItemRef,
  options: EditOptions,
): Promise<number> {
  let item = await api.item(ref);
  if (item.secret) item = await api.item(ref, true); // the real content, not the mask
  const label = `${ref.namespace}/${ref.app}/${ref.name}`;
  const start = item.draft?.content ?? item.content;
  const edited = await editText(start, ref.name, { ...ctx.env });
  if (edited === item.content) {
    ctx.stderr.write(`${label}: no change from the live release (v${item.version}); nothing published\n`);
    return ExitCode.Success;
  }
  const diff = unifiedDiff(item.content, edited, `${label} (live v${item.version})`, `${label} (edited)`);
  // The diff is for the person deciding: with -w json|yaml stdout carries only the release.
  const out = ctx.output === 'json' || ctx.output === 'yaml' ? ctx.stderr : ctx.stdout;
  out.write(out.isTTY ? `${colorDiff(diff)}\n` : diff);
  // baseRevision: the publish from this draft fails if someone else published meanwhile.
  await api.saveDraft(ref, {
    content: edited,
    baseRevision: item.modRevision,
    ...(options.author ? { author: options.author } : {}),
  });
  if (options.draftOnly) {
    ctx.stderr.write(`${label}: saved as the draft (not published)\n`);
    return ExitCode.Success;
  }
  if (!options.yes) {
    if (!options.interactive) {
      throw new CommandError(
        `${label}: not published: confirmation needed but stdin is not a terminal (pass --yes). ` +
          `The edit is saved as the draft: publish it with 'cairnctl config publish ${ref.app} ${ref.name} --from-draft -n ${ref.namespace}'`,
        ExitCode.Error,
      );
    }
    if (!(await (options.ask ?? confirm)(`Publish this as a new release of ${label}?`))) {
      ctx.stderr.write(`${label}: not published; the edit is kept as the draft\n`);
      return ExitCode.Success;
    }
  }
  const release = await api.publish(ref, {
    fromDraft: true,
    ...(options.author ? { author: options.author } : {}),
    ...(options.comment ? { comment: options.comment } : {}),
  });
  if (ctx.output === 'json' || ctx.output === 'yaml') ctx.print(release);
  else ctx.stderr.write(`${label}: published v${release.version} (rev ${release.revision})\n`);
  return ExitCode.Success;
}
