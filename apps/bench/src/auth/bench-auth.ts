// etcd auth for a benchmark run: turn auth on the way `etcdctl` users do (root user with the root role,
// then AuthEnable) and give the load a non-root user whose one role may read and write every key, so each
// request pays for the token lookup and the permission check a real deployment pays for.

import { Methods } from '../grpc/methods';
import { unaryAsync, type Connection } from '../grpc/transport';
import {
  decodeAuthenticateResponse,
  encodeNamePasswordRequest,
  encodeRoleAddRequest,
  encodeRoleGrantPermissionRequest,
  encodeUserGrantRoleRequest,
  PermissionType,
} from '../proto/etcd-messages';

export interface Credentials {
  user: string;
  password: string;
}

export const BENCH_ROOT: Credentials = { user: 'root', password: 'bench-root-password' };
export const BENCH_USER: Credentials = { user: 'bench', password: 'bench-password' };
const BENCH_ROLE = 'bench-readwrite';

/**
 * On a member with auth off: creates root (with the root role) and the bench user (read-write on every
 * key from "\0", i.e. `--from-key "\0"`), then enables auth. `connection` carries no token.
 */
export async function enableBenchAuth(connection: Connection): Promise<void> {
  const call = (method: string, request: Buffer): Promise<Buffer> => unaryAsync(connection, method, request);
  await call(Methods.userAdd, encodeNamePasswordRequest(BENCH_ROOT.user, BENCH_ROOT.password));
  await call(Methods.userGrantRole, encodeUserGrantRoleRequest(BENCH_ROOT.user, 'root'));
  await call(Methods.roleAdd, encodeRoleAddRequest(BENCH_ROLE));
  const zero = Buffer.from([0]);
  await call(
    Methods.roleGrantPermission,
    encodeRoleGrantPermissionRequest(BENCH_ROLE, PermissionType.readwrite, zero, zero),
  );
  await call(Methods.userAdd, encodeNamePasswordRequest(BENCH_USER.user, BENCH_USER.password));
  await call(Methods.userGrantRole, encodeUserGrantRoleRequest(BENCH_USER.user, BENCH_ROLE));
  await call(Methods.authEnable, Buffer.alloc(0));
}

/** Auth/Authenticate: the token for `credentials`. */
export async function authenticate(connection: Connection, credentials: Credentials): Promise<string> {
  const response = await unaryAsync(
    connection,
    Methods.authenticate,
    encodeNamePasswordRequest(credentials.user, credentials.password),
  );
  const token = decodeAuthenticateResponse(response);
  if (token === '') throw new Error(`Authenticate(${credentials.user}) answered no token`);
  return token;
}

/** "name:password" (etcdctl's --user) → credentials. */
export function parseUserFlag(raw: string): Credentials {
  const colon = raw.indexOf(':');
  if (colon <= 0) throw new Error(`--user wants NAME:PASSWORD, got "${raw}"`);
  return { user: raw.slice(0, colon), password: raw.slice(colon + 1) };
}
