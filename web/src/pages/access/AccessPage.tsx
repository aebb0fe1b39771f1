// The Access page (root only; with auth off anyone, as etcd allows): authentication on/off, users and roles.
// Everything goes through etcd's own Auth API on the JSON gateway, so what it does is exactly what
// `etcdctl user/role/auth` would do.
import { useState } from 'react';
import { authApi } from '../../auth/auth-api';
import { usePoll } from '../../hooks';
import { AuthStatusPanel } from './AuthStatusPanel';
import { RolesPanel } from './RolesPanel';
import { UsersPanel } from './UsersPanel';

export function AccessPage() {
  // Bumped by every change, so both panels re-read (a deleted role leaves its users, for example).
  const [changes, setChanges] = useState(0);
  const roles = usePoll(() => authApi.roleList(), [changes], 5000);
  const changed = (): void => setChanges((c) => c + 1);
  const roleNames = roles.data?.roles ?? [];
  return (
    <section aria-labelledby="access-title">
      <h2 id="access-title">Access</h2>
      <AuthStatusPanel />
      <UsersPanel roles={roleNames} changes={changes} onChanged={changed} />
      <RolesPanel roles={roleNames} error={roles.error} changes={changes} onChanged={changed} />
    </section>
  );
}
