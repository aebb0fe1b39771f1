// Turns raw flags into the validated settings of a member.
import {
  DEFAULT_WATCH_PROGRESS_NOTIFY_INTERVAL_MS,
  parseGoDurationMs,
  parseRetentionMs,
} from '@cairn/server';
import { FLAGS, FlagError, type RawFlags } from './flags';
import { type ClientEdgeSettings, toClientEdgeSettings } from './client-edge-settings';
import { type SecuritySettings, type TlsFiles, toSecuritySettings } from './security-settings';
import { type CorruptionSettings, toCorruptionSettings } from './corruption-settings';
import { type BackupSettings, toBackupSettings } from './backup-settings';

export interface ServerSettings {
  name: string;
  dataDir: string;
  listenClientUrls: URL[];
  advertiseClientUrls: string[];
  listenPeerUrls: URL[];
  initialAdvertisePeerUrls: string[];
  initialCluster: { name: string; peerUrls: string[] }[];
  initialClusterState: 'new' | 'existing';
  initialClusterToken: string;
  snapshotCount: number;
  backendBatchIntervalMs: number;
  backendBatchLimit: number;
  heartbeatIntervalMs: number;
  electionTimeoutMs: number;
  quotaBackendBytes: number;
  maxRequestBytes: number;
  /** --experimental-watch-progress-notify-interval (0 in the flag: etcd's default, 10 minutes). */
  watchProgressNotifyIntervalMs: number;
  maxTxnOps: number;
  autoCompactionMode: 'periodic' | 'revision';
  autoCompactionRetention: string;
  logLevel: 'debug' | 'info' | 'warn' | 'error';
  preVote: boolean;
  /** Prefix of the registry's etcd naming keys (ends with '/'). */
  registryNamingPrefix: string;
  /** --registry-etcd-naming: write the registry's etcd naming entries too (docs/registry.md). */
  registryEtcdNaming: boolean;
  /** Audit archive (libs/audit): PostgreSQL URL, or undefined for SQLite in the data dir. */
  auditDbUrl: string | undefined;
  auditAllKeys: boolean;
  auditValueMaxBytes: number;
  /** Serve the console to non-loopback clients (--console-allow-remote). */
  consoleAllowRemote: boolean;
  /** --cors: origins allowed cross-origin (comma-separated text; `*` all). */
  cors: string;
  /** --host-whitelist: Host names accepted on HTTP/1.1 (comma-separated text; `*` all). */
  hostWhitelist: string;
  /** Timeouts and limits of the client URL (client-edge-settings.ts). */
  clientEdge: ClientEdgeSettings;
  /** TLS on the client/peer/metrics URLs and authentication (security-settings.ts). */
  security: SecuritySettings;
  /** --experimental-initial-corrupt-check, --experimental-corrupt-check-time (corruption-settings.ts). */
  corruption: CorruptionSettings;
  /** --backup-dir, --backup-interval, --backup-retention (backup-settings.ts). */
  backup: BackupSettings;
}

const defaults = new Map(FLAGS.map((spec) => [spec.name, spec.default]));

