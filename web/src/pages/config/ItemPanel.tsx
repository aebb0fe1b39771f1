// One config item: its title and live version, and its four tabs (edit, releases, gray, listeners).
import { useState } from 'react';
import { configApi } from '../../config-api';
import { Badge, ErrorBanner } from '../../components/common';
import { usePoll } from '../../hooks';
import { useMayWritePrefix } from '../../auth/grants';
import { configAppPrefix } from '../../auth/key-spaces';
import { Editor } from './Editor';
import { Gray } from './Gray';
import { Listeners } from './Listeners';
import { Releases } from './Releases';

const TABS = {
  edit: 'Edit & publish',
  releases: 'Releases',
  gray: 'Gray release',
  listeners: 'Listeners',
} as const;
type Tab = keyof typeof TABS;

export function ItemPanel({
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
  // A reader's first tab only shows the content.
  const mayWrite = useMayWritePrefix(configAppPrefix(ns, app));
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
        {(Object.keys(TABS) as Tab[]).map((t) => (
          <button key={t} role="tab" aria-selected={tab === t} onClick={() => setTab(t)}>
            {t === 'edit' && !mayWrite ? 'Content' : TABS[t]}
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
