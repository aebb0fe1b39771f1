// Transport security (TLS on the client, peer and metrics URLs) and authentication: the flags' specs, parsing
// and validation. The names, defaults and meanings are etcd's (docs/security.md); the few that are Cairn's own
// say so in their help.
import type { ClientTlsFiles, TlsVersionName } from '@cairn/edge';
import { parseGoDurationMs } from '@cairn/server';
import { FlagError, type FlagSpec } from './flag-spec';

/**
 * Certificates of one listener side (client URL or peer URL), as etcd's TLSInfo: the edge's own shape
 * (certificate files, trusted CA, --client-cert-auth, CRL, --auto-tls).
 */
export type TlsFiles = ClientTlsFiles;

export interface PeerTlsFiles extends TlsFiles {
  /** A connecting peer's certificate must carry this CN (''= any). */
  allowedCn: string;
  /** A connecting peer's certificate must be valid for this host name (''= any). */
  allowedHostname: string;
}

export type TlsVersion = TlsVersionName;

export interface TransportSecuritySettings {
  client: TlsFiles;
  peer: PeerTlsFiles;
  /** OpenSSL cipher names for TLS 1.2 (etcd takes Go's IANA names; both spellings are accepted). Empty = Node's defaults. */
  cipherSuites: string[];
  minVersion: TlsVersion;
  /** undefined = the newest Node supports. */
  maxVersion: TlsVersion | undefined;
  /** Validity of --auto-tls / --peer-auto-tls certificates, in years (etcd's --self-signed-cert-validity). */
  selfSignedCertValidityYears: number;
}

export type AuthTokenSettings =
  | { kind: 'simple' }
  | {
      kind: 'jwt';
      pubKeyFile: string;
      privKeyFile: string;
      /** RS256/384/512, PS256/384/512, ES256/384/512 or EdDSA, as etcd. */
      signMethod: string;
      ttlSeconds: number;
    };

export interface AuthSettings {
  token: AuthTokenSettings;
  /** Seconds a simple token lives without use (etcd's --auth-token-ttl, default 300). */
  tokenTtlSeconds: number;
  /** bcrypt cost of stored password hashes (etcd's --bcrypt-cost, default 10). */
  bcryptCost: number;
  /** Cairn's: let AuthEnable succeed although a client or peer URL is plaintext and not loopback. */
  allowPlaintextAuth: boolean;
}

export interface SecuritySettings {
  tls: TransportSecuritySettings;
  auth: AuthSettings;
  /** Extra plain URLs serving only /metrics and the probes, without credentials (etcd's --listen-metrics-urls). */
  listenMetricsUrls: URL[];
  /** File holding the key(s) that encrypt secret config items at rest; '' = secret items refused. */
  configEncryptionKeyFile: string;
}

const tlsFlags = (prefix: '' | 'peer-', who: string): FlagSpec[] => [
  {
    name: `${prefix}cert-file`,
    type: 'string',
    default: '',
    help: `Path to the ${who} server TLS cert file.`,
  },
  { name: `${prefix}key-file`, type: 'string', default: '', help: `Path to the ${who} server TLS key file.` },
  {
    name: `${prefix}trusted-ca-file`,
    type: 'string',
    default: '',
    help: `Path to the ${who} server TLS trusted CA file.`,
  },
  {
    name: `${prefix}client-cert-auth`,
    type: 'bool',
    default: 'false',
    help: `Enable ${who} client cert authentication.`,
  },
  {
    name: prefix === '' ? 'client-crl-file' : 'peer-crl-file',
    type: 'string',
    default: '',
    help: `Path to the ${who} certificate revocation list file.`,
  },
  {
    name: `${prefix}auto-tls`,
    type: 'bool',
    default: 'false',
    help: `${who === 'client' ? 'Client' : 'Peer'} TLS using generated certificates.`,
  },
];

