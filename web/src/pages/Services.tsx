import { useEffect, useMemo, useState } from 'react';
import { useMayWritePrefix } from '../auth/grants';
import { registryNamespacePrefix } from '../auth/key-spaces';
import { Badge, Confirm, ErrorBanner } from '../components/common';
import { StreamBadge } from '../components/StreamBadge';
import { rowKeyNav, setParams, useEventStream, useFlash, useLocation, usePoll } from '../hooks';
import {
  countsAsHealthy,
  registryApi,
  type RegistryInstance,
  type RegistryWatchEvent,
} from '../registry-api';

type Instances = Map<string, RegistryInstance>;
const keyOf = (i: Pick<RegistryInstance, 'service' | 'id'>): string => `${i.service}/${i.id}`;
/** How long a removed instance stays on screen (struck through) before it goes. */
const REMOVED_LINGER_MS = 1500;

function useNow(ms = 1000): number {
  const [now, setNow] = useState(() => Date.now());
  useEffect(() => {
    const t = setInterval(() => setNow(Date.now()), ms);
    return () => clearInterval(t);
  }, [ms]);
  return now;
}

export function ServicesPage() {
  const { params } = useLocation();
  const ns = params.get('ns') ?? 'default';
  const selected = params.get('service') ?? '';
  const namespaces = usePoll(() => registryApi.namespaces(), [], 5000);
  const [instances, setInstances] = useState<Instances>(new Map());
  const [removed, setRemoved] = useState<Instances>(new Map());
  const [revision, setRevision] = useState<string>();
  const [flashed, flash] = useFlash();
  const [streamError, setStreamError] = useState<string>();

  useEffect(() => {
    setInstances(new Map());
    setRemoved(new Map());
  }, [ns]);

  const state = useEventStream(registryApi.watchNamespaceUrl(ns), {
    snapshot: (data) => {
      const event = data as Omit<RegistryWatchEvent, 'type'>;
      setInstances(new Map((event.instances ?? []).map((i) => [keyOf(i), i])));
      setRevision(event.revision);
      setStreamError(undefined);
    },
    added: (data) => apply('added', data as Omit<RegistryWatchEvent, 'type'>),
    updated: (data) => apply('updated', data as Omit<RegistryWatchEvent, 'type'>),
    removed: (data) => apply('removed', data as Omit<RegistryWatchEvent, 'type'>),
    error: (data) => setStreamError(typeof data === 'string' ? data : JSON.stringify(data)),
  });

  function apply(type: 'added' | 'updated' | 'removed', event: Omit<RegistryWatchEvent, 'type'>): void {
    const instance = event.instance;
    setRevision(event.revision);
    if (!instance) return;
    const key = keyOf(instance);
    if (type === 'removed') {
      setInstances((prev) => {
        const next = new Map(prev);
        next.delete(key);
        return next;
      });
      setRemoved((prev) => new Map(prev).set(key, instance));
      setTimeout(
        () =>
          setRemoved((prev) => {
            const next = new Map(prev);
            next.delete(key);
            return next;
          }),
        REMOVED_LINGER_MS,
      );
    } else {
      setInstances((prev) => new Map(prev).set(key, instance));
      flash(key);
    }
  }

  const services = useMemo(() => {
    const by = new Map<string, { name: string; healthy: number; total: number }>();
    for (const i of instances.values()) {
      const s = by.get(i.service) ?? { name: i.service, healthy: 0, total: 0 };
      s.total++;
      if (countsAsHealthy(i)) s.healthy++;
      by.set(i.service, s);
    }
    return [...by.values()].sort((a, b) => a.name.localeCompare(b.name));
  }, [instances]);

  const nsList = namespaces.data?.namespaces ?? [];
  return (
    <section aria-labelledby="services-title">
      <h2 id="services-title">Services</h2>
      <ErrorBanner error={namespaces.error} context="Cannot reach the registry" />
      {streamError && <div className="error">Watch error: {streamError}</div>}
      <div className="toolbar">
        <label>
          Namespace
          <select value={ns} onChange={(e) => setParams({ ns: e.target.value, service: undefined }, true)}>
            {[...new Set([ns, ...nsList])].map((n) => (
              <option key={n}>{n}</option>
            ))}
          </select>
        </label>
        <StreamBadge state={state} />
        {revision && <span className="small muted">at revision {revision}</span>}
      </div>
      <div className="row">
        <div className="panel" style={{ minWidth: 240 }}>
          <table aria-label="services">
            <thead>
              <tr>
                <th>Service</th>
                <th>Healthy / total</th>
              </tr>
            </thead>
            <tbody>
              {services.map((s) => (
                <tr
                  key={s.name}
                  tabIndex={0}
                  className={`selectable ${s.name === selected ? 'selected' : ''}`}
                  onClick={() => setParams({ service: s.name }, true)}
                  onKeyDown={(e) => rowKeyNav(e, () => setParams({ service: s.name }, true))}
                  data-testid={`service-${s.name}`}
                >
                  <td>{s.name}</td>
                  <td>
                    <Badge tone={s.healthy === s.total ? 'ok' : s.healthy === 0 ? 'bad' : 'warn'}>
                      {s.healthy} / {s.total}
                    </Badge>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
          {services.length === 0 && <div className="muted">No instances registered in “{ns}”.</div>}
        </div>
        <div className="grow">
          {selected ? (
            <InstanceTable
              ns={ns}
              service={selected}
              instances={[...instances.values()].filter((i) => i.service === selected)}
              removed={[...removed.values()].filter((i) => i.service === selected)}
              flashed={flashed}
            />
          ) : (
            <div className="panel muted">Select a service to see its instances.</div>
          )}
        </div>
      </div>
    </section>
  );
}

function InstanceTable({
  ns,
  service,
  instances,
  removed,
  flashed,
}: {
  ns: string;
  service: string;
  instances: RegistryInstance[];
  removed: RegistryInstance[];
  flashed: Set<string>;
}) {
  // Heartbeats do not write to the KV, so the watch does not carry them: the lease TTL comes from a poll.
  const listed = usePoll(() => registryApi.instances(ns, service), [ns, service], 2000);
  const now = useNow();
  const [error, setError] = useState<unknown>();
  const [deregistering, setDeregistering] = useState<RegistryInstance>();
  // Drain, Mark UP and Deregister change the namespace's instances: hidden without write on it.
  const mayWrite = useMayWritePrefix(registryNamespacePrefix(ns));
  const heartbeats = new Map((listed.data?.instances ?? []).map((i) => [i.id, i.last_heartbeat]));
  const rows = [
    ...instances.map((i) => ({ i, gone: false })),
    ...removed.map((i) => ({ i, gone: true })),
  ].sort((a, b) => a.i.id.localeCompare(b.i.id));
  const act = (p: Promise<unknown>): void => {
    setError(undefined);
    p.then(listed.reload).catch((err: unknown) => setError(err));
  };
  return (
    <div className="panel">
      <h3>{service}</h3>
      <ErrorBanner error={error} context="Action failed" />
      <table aria-label={`instances of ${service}`}>
        <thead>
          <tr>
            <th>Instance</th>
            <th>Address</th>
            <th>Status</th>
            <th>Health</th>
            <th>Zone / version</th>
            <th>Tags / metadata</th>
            <th>Lease TTL</th>
            <th />
          </tr>
        </thead>
        <tbody>
          {rows.map(({ i, gone }) => {
            const hb = heartbeats.get(i.id) ?? i.last_heartbeat;
            const left = hb ? Math.max(0, Math.round(i.ttl - (now - Date.parse(hb)) / 1000)) : undefined;
            return (
              <tr
                key={i.id}
                tabIndex={0}
                onKeyDown={(e) => rowKeyNav(e)}
                className={flashed.has(keyOf(i)) ? 'flash' : undefined}
                style={gone ? { textDecoration: 'line-through', opacity: 0.5 } : undefined}
                data-testid={`instance-${i.id}`}
                data-state={gone ? 'removed' : 'live'}
              >
                <td className="mono">{i.id}</td>
                <td className="mono">
                  {i.address.scheme}://{i.address.host}:{i.address.port}
                </td>
                <td>
                  <Badge tone={i.status === 'UP' ? 'ok' : i.status === 'DRAINING' ? 'warn' : 'bad'}>
                    {i.status}
                  </Badge>
                </td>
                <td>
                  <Badge
                    tone={
                      i.health.status === 'passing' ? 'ok' : i.health.status === 'warning' ? 'warn' : 'bad'
                    }
                  >
                    {i.health.status}
                  </Badge>
                  {i.health.reason && <div className="small muted">{i.health.reason}</div>}
                  {i.check && (
                    <div className="small muted">
                      {i.check.type} check{i.check.target ? ` ${i.check.target}` : ''} every{' '}
                      {i.check.interval_ms} ms
                    </div>
                  )}
                  {i.health.checked_at && (
                    <div className="small muted">
                      checked {new Date(i.health.checked_at).toLocaleTimeString()}
                    </div>
                  )}
                </td>
                <td className="small">
                  {i.zone || '—'} / {i.version || '—'}
                </td>
                <td className="small">
                  {i.tags.map((t) => (
                    <Badge key={t}>{t}</Badge>
                  ))}
                  {Object.entries(i.metadata).map(([k, v]) => (
                    <div key={k} className="mono">
                      {k}={v}
                    </div>
                  ))}
                </td>
                <td className="mono" title={`lease ${i.lease}, TTL ${i.ttl}s`}>
                  {gone ? 'gone' : left === undefined ? `${i.ttl}s` : `${left}s / ${i.ttl}s`}
                </td>
                <td>
                  {!gone && mayWrite && (
                    <div className="toolbar" style={{ margin: 0 }}>
                      {i.status === 'UP' ? (
                        <button onClick={() => act(registryApi.setStatus(ns, service, i.id, 'DRAINING'))}>
                          Drain
                        </button>
                      ) : (
                        <button onClick={() => act(registryApi.setStatus(ns, service, i.id, 'UP'))}>
                          Mark UP
                        </button>
                      )}
                      <button className="danger" onClick={() => setDeregistering(i)}>
                        Deregister…
                      </button>
                    </div>
                  )}
                </td>
              </tr>
            );
          })}
        </tbody>
      </table>
      {rows.length === 0 && <div className="muted">No instances.</div>}
      <Confirm
        open={!!deregistering}
        title={`Deregister ${deregistering?.id}?`}
        confirmLabel="Deregister"
        danger
        onCancel={() => setDeregistering(undefined)}
        onConfirm={() => {
          const target = deregistering;
          setDeregistering(undefined);
          if (target) act(registryApi.deregister(ns, service, target.id));
        }}
      >
        <p>
          Its record and naming key are deleted and its lease revoked. A live instance's SDK will re-register
          it.
        </p>
      </Confirm>
    </div>
  );
}
