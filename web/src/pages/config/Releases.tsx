// The "Releases" tab: every release of the item, a diff between any two, and rollback (a new release with an
// older release's content, so history is never rewritten).
import { useEffect, useState } from 'react';
import { configApi, type ConfigItemView, type ConfigReleaseView } from '../../config-api';
import { Badge, Confirm, DiffView, ErrorBanner } from '../../components/common';
import { rowKeyNav, usePoll } from '../../hooks';
import { useMayWritePrefix } from '../../auth/grants';
import { configAppPrefix } from '../../auth/key-spaces';
import { useAction } from '../../use-action';
import { Who } from './Who';

export function Releases({
  item,
  author,
  onChanged,
}: {
  item: ConfigItemView;
  author: string;
  onChanged: () => void;
}) {
  const { namespace: ns, app, name } = item;
  const mayWrite = useMayWritePrefix(configAppPrefix(ns, app));
  const releases = usePoll(() => configApi.releases(ns, app, name), [ns, app, name, item.latestRelease]);
  const [picked, setPicked] = useState<number[]>([]);
  const [rollbackTo, setRollbackTo] = useState<ConfigReleaseView>();
  const { error, run } = useAction();
  const [notice, setNotice] = useState<string>();
  const list = releases.data ?? [];
  // The last two releases are compared until the user picks others.
  useEffect(() => {
    if (list.length >= 2) setPicked([list[1].version, list[0].version]);
  }, [releases.data]);
  const toggle = (v: number): void =>
    setPicked((prev) => (prev.includes(v) ? prev.filter((x) => x !== v) : [...prev, v].slice(-2)));
  const [a, b] = [...picked].sort((x, y) => x - y);
  const ra = list.find((r) => r.version === a);
  const rb = list.find((r) => r.version === b);

  const rollback = (target: ConfigReleaseView): void =>
    run(
      configApi.rollback(ns, app, name, {
        version: target.version,
        author,
        comment: `rollback to v${target.version}`,
        expectedRevision: item.modRevision,
      }),
      (r) => {
        setNotice(`Rolled back: v${r.version} restores v${target.version}.`);
        releases.reload();
        onChanged();
      },
    );

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
            <th>By</th>
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
              <td>
                <Who record={r} />
              </td>
              <td>{r.comment}</td>
              <td className="small">{new Date(r.time).toLocaleString()}</td>
              <td className="mono">{r.revision}</td>
              <td>
                {mayWrite && r.version !== item.version && r.kind !== 'gray' && (
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
          if (target) rollback(target);
        }}
      >
        <p>A new release with v{rollbackTo?.version}'s content is published; history is kept.</p>
        <DiffView before={item.content} after={rollbackTo?.content ?? ''} label="rollback diff" />
      </Confirm>
    </div>
  );
}
