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

export async function request<T>(method: string, path: string, body?: unknown): Promise<T> {
  let res: Response;
  try {
    res = await fetch(path, {
      method,
      headers: body === undefined ? undefined : { 'content-type': 'application/json' },
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
  if (!res.ok) throw new ApiError(res.status, errorMessage(res.status, parsed), parsed);
  return parsed as T;
}

function errorMessage(status: number, body: unknown): string {
  if (body && typeof body === 'object') {
    const m = (body as { message?: unknown }).message;
    if (Array.isArray(m)) return m.map(String).join('; ');
    if (typeof m === 'string') return m;
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
