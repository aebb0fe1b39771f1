// Flags -> settings: etcd's flag names and defaults (data dir `<name>.cairn`), CAIRN_* environment twins that
// flags override, both `--flag=value` and `--flag value` (and etcd's single-dash `-flag`), and every validation
// error as a FlagError with its exact text.
import { describe, expect, it } from 'vitest';
import { FLAGS, FlagError, envName, helpText, readFlags } from '../src/config/flags';
import { type ServerSettings, parseInitialCluster, toSettings } from '../src/config/settings';

function settings(argv: string[], env: Record<string, string | undefined> = {}): ServerSettings {
  return toSettings(readFlags(argv, env));
}

/** The FlagError thrown by `fn`, failing the test if it throws nothing or something else. */
function flagError(fn: () => unknown): FlagError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(FlagError);
    return err as FlagError;
  }
  throw new Error('expected a FlagError, nothing was thrown');
}

const hrefs = (urls: URL[]): string[] => urls.map((url) => url.href);

describe('defaults', () => {
  it('match etcd’s, with the data dir named <name>.cairn', () => {
    const s = settings([]);
    expect(s).toEqual({
      name: 'default',
      dataDir: 'default.cairn',
      listenClientUrls: [new URL('http://127.0.0.1:2379')],
      advertiseClientUrls: ['http://127.0.0.1:2379'],
      listenPeerUrls: [new URL('http://127.0.0.1:2380')],
      initialAdvertisePeerUrls: ['http://127.0.0.1:2380'],
      initialCluster: [{ name: 'default', peerUrls: ['http://127.0.0.1:2380'] }],
      initialClusterState: 'new',
      initialClusterToken: 'etcd-cluster',
      snapshotCount: 100_000,
      backendBatchIntervalMs: 100,
      backendBatchLimit: 10_000,
      heartbeatIntervalMs: 100,
      electionTimeoutMs: 1000,
      quotaBackendBytes: 2 * 1024 * 1024 * 1024,
      maxRequestBytes: 1_572_864,
      watchProgressNotifyIntervalMs: 600_000,
      maxTxnOps: 128,
      autoCompactionMode: 'periodic',
      autoCompactionRetention: '0',
      preVote: true,
      logLevel: 'info',
      auditDbUrl: undefined,
      auditAllKeys: false,
      auditValueMaxBytes: 1_048_576,
      registryNamingPrefix: '/cairn/naming/',
      registryEtcdNaming: false,
      consoleAllowRemote: false,
      cors: '',
      hostWhitelist: '',
      clientEdge: {
        protocolDecisionTimeoutMs: 5000,
        httpHeadersTimeoutMs: 10_000,
        httpRequestTimeoutMs: 30_000,
        httpKeepAliveTimeoutMs: 30_000,
        grpcKeepAliveMinTimeMs: 5000,
        grpcKeepAliveIntervalMs: 2 * 3600_000,
        grpcKeepAliveTimeoutMs: 20_000,
        unaryRequestTimeoutMs: 7000,
        maxConcurrentStreams: 4294967295,
        maxClientConnections: 20_000,
        grpcFront: true,
        ioWorker: false,
      },
      security: {
        tls: {
          client: {
            certFile: '',
            keyFile: '',
            trustedCaFile: '',
            clientCertAuth: false,
            crlFile: '',
            autoTls: false,
          },
          peer: {
            certFile: '',
            keyFile: '',
            trustedCaFile: '',
            clientCertAuth: false,
            crlFile: '',
            autoTls: false,
            allowedCn: '',
            allowedHostname: '',
          },
          cipherSuites: [],
          minVersion: 'TLS1.2',
          maxVersion: undefined,
          selfSignedCertValidityYears: 1,
        },
        auth: { token: { kind: 'simple' }, tokenTtlSeconds: 300, bcryptCost: 10, allowPlaintextAuth: false },
        listenMetricsUrls: [],
        configEncryptionKeyFile: '',
      },
      corruption: { initialCorruptCheck: false, corruptCheckTimeMs: 0 },
      backup: { dir: '', intervalMs: 0, retention: 5 },
    } satisfies ServerSettings);
  });

  it("parse etcd's corruption-check flags (bool and Go duration), also from the environment", () => {
    expect(
      settings(['--experimental-initial-corrupt-check', '--experimental-corrupt-check-time', '1m30s'])
        .corruption,
    ).toEqual({ initialCorruptCheck: true, corruptCheckTimeMs: 90_000 });
    expect(
      settings([], {
        CAIRN_EXPERIMENTAL_INITIAL_CORRUPT_CHECK: 'true',
        CAIRN_EXPERIMENTAL_CORRUPT_CHECK_TIME: '500ms',
      }).corruption,
    ).toEqual({ initialCorruptCheck: true, corruptCheckTimeMs: 500 });
    expect(settings(['--experimental-corrupt-check-time=0']).corruption.corruptCheckTimeMs).toBe(0);
    expect(flagError(() => settings(['--experimental-corrupt-check-time', '5'])).message).toBe(
      'invalid value "5" for flag --experimental-corrupt-check-time: expected a duration like 5m or 30s',
    );
    expect(flagError(() => settings(['--experimental-initial-corrupt-check=yes'])).message).toBe(
      'invalid value "yes" for flag --experimental-initial-corrupt-check: expected true or false',
    );
  });

  it('parse the TLS and auth flags as etcd names them, and refuse inconsistent ones', () => {
    const s = settings([
      '--listen-client-urls',
      'https://127.0.0.1:2379,http://127.0.0.1:22379',
      '--cert-file',
      'server.crt',
      '--key-file',
      'server.key',
      '--client-cert-auth',
      '--auth-token',
      'jwt,pub-key=a.pub,priv-key=a.key,sign-method=ES256,ttl=10m',
      '--listen-metrics-urls',
      'http://127.0.0.1:2381',
    ]);
    expect(s.listenClientUrls.map((url) => url.protocol)).toEqual(['https:', 'http:']);
    expect(s.security.tls.client).toMatchObject({ certFile: 'server.crt', clientCertAuth: true });
    expect(s.security.auth.token).toEqual({
      kind: 'jwt',
      pubKeyFile: 'a.pub',
      privKeyFile: 'a.key',
      signMethod: 'ES256',
      ttlSeconds: 600,
    });
    expect(s.security.listenMetricsUrls.map((url) => url.href)).toEqual(['http://127.0.0.1:2381/']);
    expect(flagError(() => settings(['--cert-file', 'a.crt'])).message).toBe(
      '--cert-file and --key-file must be given together',
    );
    expect(flagError(() => settings(['--tls-min-version', 'TLS1.1'])).message).toBe(
      'unexpected TLS version "TLS1.1" for --tls-min-version (expected TLS1.2 or TLS1.3)',
    );
    expect(flagError(() => settings(['--auth-token', 'jwt,sign-method=HS256,priv-key=k'])).message).toMatch(
      /invalid --auth-token sign-method "HS256"/,
    );
    expect(flagError(() => settings(['--bcrypt-cost', '3'])).message).toBe(
      'invalid value "3" for flag --bcrypt-cost: expected an integer in [4, 31]',
    );
  });

  it('serve the console to loopback clients only unless --console-allow-remote', () => {
    expect(settings(['--console-allow-remote']).consoleAllowRemote).toBe(true);
    expect(settings([], { CAIRN_CONSOLE_ALLOW_REMOTE: 'true' }).consoleAllowRemote).toBe(true);
    expect(() => settings(['--console-allow-remote=maybe'])).toThrow(/--console-allow-remote/);
  });

  it('serve KV calls through the gRPC front unless --grpc-front=false', () => {
    expect(settings([]).clientEdge.grpcFront).toBe(true);
    expect(settings(['--grpc-front=false']).clientEdge.grpcFront).toBe(false);
    expect(() => settings(['--grpc-front=maybe'])).toThrow(
      'invalid value "maybe" for flag --grpc-front: expected true or false',
    );
  });

  it('serve the plaintext client URLs from an I/O worker only with --io-worker', () => {
    expect(settings([]).clientEdge.ioWorker).toBe(false);
    expect(settings(['--io-worker']).clientEdge.ioWorker).toBe(true);
    expect(settings([], { CAIRN_IO_WORKER: 'true' }).clientEdge.ioWorker).toBe(true);
    expect(() => settings(['--io-worker=maybe'])).toThrow(
      'invalid value "maybe" for flag --io-worker: expected true or false',
    );
  });

  it('take the registry naming prefix from --registry-naming-prefix, always ending in "/"', () => {
    expect(settings(['--registry-naming-prefix', 'services']).registryNamingPrefix).toBe('services/');
    expect(settings([], { CAIRN_REGISTRY_NAMING_PREFIX: '/n/' }).registryNamingPrefix).toBe('/n/');
    expect(() => settings(['--registry-naming-prefix='])).toThrow(/--registry-naming-prefix/);
  });

  it("write the registry's etcd naming entries only with --registry-etcd-naming", () => {
    expect(settings([]).registryEtcdNaming).toBe(false);
    expect(settings(['--registry-etcd-naming']).registryEtcdNaming).toBe(true);
    expect(settings([], { CAIRN_REGISTRY_ETCD_NAMING: 'true' }).registryEtcdNaming).toBe(true);
    expect(() => settings(['--registry-etcd-naming=maybe'])).toThrow(/--registry-etcd-naming/);
  });

  it('archive config and registry keys into SQLite unless --audit-db-url names a PostgreSQL database', () => {
    const s = settings([
      '--audit-db-url',
      'postgres://cairn:secret@127.0.0.1:5432/audit',
      '--audit-all-keys',
      '--audit-value-max-bytes=4096',
    ]);
    expect(s).toMatchObject({
      auditDbUrl: 'postgres://cairn:secret@127.0.0.1:5432/audit',
      auditAllKeys: true,
      auditValueMaxBytes: 4096,
    });
    expect(settings([], { CAIRN_AUDIT_DB_URL: 'postgresql://db/x' }).auditDbUrl).toBe('postgresql://db/x');
    expect(() => settings(['--audit-db-url', 'mysql://db/x'])).toThrow(/--audit-db-url/);
  });

  it('derive the data dir and the one-member initial cluster from --name and the advertised peer URLs', () => {
    const s = settings(['--name', 'infra1', '--initial-advertise-peer-urls', 'http://10.0.0.1:2380']);
    expect(s.dataDir).toBe('infra1.cairn');
    expect(s.initialCluster).toEqual([{ name: 'infra1', peerUrls: ['http://10.0.0.1:2380'] }]);
  });

  it('advertise the listen URLs when no advertise URLs are given', () => {
    const s = settings([
      '--listen-client-urls',
      'http://127.0.0.1:12379,http://127.0.0.1:22379',
      '--listen-peer-urls',
      'http://127.0.0.1:12380',
    ]);
    expect(hrefs(s.listenClientUrls)).toEqual(['http://127.0.0.1:12379/', 'http://127.0.0.1:22379/']);
    expect(s.advertiseClientUrls).toEqual(['http://127.0.0.1:12379', 'http://127.0.0.1:22379']);
    expect(s.initialAdvertisePeerUrls).toEqual(['http://127.0.0.1:12380']);
    expect(s.initialCluster).toEqual([{ name: 'default', peerUrls: ['http://127.0.0.1:12380'] }]);
  });

  it('treat a zero quota as etcd’s 2 GiB default', () => {
    expect(settings(['--quota-backend-bytes', '0']).quotaBackendBytes).toBe(2 * 1024 * 1024 * 1024);
    expect(settings(['--quota-backend-bytes', '4096']).quotaBackendBytes).toBe(4096);
  });
});

