import { useEffect, useRef, useState } from 'react';
import {
  configApi,
  conflictOf,
  issuesOf,
  type ConfigBundle,
  type ConfigConflictBody,
  type ConfigFormat,
  type ConfigItemView,
  type ConfigReleaseView,
  type ValidationIssue,
} from '../config-api';
import { Badge, Confirm, DiffView, ErrorBanner } from '../components/common';
import { CodeEditor, validate } from '../components/CodeEditor';
import { syntaxOf } from '../components/highlight';
import { rowKeyNav, setParams, useLocation, usePoll } from '../hooks';

const FORMATS: ConfigFormat[] = ['yaml', 'json', 'properties', 'text'];

function useAuthor(): [string, (a: string) => void] {
  const [author, setAuthor] = useState(() => localStorage.getItem('cairn.author') ?? 'console');
  return [
    author,
    (a: string) => {
      localStorage.setItem('cairn.author', a);
      setAuthor(a);
    },
  ];
}

export function ConfigPage() {
  const { params } = useLocation();
  const ns = params.get('ns') ?? '';
  const app = params.get('app') ?? '';
  const name = params.get('item') ?? '';
  const [author, setAuthor] = useAuthor();
  const namespaces = usePoll(() => configApi.namespaces(), [], 5000);
  // Bumped by actions on an item, so the navigator's versions and badges follow at once.
  const [changes, setChanges] = useState(0);
  return (
    <section aria-labelledby="config-title">
      <h2 id="config-title">Config</h2>
      <ErrorBanner error={namespaces.error} context="Cannot load namespaces" />
      <div className="toolbar">
        <label>
          Author
          <input value={author} onChange={(e) => setAuthor(e.target.value)} size={14} />
        </label>
        {ns && (
          <>
            <a href={configApi.exportUrl(ns, app || undefined)} download>
              Export {app ? `app ${app}` : `namespace ${ns}`} (JSON)
            </a>
            <a href={configApi.exportUrl(ns, app || undefined, true)} download>
              (zip)
            </a>
          </>
        )}
        <ImportButton author={author} onDone={namespaces.reload} />
      </div>
      <div className="row">
        <div className="panel" style={{ minWidth: 240, maxWidth: 300 }}>
          <Navigator
            namespaces={namespaces.data?.map((n) => n.name) ?? []}
            ns={ns}
            app={app}
            item={name}
            changes={changes}
            onChanged={namespaces.reload}
          />
        </div>
        <div className="grow">
          {ns && app && name ? (
            <ItemPanel
              key={`${ns}/${app}/${name}`}
              ns={ns}
              app={app}
              name={name}
              author={author}
              onChanged={() => setChanges((c) => c + 1)}
            />
          ) : (
            <div className="panel muted">Pick a namespace, an app and an item (or create them).</div>
          )}
        </div>
      </div>
    </section>
  );
}

