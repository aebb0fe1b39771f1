// The endpoints a client talks to: one grpc-js channel per endpoint (shared by every service client on
// it), a current endpoint, and failover to the next one when a call fails with UNAVAILABLE.
import { readFileSync } from 'node:fs';
import * as grpc from '@grpc/grpc-js';
import { loadEtcdPackage } from '@cairn/api';
import { AuthSession, type Credentials } from './auth-session';

/** TLS to the members: PEM text or a file path for each; no `ca` = the system's roots. */
export interface ClientTls {
  ca?: string | Buffer;
  cert?: string | Buffer;
  key?: string | Buffer;
  /** Accept any server certificate (etcdctl's --insecure-skip-tls-verify; testing only). */
  insecureSkipVerify?: boolean;
}

export interface EndpointOptions {
  /** `http://host:port`, `host:port`, or a list of them (a cluster's client URLs). */
  endpoints: string | readonly string[];
  /** Deadline of unary calls, ms (default 10 000). */
  callTimeoutMs?: number;
  /** How long a call waits for an endpoint to connect before failing over to the next, ms (default 3000). */
  connectTimeoutMs?: number;
  /** Extra grpc-js channel options. */
  channelOptions?: grpc.ChannelOptions;
  /**
   * An etcd auth token (from `Auth/Authenticate`, e.g. `etcdctl`'s or the gateway's
   * `/v3/auth/authenticate`): sent as gRPC metadata `token` on every call and stream, as etcd's clients do.
   * Replace it with EndpointPool.setToken when it is renewed.
   */
  token?: string;
  /**
   * A user and password: the client authenticates itself before its first call and again whenever its
   * token stops counting (expired, a member restarted, auth changed), as etcd's clientv3 does.
   */
  credentials?: Credentials;
  /** TLS (also turned on by `https://` endpoints); a client certificate for --client-cert-auth members. */
  tls?: ClientTls;
}

function pem(value: string | Buffer | undefined): Buffer | undefined {
  if (value === undefined) return undefined;
  if (Buffer.isBuffer(value)) return value;
  return value.includes('-----BEGIN') ? Buffer.from(value) : readFileSync(value);
}

