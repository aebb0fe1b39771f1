// The SDK's etcd auth session: with `credentials` the client authenticates itself (Auth/Authenticate) before
// its first call and again whenever the member says its token no longer counts — "invalid auth token" (a
// simple token expired after --auth-token-ttl of disuse, a member restarted, a JWT expired) or "revision of
// auth store is old" (a JWT issued before an auth change) — as clientv3 does. One authentication at a time:
// concurrent calls wait for the same one. Without credentials a fixed `token` is sent as given.
import * as grpc from '@grpc/grpc-js';

export interface Credentials {
  user: string;
  password: string;
}

/** What an authentication needs from the pool: one Authenticate call, sent without a token. */
export type Authenticate = (credentials: Credentials) => Promise<string>;

const AUTHENTICATE_PATH = '/etcdserverpb.Auth/Authenticate';

export class AuthSession {
  private token: string | undefined;
  private pending: Promise<void> | undefined;

  constructor(
    private readonly credentials: Credentials | undefined,
    token: string | undefined,
    private readonly authenticate: Authenticate,
  ) {
    this.token = token || undefined;
  }

  /** The token every later call and stream carries (undefined: none). */
  setToken(token: string | undefined): void {
    this.token = token || undefined;
  }

  get current(): string | undefined {
    return this.token;
  }

  /** Resolves once a token is held (at once without credentials). */
  ready(): Promise<void> {
    if (this.pending) return this.pending;
    if (!this.credentials || this.token) return Promise.resolve();
    return this.renew(undefined);
  }

  /**
   * Whether `error` means the token must be renewed and the call retried: true (after renewing) only with
   * credentials, and only for the token the failed call carried.
   */
  async recover(error: unknown, usedToken: string | undefined): Promise<boolean> {
    if (!this.credentials || !isStaleTokenError(error)) return false;
    await this.renew(usedToken);
    return true;
  }

  /** Adds metadata `token` to each call as it starts (unary and streaming alike), never to Authenticate. */
  readonly interceptor: grpc.Interceptor = (options, nextCall) =>
    new grpc.InterceptingCall(nextCall(options), {
      start: (metadata, listener, next) => {
        if (this.token && options.method_definition.path !== AUTHENTICATE_PATH) {
          metadata.set('token', this.token);
        }
        next(metadata, listener);
      },
    });

  private renew(staleToken: string | undefined): Promise<void> {
    if (this.token !== staleToken) return Promise.resolve(); // someone renewed it already
    this.pending ??= this.authenticate(this.credentials!)
      .then((token) => {
        this.token = token;
      })
      .finally(() => {
        this.pending = undefined;
      });
    return this.pending;
  }
}

/** etcd's answers that a token no longer stands (clientv3's shouldRefreshToken), or that none was sent. */
export function isStaleTokenError(error: unknown): boolean {
  const { code, details, message } = (error ?? {}) as {
    code?: unknown;
    details?: unknown;
    message?: unknown;
  };
  const text = `${typeof details === 'string' ? details : ''} ${typeof message === 'string' ? message : ''}`;
  if (code === grpc.status.UNAUTHENTICATED) return true;
  return (
    code === grpc.status.INVALID_ARGUMENT && /revision of auth store is old|user name is empty/.test(text)
  );
}
