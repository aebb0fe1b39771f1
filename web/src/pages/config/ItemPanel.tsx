// One config item: its title and live version, and its four tabs (edit, releases, gray, listeners).
import { useState } from 'react';
import { configApi, SECRET_MASK } from '../../config-api';
import { Badge, ErrorBanner } from '../../components/common';
import { usePoll } from '../../hooks';
import { useMayWritePrefix } from '../../auth/grants';
import { configAppPrefix } from '../../auth/key-spaces';
import { Editor } from './Editor';
import { Gray } from './Gray';
import { Listeners } from './Listeners';
import { Releases } from './Releases';
import { Who } from './Who';

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
  // A secret item comes masked; once the user reveals it, it is read decrypted (and only then editable: the
  // mask must never be published or gray-released as the content).
  const [revealed, setRevealed] = useState(false);
  const item = usePoll(() => configApi.item(ns, app, name, revealed), [ns, app, name, revealed], 3000);
  const changed = (): void => {
    item.reload();
    onChanged();
  };
  const [tab, setTab] = useState<Tab>('edit');
  // A reader's first tab only shows the content.
  const mayWrite = useMayWritePrefix(configAppPrefix(ns, app));
  const data = item.data;
  // Masked until the revealed read has come back (the poll keeps the masked data until then).
  const masked = !!data?.secret && (!revealed || data.content === SECRET_MASK);
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
              {data.secret && (
                <>
                  {' '}
                  · <Badge tone="warn">secret</Badge>{' '}
                  {revealed ? (
                    <button className="small" onClick={() => setRevealed(false)}>
                      Hide
                    </button>
                  ) : (
                    <button className="small" onClick={() => setRevealed(true)}>
                      Reveal
                    </button>
                  )}
                </>
              )}
              {data.draft && (
                <>
                  {' '}
                  ·{' '}
                  <Badge tone="warn">
                    draft by <Who record={data.draft} />
                  </Badge>
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
      {masked && (
        <div className="notice small" data-testid="secret-masked">
          This item is secret: its content is masked. Reveal it to edit, publish or start a gray release.
        </div>
      )}
      {data && tab === 'edit' && (
        <Editor
          // Revealing swaps the masked content for the real one: the editor starts again from it.
          key={masked ? 'masked' : 'clear'}
          item={data}
          author={author}
          masked={masked}
          onChanged={changed}
        />
      )}
      {data && tab === 'releases' && <Releases item={data} author={author} onChanged={changed} />}
      {data && tab === 'gray' && (
        <Gray
          key={masked ? 'masked' : 'clear'}
          item={data}
          author={author}
          masked={masked}
          onChanged={changed}
        />
      )}
      {data && tab === 'listeners' && <Listeners item={data} />}
    </div>
  );
}