export const SECURITY_FLAGS: FlagSpec[] = [
  ...tlsFlags('', 'client'),
  ...tlsFlags('peer-', 'peer'),
  {
    name: 'peer-cert-allowed-cn',
    type: 'string',
    default: '',
    help: 'Allowed CN for inter peer authentication.',
  },
  {
    name: 'peer-cert-allowed-hostname',
    type: 'string',
    default: '',
    help: 'Allowed TLS hostname for inter peer authentication.',
  },
  {
    name: 'cipher-suites',
    type: 'string',
    default: '',
    help: 'Comma-separated list of supported TLS cipher suites between client/server and peers (empty will be auto-populated by Node).',
  },
  {
    name: 'tls-min-version',
    type: 'string',
    default: 'TLS1.2',
    help: 'Minimum TLS version supported by Cairn. Possible values: TLS1.2, TLS1.3.',
  },
  {
    name: 'tls-max-version',
    type: 'string',
    default: '',
    help: 'Maximum TLS version supported by Cairn. Possible values: TLS1.2, TLS1.3 (empty defers to Node).',
  },
  {
    name: 'self-signed-cert-validity',
    type: 'int',
    default: '1',
    help: 'The validity period of the client and peer certificates that are automatically generated when --auto-tls and --peer-auto-tls are specified, unit is year.',
  },
  {
    name: 'listen-metrics-urls',
    type: 'string',
    default: '',
    help: 'List of URLs to listen on for the metrics and health endpoints (no credentials needed there).',
  },
  {
    name: 'auth-token',
    type: 'string',
    default: 'simple',
    help: "Specify auth token specific options. 'simple' or 'jwt,pub-key=...,priv-key=...,sign-method=RS256,ttl=5m'.",
  },
  {
    name: 'auth-token-ttl',
    type: 'int',
    default: '300',
    help: 'The lifetime in seconds of the auth token.',
  },
  {
    name: 'bcrypt-cost',
    type: 'int',
    default: '10',
    help: 'Specify bcrypt algorithm cost factor for auth password hashing (4..31).',
  },
  {
    name: 'auth-allow-plaintext',
    type: 'bool',
    default: 'false',
    help: 'Cairn: allow enabling auth while a client or peer URL is plaintext and not loopback (passwords and tokens would cross the network in clear; simple tokens also travel in Raft entries).',
  },
  {
    name: 'config-encryption-key-file',
    type: 'string',
    default: '',
    help: 'Cairn: file with the key(s) that encrypt secret config items at rest (see docs/security.md; empty: secret items are refused).',
  },
];

const JWT_SIGN_METHODS = new Set([
  'RS256',
  'RS384',
  'RS512',
  'PS256',
  'PS384',
  'PS512',
  'ES256',
  'ES384',
  'ES512',
  'EdDSA',
]);

