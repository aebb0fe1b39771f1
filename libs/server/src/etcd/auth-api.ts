// etcd's Auth service semantics over a CairnNode (etcdserverpb.Auth): changes go through Raft (passwords
// hashed here first, so the log and the backend only hold bcrypt hashes) and are checked for the root role at
// apply; reads (user/role get and list, status) are served from the local store after a linearizable
// barrier. Authenticate checks the password here, then proposes the token so every member knows it.
import {
  type AuthRoleAddRequest__Output,
  type AuthRoleDeleteRequest__Output,
  type AuthRoleGetRequest__Output,
  type AuthRoleGrantPermissionRequest__Output,
  type AuthRoleRevokePermissionRequest__Output,
  type AuthUserAddRequest__Output,
  type AuthUserChangePasswordRequest__Output,
  type AuthUserDeleteRequest__Output,
  type AuthUserGetRequest__Output,
  type AuthUserGrantRoleRequest__Output,
  type AuthUserRevokeRoleRequest__Output,
  type AuthenticateRequest__Output,
  GrpcStatus,
  etcdError,
} from '@cairn/api';
import { ROOT_ROLE, isValidPermissionRange } from '../auth/auth-store';
import { PasswordGate } from '../auth/password-gate';
import { checkPassword, hashPassword } from '../auth/passwords';
import type { TokenProvider } from '../auth/token-provider';
import type { CairnNode } from '../node';
import type { CallContext } from '../port/etcd-port';
import { proposeAndUnwrap } from './propose';

/**
 * Cairn's own refusal (not an etcd error: etcd has no such rule), as a gRPC status every surface maps alike:
 * passwords and tokens must not cross the network in clear (docs/security.md).
 */
function plaintextRefusal(): Error {
  const details =
    'cairn: refusing to enable auth while a client or peer URL is plaintext and not loopback (passwords and tokens would cross the network in clear: serve https, or start the member with --auth-allow-plaintext)';
  return Object.assign(new Error(details), { code: GrpcStatus.FAILED_PRECONDITION, details });
}

export interface AuthApiOptions {
  /** --bcrypt-cost. */
  bcryptCost: number;
  tokens: TokenProvider;
  /**
   * AuthEnable is refused on this member (a plaintext client URL reachable from other machines, without
   * --auth-allow-plaintext). Never a refusal to start: auth state persists and a member must restart.
   */
  refuseEnable?: boolean;
}

export class AuthApi {
  /** Every bcrypt hash or check of this member goes through it (password-gate.ts). */
  private readonly passwords = new PasswordGate();

  constructor(
    private readonly node: CairnNode,
    private readonly options: AuthApiOptions,
  ) {}

  private get auth() {
    return this.node.auth;
  }

  private header(): object {
    return this.node.header(this.node.kv.currentRevision);
  }

  async authEnable(ctx: CallContext): Promise<object> {
    if (this.options.refuseEnable) throw plaintextRefusal();
    return proposeAndUnwrap(this.node, { auth_enable: {} }, ctx);
  }

  authDisable(ctx: CallContext): Promise<object> {
    return proposeAndUnwrap(this.node, { auth_disable: {} }, ctx);
  }

  /** etcd 3.5: anyone may ask whether auth is on (clients decide whether to authenticate). */
  authStatus(): object {
    return {
      header: this.header(),
      enabled: this.auth.isEnabled(),
      authRevision: String(this.auth.getRevision()),
    };
  }

  async authenticate(req: AuthenticateRequest__Output, ctx: CallContext): Promise<object> {
    if (!this.auth.isEnabled()) throw etcdError('auth-not-enabled');
    const user = this.auth.getUser(req.name);
    // A no-password user can only be a certificate's CN; an unknown user costs a comparison all the same.
    const hash = user && !user.noPassword ? user.passwordHash : undefined;
    if (!(await this.passwords.run(() => checkPassword(req.password, hash)))) throw etcdError('auth-failed');
    const simpleToken = this.options.tokens.newSimpleToken();
    // The password stays here: the entry carries only the name and the token.
    return proposeAndUnwrap(
      this.node,
      { authenticate: { name: req.name, password: '', simple_token: simpleToken } },
      ctx,
    );
  }

  async userAdd(req: AuthUserAddRequest__Output, ctx: CallContext): Promise<object> {
    this.auth.checkAdmin(ctx.identity);
    if (req.name === '') throw etcdError('user-empty');
    const noPassword = req.options?.no_password === true;
    const hashedPassword = noPassword
      ? ''
      : req.hashedPassword ||
        (await this.passwords.run(() => hashPassword(req.password, this.options.bcryptCost)));
    return proposeAndUnwrap(
      this.node,
      { auth_user_add: { name: req.name, password: '', hashedPassword, options: req.options } },
      ctx,
    );
  }

