// Who made a release, draft or gray release: the authenticated user the member recorded (`actor`), and the
// author the caller typed as a note when it differs (untrusted: with auth off every actor is 'anonymous').
// Records from before auth have no actor: their author is all there is.
export function Who({ record }: { record: { actor?: string; author: string } }) {
  const { actor, author } = record;
  if (!actor) return <>{author || '?'}</>;
  return (
    <>
      {actor}
      {author && author !== actor && <span className="small muted"> (note: {author})</span>}
    </>
  );
}