describe('flag syntax', () => {
  it('accepts --flag=value, --flag value and the single-dash -flag value', () => {
    for (const argv of [
      ['--name=a1', '--snapshot-count=42'],
      ['--name', 'a1', '--snapshot-count', '42'],
      ['-name', 'a1', '-snapshot-count=42'],
    ]) {
      const s = settings(argv);
      expect(s.name, argv.join(' ')).toBe('a1');
      expect(s.snapshotCount, argv.join(' ')).toBe(42);
    }
  });

  it('keeps everything after the first "=" as the value', () => {
    const s = settings([
      '--initial-cluster=a=http://10.0.0.1:2380',
      '--name=a',
      '--initial-cluster-token=x=y',
    ]);
    expect(s.initialCluster).toEqual([{ name: 'a', peerUrls: ['http://10.0.0.1:2380'] }]);
    expect(s.initialClusterToken).toBe('x=y');
  });

  it('lets the last occurrence of a flag win', () => {
    expect(settings(['--name', 'first', '--name', 'second']).name).toBe('second');
  });

  it('recognises --help, -h and --version without needing valid settings', () => {
    expect(readFlags(['--help'], {}).help).toBe(true);
    expect(readFlags(['-h'], {}).help).toBe(true);
    expect(readFlags(['--version'], {}).version).toBe(true);
    const plain = readFlags([], {});
    expect([plain.help, plain.version]).toEqual([false, false]);
  });

  it('rejects an unknown flag, naming it', () => {
    expect(flagError(() => readFlags(['--no-such-flag', 'x'], {})).message).toBe(
      'unknown flag: --no-such-flag (see --help for the supported flags)',
    );
    expect(flagError(() => readFlags(['-listen-client-url=http://x:1'], {})).message).toBe(
      'unknown flag: --listen-client-url (see --help for the supported flags)',
    );
  });

  it('rejects a flag without its value and a bare argument', () => {
    expect(flagError(() => readFlags(['--name'], {})).message).toBe('flag needs an argument: --name');
    expect(flagError(() => readFlags(['stray'], {})).message).toBe('unexpected argument "stray"');
    expect(flagError(() => readFlags(['--name', 'a', 'stray'], {})).message).toBe(
      'unexpected argument "stray"',
    );
  });
});

