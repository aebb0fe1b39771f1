// The auth state of the state machine (etcd's server/auth/store.go): whether auth is on, its revision, users
// (bcrypt hashes, roles) and roles (key-range permissions). Changed only by applied Raft entries, persisted
// in the backend's 'auth' bucket (so it travels in snapshots), reloaded by a snapshot install. Every change
// bumps the revision, which requests carry so that apply can refuse one checked against older permissions.
// Deterministic: no clock, no randomness (passwords arrive hashed; tokens are not state).
import { etcdError } from '@cairn/api';
import type { Backend, BackendBatch } from '@cairn/storage';
import { type KeyPermission, KeyRangeSet, PermissionType, intervalOf, rangeSetsOf } from './key-permissions';

export const ROOT_USER = 'root';
export const ROOT_ROLE = 'root';

export interface AuthUser {
  name: string;
  /** bcrypt hash; '' for a no-password user (certificate only). */
  passwordHash: string;
  /** Sorted, unique. */
  roles: string[];
  noPassword: boolean;
}

export interface AuthRole {
  name: string;
  /** Sorted by key then range end (etcd keeps them sorted). */
  permissions: KeyPermission[];
}

/** Who asks, as the entry header or the call context carries it. */
export interface AuthSubject {
  user: string;
  /** The auth revision the credentials were checked at (0 in a header = the member's own duty). */
  authRevision?: number;
  memberDuty?: boolean;
}

const KEY_ENABLED = Buffer.from('enabled');
const KEY_REVISION = Buffer.from('revision');
const USER_PREFIX = 'user/';
const ROLE_PREFIX = 'role/';

interface StoredRole {
  name: string;
  permissions: { permType: number; key: string; rangeEnd: string }[];
}

export class AuthStore {
  private enabled = false;
  /** Starts at 1 (as etcd commits it on first start): a client's header never carries 0, the duty marker. */
  private revision = 1;
  private readonly users = new Map<string, AuthUser>();
  private readonly roles = new Map<string, AuthRole>();
  /** Merged grants per user, rebuilt lazily after any change (etcd's rangePermCache). */
  private readonly rangeCache = new Map<string, { read: KeyRangeSet; write: KeyRangeSet }>();
  private readonly listeners = new Set<(change: AuthChange) => void>();

  static async load(backend: Backend): Promise<AuthStore> {
    const store = new AuthStore();
    await store.reload(backend);
    return store;
  }

  /**
   * Replaces the whole state with the backend's (open, and a snapshot install): the same object stays, so
   * whoever listens to changes keeps listening.
   */
  async reload(backend: Backend): Promise<void> {
    this.enabled = false;
    this.revision = 1;
    this.users.clear();
    this.roles.clear();
    this.rangeCache.clear();
    for await (const [key, value] of backend.iterate('auth')) {
      const text = key.toString();
      if (text === 'enabled') this.enabled = value.toString() === '1';
      else if (text === 'revision') this.revision = Number(value.toString());
      else if (text.startsWith(USER_PREFIX)) {
        const user = JSON.parse(value.toString()) as AuthUser;
        this.users.set(user.name, user);
      } else if (text.startsWith(ROLE_PREFIX)) {
        const stored = JSON.parse(value.toString()) as StoredRole;
        this.roles.set(stored.name, {
          name: stored.name,
          permissions: stored.permissions.map((p) => ({
            permType: p.permType,
            key: Buffer.from(p.key, 'base64'),
            rangeEnd: Buffer.from(p.rangeEnd, 'base64'),
          })),
        });
      }
    }
    for (const listener of this.listeners) listener({ kind: 'reloaded' });
  }

  // ---- queries -----------------------------------------------------------------------------------------

  isEnabled(): boolean {
    return this.enabled;
  }

  getRevision(): number {
    return this.revision;
  }

  getUser(name: string): AuthUser | undefined {
    return this.users.get(name);
  }

  getRole(name: string): AuthRole | undefined {
    return this.roles.get(name);
  }

  userNames(): string[] {
    return [...this.users.keys()].sort();
  }

  roleNames(): string[] {
    return [...this.roles.keys()].sort();
  }

  hasRootRole(user: AuthUser): boolean {
    return user.roles.includes(ROOT_ROLE);
  }

