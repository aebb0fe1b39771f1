// Users (etcd's UserAdd/UserDelete/UserChangePassword/UserGrantRole/UserRevokeRole): the list, a user's
// roles, and the forms that change them. A user added without a password can only authenticate with a client
// certificate whose CN is its name.
import { useState } from 'react';
import { authApi } from '../../auth/auth-api';
import { Confirm, ErrorBanner } from '../../components/common';
import { PickList } from '../../components/PickList';
import { usePoll } from '../../hooks';
import { useAction } from '../../use-action';

export function UsersPanel({
  roles,
  changes,
  onChanged,
}: {
  roles: string[];
  changes: number;
  onChanged: () => void;
}) {
  const users = usePoll(() => authApi.userList(), [changes], 5000);
  const [selected, setSelected] = useState('');
  const { error, run } = useAction();
  const [name, setName] = useState('');
  const [password, setPassword] = useState('');
  const [noPassword, setNoPassword] = useState(false);
  const list = users.data?.users ?? [];
  return (
    <div className="panel" data-testid="users">
      <h3 style={{ marginTop: 0 }}>Users</h3>
      <ErrorBanner error={users.error ?? error} />
      <div className="row">
        <div style={{ minWidth: 180 }}>
          <PickList
            label="users"
            entries={list}
            keyOf={(u) => u}
            selected={selected}
            onPick={setSelected}
            render={(u) => <span className="mono">{u}</span>}
          />
          {list.length === 0 && <div className="muted small">No users.</div>}
        </div>
        <div className="grow">
          {selected && list.includes(selected) ? (
            <UserDetail
              key={selected}
              user={selected}
              roles={roles}
              changes={changes}
              onChanged={onChanged}
              onDeleted={() => setSelected('')}
            />
          ) : (
            <div className="muted small">Pick a user to see and change its roles.</div>
          )}
        </div>
      </div>
      <form
        className="toolbar"
        aria-label="add user"
        onSubmit={(e) => {
          e.preventDefault();
          run(authApi.userAdd(name, password, noPassword), () => {
            setSelected(name);
            setName('');
            setPassword('');
            onChanged();
          });
        }}
      >
        <label>
          New user
          <input value={name} onChange={(e) => setName(e.target.value)} size={14} />
        </label>
        <label>
          Password
          <input
            type="password"
            autoComplete="new-password"
            value={password}
            disabled={noPassword}
            onChange={(e) => setPassword(e.target.value)}
            size={14}
          />
        </label>
        <label>
          <input type="checkbox" checked={noPassword} onChange={(e) => setNoPassword(e.target.checked)} /> no
          password (client certificate only)
        </label>
        <button className="primary" disabled={!name || (!noPassword && !password)}>
          Add user
        </button>
      </form>
    </div>
  );
}

function UserDetail({
  user,
  roles,
  changes,
  onChanged,
  onDeleted,
}: {
  user: string;
  roles: string[];
  changes: number;
  onChanged: () => void;
  onDeleted: () => void;
}) {
  const detail = usePoll(() => authApi.userGet(user), [user, changes]);
  const { error, run } = useAction();
  const [grant, setGrant] = useState('');
  const [password, setPassword] = useState('');
  const [deleting, setDeleting] = useState(false);
  const [notice, setNotice] = useState<string>();
  const has = detail.data?.roles ?? [];
  const grantable = roles.filter((r) => !has.includes(r));
  const done = (message: string) => (): void => {
    setNotice(message);
    onChanged();
  };
  return (
    <div data-testid={`user-${user}`}>
      <ErrorBanner error={detail.error ?? error} />
      {notice && (
        <div className="notice small" role="status">
          {notice}
        </div>
      )}
      <div className="toolbar">
        <b className="mono">{user}</b>
        <span className="small muted">roles:</span>
        {has.length === 0 && <span className="small muted">none</span>}
        {has.map((r) => (
          <span key={r} className="badge">
            {r}{' '}
            <button
              className="small"
              aria-label={`revoke role ${r} from ${user}`}
              onClick={() => run(authApi.userRevokeRole(user, r), done(`Role ${r} revoked.`))}
            >
              ×
            </button>
          </span>
        ))}
      </div>
      <form
        className="toolbar"
        onSubmit={(e) => {
          e.preventDefault();
          run(authApi.userGrantRole(user, grant), done(`Role ${grant} granted.`));
          setGrant('');
        }}
      >
        <label>
          Grant role
          <select aria-label="role to grant" value={grant} onChange={(e) => setGrant(e.target.value)}>
            <option value="">—</option>
            {grantable.map((r) => (
              <option key={r}>{r}</option>
            ))}
          </select>
        </label>
        <button disabled={!grant}>Grant</button>
      </form>
      <form
        className="toolbar"
        onSubmit={(e) => {
          e.preventDefault();
          run(authApi.userChangePassword(user, password), done('Password changed.'));
          setPassword('');
        }}
      >
        <label>
          New password
          <input
            type="password"
            autoComplete="new-password"
            value={password}
            onChange={(e) => setPassword(e.target.value)}
            size={14}
          />
        </label>
        <button disabled={!password}>Change password</button>
        <button type="button" className="danger" onClick={() => setDeleting(true)}>
          Delete user…
        </button>
      </form>
      <Confirm
        open={deleting}
        title={`Delete user ${user}?`}
        confirmLabel="Delete"
        danger
        onCancel={() => setDeleting(false)}
        onConfirm={() => {
          setDeleting(false);
          run(authApi.userDelete(user), () => {
            onDeleted();
            onChanged();
          });
        }}
      >
        <p>Its tokens stop working at once.</p>
      </Confirm>
    </div>
  );
}