describe('environment', () => {
  it('maps every flag to CAIRN_<NAME> with dashes as underscores', () => {
    expect(envName('data-dir')).toBe('CAIRN_DATA_DIR');
    expect(envName('initial-cluster-token')).toBe('CAIRN_INITIAL_CLUSTER_TOKEN');
  });

  it('reads settings from CAIRN_* variables', () => {
    const s = settings([], {
      CAIRN_NAME: 'from-env',
      CAIRN_DATA_DIR: '/var/lib/cairn',
      CAIRN_HEARTBEAT_INTERVAL: '50',
      CAIRN_ELECTION_TIMEOUT: '500',
      CAIRN_LISTEN_CLIENT_URLS: 'http://0.0.0.0:3379',
      CAIRN_LOG_LEVEL: 'debug',
    });
    expect(s.name).toBe('from-env');
    expect(s.dataDir).toBe('/var/lib/cairn');
    expect([s.heartbeatIntervalMs, s.electionTimeoutMs]).toEqual([50, 500]);
    expect(hrefs(s.listenClientUrls)).toEqual(['http://0.0.0.0:3379/']);
    expect(s.logLevel).toBe('debug');
  });

  it('lets flags override the environment, in both flag forms', () => {
    const env = { CAIRN_NAME: 'env-name', CAIRN_SNAPSHOT_COUNT: '7' };
    expect(settings(['--name', 'flag-name'], env).name).toBe('flag-name');
    expect(settings(['--snapshot-count=9'], env).snapshotCount).toBe(9);
    // What the flags do not set still comes from the environment.
    expect(settings(['--name', 'flag-name'], env).snapshotCount).toBe(7);
  });

  it('ignores empty variables and variables that are not flags', () => {
    const s = settings([], { CAIRN_NAME: '', CAIRN_SOMETHING_ELSE: 'x', NAME: 'nope' });
    expect(s.name).toBe('default');
  });

  it('validates values from the environment like flag values', () => {
    expect(flagError(() => settings([], { CAIRN_SNAPSHOT_COUNT: 'lots' })).message).toBe(
      'invalid value "lots" for flag --snapshot-count: expected an integer >= 1',
    );
  });
});

