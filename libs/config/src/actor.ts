// Who a change is recorded as: the caller's authenticated identity, never a name the caller sends. The
// `author` a request carries is kept beside it as the caller's own note, untrusted (docs/config.md#actors).
import type { CallContext } from '@cairn/server';

/** The actor of a release, draft or gray record when no user is authenticated (auth off). */
export const ANONYMOUS_ACTOR = 'anonymous';

/** The authenticated user of `ctx` ('anonymous' when auth is off or the request carried no credentials). */
export function actorOf(ctx: CallContext): string {
  return ctx.identity.user || ANONYMOUS_ACTOR;
}

/** The caller's `author` note: trimmed and bounded, '' when none. */
export function authorNote(author: string | undefined): string {
  return (author ?? '').trim().slice(0, 256);
}