  userDelete(req: AuthUserDeleteRequest__Output, ctx: CallContext): Promise<object> {
    this.auth.checkAdmin(ctx.identity);
    return proposeAndUnwrap(this.node, { auth_user_delete: { name: req.name } }, ctx);
  }

  async userChangePassword(req: AuthUserChangePasswordRequest__Output, ctx: CallContext): Promise<object> {
    this.auth.checkAdmin(ctx.identity);
    if (!this.auth.getUser(req.name)) throw etcdError('user-not-found');
    const hashedPassword =
      req.hashedPassword ||
      (await this.passwords.run(() => hashPassword(req.password, this.options.bcryptCost)));
    return proposeAndUnwrap(
      this.node,
      { auth_user_change_password: { name: req.name, password: '', hashedPassword } },
      ctx,
    );
  }

  userGrantRole(req: AuthUserGrantRoleRequest__Output, ctx: CallContext): Promise<object> {
    this.auth.checkAdmin(ctx.identity);
    return proposeAndUnwrap(this.node, { auth_user_grant_role: req }, ctx);
  }

  userRevokeRole(req: AuthUserRevokeRoleRequest__Output, ctx: CallContext): Promise<object> {
    this.auth.checkAdmin(ctx.identity);
    return proposeAndUnwrap(this.node, { auth_user_revoke_role: req }, ctx);
  }

  /** Root may read any user; a user may read itself (etcd 3.5). */
  async userGet(req: AuthUserGetRequest__Output, ctx: CallContext): Promise<object> {
    if (ctx.identity.user !== req.name || !this.auth.isEnabled()) this.auth.checkAdmin(ctx.identity);
    await this.node.linearizableReadBarrier();
    const user = this.auth.getUser(req.name);
    if (!user) throw etcdError('user-not-found');
    return { header: this.header(), roles: user.roles };
  }

  async userList(ctx: CallContext): Promise<object> {
    this.auth.checkAdmin(ctx.identity);
    await this.node.linearizableReadBarrier();
    return { header: this.header(), users: this.auth.userNames() };
  }

  roleAdd(req: AuthRoleAddRequest__Output, ctx: CallContext): Promise<object> {
    this.auth.checkAdmin(ctx.identity);
    return proposeAndUnwrap(this.node, { auth_role_add: { name: req.name } }, ctx);
  }

  roleDelete(req: AuthRoleDeleteRequest__Output, ctx: CallContext): Promise<object> {
    this.auth.checkAdmin(ctx.identity);
    return proposeAndUnwrap(this.node, { auth_role_delete: { role: req.role } }, ctx);
  }

  /** Root may read any role; a user may read the roles it holds (etcd 3.5). */
  async roleGet(req: AuthRoleGetRequest__Output, ctx: CallContext): Promise<object> {
    const holds = this.auth.getUser(ctx.identity.user)?.roles.includes(req.role) === true;
    if (!holds || !this.auth.isEnabled()) this.auth.checkAdmin(ctx.identity);
    await this.node.linearizableReadBarrier();
    const role = this.auth.getRole(req.role);
    if (!role) {
      // The root role exists implicitly once granted: etcd reports it with full access.
      if (req.role === ROOT_ROLE) return { header: this.header(), perm: [] };
      throw etcdError('role-not-found');
    }
    return {
      header: this.header(),
      perm: role.permissions.map((p) => ({ permType: p.permType, key: p.key, range_end: p.rangeEnd })),
    };
  }

  async roleList(ctx: CallContext): Promise<object> {
    this.auth.checkAdmin(ctx.identity);
    await this.node.linearizableReadBarrier();
    return { header: this.header(), roles: this.auth.roleNames() };
  }

  roleGrantPermission(req: AuthRoleGrantPermissionRequest__Output, ctx: CallContext): Promise<object> {
    this.auth.checkAdmin(ctx.identity);
    if (!req.perm) throw etcdError('permission-not-given');
    if (!isValidPermissionRange(Buffer.from(req.perm.key), Buffer.from(req.perm.range_end))) {
      throw etcdError('invalid-auth-mgmt');
    }
    return proposeAndUnwrap(this.node, { auth_role_grant_permission: req }, ctx);
  }

  roleRevokePermission(req: AuthRoleRevokePermissionRequest__Output, ctx: CallContext): Promise<object> {
    this.auth.checkAdmin(ctx.identity);
    return proposeAndUnwrap(this.node, { auth_role_revoke_permission: req }, ctx);
  }
}
