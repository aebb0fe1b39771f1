// Browser safety and body bounds for HTTP/1.1 requests on the client URL, as pure decisions (no I/O): the
// member's Express middleware (apps/server/src/http/http-guards.middleware.ts) asks these functions and
// answers what they say. Never applied to HTTP/2 (gRPC's `:authority` is not checked: clients behind a
// Kubernetes Service name or a load balancer keep working).
//
// - Origin (CSRF): a request that carries a foreign `Origin` (or `Sec-Fetch-Site: cross-site`) is refused
//   unless `--cors` allows that origin, so a web page cannot make "simple" cross-site writes (text/plain
//   POSTs need no preflight). Same-origin requests (the console page served at `/`) pass. A request
//   without `Origin`/`Sec-Fetch-Site` (curl, etcdctl, SDKs) is never refused by this check.
// - Host (DNS rebinding): see `hostCheck` below.
// - JSON depth: see `jsonDepthExceeds`.

/** The parsed `--cors` and `--host-whitelist` flags and what the member listens on / advertises. */
export interface HttpGuardPolicy {
  /** Allowed CORS origins (normalised, lowercase, no trailing slash); `*` allows every origin. */
  corsOrigins: ReadonlySet<string>;
  /** Hosts from `--host-whitelist` (lowercase, no port); `*` allows every host. */
  hostWhitelist: ReadonlySet<string>;
  /** Whether unknown Hosts are refused (see `hostEnforced`). */
  enforceHost: boolean;
  /** Host names of the member's listen and advertised client URLs (lowercase, no port, no brackets). */
  ownHosts: ReadonlySet<string>;
}

/** etcd's CORS answer headers (embed/serve.go addCORSHeader), plus `Vary: Origin` when echoing one. */
export const CORS_ALLOW_METHODS = 'POST, GET, OPTIONS, PUT, DELETE';
export const CORS_ALLOW_HEADERS = 'accept, content-type, authorization';

/** Deepest JSON nesting (objects and arrays) a request body may have; deeper bodies answer 400. */
export const MAX_JSON_DEPTH = 100;

/** Bytes a gRPC message may exceed `--max-request-bytes` by (etcd's grpcOverheadBytes, 512 KiB). */
export const GRPC_OVERHEAD_BYTES = 512 * 1024;

/**
 * The largest HTTP request body: a request of `--max-request-bytes` as JSON, bytes fields in base64 (4/3),
 * plus the same overhead gRPC allows. Above it the member answers 413 without reading further; below it a
 * request that is still too large for Raft gets etcd's "request is too large", as on gRPC.
 */
export function httpBodyLimit(maxRequestBytes: number): number {
  return Math.ceil(maxRequestBytes / 3) * 4 + GRPC_OVERHEAD_BYTES;
}

/** Splits a comma-separated flag into trimmed, non-empty parts. */
function parts(text: string): string[] {
  return text
    .split(',')
    .map((part) => part.trim())
    .filter((part) => part !== '');
}

/** `--cors`: origins as browsers send them (`scheme://host[:port]`, lowercase, no trailing slash). */
export function parseCorsOrigins(text: string): Set<string> {
  return new Set(parts(text).map((origin) => (origin === '*' ? '*' : normaliseOrigin(origin))));
}

/** `--host-whitelist`: host names or addresses (a port, if given, is ignored, as etcd compares names). */
export function parseHostWhitelist(text: string): Set<string> {
  return new Set(parts(text).map((host) => (host === '*' ? '*' : hostnameOf(host))));
}

function normaliseOrigin(origin: string): string {
  return origin.toLowerCase().replace(/\/+$/, '');
}

/** The host name of a `Host` header or URL authority: lowercase, port and IPv6 brackets dropped. */
export function hostnameOf(authority: string): string {
  const text = authority.trim().toLowerCase();
  if (text.startsWith('[')) {
    const end = text.indexOf(']');
    return end < 0 ? text.slice(1) : text.slice(1, end);
  }
  const colon = text.indexOf(':');
  // More than one colon without brackets: a bare IPv6 address, no port.
  if (colon >= 0 && text.indexOf(':', colon + 1) < 0) return text.slice(0, colon);
  return text;
}

const IPV4 = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/;

/** An IP address literal (IPv4 dotted quad, or IPv6 with colons). */
export function isIpLiteral(host: string): boolean {
  const v4 = IPV4.exec(host);
  if (v4) return v4.slice(1).every((octet) => Number(octet) <= 255);
  return host.includes(':') && /^[0-9a-f:.]+$/.test(host);
}

/** localhost (and *.localhost, which resolves to loopback by RFC 6761), 127.0.0.0/8, ::1. */
export function isLoopbackHost(host: string): boolean {
  if (host === 'localhost' || host.endsWith('.localhost')) return true;
  const v4 = IPV4.exec(host);
  if (v4) return Number(v4[1]) === 127;
  return host === '::1' || host === '0:0:0:0:0:0:0:1' || host === '::ffff:127.0.0.1';
}

/**
 * Whether unknown Hosts are refused. DNS rebinding lets a web page reach a member only through a name the
 * attacker controls; the member worth that trick is one on loopback (a developer's machine), which no
 * Kubernetes Service or load balancer reaches. So, by default, the check is on exactly when every listen
 * client URL is loopback. `--host-whitelist` given (without `*`) turns it on whatever the listen URLs;
 * `--host-whitelist=*` turns it off (etcd's default: empty = allow all).
 */
export function hostEnforced(listenHosts: readonly string[], hostWhitelist: ReadonlySet<string>): boolean {
  if (hostWhitelist.has('*')) return false;
  if (hostWhitelist.size > 0) return true;
  return listenHosts.length > 0 && listenHosts.every((host) => isLoopbackHost(hostnameOf(host)));
}