export function toSecuritySettings(get: (flag: string) => string): SecuritySettings {
  const bool = (flag: string): boolean => {
    const text = get(flag);
    if (text !== 'true' && text !== 'false') {
      throw new FlagError(`invalid value "${text}" for flag --${flag}: expected true or false`);
    }
    return text === 'true';
  };
  const integer = (flag: string, min: number, max: number): number => {
    const text = get(flag);
    const value = Number(text);
    if (!/^\d+$/.test(text) || value < min || value > max) {
      throw new FlagError(
        `invalid value "${text}" for flag --${flag}: expected an integer in [${min}, ${max}]`,
      );
    }
    return value;
  };
  const tlsFiles = (prefix: '' | 'peer-'): TlsFiles => {
    const files: TlsFiles = {
      certFile: get(`${prefix}cert-file`),
      keyFile: get(`${prefix}key-file`),
      trustedCaFile: get(`${prefix}trusted-ca-file`),
      clientCertAuth: bool(`${prefix}client-cert-auth`),
      crlFile: get(prefix === '' ? 'client-crl-file' : 'peer-crl-file'),
      autoTls: bool(`${prefix}auto-tls`),
    };
    if ((files.certFile === '') !== (files.keyFile === '')) {
      throw new FlagError(`--${prefix}cert-file and --${prefix}key-file must be given together`);
    }
    return files;
  };
  const version = (flag: string): TlsVersion | undefined => {
    const text = get(flag);
    if (text === '') return undefined;
    if (text !== 'TLS1.2' && text !== 'TLS1.3') {
      throw new FlagError(`unexpected TLS version "${text}" for --${flag} (expected TLS1.2 or TLS1.3)`);
    }
    return text;
  };
  const minVersion = version('tls-min-version') ?? 'TLS1.2';
  const maxVersion = version('tls-max-version');
  if (maxVersion === 'TLS1.2' && minVersion === 'TLS1.3') {
    throw new FlagError('--tls-min-version TLS1.3 is greater than --tls-max-version TLS1.2');
  }
  const cipherSuites = get('cipher-suites')
    .split(',')
    .map((part) => part.trim())
    .filter((part) => part !== '');
  if (cipherSuites.length > 0 && minVersion === 'TLS1.3') {
    // etcd: cipher suites cannot be configured for TLS 1.3 (Go picks them).
    throw new FlagError('cipher suites cannot be configured when only TLS1.3 is enabled');
  }
  const listenMetricsUrls = get('listen-metrics-urls')
    .split(',')
    .map((part) => part.trim())
    .filter((part) => part !== '')
    .map((text) => {
      let url: URL;
      try {
        url = new URL(text);
      } catch {
        throw new FlagError(`invalid URL "${text}" for flag --listen-metrics-urls`);
      }
      if (url.protocol !== 'http:' && url.protocol !== 'https:') {
        throw new FlagError(`URL scheme must be http or https: "${text}" (--listen-metrics-urls)`);
      }
      return url;
    });
  return {
    tls: {
      client: tlsFiles(''),
      peer: {
        ...tlsFiles('peer-'),
        allowedCn: get('peer-cert-allowed-cn'),
        allowedHostname: get('peer-cert-allowed-hostname'),
      },
      cipherSuites,
      minVersion,
      maxVersion,
      selfSignedCertValidityYears: integer('self-signed-cert-validity', 1, 100),
    },
    auth: {
      token: parseAuthToken(get('auth-token')),
      tokenTtlSeconds: integer('auth-token-ttl', 1, 2 ** 31 - 1),
      bcryptCost: integer('bcrypt-cost', 4, 31),
      allowPlaintextAuth: bool('auth-allow-plaintext'),
    },
    listenMetricsUrls,
    configEncryptionKeyFile: get('config-encryption-key-file'),
  };
}

/** etcd's --auth-token: `simple`, or `jwt,pub-key=FILE,priv-key=FILE,sign-method=RS256,ttl=5m`. */
export function parseAuthToken(text: string): AuthTokenSettings {
  const [kind, ...options] = text.split(',').map((part) => part.trim());
  if (kind === 'simple' && options.length === 0) return { kind: 'simple' };
  if (kind !== 'jwt') {
    throw new FlagError(`invalid value "${text}" for flag --auth-token: expected simple or jwt,...`);
  }
  const values = new Map<string, string>();
  for (const option of options) {
    const eq = option.indexOf('=');
    if (eq <= 0) throw new FlagError(`invalid --auth-token option "${option}": expected key=value`);
    values.set(option.slice(0, eq), option.slice(eq + 1));
  }
  for (const key of values.keys()) {
    if (!['pub-key', 'priv-key', 'sign-method', 'ttl'].includes(key)) {
      throw new FlagError(`unknown --auth-token option "${key}" (pub-key, priv-key, sign-method, ttl)`);
    }
  }
  const signMethod = values.get('sign-method') ?? '';
  if (!JWT_SIGN_METHODS.has(signMethod)) {
    throw new FlagError(
      `invalid --auth-token sign-method "${signMethod}" (${[...JWT_SIGN_METHODS].join(', ')})`,
    );
  }
  const pubKeyFile = values.get('pub-key') ?? '';
  const privKeyFile = values.get('priv-key') ?? '';
  if (pubKeyFile === '' && privKeyFile === '') {
    throw new FlagError('--auth-token jwt needs pub-key=FILE and/or priv-key=FILE');
  }
  const ttlText = values.get('ttl') ?? '5m';
  const ttlMs = parseGoDurationMs(ttlText);
  if (ttlMs === undefined || ttlMs < 1000) {
    throw new FlagError(`invalid --auth-token ttl "${ttlText}": expected a duration like 5m`);
  }
  return { kind: 'jwt', pubKeyFile, privKeyFile, signMethod, ttlSeconds: Math.floor(ttlMs / 1000) };
}
