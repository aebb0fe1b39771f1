import { useEffect, type ReactNode } from 'react';
import { navigate, useLocation, usePoll } from './hooks';
import { Badge } from './components/common';
import { useGrants } from './auth/grants';
import { UserMenu } from './auth/UserMenu';
import { AccessPage } from './pages/access/AccessPage';
import { ClusterPage } from './pages/Cluster';
import { ConfigPage } from './pages/config/ConfigPage';
import { KeysPage } from './pages/Keys';
import { ServicesPage } from './pages/Services';
import { WatchPage } from './pages/Watch';

interface PageEntry {
  path: string;
  title: string;
  render: () => ReactNode;
  /** Only for root (users, roles, auth on/off): etcd refuses everyone else. */
  rootOnly?: boolean;
}

const PAGES: PageEntry[] = [
  { path: '/cluster', title: 'Cluster', render: () => <ClusterPage /> },
  { path: '/services', title: 'Services', render: () => <ServicesPage /> },
  { path: '/keys', title: 'Keys', render: () => <KeysPage /> },
  { path: '/config', title: 'Config', render: () => <ConfigPage /> },
  { path: '/watch', title: 'Watch', render: () => <WatchPage /> },
  { path: '/access', title: 'Access', render: () => <AccessPage />, rootOnly: true },
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
  const { grants, problem } = useGrants();
  const pages = PAGES.filter((p) => !p.rootOnly || grants.root);
  const page = pages.find((p) => path === p.path || path.startsWith(p.path + '/'));
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
        <UserMenu />
        {pages.map((p) => (
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
      <main>
        {problem && (
          <div className="notice" role="status">
            {problem}. Every action is shown; the server still checks each one.
          </div>
        )}
        {page?.render()}
      </main>
    </div>
  );
}
