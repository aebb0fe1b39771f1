// Decides between the login page and the console. It asks the member whether auth is enabled
// (/v3/auth/status): off (or no answer: a member that is down, or older) → the console as before, with no
// login; on → the login page until a session exists. A 401 from any call later (an expired token, auth
// enabled meanwhile) brings the login back; for an expired session it is shown over the page, which stays
// mounted (and inert) so an edit in progress survives the re-login.
import { useEffect, useState, type ReactNode } from 'react';
import { authApi } from './auth-api';
import { GrantsContext, loadGrants, type GrantsState } from './grants';
import { LoginPage } from './LoginPage';
import { ALL } from './permissions';
import { sessionStore, useSession } from './session';

/** The grants and whose they are ('' = no session: everything allowed). */
interface Loaded {
  user: string;
  state: GrantsState;
}

export function AuthGate({ children }: { children: ReactNode }) {
  const { session, mode, notice, expired } = useSession();
  const [checked, setChecked] = useState(false);
  const [loaded, setLoaded] = useState<Loaded>();

  useEffect(() => {
    authApi
      .status()
      .then((r) => sessionStore.setMode(r.enabled ? 'on' : 'off'))
      // A 401 already set mode 'on' (api.ts); anything else leaves it unknown: the console works as before.
      .catch(() => undefined)
      .finally(() => setChecked(true));
  }, []);

  // The grants follow the session: read at each sign-in. With no session everything is allowed (auth off);
  // while an expired session waits for its re-login, the page keeps the grants it had.
  useEffect(() => {
    if (!session) {
      if (!expired) setLoaded({ user: '', state: { grants: ALL } });
      return;
    }
    let cancelled = false;
    loadGrants(session.user)
      .then((grants) => !cancelled && setLoaded({ user: session.user, state: { grants } }))
      .catch((err: unknown) => {
        if (cancelled) return;
        const message = err instanceof Error ? err.message : String(err);
        setLoaded({
          user: session.user,
          state: { grants: ALL, problem: `Could not read your permissions (${message})` },
        });
      });
    return () => {
      cancelled = true;
    };
  }, [session?.user, session?.token, expired]);

  const locked = mode === 'on' && !session;
  if (locked && (!expired || !loaded)) return <LoginPage notice={notice} />;
  if (!checked && !session) return <div className="muted boot">Connecting…</div>;
  // A new user's page waits for its grants (so it never shows buttons it may not use); the same user signing
  // in again keeps its page mounted.
  if (!loaded || (!locked && loaded.user !== (session?.user ?? ''))) {
    return <div className="muted boot">Loading your permissions…</div>;
  }
  return (
    <>
      <div className="gate" inert={locked} aria-hidden={locked || undefined}>
        <GrantsContext value={loaded.state}>{children}</GrantsContext>
      </div>
      {locked && <LoginPage notice={notice} overlay />}
    </>
  );
}
