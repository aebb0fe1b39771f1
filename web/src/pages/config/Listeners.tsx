// The "Listeners" tab: who subscribes to the item, and whether each holds the version it should.
import { configApi, type ConfigItemView } from '../../config-api';
import { Badge, ErrorBanner } from '../../components/common';
import { rowKeyNav, usePoll } from '../../hooks';

export function Listeners({ item }: { item: ConfigItemView }) {
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
