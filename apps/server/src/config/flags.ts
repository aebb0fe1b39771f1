// etcd's launch flags (the subset Cairn supports), their CAIRN_* environment twins and defaults. Parsed once
// into one typed, validated object; nothing else reads process.argv or process.env.

import { FlagError, type FlagSpec } from './flag-spec';
import { SECURITY_FLAGS } from './security-settings';
import { CORRUPTION_FLAGS } from './corruption-settings';
import { BACKUP_FLAGS } from './backup-settings';

export { FlagError, type FlagSpec, type FlagType } from './flag-spec';

export const FLAGS: FlagSpec[] = [
  { name: 'name', type: 'string', default: 'default', help: 'Human-readable name for this member.' },
  {
    name: 'data-dir',
    type: 'string',
    default: '',
    help: 'Path to the data directory (default: <name>.cairn).',
  },
  {
    name: 'listen-client-urls',
    type: 'urls',
    default: 'http://127.0.0.1:2379',
    help: 'URLs to serve clients on (gRPC, JSON gateway, HTTP).',
  },
  {
    name: 'advertise-client-urls',
    type: 'urls',
    default: '',
    help: 'Client URLs advertised to the cluster (default: listen-client-urls).',
  },
  {
    name: 'listen-peer-urls',
    type: 'urls',
    default: 'http://127.0.0.1:2380',
    help: 'URLs to serve peer traffic on.',
  },
  {
    name: 'initial-advertise-peer-urls',
    type: 'urls',
    default: '',
    help: 'Peer URLs advertised to the cluster (default: listen-peer-urls).',
  },
  {
    name: 'initial-cluster',
    type: 'string',
    default: '',
    help: 'Initial cluster: name=peerURL,... (default: <name>=<initial-advertise-peer-urls>).',
  },
  {
    name: 'initial-cluster-state',
    type: 'string',
    default: 'new',
    help: "'new' to bootstrap a cluster, 'existing' to join one.",
  },
  {
    name: 'initial-cluster-token',
    type: 'string',
    default: 'etcd-cluster',
    help: 'Token that makes cluster and member IDs unique per cluster.',
  },
  {
    name: 'snapshot-count',
    type: 'int',
    default: '100000',
    help: 'Applied entries between snapshots that compact the Raft log.',
  },
  {
    name: 'experimental-watch-progress-notify-interval',
    type: 'string',
    default: '10m0s',
    help: 'How often watchers created with progress_notify get a progress response (a duration; 0 = the default).',
  },
  {
    name: 'backend-batch-interval',
    type: 'string',
    default: '100ms',
    help: 'Longest time applied writes wait before they are committed to the backend (a duration: 100ms, 1s).',
  },
  {
    name: 'backend-batch-limit',
    type: 'int',
    default: '10000',
    help: 'Staged backend operations that make the backend commit at once.',
  },
  { name: 'heartbeat-interval', type: 'int', default: '100', help: 'Time (ms) of a heartbeat interval.' },
  { name: 'election-timeout', type: 'int', default: '1000', help: 'Time (ms) for an election to time out.' },
  {
    name: 'quota-backend-bytes',
    type: 'int',
    default: '0',
    help: 'Backend size that raises the NOSPACE alarm (0 = 2 GiB).',
  },
  {
    name: 'max-request-bytes',
    type: 'int',
    default: '1572864',
    help: 'Maximum client request size in bytes.',
  },
  { name: 'max-txn-ops', type: 'int', default: '128', help: 'Maximum operations in one transaction.' },
  {
    name: 'auto-compaction-mode',
    type: 'string',
    default: 'periodic',
    help: "'periodic' (retention is a duration) or 'revision'.",
  },
  {
    name: 'auto-compaction-retention',
    type: 'string',
    default: '0',
    help: "History to keep: '1h', '30m', hours as a number, or revisions (0 = off).",
  },
  {
    name: 'pre-vote',
    type: 'bool',
    default: 'true',
    help: 'Run a pre-vote round before an election (etcd 3.5 default).',
  },
  {
    name: 'registry-naming-prefix',
    type: 'string',
    default: '/cairn/naming/',
    help: 'Obsolete (ignored, with a warning when set): etcd naming entries now live in their registry namespace, /cairn/registry/<namespace>/~naming/<service>/<instance> (docs/registry.md).',
  },
  {
    name: 'registry-etcd-naming',
    type: 'bool',
    default: 'false',
    help: "Also write each registry instance's etcd naming entry (/cairn/registry/<namespace>/~naming/<service>/<instance>) for Go clients resolving with etcd:///; doubles the keys a registration writes. Set it alike on every member.",
  },
  {
    name: 'audit-db-url',
    type: 'string',
    default: '',
    help: 'Audit archive database: postgres://user:pass@host:port/db (default: SQLite in <data-dir>/audit).',
  },
  {
    name: 'audit-all-keys',
    type: 'bool',
    default: 'false',
    help: 'Archive changes of every key, not only /cairn/config/ and /cairn/registry/.',
  },
  {
    name: 'audit-value-max-bytes',
    type: 'int',
    default: '1048576',
    help: 'Values larger than this are archived as their sha256 and size only.',
  },
  {
    name: 'console-allow-remote',
    type: 'bool',
    default: 'false',
    help: 'Serve the web console (/ and /api/console/v1) to non-loopback clients too (off by default: the console has no login yet).',
  },
  // Browser safety of HTTP/1.1 requests (libs/edge/src/http-guards.ts; docs/operations.md).
  {
    name: 'cors',
    type: 'string',
    default: '',
    help: 'Comma-separated origins allowed to make cross-origin HTTP requests (* allows all; empty: same-origin only, unlike etcd).',
  },
  {
    name: 'host-whitelist',
    type: 'string',
    default: '',
    help: 'Comma-separated Host names accepted on HTTP/1.1 (* allows all; empty: enforced only when every listen client URL is loopback).',
  },
  // Timeouts and limits of the client URL (client-edge-settings.ts; docs/operations.md).
  {
    name: 'protocol-decision-timeout',
    type: 'string',
    default: '5s',
    help: 'A client connection that has shown neither an HTTP/1.1 request nor the whole HTTP/2 preface (magic and SETTINGS) within this is closed.',
  },
  {
    name: 'http-headers-timeout',
    type: 'string',
    default: '10s',
    help: 'HTTP/1.1: time to receive a request line and headers (408 and close).',
  },
  {
    name: 'http-request-timeout',
    type: 'string',
    default: '30s',
    help: 'HTTP/1.1: time to receive a whole request, body included (408 and close); not the response.',
  },
  {
    name: 'http-keepalive-timeout',
    type: 'string',
    default: '30s',
    help: 'HTTP/1.1: an idle keep-alive connection is closed after this.',
  },
  {
    name: 'grpc-keepalive-min-time',
    type: 'string',
    default: '5s',
    help: 'Minimum interval duration that a client should wait before pinging server (faster: GOAWAY ENHANCE_YOUR_CALM "too_many_pings").',
  },
  {
    name: 'grpc-keepalive-interval',
    type: 'string',
    default: '2h',
    help: 'Frequency duration of server-to-client ping to check if a connection is alive (0 to disable).',
  },
  {
    name: 'grpc-keepalive-timeout',
    type: 'string',
    default: '20s',
    help: 'Additional duration of wait before closing a non-responsive connection (0 to disable).',
  },
  {
    name: 'unary-request-timeout',
    type: 'string',
    default: '',
    help: "Server-side bound of a unary call (body included) on gRPC and HTTP; Lock, Campaign and streams have only the client deadline (default: 5s + 2 x election-timeout, etcd's request timeout).",
  },
  {
    name: 'max-concurrent-streams',
    type: 'int',
    default: '4294967295',
    help: 'Maximum concurrent streams that each client can open at a time (more: RST_STREAM REFUSED_STREAM).',
  },
  {
    name: 'grpc-front',
    type: 'bool',
    default: 'true',
    help: "Serve etcd's KV calls on connections that open with one by Cairn's own HTTP/2 framing (the rest of such a connection still by Node's HTTP/2); false: Node's HTTP/2 serves every call.",
  },
  {
    name: 'io-worker',
    type: 'bool',
    default: 'false',
    help: 'Serve the plaintext client URLs from an I/O worker thread (protocol decision, the gRPC front framing KV calls) while Raft, apply and the request pipeline run on the main thread: a second core for the edge. https URLs stay on the main thread.',
  },
  {
    name: 'max-client-connections',
    type: 'int',
    default: '20000',
    help: 'Client connections this member holds at once; more are closed at accept (0 = no limit).',
  },
  // Data corruption checks (corruption-settings.ts; docs/operations.md).
  ...CORRUPTION_FLAGS,
  // Scheduled backups (backup-settings.ts; docs/operations.md).
  ...BACKUP_FLAGS,
  // TLS, metrics URLs and authentication (security-settings.ts; docs/security.md).
  ...SECURITY_FLAGS,
  { name: 'log-level', type: 'string', default: 'info', help: 'debug, info, warn or error.' },
  {
    name: 'logger',
    type: 'string',
    default: 'zap',
    help: 'Accepted for etcd compatibility; Cairn always logs JSON lines (pino).',
  },
];

