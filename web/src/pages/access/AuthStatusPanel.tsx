// Auth on or off for the whole cluster (etcd's AuthEnable / AuthDisable). Enabling needs the root user with the
// root role (etcd refuses otherwise, with its own message, shown as is); once on, this console asks for a login.
import { useState } from 'react';
import { authApi } from '../../auth/auth-api';
import { sessionStore } from '../../auth/session';
import { Badge, Confirm, ErrorBanner } from '../../components/common';
import { usePoll } from '../../hooks';
import { useAction } from '../../use-action';

export function AuthStatusPanel() {
  const status = usePoll(() => authApi.status(), [], 5000);
  const { error, run } = useAction();
  const [confirming, setConfirming] = useState<'enable' | 'disable'>();
  const enabled = status.data?.enabled === true;
  const apply = (what: 'enable' | 'disable'): void => {
    setConfirming(undefined);
    run(what === 'enable' ? authApi.enable() : authApi.disable(), () => {
      status.reload();
      // Enabled from a console without a session (auth was off): sign in now. Disabled: no login needed.
      if (what === 'enable' && !sessionStore.get().session) sessionStore.unauthenticated(undefined);
      if (what === 'disable') sessionStore.authDisabled();
    });
  };
  return (
    <div className="panel" data-testid="auth-status">
      <h3 style={{ marginTop: 0 }}>Authentication</h3>
      <ErrorBanner error={status.error ?? error} />
      {status.data && (
        <div className="toolbar">
          {enabled ? <Badge tone="ok">enabled</Badge> : <Badge tone="warn">disabled</Badge>}
          <span className="small muted">auth revision {status.data.authRevision ?? '0'}</span>
          {enabled ? (
            <button className="danger" onClick={() => setConfirming('disable')}>
              Disable auth…
            </button>
          ) : (
            <button className="primary" onClick={() => setConfirming('enable')}>
              Enable auth…
            </button>
          )}
        </div>
      )}
      <Confirm
        open={confirming !== undefined}
        title={confirming === 'enable' ? 'Enable authentication?' : 'Disable authentication?'}
        confirmLabel={confirming === 'enable' ? 'Enable' : 'Disable'}
        danger={confirming === 'disable'}
        onCancel={() => setConfirming(undefined)}
        onConfirm={() => confirming && apply(confirming)}
      >
        {confirming === 'enable' ? (
          <p>
            Every client must then authenticate. The user <code>root</code> must exist and have the{' '}
            <code>root</code> role; this console will ask you to sign in.
          </p>
        ) : (
          <p>Anyone who can reach the member will again be able to read and write every key.</p>
        )}
      </Confirm>
    </div>
  );
}