export function toSettings(raw: RawFlags): ServerSettings {
  const get = (name: string): string => raw.values.get(name) ?? defaults.get(name) ?? '';
  const int = (name: string, min: number): number => {
    const text = get(name);
    const value = Number(text);
    if (!Number.isSafeInteger(value) || value < min) {
      throw new FlagError(`invalid value "${text}" for flag --${name}: expected an integer >= ${min}`);
    }
    return value;
  };
  const urls = (name: string, fallback?: string): URL[] => {
    const text = get(name) || fallback || '';
    return text.split(',').map((part) => parseUrl(part.trim(), name));
  };

  const name = get('name');
  if (!name) throw new FlagError('--name must not be empty');
  const listenClientUrls = urls('listen-client-urls');
  const listenPeerUrls = urls('listen-peer-urls');
  const advertiseClientUrls = urls('advertise-client-urls', get('listen-client-urls')).map(urlText);
  const initialAdvertisePeerUrls = urls('initial-advertise-peer-urls', get('listen-peer-urls')).map(urlText);
  const initialCluster = parseInitialCluster(
    get('initial-cluster') || `${name}=${initialAdvertisePeerUrls.join(`,${name}=`)}`,
  );
  const self = initialCluster.find((member) => member.name === name);
  if (!self) {
    throw new FlagError(`couldn't find local name "${name}" in the initial cluster configuration`);
  }
  const state = get('initial-cluster-state');
  if (state !== 'new' && state !== 'existing') {
    throw new FlagError(
      `invalid value "${state}" for flag --initial-cluster-state: expected new or existing`,
    );
  }
  const heartbeatIntervalMs = int('heartbeat-interval', 1);
  const electionTimeoutMs = int('election-timeout', 1);
  if (electionTimeoutMs < 5 * heartbeatIntervalMs) {
    throw new FlagError(
      `--election-timeout[${electionTimeoutMs}ms] should be at least as 5 times as --heartbeat-interval[${heartbeatIntervalMs}ms]`,
    );
  }
  const mode = get('auto-compaction-mode');
  if (mode !== 'periodic' && mode !== 'revision') {
    throw new FlagError(
      `invalid value "${mode}" for flag --auto-compaction-mode: expected periodic or revision`,
    );
  }
  const retention = get('auto-compaction-retention');
  try {
    if (mode === 'periodic') parseRetentionMs(retention);
    else if (!/^\d+$/.test(retention)) throw new Error();
  } catch {
    throw new FlagError(`invalid value "${retention}" for flag --auto-compaction-retention (${mode} mode)`);
  }
  const logLevel = get('log-level');
  if (!['debug', 'info', 'warn', 'error'].includes(logLevel)) {
    throw new FlagError(`invalid value "${logLevel}" for flag --log-level`);
  }
  const quota = int('quota-backend-bytes', 0);
  const preVoteText = get('pre-vote');
  if (preVoteText !== 'true' && preVoteText !== 'false') {
    throw new FlagError(`invalid value "${preVoteText}" for flag --pre-vote: expected true or false`);
  }
  const auditDbUrl = get('audit-db-url');
  if (auditDbUrl !== '' && !/^postgres(ql)?:\/\/./i.test(auditDbUrl)) {
    throw new FlagError(
      `invalid value for flag --audit-db-url: expected postgres://... or postgresql://... (empty = SQLite in the data dir)`,
    );
  }
  const etcdNamingText = get('registry-etcd-naming');
  if (etcdNamingText !== 'true' && etcdNamingText !== 'false') {
    throw new FlagError(
      `invalid value "${etcdNamingText}" for flag --registry-etcd-naming: expected true or false`,
    );
  }
  const auditAllKeysText = get('audit-all-keys');
  if (auditAllKeysText !== 'true' && auditAllKeysText !== 'false') {
    throw new FlagError(
      `invalid value "${auditAllKeysText}" for flag --audit-all-keys: expected true or false`,
    );
  }
  const consoleAllowRemoteText = get('console-allow-remote');
  if (consoleAllowRemoteText !== 'true' && consoleAllowRemoteText !== 'false') {
    throw new FlagError(
      `invalid value "${consoleAllowRemoteText}" for flag --console-allow-remote: expected true or false`,
    );
  }
  const cors = get('cors');
  for (const origin of cors.split(',').map((part) => part.trim())) {
    if (origin !== '' && origin !== '*' && !/^https?:\/\/[^/\s]+\/?$/i.test(origin)) {
      throw new FlagError(
        `invalid value "${origin}" for flag --cors: expected origins like http://host:port, or *`,
      );
    }
  }
  const security = toSecuritySettings(get);
  requireCertificatesForHttps(listenClientUrls, security.tls.client, 'client', '');
  requireCertificatesForHttps(listenPeerUrls, security.tls.peer, 'peer', 'peer-');
  return {
    name,
    dataDir: get('data-dir') || `${name}.cairn`,
    listenClientUrls,
    advertiseClientUrls,
    listenPeerUrls,
    initialAdvertisePeerUrls,
    initialCluster,
    initialClusterState: state,
    initialClusterToken: get('initial-cluster-token'),
    snapshotCount: int('snapshot-count', 1),
    backendBatchIntervalMs: durationMs('backend-batch-interval', get('backend-batch-interval')),
    backendBatchLimit: int('backend-batch-limit', 1),
    heartbeatIntervalMs,
    electionTimeoutMs,
    quotaBackendBytes: quota === 0 ? 2 * 1024 * 1024 * 1024 : quota,
    maxRequestBytes: int('max-request-bytes', 1),
    watchProgressNotifyIntervalMs:
      durationMs(
        'experimental-watch-progress-notify-interval',
        get('experimental-watch-progress-notify-interval'),
      ) || DEFAULT_WATCH_PROGRESS_NOTIFY_INTERVAL_MS,
    maxTxnOps: int('max-txn-ops', 1),
    autoCompactionMode: mode,
    autoCompactionRetention: retention,
    logLevel: logLevel as ServerSettings['logLevel'],
    preVote: preVoteText === 'true',
    registryNamingPrefix: namingPrefix(get('registry-naming-prefix')),
    registryEtcdNaming: etcdNamingText === 'true',
    auditDbUrl: auditDbUrl === '' ? undefined : auditDbUrl,
    auditAllKeys: auditAllKeysText === 'true',
    auditValueMaxBytes: int('audit-value-max-bytes', 0),
    consoleAllowRemote: consoleAllowRemoteText === 'true',
    cors,
    hostWhitelist: get('host-whitelist'),
    clientEdge: toClientEdgeSettings(get, electionTimeoutMs),
    security,
    corruption: toCorruptionSettings(get),
    backup: toBackupSettings(get),
  };
}

