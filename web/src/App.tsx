import { useEffect, type ReactNode } from 'react';
import { navigate, useLocation, usePoll } from './hooks';
import { Badge } from './components/common';
import { ClusterPage } from './pages/Cluster';
import { ConfigPage } from './pages/config/ConfigPage';
import { KeysPage } from './pages/Keys';
import { ServicesPage } from './pages/Services';
import { WatchPage } from './pages/Watch';

const PAGES: { path: string; title: string; render: () => ReactNode }[] = [
  { path: '/cluster', title: 'Cluster', render: () => <ClusterPage /> },
  { path: '/services', title: 'Services', render: () => <ServicesPage /> },
  { path: '/keys', title: 'Keys', render: () => <KeysPage /> },
  { path: '/config', title: 'Config', render: () => <ConfigPage /> },
  { path: '/watch', title: 'Watch', render: () => <WatchPage /> },
];

/** Server reachability and health, for the sidebar (the pages show their own errors too). */
function Connection() {
  const { data, error } = usePoll(
    async () => {
      const res = await fetch('/health');
      const body = (await res.json()) as { health: string; reason?: string };
      return body;
    },
    [],
    3000,
  );
  return (
    <div className="conn" aria-live="polite" data-testid="connection">
      {error ? (
        <Badge tone="bad">server unreachable</Badge>
      ) : data?.health === 'true' ? (
        <Badge tone="ok">connected</Badge>
      ) : data ? (
        <Badge tone="warn">{data.reason ?? 'unhealthy'}</Badge>
      ) : (
        <Badge>connecting…</Badge>
      )}
    </div>
  );
}

export function App() {
  const { path } = useLocation();
  const page = PAGES.find((p) => path === p.path || path.startsWith(p.path + '/'));
  useEffect(() => {
    if (!page) navigate('/cluster', true);
  }, [page]);
  useEffect(() => {
    document.title = page ? `${page.title} · Cairn` : 'Cairn';
  }, [page]);
  return (
    <div className="app">
      <nav className="side" aria-label="console sections">
        <h1>
          Cairn<small>console</small>
        </h1>
        {PAGES.map((p) => (
          <a
            key={p.path}
            href={p.path}
            aria-current={page?.path === p.path ? 'page' : undefined}
            onClick={(e) => {
              if (e.metaKey || e.ctrlKey || e.shiftKey || e.button !== 0) return;
              e.preventDefault();
              navigate(p.path);
            }}
          >
            {p.title}
          </a>
        ))}
        <Connection />
      </nav>
      <main>{page?.render()}</main>
    </div>
  );
}
