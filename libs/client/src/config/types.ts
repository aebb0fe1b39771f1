// Shapes of the config SDK (the same model as the server's REST API, see docs/config.md).

export type ConfigFormat = 'json' | 'yaml' | 'properties' | 'text';

/** What this subscriber has for one item. */
export interface AppliedConfig {
  name: string;
  format: ConfigFormat;
  /** Release number. */
  version: number;
  content: string;
  /** Parsed content: json/yaml document, properties object, text string (null if unparsable). */
  value: unknown;
  /** True when it is a gray release chosen for this subscriber's labels. */
  gray: boolean;
  /** KV revision of the release. */
  revision: number;
}

/** Emitted as `change` for every applied change of one item. */
export interface ConfigChange {
  name: string;
  oldValue: unknown;
  newValue: unknown;
  /** 0 when the item was not there before. */
  oldVersion: number;
  /** 0 when the item was deleted. */
  newVersion: number;
  gray: boolean;
  revision: number;
  item: AppliedConfig | undefined;
}

export interface ConfigSubscribeOptions {
  /** Labels gray releases target, e.g. { zone: 'eu-1', canary: 'true' }. */
  labels?: Record<string, string>;
  /** Stable ID of this instance (listeners list it; percentage gray releases hash it). Default: host-pid-random. */
  subscriberId?: string;
  /**
   * Directory of the local cache file (the last applied config, used when the server is unreachable at
   * start). Default: <os tmpdir>/cairn-config-cache. `false` disables the cache.
   */
  cacheDir?: string | false;
  /** How long subscribe() waits for the server before starting from the cache, ms (default 5000). */
  startTimeoutMs?: number;
  /** Report applied versions to the server (listeners API); default true. */
  report?: boolean;
  /** Host name reported to listeners (default os.hostname()). */
  host?: string;
  /** Reconnect back-off bounds, ms (default 100 .. 2000). */
  minBackoffMs?: number;
  maxBackoffMs?: number;
}

/** The cache file's content. */
export interface ConfigCacheFile {
  kind: 'cairn.config.cache';
  namespace: string;
  app: string;
  labels: Record<string, string>;
  revision: number;
  savedAt: string;
  items: AppliedConfig[];
}
