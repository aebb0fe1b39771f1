import { useEffect, useState } from 'react';
import { ApiError, consoleApi, type KeyHistoryEntry } from '../api';
import { useGrants, useMayWriteKey } from '../auth/grants';
import { allowsKey } from '../auth/permissions';
import { Badge, Confirm, DiffView, ErrorBanner } from '../components/common';
import { KeyTree } from '../components/KeyTree';
import { prettyText, ValueView } from '../components/ValueView';
import { rowKeyNav, setParams, useLocation, usePoll } from '../hooks';

export function KeysPage() {
  const { params } = useLocation();
  const root = params.get('root') ?? '';
  const selected = params.get('key') ?? undefined;
  const asOf = Number(params.get('rev') ?? '') || undefined;
  const [rootDraft, setRootDraft] = useState(root);
  const [revDraft, setRevDraft] = useState(asOf ? String(asOf) : '');
  const [refresh, setRefresh] = useState(0);
  const [creating, setCreating] = useState(false);
  // New key is offered to users who may write some key (the form checks the key typed).
  const { grants } = useGrants();
  const mayWriteSome = grants.root || grants.write.length > 0;

  return (
    <section aria-labelledby="keys-title">
      <h2 id="keys-title">Keys</h2>
      <form
        className="toolbar"
        onSubmit={(e) => {
          e.preventDefault();
          setParams({ root: rootDraft, rev: revDraft.trim() });
        }}
      >
        <label>
          Prefix
          <input
            value={rootDraft}
            onChange={(e) => setRootDraft(e.target.value)}
            placeholder="(all keys)"
            size={30}
          />
        </label>
        <label>
          As of revision
          <input
            value={revDraft}
            onChange={(e) => setRevDraft(e.target.value)}
            placeholder="latest"
            inputMode="numeric"
            size={9}
          />
        </label>
        <button type="submit">Browse</button>
        <button type="button" onClick={() => setRefresh((r) => r + 1)}>
          Refresh
        </button>
        {mayWriteSome && (
          <button type="button" className="primary" onClick={() => setCreating(true)} disabled={!!asOf}>
            New key
          </button>
        )}
        {asOf && (
          <span className="notice small">
            Read-only view of the store as of revision {asOf}.{' '}
            <a
              href="#"
              onClick={(e) => {
                e.preventDefault();
                setRevDraft('');
                setParams({ rev: undefined });
              }}
            >
              back to latest
            </a>
          </span>
        )}
      </form>
      <div className="row">
        <KeyTree
          root={root}
          revision={asOf}
          selected={selected}
          refreshToken={refresh}
          onSelect={(key) => setParams({ key }, true)}
        />
        <div className="grow">
          {creating && (
            <KeyEditor
              title="New key"
              initialKey={root}
              onDone={(key) => {
                setCreating(false);
                setRefresh((r) => r + 1);
                if (key) setParams({ key }, true);
              }}
            />
          )}
          {selected ? (
            <KeyDetail
              key={`${selected}@${asOf ?? ''}`}
              keyName={selected}
              asOf={asOf}
              onChanged={() => setRefresh((r) => r + 1)}
            />
          ) : (
            !creating && (
              <div className="panel muted">Select a key in the tree (arrow keys and Enter work too).</div>
            )
          )}
        </div>
      </div>
    </section>
  );
}

