// The REST client of `cairnctl registry` and `cairnctl config`: JSON calls and SSE streams on the members'
// client URLs (/api/registry/v1, /api/config/v1), with TLS, a client certificate, etcd auth (a token from
// /v3/auth/authenticate, renewed once when the member no longer takes it) and failover to the next endpoint
// when one cannot be reached. Why REST rather than the SDK's gRPC clients: the REST API is the one surface
// that serves every command (namespaces, apps and the audit history have no gRPC twin), and its 401/403
// answers map directly onto the errors the CLI reports.
import * as http from 'node:http';
import * as https from 'node:https';
import { readFileSync } from 'node:fs';
import { type SseEvent, SseParser } from './sse';

export interface RestTls {
  /** PEM text or a file path. */
  ca?: string;
  cert?: string;
  key?: string;
  /** --insecure-skip-tls-verify */
  insecureSkipVerify?: boolean;
}

export interface RestOptions {
  endpoints: readonly string[];
  tls?: RestTls;
  /** `user:password` or {user, password}: authenticate through the gateway before the first call. */
  credentials?: { user: string; password: string };
  /** A token to send as is (no renewal). */
  token?: string;
  /** Deadline of one request, ms (default 10 000). */
  timeoutMs?: number;
  /** A stream silent this long is reopened (default STREAM_IDLE_MS). */
  streamIdleMs?: number;
}

/** What a refused call needed, for a 403's message (docs/security.md's grants). */
export interface Needs {
  perm: 'READ' | 'READWRITE';
  prefix: string;
}

