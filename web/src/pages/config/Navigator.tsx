// The config page's left column: pick a namespace, an app and an item, or add one at each level.
import { useState } from 'react';
import { configApi, type ConfigFormat } from '../../config-api';
import { Badge, ErrorBanner } from '../../components/common';
import { setParams, usePoll } from '../../hooks';
import { useGrants } from '../../auth/grants';
import { configAppKey, configAppPrefix, configNamespaceKey } from '../../auth/key-spaces';
import { allowsKey, allowsPrefix } from '../../auth/permissions';
import { AddForm } from '../../components/AddForm';
import { PickList } from '../../components/PickList';
import { useAction } from '../../use-action';

const FORMATS: ConfigFormat[] = ['yaml', 'json', 'properties', 'text'];

export function Navigator({
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
  /** Bumped by actions on an item, so the items' versions and badges follow at once. */
  changes: number;
  onChanged: () => void;
}) {
  const apps = usePoll(() => (ns ? configApi.apps(ns) : Promise.resolve([])), [ns], 5000);
  const items = usePoll(
    () => (ns && app ? configApi.items(ns, app) : Promise.resolve([])),
    [ns, app, changes],
    3000,
  );
  const [newFormat, setNewFormat] = useState<ConfigFormat>('yaml');
  // A secret item is stored encrypted and shown masked (the member needs --config-encryption-key-file).
  const [newSecret, setNewSecret] = useState(false);
  const { error, run } = useAction();
  const { grants } = useGrants();
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
      <AddForm
        label="new namespace"
        size={14}
        mayAdd={(name) => allowsKey(grants, 'write', configNamespaceKey(name))}
        onAdd={(name, clear) =>
          run(configApi.putNamespace(name), () => {
            onChanged();
            setParams({ ns: name, app: undefined, item: undefined }, true);
            clear();
          })
        }
      />
      {ns && (
        <>
          <h3>Apps</h3>
          <PickList
            label="apps"
            entries={apps.data ?? []}
            keyOf={(a) => a.name}
            selected={app}
            onPick={(name) => setParams({ app: name, item: undefined }, true)}
            render={(a) => (
              <>
                {a.name} <span className="count">{a.items.length}</span>
              </>
            )}
          />
          <AddForm
            label="new app"
            size={14}
            mayAdd={(name) => allowsKey(grants, 'write', configAppKey(ns, name))}
            onAdd={(name, clear) =>
              run(configApi.putApp(ns, name), () => {
                apps.reload();
                setParams({ app: name, item: undefined }, true);
                clear();
              })
            }
          />
        </>
      )}
      {ns && app && (
        <>
          <h3>Items</h3>
          <PickList
            label="items"
            entries={items.data ?? []}
            keyOf={(i) => i.name}
            selected={item}
            onPick={(name) => setParams({ item: name }, true)}
            render={(i) => (
              <>
                <span className="mono">{i.name}</span> <span className="count">v{i.version}</span>{' '}
                {i.draft && <Badge tone="warn">draft</Badge>} {i.gray && <Badge tone="leader">gray</Badge>}
              </>
            )}
          />
          {allowsPrefix(grants, 'write', configAppPrefix(ns, app)) && (
            <AddForm
              label="new item"
              size={12}
              onAdd={(name, clear) =>
                run(
                  configApi.putItem(ns, app, name, {
                    format: newFormat,
                    ...(newSecret ? { secret: true } : {}),
                  }),
                  () => {
                    items.reload();
                    setParams({ item: name }, true);
                    clear();
                  },
                )
              }
            >
              <select
                aria-label="new item format"
                value={newFormat}
                onChange={(e) => setNewFormat(e.target.value as ConfigFormat)}
              >
                {FORMATS.map((f) => (
                  <option key={f}>{f}</option>
                ))}
              </select>
              <label className="small">
                <input type="checkbox" checked={newSecret} onChange={(e) => setNewSecret(e.target.checked)} />{' '}
                secret
              </label>
            </AddForm>
          )}
        </>
      )}
    </nav>
  );
}