describe('integer flags', () => {
  it.each([
    ['snapshot-count', 'abc', 1],
    ['snapshot-count', '1.5', 1],
    ['snapshot-count', '0', 1],
    ['heartbeat-interval', '-5', 1],
    ['max-request-bytes', '12abc', 1],
    ['max-txn-ops', '0', 1],
    ['quota-backend-bytes', '-1', 0],
    ['quota-backend-bytes', '9007199254740993', 0],
  ])('--%s=%s is rejected', (flag, value, min) => {
    expect(flagError(() => settings([`--${flag}=${value}`])).message).toBe(
      `invalid value "${value}" for flag --${flag}: expected an integer >= ${min}`,
    );
  });

  it('accepts in-range integers', () => {
    const s = settings(['--max-request-bytes', '10485760', '--max-txn-ops', '1', '--snapshot-count', '1']);
    expect([s.maxRequestBytes, s.maxTxnOps, s.snapshotCount]).toEqual([10_485_760, 1, 1]);
  });

  it('--experimental-watch-progress-notify-interval takes a Go duration; 0 means etcd’s 10 minutes', () => {
    expect(
      settings(['--experimental-watch-progress-notify-interval', '1.5s']).watchProgressNotifyIntervalMs,
    ).toBe(1500);
    expect(settings(['--experimental-watch-progress-notify-interval=0']).watchProgressNotifyIntervalMs).toBe(
      600_000,
    );
    expect(() => settings(['--experimental-watch-progress-notify-interval=soon'])).toThrow(
      /--experimental-watch-progress-notify-interval/,
    );
  });
});

