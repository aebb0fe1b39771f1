// The console's typed API client. Response types come from the server's own sources (`import type` is erased
// by the build), so a change on the server side breaks the console's typecheck instead of drifting silently.
import type {
  ClusterOverview,
  KeyHistoryResponse,
  KeyTreePage,
  KeyValueResponse,
  PutKeyRequest,
  WriteResult,
} from '../../apps/server/src/console/console-types';
import { sessionStore } from './auth/session';

export type * from '../../apps/server/src/console/console-types';

/** An API error with the server's message (Nest's {statusCode, message, error} body) and the parsed body. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly body: unknown,
  ) {
    super(message);
  }

  /** The server could not be reached at all (down, restarting, network). */
  get unreachable(): boolean {
    return this.status === 0;
  }
}

/**
 * The session's credentials for a call to `path`. etcd's JSON gateway (`/v3/...`) reads the raw token from
 * `Authorization`, as etcd's own gateway does; the REST and SSE APIs take `Authorization: Bearer <token>`.
 */
export function authHeaders(path: string, token = sessionStore.token()): Record<string, string> {
  if (!token) return {};
  return { authorization: path.startsWith('/v3/') ? token : `Bearer ${token}` };
}

export async function request<T>(method: string, path: string, body?: unknown): Promise<T> {
  const token = sessionStore.token();
  let res: Response;
  try {
    res = await fetch(path, {
      method,
      headers: {
        ...authHeaders(path, token),
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch (err) {
    throw new ApiError(
      0,
      `server unreachable (${err instanceof Error ? err.message : String(err)})`,
      undefined,
    );
  }
  const text = await res.text();
  let parsed: unknown;
  try {
    parsed = text === '' ? undefined : JSON.parse(text);
  } catch {
    parsed = text;
  }
  // Any 401 ends the session (expired or revoked token, or a login the member now asks for).
  if (res.status === 401) sessionStore.unauthenticated(token);
  if (!res.ok) throw new ApiError(res.status, errorMessage(res.status, parsed), parsed);
  return parsed as T;
}

function errorMessage(status: number, body: unknown): string {
  if (body && typeof body === 'object') {
    const m = (body as { message?: unknown }).message;
    if (Array.isArray(m)) return m.map(String).join('; ');
    if (typeof m === 'string') return m;
    // etcd 3.4's gateway error body: {error, code, message?}.
    const e = (body as { error?: unknown }).error;
    if (typeof e === 'string') return e;
  }
  if (typeof body === 'string' && body.trim() !== '') return body.trim().slice(0, 300);
  return `HTTP ${status}`;
}

export const qs = (params: Record<string, string | number | boolean | undefined | null>): string => {
  const entries = Object.entries(params).filter(([, v]) => v !== undefined && v !== null && v !== '');
  return entries.length === 0
    ? ''
    : '?' + entries.map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(String(v))}`).join('&');
};

const C = '/api/console/v1';

export const consoleApi = {
  cluster: () => request<ClusterOverview>('GET', `${C}/cluster`),
  tree: (prefix: string, opts: { after?: string; limit?: number; revision?: number } = {}) =>
    request<KeyTreePage>('GET', `${C}/keys/tree${qs({ prefix, ...opts })}`),
  value: (key: string, revision?: number) =>
    request<KeyValueResponse>('GET', `${C}/keys/value${qs({ key, revision })}`),
  history: (key: string) => request<KeyHistoryResponse>('GET', `${C}/keys/history${qs({ key })}`),
  put: (req: PutKeyRequest) => request<WriteResult>('PUT', `${C}/keys/value`, req),
  remove: (key: string) => request<WriteResult>('DELETE', `${C}/keys/value${qs({ key })}`),
  watchUrl: (prefix: string, start?: number) => `${C}/watch${qs({ prefix, start })}`,
};