function Navigator({
  namespaces,
  ns,
  app,
  item,
  changes,
  onChanged,
}: {
  namespaces: string[];
  ns: string;
  app: string;
  item: string;
  changes: number;
  onChanged: () => void;
}) {
  const apps = usePoll(() => (ns ? configApi.apps(ns) : Promise.resolve([])), [ns], 5000);
  const items = usePoll(
    () => (ns && app ? configApi.items(ns, app) : Promise.resolve([])),
    [ns, app, changes],
    3000,
  );
  const [newNs, setNewNs] = useState('');
  const [newApp, setNewApp] = useState('');
  const [newItem, setNewItem] = useState('');
  const [newFormat, setNewFormat] = useState<ConfigFormat>('yaml');
  const [error, setError] = useState<unknown>();
  const run = (p: Promise<unknown>, after: () => void): void => {
    setError(undefined);
    p.then(after).catch((err: unknown) => setError(err));
  };
  return (
    <nav aria-label="config items">
      <ErrorBanner error={error} />
      <label>
        Namespace
        <select
          value={ns}
          onChange={(e) => setParams({ ns: e.target.value, app: undefined, item: undefined }, true)}
        >
          <option value="">—</option>
          {namespaces.map((n) => (
            <option key={n}>{n}</option>
          ))}
        </select>
      </label>
      <form
        className="toolbar"
        style={{ marginTop: 6 }}
        onSubmit={(e) => {
          e.preventDefault();
          run(configApi.putNamespace(newNs), () => {
            onChanged();
            setParams({ ns: newNs, app: undefined, item: undefined }, true);
            setNewNs('');
          });
        }}
      >
        <input
          aria-label="new namespace"
          placeholder="new namespace"
          value={newNs}
          onChange={(e) => setNewNs(e.target.value)}
          size={14}
        />
        <button disabled={!newNs}>Add</button>
      </form>
      {ns && (
        <>
          <h3>Apps</h3>
          <ul className="tree" role="listbox" aria-label="apps">
            {(apps.data ?? []).map((a) => (
              <li
                key={a.name}
                role="option"
                aria-selected={a.name === app}
                tabIndex={0}
                onKeyDown={(e) => rowKeyNav(e, () => setParams({ app: a.name, item: undefined }, true))}
                onClick={() => setParams({ app: a.name, item: undefined }, true)}
                className={a.name === app ? 'selected' : undefined}
                style={{
                  padding: '2px 4px',
                  cursor: 'pointer',
                  background: a.name === app ? '#e3ebff' : undefined,
                }}
              >
                {a.name} <span className="count">{a.items.length}</span>
              </li>
            ))}
          </ul>
          <form
            className="toolbar"
            style={{ marginTop: 6 }}
            onSubmit={(e) => {
              e.preventDefault();
              run(configApi.putApp(ns, newApp), () => {
                apps.reload();
                setParams({ app: newApp, item: undefined }, true);
                setNewApp('');
              });
            }}
          >
            <input
              aria-label="new app"
              placeholder="new app"
              value={newApp}
              onChange={(e) => setNewApp(e.target.value)}
              size={14}
            />
            <button disabled={!newApp}>Add</button>
          </form>
        </>
      )}
      {ns && app && (
        <>
          <h3>Items</h3>
          <ul className="tree" role="listbox" aria-label="items">
            {(items.data ?? []).map((i) => (
              <li
                key={i.name}
                role="option"
                aria-selected={i.name === item}
                tabIndex={0}
                onKeyDown={(e) => rowKeyNav(e, () => setParams({ item: i.name }, true))}
                onClick={() => setParams({ item: i.name }, true)}
                style={{
                  padding: '2px 4px',
                  cursor: 'pointer',
                  background: i.name === item ? '#e3ebff' : undefined,
                }}
              >
                <span className="mono">{i.name}</span> <span className="count">v{i.version}</span>{' '}
                {i.draft && <Badge tone="warn">draft</Badge>} {i.gray && <Badge tone="leader">gray</Badge>}
              </li>
            ))}
          </ul>
          <form
            className="toolbar"
            style={{ marginTop: 6 }}
            onSubmit={(e) => {
              e.preventDefault();
              run(configApi.putItem(ns, app, newItem, { format: newFormat }), () => {
                items.reload();
                setParams({ item: newItem }, true);
                setNewItem('');
              });
            }}
          >
            <input
              aria-label="new item"
              placeholder="new item"
              value={newItem}
              onChange={(e) => setNewItem(e.target.value)}
              size={12}
            />
            <select
              aria-label="new item format"
              value={newFormat}
              onChange={(e) => setNewFormat(e.target.value as ConfigFormat)}
            >
              {FORMATS.map((f) => (
                <option key={f}>{f}</option>
              ))}
            </select>
            <button disabled={!newItem}>Add</button>
          </form>
        </>
      )}
    </nav>
  );
}