function KeyEditor({
  title,
  initialKey,
  initialValue = '',
  fixedKey,
  onDone,
}: {
  title: string;
  initialKey: string;
  initialValue?: string;
  fixedKey?: boolean;
  onDone: (key?: string) => void;
}) {
  const [key, setKey] = useState(initialKey);
  const [value, setValue] = useState(initialValue);
  const [lease, setLease] = useState('');
  const [confirming, setConfirming] = useState(false);
  const [error, setError] = useState<unknown>();
  const [busy, setBusy] = useState(false);
  const mayWrite = allowsKey(useGrants().grants, 'write', key);
  const save = (): void => {
    setConfirming(false);
    setBusy(true);
    consoleApi
      .put({ key, value, lease: lease || undefined })
      .then(() => onDone(key))
      .catch((err: unknown) => setError(err))
      .finally(() => setBusy(false));
  };
  return (
    <div className="panel">
      <h3>{title}</h3>
      <ErrorBanner error={error} context="Put failed (your edit is kept)" />
      <div className="toolbar">
        <label>
          Key
          <input value={key} onChange={(e) => setKey(e.target.value)} readOnly={fixedKey} size={50} />
        </label>
        <label>
          Lease ID
          <input value={lease} onChange={(e) => setLease(e.target.value)} placeholder="none" size={20} />
        </label>
      </div>
      <label style={{ display: 'block' }}>
        Value
        <textarea
          className="code"
          value={value}
          onChange={(e) => setValue(e.target.value)}
          rows={Math.min(20, Math.max(5, value.split('\n').length + 1))}
          style={{ width: '100%', display: 'block', marginTop: 4 }}
        />
      </label>
      <div className="toolbar" style={{ marginTop: 8 }}>
        <button
          className="primary"
          disabled={!key || busy || !mayWrite}
          title={key && !mayWrite ? 'You have no write permission on this key' : undefined}
          onClick={() => setConfirming(true)}
        >
          Put…
        </button>
        <button onClick={() => onDone()}>Cancel</button>
      </div>
      <Confirm
        open={confirming}
        title="Write this key?"
        confirmLabel="Put"
        onConfirm={save}
        onCancel={() => setConfirming(false)}
      >
        <p>
          Put <code>{key}</code> ({new TextEncoder().encode(value).length} bytes)
          {lease ? ` with lease ${lease}` : ''}.
        </p>
      </Confirm>
    </div>
  );
}

function KeyDetail({ keyName, asOf, onChanged }: { keyName: string; asOf?: number; onChanged: () => void }) {
  const value = usePoll(() => consoleApi.value(keyName, asOf), [keyName, asOf]);
  const history = usePoll(() => consoleApi.history(keyName), [keyName]);
  const [editing, setEditing] = useState(false);
  const [deleting, setDeleting] = useState(false);
  const [deleteError, setDeleteError] = useState<unknown>();
  const kv = value.data?.kv;
  // Edit and Delete write the key: hidden without write permission on it.
  const mayWrite = useMayWriteKey(keyName);

  const remove = (): void => {
    setDeleting(false);
    consoleApi
      .remove(keyName)
      .then(() => {
        value.reload();
        history.reload();
        onChanged();
      })
      .catch((err: unknown) => setDeleteError(err));
  };

  return (
    <div>
      <div className="panel">
        <div className="toolbar" style={{ justifyContent: 'space-between' }}>
          <h3 className="mono" style={{ margin: 0 }} data-testid="key-name">
            {keyName}
          </h3>
          {mayWrite && (
            <div className="toolbar" style={{ margin: 0 }}>
              <button onClick={() => setEditing(true)} disabled={!!asOf || !kv}>
                Edit
              </button>
              <button className="danger" onClick={() => setDeleting(true)} disabled={!!asOf || !kv}>
                Delete…
              </button>
            </div>
          )}
        </div>
        <ErrorBanner error={value.error} context="Cannot read the key" />
        <ErrorBanner error={deleteError} context="Delete failed" />
        {value.data && !kv && (
          <div className="muted">
            The key does not exist at revision {value.data.revision}
            {value.data.compactRevision > 0
              ? ` (history before ${value.data.compactRevision} is compacted)`
              : ''}
            .
          </div>
        )}
        {kv && (
          <>
            <dl className="kv" data-testid="key-meta">
              <dt>create revision</dt>
              <dd className="mono">{kv.createRevision}</dd>
              <dt>mod revision</dt>
              <dd className="mono">{kv.modRevision}</dd>
              <dt>version</dt>
              <dd className="mono">{kv.version}</dd>
              <dt>lease</dt>
              <dd className="mono">
                {kv.lease === '0' ? 'none' : kv.lease}
                {kv.leaseTtl !== undefined && ` (TTL ${kv.leaseTtl}s of ${kv.leaseGrantedTtl ?? '?'}s)`}
              </dd>
              <dt>size</dt>
              <dd>{kv.size} bytes</dd>
              <dt>read at</dt>
              <dd className="mono">
                revision {value.data?.revision}
                {value.data?.source === 'audit' && ' (from the audit archive: compacted in MVCC)'}
              </dd>
            </dl>
            {editing ? (
              <KeyEditor
                title="Edit value"
                initialKey={keyName}
                fixedKey
                initialValue={kv.text ?? ''}
                onDone={(saved) => {
                  setEditing(false);
                  if (saved) {
                    value.reload();
                    history.reload();
                    onChanged();
                  }
                }}
              />
            ) : (
              <div style={{ marginTop: 10 }}>
                <ValueView kv={kv} />
              </div>
            )}
          </>
        )}
      </div>
      <Confirm
        open={deleting}
        title="Delete this key?"
        confirmLabel="Delete"
        danger
        onConfirm={remove}
        onCancel={() => setDeleting(false)}
      >
        <p>
          Delete <code>{keyName}</code>. Its history stays readable until compaction.
        </p>
      </Confirm>
      <History entries={history.data?.entries} truncated={history.data?.truncated} error={history.error} />
    </div>
  );
}

