// The signed-in user's grants, for the pages to hide or disable what the server would refuse: read once per
// session from etcd's own API (user/get for the roles, role/get for each role's permissions; a user may read
// both for itself). With auth off (or before the member said), everything is allowed, as before auth.
import { createContext, useContext } from 'react';
import { authApi } from './auth-api';
import { ALL, allowsKey, allowsPrefix, fromWire, grantsOf, type Grants } from './permissions';

export interface GrantsState {
  grants: Grants;
  /** Set when the grants could not be read: everything is shown and the server still checks each call. */
  problem?: string;
}

export const GrantsContext = createContext<GrantsState>({ grants: ALL });

export const useGrants = (): GrantsState => useContext(GrantsContext);

export async function loadGrants(user: string): Promise<Grants> {
  const roles = (await authApi.userGet(user)).roles ?? [];
  if (roles.includes('root')) return ALL;
  const perms = await Promise.all(roles.map((role) => authApi.roleGet(role)));
  return grantsOf(
    roles,
    perms.flatMap((r) => (r.perm ?? []).map(fromWire)),
  );
}

/** May the signed-in user write every key under `prefix`? (Always, with auth off or as root.) */
export function useMayWritePrefix(prefix: string): boolean {
  return allowsPrefix(useGrants().grants, 'write', prefix);
}

/** May the signed-in user write the key `key`? */
export function useMayWriteKey(key: string): boolean {
  return allowsKey(useGrants().grants, 'write', key);
}
