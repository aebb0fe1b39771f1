// A download link that works with a session: a plain <a download> cannot send the Authorization header (and
// the token must not go in its URL), so when signed in the click fetches the file with the header and saves
// the response as a blob. Signed out (auth off) it is an ordinary link.
import { useState, type ReactNode } from 'react';
import { ApiError, authHeaders } from '../api';
import { sessionStore, useSession } from '../auth/session';
import { ErrorBanner } from './common';

export function DownloadLink({ href, children }: { href: string; children: ReactNode }) {
  const { session } = useSession();
  const [error, setError] = useState<unknown>();
  const download = async (): Promise<void> => {
    const token = sessionStore.token();
    const res = await fetch(href, { headers: authHeaders(href, token) });
    if (res.status === 401) sessionStore.unauthenticated(token);
    if (!res.ok) throw new ApiError(res.status, `download failed: HTTP ${res.status}`, await res.text());
    const disposition = res.headers.get('content-disposition') ?? '';
    const name = /filename="?([^";]+)"?/.exec(disposition)?.[1] ?? 'download';
    const url = URL.createObjectURL(await res.blob());
    const a = document.createElement('a');
    a.href = url;
    a.download = name;
    a.click();
    setTimeout(() => URL.revokeObjectURL(url), 10_000);
  };
  return (
    <>
      <a
        href={href}
        download
        onClick={(e) => {
          if (!session) return;
          e.preventDefault();
          setError(undefined);
          download().catch((err: unknown) => setError(err));
        }}
      >
        {children}
      </a>
      <ErrorBanner error={error} context="Export failed" />
    </>
  );
}
