import { consoleApi, type ConsoleMember } from '../api';
import { Badge, ErrorBanner, formatBytes } from '../components/common';
import { rowKeyNav, usePoll } from '../hooks';
import { ClusterCharts } from './ClusterCharts';

const roleTone = (role: ConsoleMember['role']) =>
  role === 'leader' ? 'leader' : role === 'unknown' ? 'warn' : undefined;

export function ClusterPage() {
  const { data, error } = usePoll(() => consoleApi.cluster(), [], 2000);
  return (
    <section aria-labelledby="cluster-title">
      <h2 id="cluster-title">Cluster</h2>
      <ErrorBanner error={error} context="Cannot load the cluster status" />
      {data && (
        <>
          <div className="grid-cards">
            <div className="panel">
              <div className="muted small">Cluster ID</div>
              <div className="mono">{data.clusterId}</div>
            </div>
            <div className="panel">
              <div className="muted small">Leader</div>
              <div data-testid="leader">
                {data.leader ? (
                  (data.members.find((m) => m.id === data.leader)?.name ?? data.leader)
                ) : (
                  <Badge tone="bad">no leader</Badge>
                )}
              </div>
            </div>
            <div className="panel">
              <div className="muted small">Raft term / revision / compacted at</div>
              <div className="mono">
                {data.raftTerm} / {data.revision} / {data.compactRevision}
              </div>
            </div>
            <div className="panel">
              <div className="muted small">Alarms</div>
              <div>
                {data.alarms.length === 0 ? (
                  <Badge tone="ok">none</Badge>
                ) : (
                  data.alarms.map((a) => (
                    <Badge key={a.memberId + a.alarm} tone="bad">
                      {a.alarm} on {a.memberId}
                    </Badge>
                  ))
                )}
              </div>
            </div>
          </div>
          <div className="panel">
            <h3>Members ({data.members.length})</h3>
            <table aria-label="members">
              <thead>
                <tr>
                  <th>Name</th>
                  <th>ID</th>
                  <th>Role</th>
                  <th>Health</th>
                  <th>Term</th>
                  <th>Commit / applied</th>
                  <th>DB size / quota</th>
                  <th>Client URLs</th>
                  <th>Peer URLs</th>
                </tr>
              </thead>
              <tbody>
                {data.members.map((m) => (
                  <tr
                    key={m.id}
                    tabIndex={0}
                    onKeyDown={(e) => rowKeyNav(e)}
                    data-testid={`member-${m.name}`}
                  >
                    <td>
                      {m.name || <span className="muted">(unstarted)</span>}
                      {m.self && <span className="muted small"> · answering</span>}
                    </td>
                    <td className="mono">{m.id}</td>
                    <td>
                      <Badge tone={roleTone(m.role)}>{m.role}</Badge>
                    </td>
                    <td>
                      {m.healthy === true ? (
                        <Badge tone="ok">healthy</Badge>
                      ) : m.healthy === false ? (
                        <Badge tone="bad">unhealthy</Badge>
                      ) : (
                        <Badge tone="warn">unknown</Badge>
                      )}
                      {m.reason && <div className="small muted">{m.reason}</div>}
                      {m.errors.map((e) => (
                        <div key={e} className="small">
                          <Badge tone="bad">{e}</Badge>
                        </div>
                      ))}
                    </td>
                    <td className="mono">{m.raftTerm ?? '—'}</td>
                    <td className="mono">
                      {m.commitIndex ?? '—'} / {m.appliedIndex ?? '—'}
                    </td>
                    <td>
                      {formatBytes(m.dbSize)} / {formatBytes(m.dbSizeQuota)}
                      {m.dbSize !== undefined && m.dbSizeQuota ? (
                        <div className="meter" aria-hidden="true">
                          <span style={{ width: `${Math.min(100, (100 * m.dbSize) / m.dbSizeQuota)}%` }} />
                        </div>
                      ) : null}
                    </td>
                    <td className="mono small">{m.clientUrls.join(', ')}</td>
                    <td className="mono small">{m.peerUrls.join(', ')}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
          <ClusterCharts members={data.members} />
          <p className="muted small">
            Charts: each member&apos;s own samples, one a second, asked every second over its client URL.
            Refreshed every 2 s from the member serving this page; the others are asked over their client
            URLs. Last update {new Date(data.at).toLocaleTimeString()}.
          </p>
        </>
      )}
    </section>
  );
}