/** etcd refuses an https listen URL without a certificate to serve it with (or --auto-tls). */
function requireCertificatesForHttps(urls: URL[], files: TlsFiles, who: string, prefix: string): void {
  const https = urls.find((url) => url.protocol === 'https:');
  if (https && files.certFile === '' && !files.autoTls) {
    throw new FlagError(
      `TLS key/cert (--${prefix}cert-file, --${prefix}key-file) must be provided for ${who} url ${urlText(https)} with HTTPS scheme (or --${prefix}auto-tls)`,
    );
  }
}

/** A Go-style duration as etcd's duration flags take it ('100ms', '1s', '1m30s'; '0' alone). */
function durationMs(flag: string, text: string): number {
  const ms = parseGoDurationMs(text);
  if (ms === undefined) {
    throw new FlagError(`invalid value "${text}" for flag --${flag}: expected a duration like 100ms or 1s`);
  }
  return ms;
}

function namingPrefix(text: string): string {
  if (text === '' || /\s/.test(text)) {
    throw new FlagError(
      `invalid value "${text}" for flag --registry-naming-prefix: expected a non-empty key prefix`,
    );
  }
  return text.endsWith('/') ? text : `${text}/`;
}

function parseUrl(text: string, flag: string): URL {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new FlagError(`invalid URL "${text}" for flag --${flag}`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new FlagError(`URL scheme must be http or https: "${text}" (--${flag})`);
  }
  return url;
}

function urlText(url: URL): string {
  return `${url.protocol}//${url.host}`;
}

export function parseInitialCluster(text: string): { name: string; peerUrls: string[] }[] {
  const byName = new Map<string, string[]>();
  for (const part of text.split(',')) {
    const eq = part.indexOf('=');
    if (eq <= 0) throw new FlagError(`invalid --initial-cluster entry "${part}": expected name=url`);
    const memberName = part.slice(0, eq).trim();
    const url = urlText(parseUrl(part.slice(eq + 1).trim(), 'initial-cluster'));
    byName.set(memberName, [...(byName.get(memberName) ?? []), url]);
  }
  return [...byName].map(([memberName, peerUrls]) => ({ name: memberName, peerUrls }));
}