  /** Called after every applied change (token providers drop a deleted user's tokens). */
  onChange(listener: (change: AuthChange) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  // ---- permission checks (etcd's isOpPermitted / IsAdminPermitted) ------------------------------------

  /** Throws etcd's error unless `subject` may read or write every key of [key, rangeEnd). */
  checkKeys(subject: AuthSubject, key: Buffer, rangeEnd: Buffer, type: 'read' | 'write'): void {
    const user = this.authenticatedUser(subject);
    if (!user || this.hasRootRole(user)) return;
    const sets = this.rangeSetsOf(user);
    if (!(type === 'read' ? sets.read : sets.write).covers(key, rangeEnd))
      throw etcdError('permission-denied');
  }

  /** Throws etcd's error unless `subject` holds the root role (maintenance, membership, auth management). */
  checkAdmin(subject: AuthSubject): void {
    if (!this.enabled || subject.memberDuty) return;
    if (subject.user === '') throw etcdError('user-empty');
    const user = this.users.get(subject.user);
    if (!user) throw etcdError('user-not-found');
    if (!this.hasRootRole(user)) throw etcdError('permission-denied');
  }

  /**
   * The user whose grants decide, or undefined when no check applies (auth off, the member's own duty).
   * Refuses a missing user name, a stale auth revision and an unknown user as etcd does.
   */
  private authenticatedUser(subject: AuthSubject): AuthUser | undefined {
    if (!this.enabled || subject.memberDuty) return undefined;
    if (subject.user === '') throw etcdError('user-empty');
    if (subject.authRevision !== undefined && subject.authRevision < this.revision) {
      throw etcdError('auth-old-revision');
    }
    const user = this.users.get(subject.user);
    if (!user) throw etcdError('permission-denied');
    return user;
  }

  private rangeSetsOf(user: AuthUser): { read: KeyRangeSet; write: KeyRangeSet } {
    let sets = this.rangeCache.get(user.name);
    if (!sets) {
      const grants = user.roles.flatMap((name) => this.roles.get(name)?.permissions ?? []);
      sets = rangeSetsOf(grants);
      this.rangeCache.set(user.name, sets);
    }
    return sets;
  }

  // ---- changes, applied from committed entries ---------------------------------------------------------

  enable(batch: BackendBatch): void {
    if (this.enabled) return; // etcd: "authentication is already enabled; ignored auth enable request"
    const root = this.users.get(ROOT_USER);
    if (!root) throw etcdError('root-user-not-exist');
    if (!this.hasRootRole(root)) throw etcdError('root-role-not-exist');
    this.enabled = true;
    batch.put('auth', KEY_ENABLED, Buffer.from('1'));
    this.bump(batch, { kind: 'enabled' });
  }

  disable(batch: BackendBatch): void {
    if (!this.enabled) return;
    this.enabled = false;
    batch.put('auth', KEY_ENABLED, Buffer.from('0'));
    this.bump(batch, { kind: 'disabled' });
  }

  addUser(name: string, passwordHash: string, noPassword: boolean, batch: BackendBatch): void {
    if (name === '') throw etcdError('user-empty');
    if (this.users.has(name)) throw etcdError('user-already-exist');
    this.saveUser({ name, passwordHash: noPassword ? '' : passwordHash, roles: [], noPassword }, batch);
    this.bump(batch, { kind: 'user', user: name });
  }

  deleteUser(name: string, batch: BackendBatch): void {
    if (this.enabled && name === ROOT_USER) throw etcdError('invalid-auth-mgmt');
    if (!this.users.has(name)) throw etcdError('user-not-found');
    this.users.delete(name);
    batch.del('auth', Buffer.from(USER_PREFIX + name));
    this.bump(batch, { kind: 'user-removed', user: name });
  }

  changePassword(name: string, passwordHash: string, batch: BackendBatch): void {
    const user = this.users.get(name);
    if (!user) throw etcdError('user-not-found');
    this.saveUser({ ...user, passwordHash, noPassword: false }, batch);
    // Its tokens die with the old password, as in etcd.
    this.bump(batch, { kind: 'user-removed', user: name });
  }

  grantRole(userName: string, role: string, batch: BackendBatch): void {
    const user = this.users.get(userName);
    if (!user) throw etcdError('user-not-found');
    if (role !== ROOT_ROLE && !this.roles.has(role)) throw etcdError('role-not-found');
    if (user.roles.includes(role)) return; // etcd ignores a grant the user already has
    this.saveUser({ ...user, roles: [...user.roles, role].sort() }, batch);
    this.bump(batch, { kind: 'user', user: userName });
  }

  revokeRole(userName: string, role: string, batch: BackendBatch): void {
    if (this.enabled && userName === ROOT_USER && role === ROOT_ROLE) throw etcdError('invalid-auth-mgmt');
    const user = this.users.get(userName);
    if (!user) throw etcdError('user-not-found');
    if (!user.roles.includes(role)) throw etcdError('role-not-granted');
    this.saveUser({ ...user, roles: user.roles.filter((r) => r !== role) }, batch);
    this.bump(batch, { kind: 'user', user: userName });
  }

  addRole(name: string, batch: BackendBatch): void {
    if (name === '') throw etcdError('role-empty');
    if (this.roles.has(name)) throw etcdError('role-already-exist');
    this.saveRole({ name, permissions: [] }, batch);
    this.bump(batch, { kind: 'role', role: name });
  }

  deleteRole(name: string, batch: BackendBatch): void {
    if (this.enabled && name === ROOT_ROLE) throw etcdError('invalid-auth-mgmt');
    if (!this.roles.has(name)) throw etcdError('role-not-found');
    this.roles.delete(name);
    batch.del('auth', Buffer.from(ROLE_PREFIX + name));
    for (const user of this.users.values()) {
      if (user.roles.includes(name))
        this.saveUser({ ...user, roles: user.roles.filter((r) => r !== name) }, batch);
    }
    this.bump(batch, { kind: 'role', role: name });
  }

  grantPermission(roleName: string, permission: KeyPermission, batch: BackendBatch): void {
    const role = this.roles.get(roleName);
    if (!role) throw etcdError('role-not-found');
    const same = (p: KeyPermission): boolean =>
      p.key.equals(permission.key) && p.rangeEnd.equals(permission.rangeEnd);
    // etcd replaces the type of a grant on the same range, else inserts it in key order.
    const permissions = role.permissions.some(same)
      ? role.permissions.map((p) => (same(p) ? { ...p, permType: permission.permType } : p))
      : [...role.permissions, permission].sort(comparePermissions);
    this.saveRole({ ...role, permissions }, batch);
    this.bump(batch, { kind: 'role', role: roleName });
  }

  revokePermission(roleName: string, key: Buffer, rangeEnd: Buffer, batch: BackendBatch): void {
    const role = this.roles.get(roleName);
    if (!role) throw etcdError('role-not-found');
    const permissions = role.permissions.filter((p) => !(p.key.equals(key) && p.rangeEnd.equals(rangeEnd)));
    if (permissions.length === role.permissions.length) throw etcdError('permission-not-granted');
    this.saveRole({ ...role, permissions }, batch);
    this.bump(batch, { kind: 'role', role: roleName });
  }

  private saveUser(user: AuthUser, batch: BackendBatch): void {
    this.users.set(user.name, user);
    batch.put('auth', Buffer.from(USER_PREFIX + user.name), Buffer.from(JSON.stringify(user)));
  }

  private saveRole(role: AuthRole, batch: BackendBatch): void {
    this.roles.set(role.name, role);
    const stored: StoredRole = {
      name: role.name,
      permissions: role.permissions.map((p) => ({
        permType: p.permType,
        key: p.key.toString('base64'),
        rangeEnd: p.rangeEnd.toString('base64'),
      })),
    };
    batch.put('auth', Buffer.from(ROLE_PREFIX + role.name), Buffer.from(JSON.stringify(stored)));
  }

  private bump(batch: BackendBatch, change: AuthChange): void {
    this.revision++;
    this.rangeCache.clear();
    batch.put('auth', KEY_REVISION, Buffer.from(String(this.revision)));
    for (const listener of this.listeners) listener(change);
  }
}

export type AuthChange =
  | { kind: 'enabled' }
  | { kind: 'disabled' }
  | { kind: 'user'; user: string }
  /** The user was deleted or its password changed: its tokens must stop working. */
  | { kind: 'user-removed'; user: string }
  | { kind: 'role'; role: string }
  /** A snapshot install replaced everything. */
  | { kind: 'reloaded' };

function comparePermissions(a: KeyPermission, b: KeyPermission): number {
  return Buffer.compare(a.key, b.key) || Buffer.compare(a.rangeEnd, b.rangeEnd);
}

/** Whether a grant's range is well formed (etcd 3.5 refuses rangeEnd <= key, except "" and "\0"). */
export function isValidPermissionRange(key: Buffer, rangeEnd: Buffer): boolean {
  const interval = intervalOf(key, rangeEnd);
  return interval.end === undefined || Buffer.compare(interval.end, interval.start) > 0;
}

export { PermissionType };