function channelCredentials(options: EndpointOptions, endpoints: readonly string[]): grpc.ChannelCredentials {
  const https = endpoints.some((endpoint) => /^https:\/\//i.test(endpoint.trim()));
  if (!options.tls && !https) return grpc.credentials.createInsecure();
  const tls = options.tls ?? {};
  return grpc.credentials.createSsl(
    pem(tls.ca) ?? null,
    pem(tls.key) ?? null,
    pem(tls.cert) ?? null,
    tls.insecureSkipVerify ? { rejectUnauthorized: false, checkServerIdentity: () => undefined } : {},
  );
}

/** Strips the scheme: grpc-js dials `host:port`. */
export function toGrpcAddress(endpoint: string): string {
  const trimmed = endpoint.trim();
  if (/^[a-z]+:\/\//i.test(trimmed)) {
    const url = new URL(trimmed);
    return `${url.hostname}:${url.port || (url.protocol === 'https:' ? '443' : '2379')}`;
  }
  return trimmed;
}

type ServiceCtor = grpc.ServiceClientConstructor;

export class EndpointPool {
  readonly addresses: readonly string[];
  readonly callTimeoutMs: number;
  readonly connectTimeoutMs: number;
  private index = 0;
  private readonly channels = new Map<string, grpc.Channel>();
  private readonly clients = new Map<string, grpc.Client>();
  private closed = false;
  /** The token calls carry, and how it is renewed (auth-session.ts). */
  readonly auth: AuthSession;
  private readonly credentials: grpc.ChannelCredentials;

  constructor(options: EndpointOptions) {
    const list = typeof options.endpoints === 'string' ? options.endpoints.split(',') : options.endpoints;
    this.credentials = channelCredentials(options, list);
    this.auth = new AuthSession(options.credentials, options.token, (credentials) =>
      this.authenticate(credentials),
    );
    this.addresses = list.map(toGrpcAddress).filter((a) => a.length > 0);
    if (this.addresses.length === 0) throw new Error('at least one endpoint is required');
    this.callTimeoutMs = options.callTimeoutMs ?? 10_000;
    this.connectTimeoutMs = options.connectTimeoutMs ?? 3000;
    this.channelOptions = {
      'grpc.max_receive_message_length': 64 * 1024 * 1024,
      'grpc.max_send_message_length': 64 * 1024 * 1024,
      'grpc.initial_reconnect_backoff_ms': 100,
      'grpc.max_reconnect_backoff_ms': 1000,
      ...options.channelOptions,
    };
  }

  private readonly channelOptions: grpc.ChannelOptions;

  /** The token every later call and stream carries (undefined: none). */
  setToken(token: string | undefined): void {
    this.auth.setToken(token);
  }

  /** One Authenticate on the current endpoint (with failover), sent without a token. */
  private async authenticate(credentials: Credentials): Promise<string> {
    const response = await withFailover(this, (address) =>
      unaryCall<object, { token: string }>(
        this.client('etcdserverpb.Auth', address),
        'Authenticate',
        { name: credentials.user, password: credentials.password },
        this.callTimeoutMs,
      ),
    );
    return response.token;
  }

  /** The endpoint calls go to now. */
  current(): string {
    return this.addresses[this.index % this.addresses.length]!;
  }

  /** Moves to the next endpoint if `failed` is still the current one (concurrent failures move once). */
  failover(failed: string): void {
    if (this.current() === failed) this.index = (this.index + 1) % this.addresses.length;
  }

  private channel(address: string): grpc.Channel {
    if (this.closed) throw new Error('client closed');
    let channel = this.channels.get(address);
    if (!channel) {
      channel = new grpc.Channel(address, this.credentials, this.channelOptions);
      this.channels.set(address, channel);
    }
    return channel;
  }

  /**
   * A grpc-js client of `servicePath` (e.g. `etcdserverpb.KV`, `cairn.config.v1.Config`) on `address`
   * (default: the current endpoint), sharing that endpoint's channel. The service must be in the proto
   * set loadEtcdPackage() loads (@cairn/api PROTO_FILES); pass `ctor` for any other generated service.
   */
  client<T extends grpc.Client = grpc.Client>(
    servicePath: string,
    address = this.current(),
    ctor?: ServiceCtor,
  ): T {
    const key = `${servicePath}@${address}`;
    let client = this.clients.get(key);
    if (!client) {
      const Ctor = ctor ?? lookupService(servicePath);
      client = new Ctor(address, this.credentials, {
        channelOverride: this.channel(address),
        interceptors: [this.auth.interceptor],
      });
      this.clients.set(key, client);
    }
    return client as T;
  }

  /**
   * Waits until the endpoint's channel is connected (READY), up to `timeoutMs`; false if it is not.
   * grpc-js shares subchannels between channels to one address, so a call made while the shared
   * subchannel sits in reconnect back-off fails at once with UNAVAILABLE; waiting here (then calling
   * with waitForReady) makes a restarted server usable as soon as it accepts connections.
   */
  async waitReady(address: string, timeoutMs = this.connectTimeoutMs): Promise<boolean> {
    const channel = this.channel(address);
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const state = channel.getConnectivityState(true);
      if (state === grpc.connectivityState.READY) return true;
      if (state === grpc.connectivityState.SHUTDOWN || Date.now() >= deadline) return false;
      const changed = await new Promise<boolean>((resolve) =>
        channel.watchConnectivityState(state, deadline, (err) => resolve(!err)),
      );
      if (!changed) return channel.getConnectivityState(false) === grpc.connectivityState.READY;
    }
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const client of this.clients.values()) client.close();
    for (const channel of this.channels.values()) channel.close();
    this.clients.clear();
    this.channels.clear();
  }

  get isClosed(): boolean {
    return this.closed;
  }
}