describe('election timeout', () => {
  it('must be at least 5 times the heartbeat interval, with etcd’s message', () => {
    expect(
      flagError(() => settings(['--heartbeat-interval', '100', '--election-timeout', '499'])).message,
    ).toBe('--election-timeout[499ms] should be at least as 5 times as --heartbeat-interval[100ms]');
    expect(flagError(() => settings(['--election-timeout', '400'])).message).toBe(
      '--election-timeout[400ms] should be at least as 5 times as --heartbeat-interval[100ms]',
    );
    const s = settings(['--heartbeat-interval', '100', '--election-timeout', '500']);
    expect([s.heartbeatIntervalMs, s.electionTimeoutMs]).toEqual([100, 500]);
  });
});

describe('initial cluster', () => {
  it('parses name=url pairs, grouping several URLs of one member in order', () => {
    expect(
      parseInitialCluster(
        'a=http://10.0.0.1:2380, b=http://10.0.0.2:2380,a=http://10.0.0.3:2380 ,c=http://10.0.0.4:2380',
      ),
    ).toEqual([
      { name: 'a', peerUrls: ['http://10.0.0.1:2380', 'http://10.0.0.3:2380'] },
      { name: 'b', peerUrls: ['http://10.0.0.2:2380'] },
      { name: 'c', peerUrls: ['http://10.0.0.4:2380'] },
    ]);
  });

  it('normalises URLs to scheme://host:port', () => {
    expect(parseInitialCluster('a=http://Node1.example:2380/some/path')).toEqual([
      { name: 'a', peerUrls: ['http://node1.example:2380'] },
    ]);
  });

  it('uses the flag and finds this member in it', () => {
    const s = settings([
      '--name',
      'b',
      '--initial-cluster',
      'a=http://10.0.0.1:2380,b=http://10.0.0.2:2380,c=http://10.0.0.3:2380',
      '--initial-cluster-state',
      'existing',
      '--initial-cluster-token',
      'prod-1',
    ]);
    expect(s.initialCluster.map((m) => m.name)).toEqual(['a', 'b', 'c']);
    expect(s.initialClusterState).toBe('existing');
    expect(s.initialClusterToken).toBe('prod-1');
  });

  it('refuses a cluster that does not list this member, with etcd’s message', () => {
    expect(
      flagError(() => settings(['--name', 'x', '--initial-cluster', 'a=http://10.0.0.1:2380'])).message,
    ).toBe('couldn\'t find local name "x" in the initial cluster configuration');
  });

  it('refuses malformed entries', () => {
    expect(flagError(() => parseInitialCluster('nourl')).message).toBe(
      'invalid --initial-cluster entry "nourl": expected name=url',
    );
    expect(flagError(() => parseInitialCluster('=http://10.0.0.1:2380')).message).toBe(
      'invalid --initial-cluster entry "=http://10.0.0.1:2380": expected name=url',
    );
    expect(flagError(() => parseInitialCluster('a=not a url')).message).toBe(
      'invalid URL "not a url" for flag --initial-cluster',
    );
  });

  it('accepts only new or existing as the cluster state', () => {
    expect(flagError(() => settings(['--initial-cluster-state', 'joining'])).message).toBe(
      'invalid value "joining" for flag --initial-cluster-state: expected new or existing',
    );
  });
});