function entryText(entry: KeyHistoryEntry | undefined): string {
  if (!entry) return '';
  if (!entry.kv) return '';
  return prettyText(entry.kv).text;
}

function History({
  entries,
  truncated,
  error,
}: {
  entries?: KeyHistoryEntry[];
  truncated?: boolean;
  error?: unknown;
}) {
  const [picked, setPicked] = useState<number[]>([]);
  useEffect(() => {
    // Default: the last two revisions, so the diff of the latest change shows at once.
    if (entries && entries.length >= 2)
      setPicked([entries[entries.length - 2].revision, entries[entries.length - 1].revision]);
    else setPicked([]);
  }, [entries]);
  const toggle = (rev: number): void =>
    setPicked((prev) => (prev.includes(rev) ? prev.filter((r) => r !== rev) : [...prev, rev].slice(-2)));
  const [a, b] = [...picked].sort((x, y) => x - y);
  const ea = entries?.find((e) => e.revision === a);
  const eb = entries?.find((e) => e.revision === b);
  return (
    <div className="panel">
      <h3>History</h3>
      <ErrorBanner error={error instanceof ApiError ? error : error} context="Cannot read the history" />
      {truncated && <div className="muted small">Older revisions were compacted away.</div>}
      {entries && entries.length === 0 && <div className="muted">No revisions.</div>}
      {entries && entries.length > 0 && (
        <table aria-label="key history">
          <thead>
            <tr>
              <th>Compare</th>
              <th>Revision</th>
              <th>Event</th>
              <th>Version</th>
              <th>Value</th>
            </tr>
          </thead>
          <tbody>
            {[...entries].reverse().map((e) => (
              <tr
                key={e.revision}
                tabIndex={0}
                className={`selectable ${picked.includes(e.revision) ? 'selected' : ''}`}
                onKeyDown={(ev) => rowKeyNav(ev, () => toggle(e.revision))}
                onClick={() => toggle(e.revision)}
                data-testid={`history-${e.revision}`}
              >
                <td>
                  <input
                    type="checkbox"
                    aria-label={`compare revision ${e.revision}`}
                    checked={picked.includes(e.revision)}
                    onChange={() => toggle(e.revision)}
                    onClick={(ev) => ev.stopPropagation()}
                    tabIndex={-1}
                  />
                </td>
                <td className="mono">{e.revision}</td>
                <td>
                  <Badge tone={e.type === 'put' ? 'ok' : 'bad'}>{e.type}</Badge>
                  {e.source === 'audit' && <Badge>archive</Badge>}
                </td>
                <td className="mono">{e.kv?.version ?? ''}</td>
                <td
                  className="mono small"
                  style={{
                    maxWidth: 380,
                    overflow: 'hidden',
                    textOverflow: 'ellipsis',
                    whiteSpace: 'nowrap',
                  }}
                >
                  {e.kv ? (e.kv.text ?? `(binary, ${e.kv.size} bytes)`) : ''}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {ea && eb && (
        <>
          <h3>
            Diff revision {a} → {b}
          </h3>
          <DiffView before={entryText(ea)} after={entryText(eb)} label={`diff ${a} to ${b}`} />
        </>
      )}
      {entries && entries.length > 1 && picked.length < 2 && (
        <div className="muted small">Pick two revisions to compare.</div>
      )}
    </div>
  );
}