/** The generated client constructor of a service in @cairn/api's proto set. */
export function lookupService(servicePath: string): ServiceCtor {
  let node: unknown = loadEtcdPackage();
  for (const part of servicePath.split('.')) {
    node = (node as Record<string, unknown> | undefined)?.[part];
  }
  if (typeof node !== 'function') throw new Error(`unknown gRPC service ${servicePath}`);
  return node as ServiceCtor;
}

type UnaryMethod<Req, Res> = (
  request: Req,
  metadata: grpc.Metadata,
  options: grpc.CallOptions,
  callback: (error: grpc.ServiceError | null, response?: Res) => void,
) => grpc.ClientUnaryCall;

/** One unary call on one client, with a deadline. */
export function unaryCall<Req, Res>(
  client: grpc.Client,
  method: string,
  request: Req,
  timeoutMs: number,
): Promise<Res> {
  const fn = (client as unknown as Record<string, UnaryMethod<Req, Res>>)[method];
  if (typeof fn !== 'function') return Promise.reject(new Error(`no method ${method}`));
  return new Promise<Res>((resolve, reject) => {
    fn.call(
      client,
      request,
      new grpc.Metadata({ waitForReady: true }),
      { deadline: Date.now() + timeoutMs },
      (error: grpc.ServiceError | null, response?: Res) => {
        if (error) reject(error);
        else resolve(response as Res);
      },
    );
  });
}

/** True for errors worth retrying on another endpoint: the endpoint is down or has no leader. */
export function isRetryable(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return code === grpc.status.UNAVAILABLE;
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * Runs `call` on the current endpoint with failover: on UNAVAILABLE it moves to the next endpoint and tries
 * again, up to twice around the list (so one endpoint that restarts gets a second chance after a short pause).
 */
async function withFailover<Res>(pool: EndpointPool, call: (address: string) => Promise<Res>): Promise<Res> {
  const attempts = Math.max(2, pool.addresses.length * 2);
  let lastError: unknown;
  for (let attempt = 0; attempt < attempts; attempt++) {
    const address = pool.current();
    try {
      if (!(await pool.waitReady(address))) {
        throw Object.assign(new Error(`14 UNAVAILABLE: cannot connect to ${address}`), {
          code: grpc.status.UNAVAILABLE,
        });
      }
      return await call(address);
    } catch (error) {
      lastError = error;
      if (!isRetryable(error) || pool.isClosed) throw error;
      pool.failover(address);
      if (attempt + 1 < attempts) await sleep(Math.min(1000, 50 * 2 ** attempt));
    }
  }
  throw lastError;
}

/**
 * A unary call with failover (withFailover) and the auth session: it waits for a token when the client has
 * credentials, and renews the token and tries once more when the member says it no longer counts. Note that
 * a write whose answer was lost to UNAVAILABLE may already have been applied; callers that cannot repeat a
 * write should guard it with a Txn compare.
 */
export async function callWithFailover<Req, Res>(
  pool: EndpointPool,
  servicePath: string,
  method: string,
  request: Req,
  timeoutMs = pool.callTimeoutMs,
): Promise<Res> {
  const attempt = async (): Promise<{ value: Res } | { error: unknown; token: string | undefined }> => {
    await pool.auth.ready();
    const token = pool.auth.current;
    try {
      return {
        value: await withFailover(pool, (address) =>
          unaryCall<Req, Res>(pool.client(servicePath, address), method, request, timeoutMs),
        ),
      };
    } catch (error) {
      return { error, token };
    }
  };
  let outcome = await attempt();
  if ('error' in outcome && (await pool.auth.recover(outcome.error, outcome.token)))
    outcome = await attempt();
  if ('error' in outcome) throw outcome.error;
  return outcome.value;
}