function ImportButton({ author, onDone }: { author: string; onDone: () => void }) {
  const input = useRef<HTMLInputElement>(null);
  const [publish, setPublish] = useState(false);
  const [result, setResult] = useState<string>();
  const [error, setError] = useState<unknown>();
  return (
    <>
      <label>
        <input type="checkbox" checked={publish} onChange={(e) => setPublish(e.target.checked)} /> publish on
        import
      </label>
      <button onClick={() => input.current?.click()}>Import bundle…</button>
      <input
        ref={input}
        type="file"
        accept="application/json,.json"
        aria-label="import bundle file"
        style={{ display: 'none' }}
        onChange={(e) => {
          const file = e.target.files?.[0];
          e.target.value = '';
          if (!file) return;
          setError(undefined);
          file
            .text()
            .then((text) => configApi.importBundle(JSON.parse(text) as ConfigBundle, { author, publish }))
            .then((r) => {
              setResult(
                `imported ${r.items} items: ${r.published} published, ${r.drafts} drafts, ${r.unchanged} unchanged`,
              );
              onDone();
            })
            .catch((err: unknown) => setError(err));
        }}
      />
      {result && <span className="small muted">{result}</span>}
      <ErrorBanner error={error} context="Import failed" />
    </>
  );
}

type Tab = 'edit' | 'releases' | 'gray' | 'listeners';

function ItemPanel({
  ns,
  app,
  name,
  author,
  onChanged,
}: {
  ns: string;
  app: string;
  name: string;
  author: string;
  onChanged: () => void;
}) {
  const item = usePoll(() => configApi.item(ns, app, name), [ns, app, name], 3000);
  const changed = (): void => {
    item.reload();
    onChanged();
  };
  const [tab, setTab] = useState<Tab>('edit');
  const data = item.data;
  return (
    <div>
      <div className="panel">
        <div className="toolbar" style={{ justifyContent: 'space-between', margin: 0 }}>
          <h3 style={{ margin: 0 }} className="mono" data-testid="item-title">
            {ns} / {app} / {name}
          </h3>
          {data && (
            <span className="small" data-testid="item-version">
              <Badge>{data.format}</Badge> live <b>v{data.version}</b> · revision {data.modRevision}
              {data.draft && (
                <>
                  {' '}
                  · <Badge tone="warn">draft by {data.draft.author || '?'}</Badge>
                </>
              )}
              {data.gray && (
                <>
                  {' '}
                  · <Badge tone="leader">gray v{data.gray.version}</Badge>
                </>
              )}
            </span>
          )}
        </div>
        <ErrorBanner error={item.error} context="Cannot load the item" />
      </div>
      <div className="tabs" role="tablist" aria-label="item sections">
        {(['edit', 'releases', 'gray', 'listeners'] as Tab[]).map((t) => (
          <button key={t} role="tab" aria-selected={tab === t} onClick={() => setTab(t)}>
            {t === 'edit'
              ? 'Edit & publish'
              : t === 'releases'
                ? 'Releases'
                : t === 'gray'
                  ? 'Gray release'
                  : 'Listeners'}
          </button>
        ))}
      </div>
      {data && tab === 'edit' && <Editor item={data} author={author} onChanged={changed} />}
      {data && tab === 'releases' && <Releases item={data} author={author} onChanged={changed} />}
      {data && tab === 'gray' && <Gray item={data} author={author} onChanged={changed} />}
      {data && tab === 'listeners' && <Listeners item={data} />}
    </div>
  );
}

