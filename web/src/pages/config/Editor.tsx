// The "Edit & publish" tab: the editor (validated in the browser as you type and by the server after a pause),
// drafts, the diff against live, and a publish guarded by the revision the edit started from.
import { useEffect, useState } from 'react';
import {
  configApi,
  conflictOf,
  issuesOf,
  type ConfigConflictBody,
  type ConfigItemView,
  type ValidationIssue,
} from '../../config-api';
import { Confirm, DiffView, ErrorBanner } from '../../components/common';
import { CodeEditor, validate } from '../../components/CodeEditor';
import { syntaxOf } from '../../components/highlight';
import { useMayWritePrefix } from '../../auth/grants';
import { configAppPrefix } from '../../auth/key-spaces';
import { ConflictPanel } from './ConflictPanel';
import { useAction } from '../../use-action';

/** What the edit is based on: the live release when editing started (or when a conflict was resolved). */
interface Base {
  revision: number;
  version: number;
  content: string;
}

export function Editor({
  item,
  author,
  masked,
  onChanged,
}: {
  item: ConfigItemView;
  author: string;
  /** A secret item's masked content: shown, never saved or published. */
  masked?: boolean;
  onChanged: () => void;
}) {
  const { namespace: ns, app, name } = item;
  // Without write on the app's prefix the content is shown read-only, with no draft or publish actions.
  const mayWrite = useMayWritePrefix(configAppPrefix(ns, app)) && !masked;
  // The edit starts from the draft (if any) or the live content; it is never replaced by polling.
  const [text, setText] = useState(() => item.draft?.content ?? item.content);
  const [base, setBase] = useState<Base>(() => ({
    revision: item.modRevision,
    version: item.version,
    content: item.content,
  }));
  const [showDiff, setShowDiff] = useState(false);
  const [publishing, setPublishing] = useState(false);
  const [comment, setComment] = useState('');
  const { error, setError, run } = useAction();
  const [conflict, setConflict] = useState<ConfigConflictBody>();
  const [serverIssues, setServerIssues] = useState<ValidationIssue[]>([]);
  const [notice, setNotice] = useState<string>();
  const syntax = syntaxOf(item.format, name);
  const local = validate(text, syntax);
  const issues: ValidationIssue[] = local
    ? [{ message: local.message, line: local.line ?? 0, column: 0 }]
    : serverIssues;

  // Ask the server too (JSON Schema, properties rules) after a pause in typing.
  useEffect(() => {
    if (local) return;
    const timer = setTimeout(() => {
      configApi
        .validate(ns, app, name, text, item.format)
        .then((r) => setServerIssues(r.issues))
        .catch(() => undefined);
    }, 400);
    return () => clearTimeout(timer);
  }, [text, ns, app, name, item.format, local]);

  const liveMoved = item.modRevision !== base.revision;
  const act = (p: Promise<unknown>, message: string, after?: () => void): void => {
    setNotice(undefined);
    run(
      p.catch((err: unknown) => {
        // A conflict and server-side validation issues get their own display; the banner gets the error too.
        const c = conflictOf(err);
        if (c) setConflict(c);
        const found = issuesOf(err);
        if (found.length) setServerIssues(found);
        throw err;
      }),
      () => {
        setNotice(message);
        after?.();
        onChanged();
      },
    );
  };

  const publish = (): void => {
    setPublishing(false);
    act(
      configApi.publish(ns, app, name, { content: text, comment, author, expectedRevision: base.revision }),
      'Published.',
      () => {
        setConflict(undefined);
        setComment('');
        configApi
          .item(ns, app, name)
          .then((fresh) =>
            setBase({ revision: fresh.modRevision, version: fresh.version, content: fresh.content }),
          )
          .catch(() => undefined);
      },
    );
  };

  /** Resolves a conflict: the edit is now based on the live release (and, if `load`, replaced by it). */
  const rebase = (c: ConfigConflictBody, load: boolean): void => {
    if (load) setText(c.current?.content ?? '');
    setBase({
      revision: c.currentRevision,
      version: c.current?.version ?? item.version,
      content: c.current?.content ?? '',
    });
    setConflict(undefined);
    setError(undefined);
  };

  return (
    <div className="panel">
      {liveMoved && !conflict && (
        <div className="notice" role="status">
          The live release changed to v{item.version} since you started editing (you based your edit on v
          {base.version}). Publishing will report a conflict; review it, then publish over it if you mean to.
        </div>
      )}
      {conflict && (
        <ConflictPanel
          conflict={conflict}
          text={text}
          onKeepEdit={() => rebase(conflict, false)}
          onLoadLive={() => rebase(conflict, true)}
        />
      )}
      {!conflict && <ErrorBanner error={error} context="The action failed (your edit is kept)" />}
      {notice && (
        <div className="notice" role="status">
          {notice}
        </div>
      )}
      {!mayWrite && !masked && (
        <div className="notice small" data-testid="read-only">
          Read-only: you may read this app but not change it (no write permission on{' '}
          <code>{configAppPrefix(ns, app)}</code>).
        </div>
      )}
      <CodeEditor
        readOnly={!mayWrite}
        value={text}
        onChange={setText}
        syntax={syntax}
        errorLine={issues[0]?.line || undefined}
        label={`content of ${name}`}
      />
      <div aria-live="polite" data-testid="validation">
        {issues.map((i, n) => (
          <div key={n} className="error small">
            {i.line ? `line ${i.line}${i.column ? `, column ${i.column}` : ''}: ` : ''}
            {i.message}
          </div>
        ))}
      </div>
      <div className="toolbar" style={{ marginTop: 8 }}>
        {mayWrite && (
          <button
            onClick={() =>
              act(
                configApi.saveDraft(ns, app, name, { content: text, author, baseRevision: base.revision }),
                'Draft saved.',
              )
            }
          >
            Save draft
          </button>
        )}
        {mayWrite && item.draft && (
          <button
            onClick={() =>
              act(configApi.discardDraft(ns, app, name), 'Draft discarded.', () => setText(item.content))
            }
          >
            Discard draft
          </button>
        )}
        <button aria-pressed={showDiff} onClick={() => setShowDiff((s) => !s)}>
          {showDiff ? 'Hide diff' : 'Diff vs live'}
        </button>
        {mayWrite && (
          <button className="primary" disabled={issues.length > 0} onClick={() => setPublishing(true)}>
            Publish…
          </button>
        )}
        {mayWrite && (
          <span className="small muted">
            editing on top of v{base.version}
            {text !== base.content ? ' · modified' : ''}
          </span>
        )}
      </div>
      {showDiff && (
        <>
          <h3>Live v{item.version} → editor</h3>
          <DiffView before={item.content} after={text} label="live to editor" />
        </>
      )}
      <Confirm
        open={publishing}
        title={`Publish ${name}?`}
        confirmLabel="Publish"
        onConfirm={publish}
        onCancel={() => setPublishing(false)}
      >
        <DiffView before={item.content} after={text} label="publish diff" />
        <label style={{ display: 'flex', marginTop: 10 }}>
          Comment
          <input value={comment} onChange={(e) => setComment(e.target.value)} size={40} autoFocus />
        </label>
      </Confirm>
    </div>
  );
}
