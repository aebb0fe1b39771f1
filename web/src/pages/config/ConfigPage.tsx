// The Config page: the toolbar (author, export, import), the navigator (namespace → app → item) and the
// selected item's panel. Each panel lives in its own file in this folder.
import { useState } from 'react';
import { configApi } from '../../config-api';
import { ErrorBanner } from '../../components/common';
import { DownloadLink } from '../../components/DownloadLink';
import { useLocation, usePoll } from '../../hooks';
import { ImportButton } from './ImportButton';
import { ItemPanel } from './ItemPanel';
import { Navigator } from './Navigator';
import { useAuthor } from './use-author';
import { useSession } from '../../auth/session';

export function ConfigPage() {
  const { params } = useLocation();
  const ns = params.get('ns') ?? '';
  const app = params.get('app') ?? '';
  const name = params.get('item') ?? '';
  const [author, setAuthor] = useAuthor();
  // Signed in, the member records the user as the actor; the author typed here is kept only as a note.
  const { session } = useSession();
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
        {session && (
          <span className="small muted">
            (a note: releases record you as <b>{session.user}</b>)
          </span>
        )}
        {ns && (
          <>
            <DownloadLink href={configApi.exportUrl(ns, app || undefined)}>
              Export {app ? `app ${app}` : `namespace ${ns}`} (JSON)
            </DownloadLink>
            <DownloadLink href={configApi.exportUrl(ns, app || undefined, true)}>(zip)</DownloadLink>
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