/** Builds the policy from the flags' text and the member's listen/advertised client URLs. */
export function httpGuardPolicy(options: {
  cors: string;
  hostWhitelist: string;
  listenClientUrls: readonly string[];
  advertiseClientUrls: readonly string[];
}): HttpGuardPolicy {
  const hostWhitelist = parseHostWhitelist(options.hostWhitelist);
  const listenHosts = options.listenClientUrls.map((url) => new URL(url).host);
  const ownHosts = new Set(
    [...options.listenClientUrls, ...options.advertiseClientUrls].map((url) => hostnameOf(new URL(url).host)),
  );
  return {
    corsOrigins: parseCorsOrigins(options.cors),
    hostWhitelist,
    enforceHost: hostEnforced(listenHosts, hostWhitelist),
    ownHosts,
  };
}

/**
 * Whether a `Host` header is acceptable. Always accepted: no Host (HTTP/1.0; browsers always send one), IP
 * address literals (a rebinding page's origin is a name, never the member's address), loopback names, the
 * hosts of the member's listen and advertised client URLs, and `--host-whitelist`.
 */
export function hostAllowed(policy: HttpGuardPolicy, host: string | undefined): boolean {
  if (!policy.enforceHost || host === undefined || host === '') return true;
  const name = hostnameOf(host);
  return (
    isIpLiteral(name) ||
    isLoopbackHost(name) ||
    policy.ownHosts.has(name) ||
    policy.hostWhitelist.has(name) ||
    policy.hostWhitelist.has('*')
  );
}

/** Whether `--cors` allows `origin` (`*` allows all). */
export function corsAllows(policy: HttpGuardPolicy, origin: string): boolean {
  return policy.corsOrigins.has('*') || policy.corsOrigins.has(normaliseOrigin(origin));
}

/** The request headers the guards look at (lowercase names, as Node gives them). */
export interface GuardedRequest {
  method: string;
  host: string | undefined;
  origin: string | undefined;
  secFetchSite: string | undefined;
  secFetchMode: string | undefined;
}

export type GuardVerdict =
  | { kind: 'pass'; corsOrigin?: string }
  | { kind: 'preflight'; corsOrigin?: string }
  | { kind: 'refuse'; status: 403 | 421; reason: string };

/**
 * What to do with one HTTP/1.1 request: refuse it (421 for an unknown Host, as etcd answers; 403 for a
 * cross-site request `--cors` does not allow), answer a CORS preflight, or pass it on. `corsOrigin` is the
 * value for `Access-Control-Allow-Origin` when the answer carries etcd's CORS headers.
 */
export function guardRequest(policy: HttpGuardPolicy, req: GuardedRequest): GuardVerdict {
  if (!hostAllowed(policy, req.host)) {
    return {
      kind: 'refuse',
      status: 421,
      reason:
        `the Host header ${JSON.stringify(req.host)} is not one of this member's names: add it with ` +
        `--host-whitelist (a defence against DNS rebinding, CVE-2018-5702)`,
    };
  }
  const allowAll = policy.corsOrigins.has('*');
  const origin = req.origin;
  let corsOrigin: string | undefined = allowAll ? '*' : undefined;
  if (origin !== undefined) {
    if (corsAllows(policy, origin)) {
      corsOrigin = allowAll ? '*' : origin;
    } else if (!sameOrigin(origin, req.host)) {
      return {
        kind: 'refuse',
        status: 403,
        reason: `cross-origin request from ${JSON.stringify(origin)} refused: allow the origin with --cors`,
      };
    }
  } else if (req.secFetchSite?.toLowerCase() === 'cross-site' && !allowAll) {
    // A browser request from another site that sent no Origin: only a top-level navigation (a link to the
    // console) may pass; the page that made it cannot read the answer.
    const navigation =
      req.secFetchMode?.toLowerCase() === 'navigate' && (req.method === 'GET' || req.method === 'HEAD');
    if (!navigation) {
      return {
        kind: 'refuse',
        status: 403,
        reason: 'cross-site request refused (Sec-Fetch-Site: cross-site): allow its origin with --cors',
      };
    }
  }
  if (req.method === 'OPTIONS') return { kind: 'preflight', ...(corsOrigin ? { corsOrigin } : {}) };
  return { kind: 'pass', ...(corsOrigin ? { corsOrigin } : {}) };
}

/** An `Origin` naming this very member as the browser reached it (`http://` + the Host header). */
export function sameOrigin(origin: string, host: string | undefined): boolean {
  if (host === undefined || host === '') return false;
  const normalised = normaliseOrigin(origin);
  const hostText = host.trim().toLowerCase();
  if (normalised === `http://${hostText}`) return true;
  // A default port may be left out of either.
  return normalised === `http://${hostText.replace(/:80$/, '')}`;
}

/**
 * Whether a JSON text nests objects/arrays deeper than `maxDepth`. One pass over the bytes, no recursion,
 * strings (and escapes in them) skipped, so a hostile body cannot exhaust the stack before it is refused.
 */
export function jsonDepthExceeds(body: Uint8Array, maxDepth: number = MAX_JSON_DEPTH): boolean {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < body.length; i++) {
    const c = body[i];
    if (inString) {
      if (c === 0x5c)
        i++; // backslash: skip the escaped byte
      else if (c === 0x22) inString = false;
      continue;
    }
    if (c === 0x22) inString = true;
    else if (c === 0x7b || c === 0x5b) {
      if (++depth > maxDepth) return true;
    } else if ((c === 0x7d || c === 0x5d) && depth > 0) depth--;
  }
  return false;
}
