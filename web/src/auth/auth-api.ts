// Client of etcd's Auth service over the JSON gateway (`/v3/auth/*`), with etcd's own request and response
// JSON: proto field names, bytes as base64, default values omitted (so a READ permission, enum value 0, comes
// without `permType`). The token goes in `Authorization` as the raw token (api.ts authHeaders).
import { request } from '../api';

export type PermType = 'READ' | 'WRITE' | 'READWRITE';

/** authpb.Permission as the gateway writes it: key and range_end base64; an empty range_end = one key. */
export interface WirePermission {
  permType?: PermType;
  key?: string;
  range_end?: string;
}

const post = <T>(path: string, body: object = {}): Promise<T> => request<T>('POST', `/v3/auth/${path}`, body);

export const authApi = {
  status: () => post<{ enabled?: boolean; authRevision?: string }>('status'),
  authenticate: (name: string, password: string) =>
    post<{ token?: string }>('authenticate', { name, password }),
  enable: () => post<object>('enable'),
  disable: () => post<object>('disable'),

  userList: () => post<{ users?: string[] }>('user/list'),
  userGet: (name: string) => post<{ roles?: string[] }>('user/get', { name }),
  userAdd: (name: string, password: string, noPassword: boolean) =>
    post<object>('user/add', noPassword ? { name, options: { no_password: true } } : { name, password }),
  userDelete: (name: string) => post<object>('user/delete', { name }),
  userChangePassword: (name: string, password: string) => post<object>('user/changepw', { name, password }),
  userGrantRole: (user: string, role: string) => post<object>('user/grant', { user, role }),
  userRevokeRole: (name: string, role: string) => post<object>('user/revoke', { name, role }),

  roleList: () => post<{ roles?: string[] }>('role/list'),
  roleGet: (role: string) => post<{ perm?: WirePermission[] }>('role/get', { role }),
  roleAdd: (name: string) => post<object>('role/add', { name }),
  roleDelete: (role: string) => post<object>('role/delete', { role }),
  roleGrantPermission: (name: string, perm: Required<WirePermission>) =>
    post<object>('role/grant', { name, perm }),
  roleRevokePermission: (role: string, key: string, rangeEnd: string) =>
    post<object>('role/revoke', { role, key, range_end: rangeEnd }),
};