export interface RawFlags {
  values: Map<string, string>;
  help: boolean;
  version: boolean;
}

const specsByName = new Map(FLAGS.map((spec) => [spec.name, spec]));

/** Reads `--flag value`, `--flag=value` and `-flag` forms; env `CAIRN_FLAG_NAME`; flags win over env. */
export function readFlags(argv: string[], env: Record<string, string | undefined>): RawFlags {
  const values = new Map<string, string>();
  for (const spec of FLAGS) {
    const fromEnv = env[envName(spec.name)];
    if (fromEnv !== undefined && fromEnv !== '') values.set(spec.name, fromEnv);
  }
  let help = false;
  let version = false;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (!arg.startsWith('-')) throw new FlagError(`unexpected argument "${arg}"`);
    const body = arg.replace(/^--?/, '');
    const eq = body.indexOf('=');
    const name = eq >= 0 ? body.slice(0, eq) : body;
    if (name === 'help' || name === 'h') {
      help = true;
      continue;
    }
    if (name === 'version') {
      version = true;
      continue;
    }
    const spec = specsByName.get(name);
    if (!spec) throw new FlagError(`unknown flag: --${name} (see --help for the supported flags)`);
    let value: string;
    if (eq >= 0) value = body.slice(eq + 1);
    else if (spec.type === 'bool' && (argv[i + 1] === undefined || argv[i + 1].startsWith('-')))
      value = 'true';
    else if (argv[i + 1] === undefined) throw new FlagError(`flag needs an argument: --${name}`);
    else value = argv[++i];
    values.set(name, value);
  }
  return { values, help, version };
}

export function envName(flag: string): string {
  return 'CAIRN_' + flag.toUpperCase().replace(/-/g, '_');
}

export function helpText(): string {
  const lines = [
    'Usage: cairn [flags]',
    '',
    'Flags (each also read from CAIRN_<FLAG_NAME> in the environment):',
    '',
  ];
  for (const spec of FLAGS) {
    const dflt = spec.default === '' ? '' : ` (default ${JSON.stringify(spec.default)})`;
    lines.push(`  --${spec.name}`, `        ${spec.help}${dflt}`);
  }
  return lines.join('\n');
}