describe('URLs and other values', () => {
  it('take the backend batch interval as a Go duration, as etcd does, and the limit as a count', () => {
    expect(settings([]).backendBatchIntervalMs).toBe(100);
    expect(settings([]).backendBatchLimit).toBe(10_000);
    expect(settings(['--backend-batch-interval', '10ms']).backendBatchIntervalMs).toBe(10);
    expect(settings(['--backend-batch-interval', '1s']).backendBatchIntervalMs).toBe(1000);
    expect(settings(['--backend-batch-interval', '0']).backendBatchIntervalMs).toBe(0);
    expect(settings(['--backend-batch-limit', '500']).backendBatchLimit).toBe(500);
    expect(flagError(() => settings(['--backend-batch-interval', '100'])).message).toBe(
      'invalid value "100" for flag --backend-batch-interval: expected a duration like 100ms or 1s',
    );
    expect(flagError(() => settings(['--backend-batch-limit', '0'])).message).toBe(
      'invalid value "0" for flag --backend-batch-limit: expected an integer >= 1',
    );
  });

  it('rejects URLs that are not http(s), and https without a certificate to serve it', () => {
    expect(flagError(() => settings(['--listen-client-urls', 'unix://cairn.sock'])).message).toBe(
      'URL scheme must be http or https: "unix://cairn.sock" (--listen-client-urls)',
    );
    expect(flagError(() => settings(['--listen-peer-urls', 'https://127.0.0.1:2380'])).message).toBe(
      'TLS key/cert (--peer-cert-file, --peer-key-file) must be provided for peer url https://127.0.0.1:2380 with HTTPS scheme (or --peer-auto-tls)',
    );
    // A URL without its scheme: "localhost:" parses as the scheme, a bare IP does not parse at all.
    expect(flagError(() => settings(['--advertise-client-urls', 'localhost:2379'])).message).toBe(
      'URL scheme must be http or https: "localhost:2379" (--advertise-client-urls)',
    );
    expect(flagError(() => settings(['--advertise-client-urls', '127.0.0.1:2379'])).message).toBe(
      'invalid URL "127.0.0.1:2379" for flag --advertise-client-urls',
    );
    expect(flagError(() => settings(['--listen-client-urls', 'http://'])).message).toBe(
      'invalid URL "http://" for flag --listen-client-urls',
    );
  });

  it('rejects an empty name, an unknown log level and an unknown compaction mode', () => {
    expect(flagError(() => settings(['--name='])).message).toBe('--name must not be empty');
    expect(flagError(() => settings(['--log-level', 'verbose'])).message).toBe(
      'invalid value "verbose" for flag --log-level',
    );
    expect(flagError(() => settings(['--auto-compaction-mode', 'daily'])).message).toBe(
      'invalid value "daily" for flag --auto-compaction-mode: expected periodic or revision',
    );
    const s = settings(['--auto-compaction-mode', 'revision', '--auto-compaction-retention', '1000']);
    expect([s.autoCompactionMode, s.autoCompactionRetention]).toEqual(['revision', '1000']);
  });

  it('reads --cors and --host-whitelist (etcd’s flags) and rejects a --cors entry that is not an origin', () => {
    const s = settings(['--cors', 'https://ui.example,http://127.0.0.1:3000', '--host-whitelist', '*']);
    expect([s.cors, s.hostWhitelist]).toEqual(['https://ui.example,http://127.0.0.1:3000', '*']);
    expect(settings(['--cors', '*']).cors).toBe('*');
    expect(settings([], { CAIRN_CORS: '*', CAIRN_HOST_WHITELIST: 'cairn.internal' })).toMatchObject({
      cors: '*',
      hostWhitelist: 'cairn.internal',
    });
    expect(() => settings(['--cors', 'ui.example'])).toThrow(
      'invalid value "ui.example" for flag --cors: expected origins like http://host:port, or *',
    );
  });

  it('accepts etcd’s --logger flag for compatibility', () => {
    expect(() => settings(['--logger', 'zap'])).not.toThrow();
  });
});

describe('help', () => {
  it('lists every flag with its default', () => {
    const text = helpText();
    for (const spec of FLAGS) {
      expect(text).toContain(`--${spec.name}`);
      if (spec.default !== '') expect(text).toContain(`(default ${JSON.stringify(spec.default)})`);
    }
  });
});