function Editor({
  item,
  author,
  onChanged,
}: {
  item: ConfigItemView;
  author: string;
  onChanged: () => void;
}) {
  const { namespace: ns, app, name } = item;
  // The edit starts from the draft (if any) or the live content; it is never replaced by polling.
  const [text, setText] = useState(() => item.draft?.content ?? item.content);
  const [base, setBase] = useState(() => ({
    revision: item.modRevision,
    version: item.version,
    content: item.content,
  }));
  const [showDiff, setShowDiff] = useState(false);
  const [publishing, setPublishing] = useState(false);
  const [comment, setComment] = useState('');
  const [error, setError] = useState<unknown>();
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
    setError(undefined);
    setNotice(undefined);
    p.then(() => {
      setNotice(message);
      after?.();
      onChanged();
    }).catch((err: unknown) => {
      const c = conflictOf(err);
      if (c) setConflict(c);
      const found = issuesOf(err);
      if (found.length) setServerIssues(found);
      setError(err);
    });
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

  return (
    <div className="panel">
      {liveMoved && !conflict && (
        <div className="notice" role="status">
          The live release changed to v{item.version} since you started editing (you based your edit on v
          {base.version}). Publishing will report a conflict; review it, then publish over it if you mean to.
        </div>
      )}
      {conflict && (
        <div className="error" role="alert" data-testid="conflict">
          <b>Publish conflict:</b> {conflict.message}
          <div className="row" style={{ marginTop: 8 }}>
            <div className="grow">
              <div className="small">
                Your base: v{conflict.base?.version ?? 0} (revision {conflict.expectedRevision})
              </div>
              <pre className="value" data-testid="conflict-base">
                {conflict.base?.content ?? ''}
              </pre>
            </div>
            <div className="grow">
              <div className="small">
                Live now: v{conflict.current?.version ?? '?'} by {conflict.current?.author || '?'} (revision{' '}
                {conflict.currentRevision})
              </div>
              <pre className="value" data-testid="conflict-current">
                {conflict.current?.content ?? ''}
              </pre>
            </div>
          </div>
          <div className="small" style={{ marginTop: 6 }}>
            Live now → your edit:
          </div>
          <DiffView before={conflict.current?.content ?? ''} after={text} label="live to your edit" />
          <div className="toolbar" style={{ marginTop: 8 }}>
            <button
              onClick={() => {
                setBase({
                  revision: conflict.currentRevision,
                  version: conflict.current?.version ?? item.version,
                  content: conflict.current?.content ?? '',
                });
                setConflict(undefined);
                setError(undefined);
              }}
            >
              Keep my edit, base it on the live version
            </button>
            <button
              onClick={() => {
                setText(conflict.current?.content ?? '');
                setBase({
                  revision: conflict.currentRevision,
                  version: conflict.current?.version ?? item.version,
                  content: conflict.current?.content ?? '',
                });
                setConflict(undefined);
                setError(undefined);
              }}
            >
              Discard my edit, load the live version
            </button>
          </div>
        </div>
      )}
      {!conflict && <ErrorBanner error={error} context="The action failed (your edit is kept)" />}
      {notice && (
        <div className="notice" role="status">
          {notice}
        </div>
      )}
      <CodeEditor
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
        {item.draft && (
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
        <button className="primary" disabled={issues.length > 0} onClick={() => setPublishing(true)}>
          Publish…
        </button>
        <span className="small muted">
          editing on top of v{base.version}
          {text !== base.content ? ' · modified' : ''}
        </span>
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

function Releases({
  item,
  author,
  onChanged,
}: {
  item: ConfigItemView;
  author: string;
  onChanged: () => void;
}) {
  const { namespace: ns, app, name } = item;
  const releases = usePoll(() => configApi.releases(ns, app, name), [ns, app, name, item.latestRelease]);
  const [picked, setPicked] = useState<number[]>([]);
  const [rollbackTo, setRollbackTo] = useState<ConfigReleaseView>();
  const [error, setError] = useState<unknown>();
  const [notice, setNotice] = useState<string>();
  const list = releases.data ?? [];
  useEffect(() => {
    if (list.length >= 2) setPicked([list[1].version, list[0].version]);
  }, [releases.data]);
  const toggle = (v: number): void =>
    setPicked((prev) => (prev.includes(v) ? prev.filter((x) => x !== v) : [...prev, v].slice(-2)));
  const [a, b] = [...picked].sort((x, y) => x - y);
  const ra = list.find((r) => r.version === a);
  const rb = list.find((r) => r.version === b);
  return (
    <div className="panel">
      <ErrorBanner error={releases.error ?? error} />
      {notice && <div className="notice">{notice}</div>}
      <table aria-label="releases">
        <thead>
          <tr>
            <th>Compare</th>
            <th>Version</th>
            <th>Kind</th>
            <th>Author</th>
            <th>Comment</th>
            <th>Time</th>
            <th>Revision</th>
            <th />
          </tr>
        </thead>
        <tbody>
          {list.map((r) => (
            <tr
              key={r.version}
              tabIndex={0}
              className={`selectable ${picked.includes(r.version) ? 'selected' : ''}`}
              onClick={() => toggle(r.version)}
              onKeyDown={(e) => rowKeyNav(e, () => toggle(r.version))}
              data-testid={`release-${r.version}`}
            >
              <td>
                <input
                  type="checkbox"
                  tabIndex={-1}
                  aria-label={`compare v${r.version}`}
                  checked={picked.includes(r.version)}
                  onChange={() => toggle(r.version)}
                  onClick={(e) => e.stopPropagation()}
                />
              </td>
              <td>
                v{r.version} {r.version === item.version && <Badge tone="ok">live</Badge>}
              </td>
              <td>
                {r.kind}
                {r.sourceVersion ? ` of v${r.sourceVersion}` : ''}
              </td>
              <td>{r.author}</td>
              <td>{r.comment}</td>
              <td className="small">{new Date(r.time).toLocaleString()}</td>
              <td className="mono">{r.revision}</td>
              <td>
                {r.version !== item.version && r.kind !== 'gray' && (
                  <button
                    onClick={(e) => {
                      e.stopPropagation();
                      setRollbackTo(r);
                    }}
                  >
                    Roll back to v{r.version}
                  </button>
                )}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      {list.length === 0 && <div className="muted">Not published yet.</div>}
      {ra && rb && (
        <>
          <h3>
            v{a} → v{b}
          </h3>
          <DiffView before={ra.content} after={rb.content} label={`diff v${a} to v${b}`} />
        </>
      )}
      <Confirm
        open={!!rollbackTo}
        title={`Roll back to v${rollbackTo?.version}?`}
        confirmLabel="Roll back"
        danger
        onCancel={() => setRollbackTo(undefined)}
        onConfirm={() => {
          const target = rollbackTo;
          setRollbackTo(undefined);
          if (!target) return;
          setError(undefined);
          configApi
            .rollback(ns, app, name, {
              version: target.version,
              author,
              comment: `rollback to v${target.version}`,
              expectedRevision: item.modRevision,
            })
            .then((r) => {
              setNotice(`Rolled back: v${r.version} restores v${target.version}.`);
              releases.reload();
              onChanged();
            })
            .catch((err: unknown) => setError(err));
        }}
      >
        <p>A new release with v{rollbackTo?.version}'s content is published; history is kept.</p>
        <DiffView before={item.content} after={rollbackTo?.content ?? ''} label="rollback diff" />
      </Confirm>
    </div>
  );
}

function Gray({ item, author, onChanged }: { item: ConfigItemView; author: string; onChanged: () => void }) {
  const { namespace: ns, app, name } = item;
  const [content, setContent] = useState(item.gray?.content ?? item.draft?.content ?? item.content);
  const [labels, setLabels] = useState(
    item.gray
      ? Object.entries(item.gray.rule.labels)
          .map(([k, v]) => `${k}=${v}`)
          .join(',')
      : 'canary=true',
  );
  const [percentage, setPercentage] = useState(String(item.gray?.rule.percentage ?? 100));
  const [comment, setComment] = useState('');
  const [error, setError] = useState<unknown>();
  const syntax = syntaxOf(item.format, name);
  const local = validate(content, syntax);
  const act = (p: Promise<unknown>): void => {
    setError(undefined);
    p.then(onChanged).catch((err: unknown) => setError(err));
  };
  const parsedLabels = (): Record<string, string> =>
    Object.fromEntries(
      labels
        .split(',')
        .map((p) => p.trim())
        .filter(Boolean)
        .map((p) => [p.slice(0, p.indexOf('=')).trim(), p.slice(p.indexOf('=') + 1).trim()]),
    );
  return (
    <div className="panel">
      <ErrorBanner error={error} context="Gray release action failed" />
      {item.gray ? (
        <div className="notice">
          Gray release <b>v{item.gray.version}</b> by {item.gray.author || '?'} to labels{' '}
          <code>{JSON.stringify(item.gray.rule.labels)}</code>, {item.gray.rule.percentage}% of them (based on
          v{item.gray.baseVersion}).
          <div className="toolbar" style={{ marginTop: 6 }}>
            <button
              className="primary"
              onClick={() => act(configApi.promoteGray(ns, app, name, { author, comment }))}
            >
              Promote to everyone
            </button>
            <button
              className="danger"
              onClick={() => act(configApi.abandonGray(ns, app, name, { author, comment }))}
            >
              Abandon
            </button>
          </div>
          <DiffView before={item.content} after={item.gray.content} label="live to gray" />
        </div>
      ) : (
        <div className="muted small">No gray release. Start one for subscribers whose labels match.</div>
      )}
      <div className="toolbar" style={{ marginTop: 10 }}>
        <label>
          Labels
          <input
            value={labels}
            onChange={(e) => setLabels(e.target.value)}
            placeholder="zone=eu-1,canary=true"
            size={26}
          />
        </label>
        <label>
          Percentage
          <input
            value={percentage}
            onChange={(e) => setPercentage(e.target.value)}
            size={4}
            inputMode="numeric"
          />
        </label>
        <label>
          Comment
          <input value={comment} onChange={(e) => setComment(e.target.value)} size={20} />
        </label>
      </div>
      <CodeEditor
        value={content}
        onChange={setContent}
        syntax={syntax}
        errorLine={local?.line}
        label="gray content"
      />
      {local && <div className="error small">{local.message}</div>}
      <div className="toolbar" style={{ marginTop: 8 }}>
        <button
          className="primary"
          disabled={!!local}
          onClick={() =>
            act(
              configApi.startGray(ns, app, name, {
                content,
                rule: { labels: parsedLabels(), percentage: Number(percentage) || 0 },
                author,
                comment,
              }),
            )
          }
        >
          {item.gray ? 'Replace gray release' : 'Start gray release'}
        </button>
      </div>
    </div>
  );
}

function Listeners({ item }: { item: ConfigItemView }) {
  const listeners = usePoll(
    () => configApi.listeners(item.namespace, item.app, item.name),
    [item.namespace, item.app, item.name],
    3000,
  );
  const list = listeners.data ?? [];
  return (
    <div className="panel">
      <ErrorBanner error={listeners.error} />
      <table aria-label="listeners">
        <thead>
          <tr>
            <th>Subscriber</th>
            <th>Host</th>
            <th>Labels</th>
            <th>Holds</th>
            <th>Should hold</th>
            <th>Member</th>
            <th>Reported</th>
          </tr>
        </thead>
        <tbody>
          {list.map((l) => (
            <tr key={l.subscriberId} tabIndex={0} onKeyDown={(e) => rowKeyNav(e)}>
              <td className="mono small">{l.subscriberId}</td>
              <td>{l.host}</td>
              <td className="small">
                {Object.entries(l.labels).map(([k, v]) => (
                  <Badge key={k}>
                    {k}={v}
                  </Badge>
                ))}
              </td>
              <td>
                <Badge tone={l.appliedVersion === l.expectedVersion ? 'ok' : 'warn'}>
                  v{l.appliedVersion}
                </Badge>
                {l.gray && <Badge tone="leader">gray</Badge>}
              </td>
              <td>v{l.expectedVersion}</td>
              <td>{l.member}</td>
              <td className="small">{l.reportedAt ? new Date(l.reportedAt).toLocaleTimeString() : ''}</td>
            </tr>
          ))}
        </tbody>
      </table>
      {list.length === 0 && <div className="muted">Nobody is listening to this item.</div>}
    </div>
  );
}