/** A failed call: which endpoint, which request, the HTTP status and the server's message. */
export class ApiError extends Error {
  constructor(
    message: string,
    readonly status: number,
    readonly endpoint: string,
    readonly body: Record<string, unknown> = {},
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

export interface RequestOptions {
  query?: Record<string, string | number | boolean | undefined>;
  body?: unknown;
  /** A raw body (e.g. a zip) and its content type. */
  raw?: { data: Buffer; type: string };
  needs?: Needs;
  /** Resolve with the body's bytes instead of parsing JSON. */
  binary?: boolean;
}

export interface StreamOptions {
  query?: Record<string, string | number | boolean | undefined>;
  needs?: Needs;
  signal: AbortSignal;
  /** Called after each event; the resume point is its `id`. */
  onEvent: (event: SseEvent) => void;
  /** Told of each reconnect after a lost stream (the commands print it on stderr). */
  onRetry?: (message: string) => void;
}

/** The members send an SSE heartbeat every 15 s: a stream silent for longer than this is dead. */
export const STREAM_IDLE_MS = 45_000;

function pem(value: string | undefined): Buffer | undefined {
  if (value === undefined || value === '') return undefined;
  return value.includes('-----BEGIN') ? Buffer.from(value) : readFileSync(value);
}

/** `host:port` → a base URL: https when any TLS option is set (as etcdctl), else http. */
export function baseUrl(endpoint: string, tls: RestTls | undefined): string {
  const trimmed = endpoint.trim().replace(/\/+$/, '');
  if (/^https?:\/\//i.test(trimmed)) return trimmed;
  const secure = tls !== undefined && Boolean(tls.ca || tls.cert || tls.insecureSkipVerify);
  return `${secure ? 'https' : 'http'}://${trimmed}`;
}

export function withQuery(path: string, query: RequestOptions['query']): string {
  const params = new URLSearchParams();
  for (const [k, v] of Object.entries(query ?? {})) if (v !== undefined && v !== '') params.set(k, String(v));
  const text = params.toString();
  return text ? `${path}?${text}` : path;
}

/** The message of a refused or failed call, naming the endpoint, the request and what was missing. */
export function describeFailure(
  status: number,
  body: Record<string, unknown>,
  where: string,
  needs: Needs | undefined,
): string {
  const server = typeof body.message === 'string' ? body.message : JSON.stringify(body);
  if (status === 401) {
    return `authentication required: ${where} answered 401 (${server}); pass --user (or a client certificate the member accepts)`;
  }
  if (status === 403) {
    const grant = needs ? `; the user needs ${needs.perm} on ${needs.prefix} (prefix)` : '';
    return `permission denied: ${where} answered 403 (${server})${grant}`;
  }
  const issues = Array.isArray(body.issues)
    ? (body.issues as { message: string; line: number; column: number }[])
        .map((i) => `\n  ${i.line ? `line ${i.line}:${i.column}: ` : ''}${i.message}`)
        .join('')
    : '';
  return `${where} answered ${status}: ${server}${issues}`;
}

interface RawAnswer {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
}

export class RestClient {
  private readonly bases: string[];
  private current = 0;
  private token: string | undefined;
  private readonly timeoutMs: number;
  private readonly streamIdleMs: number;
  private readonly agentOptions: https.AgentOptions;

  constructor(private readonly options: RestOptions) {
    this.bases = options.endpoints.map((e) => baseUrl(e, options.tls)).filter((e) => e.length > 0);
    if (this.bases.length === 0) throw new Error('no endpoint given (--endpoints)');
    this.token = options.token || undefined;
    this.timeoutMs = options.timeoutMs ?? 10_000;
    this.streamIdleMs = options.streamIdleMs ?? STREAM_IDLE_MS;
    const tls = options.tls ?? {};
    this.agentOptions = {
      ca: pem(tls.ca),
      cert: pem(tls.cert),
      key: pem(tls.key),
      rejectUnauthorized: !tls.insecureSkipVerify,
    };
  }

  /** The endpoint calls go to now. */
  get endpoint(): string {
    return this.bases[this.current]!;
  }

  /** A JSON call; throws ApiError on a non-2xx answer, after trying every endpoint on connection errors. */
  async request<T>(method: string, path: string, options: RequestOptions = {}): Promise<T> {
    const target = withQuery(path, options.query);
    const payload = options.raw
      ? options.raw
      : options.body === undefined
        ? undefined
        : { data: Buffer.from(JSON.stringify(options.body)), type: 'application/json' };
    let answer = await this.send(method, target, payload);
    if (answer.status === 401 && (await this.renewToken())) answer = await this.send(method, target, payload);
    const where = `${method} ${this.endpoint}${target}`;
    if (answer.status < 200 || answer.status >= 300) {
      const body = parseBody(answer.body);
      throw new ApiError(
        describeFailure(answer.status, body, where, options.needs),
        answer.status,
        this.endpoint,
        body,
      );
    }
    if (options.binary) return answer.body as T;
    return (answer.body.length === 0 ? {} : JSON.parse(answer.body.toString('utf8'))) as T;
  }

  /**
   * Follows an SSE stream until `signal` aborts (resolves) or the stream fails (rejects). Until the first
   * connection succeeds a failure is final (each endpoint tried once: a wrong --endpoints fails fast); after
   * it a lost or ended stream is reopened after the last event id, on the next endpoint, with back-off, for
   * as long as it takes (`onRetry` hears of each attempt). A 401 renews the token once per reconnect.
   */
  async stream(path: string, options: StreamOptions): Promise<void> {
    let lastId = '';
    let connected = false;
    let failures = 0;
    let renewed = false;
    for (;;) {
      if (options.signal.aborted) return;
      try {
        await this.streamOnce(
          path,
          options,
          lastId,
          () => (connected = true),
          (event) => {
            failures = 0;
            renewed = false;
            if (event.id) lastId = event.id;
            options.onEvent(event);
          },
        );
        if (options.signal.aborted) return;
        options.onRetry?.(`the stream from ${this.endpoint} ended; reopening`);
      } catch (err) {
        if (options.signal.aborted) return;
        if (err instanceof ApiError && err.status === 401 && !renewed && (await this.renewToken())) {
          renewed = true;
          continue;
        }
        // Only a lost connection is retried; a refusal or the member's own error ends the watch.
        if (!(err instanceof ApiError) || err.status !== 0) throw err;
        failures++;
        if (!connected && failures >= this.bases.length) throw err;
        this.current = (this.current + 1) % this.bases.length;
        options.onRetry?.(`${err.message}; retrying`);
      }
      const delay = Math.min(5000, 250 * 2 ** Math.min(failures, 5));
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, delay);
        options.signal.addEventListener('abort', () => (clearTimeout(timer), resolve()), { once: true });
      });
    }
  }

