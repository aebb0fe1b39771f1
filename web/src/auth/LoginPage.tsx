// The login form: user and password → etcd's Authenticate (POST /v3/auth/authenticate) → a token, kept by
// the session store (memory and sessionStorage, never the URL).
import { useState } from 'react';
import { ErrorBanner } from '../components/common';
import { authApi } from './auth-api';
import { sessionStore } from './session';

export function LoginPage({ notice, overlay }: { notice?: string; overlay?: boolean }) {
  const [user, setUser] = useState('');
  const [password, setPassword] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>();
  const submit = (): void => {
    setBusy(true);
    setError(undefined);
    authApi
      .authenticate(user, password)
      .then((r) => {
        if (!r.token) throw new Error('the member answered without a token (is auth enabled?)');
        sessionStore.signIn({ user, token: r.token });
      })
      .catch((err: unknown) => setError(err))
      .finally(() => setBusy(false));
  };
  return (
    <div className={overlay ? 'login-overlay' : 'login-page'}>
      <form
        className="panel login"
        aria-labelledby="login-title"
        onSubmit={(e) => {
          e.preventDefault();
          submit();
        }}
      >
        <h2 id="login-title">
          Cairn<small> console</small>
        </h2>
        {notice && (
          <div className="notice" role="status" data-testid="login-notice">
            {notice}
          </div>
        )}
        <ErrorBanner error={error} context="Sign-in failed" />
        <label>
          User
          <input
            name="username"
            autoComplete="username"
            value={user}
            onChange={(e) => setUser(e.target.value)}
            autoFocus
          />
        </label>
        <label>
          Password
          <input
            name="password"
            type="password"
            autoComplete="current-password"
            value={password}
            onChange={(e) => setPassword(e.target.value)}
          />
        </label>
        <button type="submit" className="primary" disabled={!user || busy}>
          Sign in
        </button>
      </form>
    </div>
  );
}
