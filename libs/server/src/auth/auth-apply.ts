// Applies the auth requests of committed entries (etcd's applierV3 Auth* methods behind authApplierV3's
// admin check): every member changes its AuthStore the same way. Authenticate is the one that needs no root
// role: it only hands out a token (assigned on every member, so each recognises it).
import { type InternalRaftRequest__Output, etcdError } from '@cairn/api';
import type { BackendBatch } from '@cairn/storage';
import type { AuthStore, AuthSubject } from './auth-store';
import { PermissionType } from './key-permissions';
import type { TokenProvider } from './token-provider';

type Header = (revision: number) => object;

/** The auth request an entry carries, if any. */
export function isAuthRequest(req: InternalRaftRequest__Output): boolean {
  return req.request !== undefined && (req.request.startsWith('auth_') || req.request === 'authenticate');
}

/** Applies an auth request; throws etcd's error when it is refused. Returns the wire response. */
export function applyAuthRequest(
  auth: AuthStore,
  tokens: TokenProvider | undefined,
  req: InternalRaftRequest__Output,
  batch: BackendBatch,
  subject: AuthSubject,
  header: Header,
  currentRevision: number,
  /** The Raft index of the entry (simple tokens carry it). */
  index: number,
): object {
  const answer = (extra: object = {}): object => ({ header: header(currentRevision), ...extra });
  if (req.request === 'authenticate') {
    const { name, simple_token } = req.authenticate!;
    if (!auth.isEnabled()) throw etcdError('auth-not-enabled');
    if (!auth.getUser(name)) throw etcdError('auth-failed');
    // A member without a token provider (a bare test store) still applies the entry: it just keeps no token.
    const token = tokens ? tokens.assign(name, auth.getRevision(), simple_token, index) : simple_token;
    return answer({ token });
  }
  auth.checkAdmin(subject);
  switch (req.request) {
    case 'auth_enable':
      auth.enable(batch);
      return answer();
    case 'auth_disable':
      auth.disable(batch);
      return answer();
    case 'auth_user_add': {
      const add = req.auth_user_add!;
      const noPassword = add.options?.no_password === true;
      if (!noPassword && add.hashedPassword === '') throw etcdError('auth-failed');
      auth.addUser(add.name, add.hashedPassword, noPassword, batch);
      return answer();
    }
    case 'auth_user_delete':
      auth.deleteUser(req.auth_user_delete!.name, batch);
      return answer();
    case 'auth_user_change_password': {
      const change = req.auth_user_change_password!;
      auth.changePassword(change.name, change.hashedPassword, batch);
      return answer();
    }
    case 'auth_user_grant_role':
      auth.grantRole(req.auth_user_grant_role!.user, req.auth_user_grant_role!.role, batch);
      return answer();
    case 'auth_user_revoke_role':
      auth.revokeRole(req.auth_user_revoke_role!.name, req.auth_user_revoke_role!.role, batch);
      return answer();
    case 'auth_role_add':
      auth.addRole(req.auth_role_add!.name, batch);
      return answer();
    case 'auth_role_delete':
      auth.deleteRole(req.auth_role_delete!.role, batch);
      return answer();
    case 'auth_role_grant_permission': {
      const grant = req.auth_role_grant_permission!;
      if (!grant.perm) throw etcdError('permission-not-given');
      auth.grantPermission(
        grant.name,
        {
          permType: grant.perm.permType as PermissionType,
          key: Buffer.from(grant.perm.key),
          rangeEnd: Buffer.from(grant.perm.range_end),
        },
        batch,
      );
      return answer();
    }
    case 'auth_role_revoke_permission': {
      const revoke = req.auth_role_revoke_permission!;
      auth.revokePermission(revoke.role, Buffer.from(revoke.key), Buffer.from(revoke.range_end), batch);
      return answer();
    }
    default:
      // Reads (user/role get and list, status) are served without Raft (auth-api.ts).
      throw etcdError('not-capable');
  }
}