  private async streamOnce(
    path: string,
    options: StreamOptions,
    lastId: string,
    onOpen: () => void,
    onEvent: (event: SseEvent) => void,
  ): Promise<void> {
    await this.ensureToken();
    const target = withQuery(path, options.query);
    const base = this.endpoint;
    const url = new URL(`${base}${target}`);
    const headers: Record<string, string> = { accept: 'text/event-stream' };
    if (this.token) headers.authorization = `Bearer ${this.token}`;
    if (lastId) headers['last-event-id'] = lastId;
    await new Promise<void>((resolve, reject) => {
      const req = this.module(url).request(
        url,
        { method: 'GET', headers, timeout: this.streamIdleMs, ...this.agentOptions },
        (res) => {
          const status = res.statusCode ?? 0;
          if (status !== 200) {
            const chunks: Buffer[] = [];
            res.on('data', (c: Buffer) => chunks.push(c));
            res.on('end', () => {
              const body = parseBody(Buffer.concat(chunks));
              const where = `GET ${base}${target}`;
              reject(new ApiError(describeFailure(status, body, where, options.needs), status, base, body));
            });
            return;
          }
          onOpen();
          const parser = new SseParser();
          res.setEncoding('utf8');
          res.on('data', (chunk: string) => {
            try {
              for (const event of parser.push(chunk)) onEvent(event);
            } catch (err) {
              // A handler's failure (e.g. the member's error event) ends this stream with it.
              req.destroy();
              reject(err instanceof ApiError ? err : new ApiError((err as Error).message, -1, base));
            }
          });
          res.on('end', () => resolve());
          res.on('error', (err) => (options.signal.aborted ? resolve() : reject(connectionError(err, base))));
        },
      );
      req.on('timeout', () =>
        req.destroy(new Error(`no data (not even a heartbeat) for ${this.streamIdleMs} ms`)),
      );
      const abort = (): void => {
        req.destroy();
        resolve();
      };
      options.signal.addEventListener('abort', abort, { once: true });
      req.on('close', () => options.signal.removeEventListener('abort', abort));
      req.on('error', (err) => (options.signal.aborted ? resolve() : reject(connectionError(err, base))));
      req.end();
    });
  }

  private module(url: URL): typeof http | typeof https {
    return url.protocol === 'https:' ? https : http;
  }

  /** One request with failover: a connection error moves on to the next endpoint (each tried once). */
  private async send(
    method: string,
    target: string,
    payload: { data: Buffer; type: string } | undefined,
    auth = true,
  ): Promise<RawAnswer> {
    if (auth) await this.ensureToken();
    let lastError: unknown;
    for (let attempt = 0; attempt < this.bases.length; attempt++) {
      const base = this.endpoint;
      try {
        return await this.once(method, base, target, payload, auth);
      } catch (err) {
        lastError = err;
        this.current = (this.current + 1) % this.bases.length;
      }
    }
    throw lastError;
  }

  private once(
    method: string,
    base: string,
    target: string,
    payload: { data: Buffer; type: string } | undefined,
    auth: boolean,
  ): Promise<RawAnswer> {
    const url = new URL(`${base}${target}`);
    const headers: Record<string, string> = { accept: 'application/json' };
    if (payload) {
      headers['content-type'] = payload.type;
      headers['content-length'] = String(payload.data.length);
    }
    if (auth && this.token) headers.authorization = `Bearer ${this.token}`;
    return new Promise((resolve, reject) => {
      const req = this.module(url).request(
        url,
        { method, headers, timeout: this.timeoutMs, ...this.agentOptions },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () =>
            resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }),
          );
          res.on('error', (err) => reject(connectionError(err, base)));
        },
      );
      req.on('timeout', () => req.destroy(new Error(`no answer within ${this.timeoutMs} ms`)));
      req.on('error', (err) => reject(connectionError(err, base)));
      req.end(payload?.data);
    });
  }

  private async ensureToken(): Promise<void> {
    if (this.token || !this.options.credentials) return;
    await this.renewToken();
  }

  /** Authenticates with the credentials (etcd's gateway /v3/auth/authenticate); false without credentials. */
  private async renewToken(): Promise<boolean> {
    const credentials = this.options.credentials;
    if (!credentials) return false;
    const body = { name: credentials.user, password: credentials.password };
    const path = '/v3/auth/authenticate';
    const answer = await this.send(
      'POST',
      path,
      { data: Buffer.from(JSON.stringify(body)), type: 'application/json' },
      false,
    );
    const parsed = parseBody(answer.body);
    if (answer.status !== 200 || typeof parsed.token !== 'string') {
      const message = typeof parsed.message === 'string' ? parsed.message : `HTTP ${answer.status}`;
      throw new ApiError(
        `authentication failed: POST ${this.endpoint}${path} as "${credentials.user}": ${message}`,
        answer.status === 200 ? 401 : answer.status,
        this.endpoint,
        parsed,
      );
    }
    this.token = parsed.token;
    return true;
  }
}

function parseBody(body: Buffer): Record<string, unknown> {
  const text = body.toString('utf8');
  if (!text) return {};
  try {
    const parsed = JSON.parse(text) as unknown;
    return parsed && typeof parsed === 'object' ? (parsed as Record<string, unknown>) : { message: text };
  } catch {
    return { message: text.slice(0, 500) };
  }
}

/** A connection-level failure (status 0) naming the endpoint. */
function connectionError(err: Error, base: string): ApiError {
  const code = (err as NodeJS.ErrnoException).code;
  return new ApiError(`cannot reach ${base}: ${code ? `${code} ` : ''}${err.message}`, 0, base);
}
