// The command-line parser: walks the command tree, takes flags anywhere after the command that declares them
// (global flags anywhere), converts values by type, and fills global flags from CAIRNCTL_* variables (flags
// beat the environment, as etcdctl's ETCDCTL_*). Own parser rather than node:util parseArgs: it needs
// per-subcommand flag sets, Go durations and etcdctl's `--flag=false` booleans.
import {
  type CommandSpec,
  type FlagSpec,
  type FlagValue,
  type GlobalOptions,
  type OutputFormat,
  UsageError,
} from './command';

export const OUTPUT_FORMATS = ['table', 'json', 'yaml', 'simple'] as const;

/** etcdctl's global flags (same names, defaults as etcdctl 3.4's). */
export const GLOBAL_FLAGS: FlagSpec[] = [
  {
    name: 'endpoints',
    type: 'strings',
    default: ['127.0.0.1:2379'],
    help: 'gRPC endpoints, comma-separated',
    valueName: 'HOST:PORT,...',
  },
  { name: 'cacert', type: 'string', help: 'verify the server with this CA bundle', complete: 'file' },
  { name: 'cert', type: 'string', help: 'client certificate (TLS client auth)', complete: 'file' },
  { name: 'key', type: 'string', help: 'key of the client certificate', complete: 'file' },
  {
    name: 'insecure-skip-tls-verify',
    type: 'boolean',
    default: false,
    help: "skip server certificate verification (chain and name; don't use in production)",
  },
  {
    name: 'user',
    type: 'string',
    help: 'user[:password] for authentication (the password is prompted for on a TTY if missing)',
    valueName: 'USER[:PASSWORD]',
  },
  {
    name: 'password',
    type: 'string',
    help: 'password for authentication (if given, --user has no password)',
  },
  { name: 'dial-timeout', type: 'duration', default: '2s', help: 'dial timeout for client connections' },
  { name: 'command-timeout', type: 'duration', default: '5s', help: 'timeout for short running commands' },
  {
    name: 'write-out',
    short: 'w',
    type: 'string',
    default: 'simple',
    choices: OUTPUT_FORMATS,
    help: 'output format',
  },
  { name: 'help', short: 'h', type: 'boolean', default: false, help: 'help for this command' },
];

/** The CAIRNCTL_* variable of a global flag, e.g. CAIRNCTL_DIAL_TIMEOUT. */
export function envName(flag: string): string {
  return `CAIRNCTL_${flag.toUpperCase().replace(/-/g, '_')}`;
}

const DURATION_UNITS: Record<string, number> = {
  ns: 1e-6,
  us: 1e-3,
  µs: 1e-3,
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
};

/** Go's time.ParseDuration, in milliseconds (`1m30s`, `500ms`, `2h`); a bare number counts as seconds. */
export function parseDuration(text: string): number {
  const trimmed = text.trim();
  if (/^\d+(\.\d+)?$/.test(trimmed)) return Number(trimmed) * 1000;
  const part = /(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)/gy;
  let total = 0;
  let consumed = 0;
  for (let match = part.exec(trimmed); match; match = part.exec(trimmed)) {
    total += Number(match[1]) * DURATION_UNITS[match[2]!]!;
    consumed = part.lastIndex;
  }
  if (consumed === 0 || consumed !== trimmed.length) throw new UsageError(`invalid duration "${text}"`);
  return total;
}

function convert(flag: FlagSpec, raw: string, previous: FlagValue | undefined): FlagValue {
  switch (flag.type) {
    case 'boolean':
      if (/^(true|1|t|yes)$/i.test(raw)) return true;
      if (/^(false|0|f|no)$/i.test(raw)) return false;
      throw new UsageError(`invalid argument "${raw}" for "--${flag.name}": not a boolean`);
    case 'number': {
      const value = Number(raw);
      if (raw.trim() === '' || !Number.isFinite(value))
        throw new UsageError(`invalid argument "${raw}" for "--${flag.name}": not a number`);
      return value;
    }
    case 'duration':
      try {
        return parseDuration(raw);
      } catch {
        throw new UsageError(`invalid argument "${raw}" for "--${flag.name}": not a duration (e.g. 5s, 1m)`);
      }
    case 'strings': {
      const list = raw
        .split(',')
        .map((s) => s.trim())
        .filter((s) => s.length > 0);
      return [...(Array.isArray(previous) ? previous : []), ...list];
    }
    case 'string':
      if (flag.choices && !flag.choices.includes(raw))
        throw new UsageError(
          `invalid argument "${raw}" for "--${flag.name}": one of ${flag.choices.join(', ')}`,
        );
      return raw;
  }
}

function defaultValue(flag: FlagSpec): FlagValue | undefined {
  if (flag.default === undefined) return flag.type === 'boolean' ? false : undefined;
  if (flag.type === 'duration' && typeof flag.default === 'string') return parseDuration(flag.default);
  return flag.default;
}

export interface ParseResult {
  /** The command path from the root (root first). */
  path: CommandSpec[];
  positionals: string[];
  flags: Record<string, FlagValue | undefined>;
  given: Set<string>;
  help: boolean;
  /** The first usage error (reported after --help is honoured). */
  error?: UsageError;
}

/** The flags known at a point of the path: the globals and every command's own flags on the path. */
export function flagsOf(path: readonly CommandSpec[]): FlagSpec[] {
  return [...GLOBAL_FLAGS, ...path.flatMap((command) => command.flags ?? [])];
}

/**
 * Parses argv against the tree under `root`. Global flags take their CAIRNCTL_* value from `env` when not
 * given; every flag not given gets its default. Never throws: a usage error is returned in `error`.
 */
export function parseCommandLine(
  argv: readonly string[],
  root: CommandSpec,
  env: Readonly<Record<string, string | undefined>> = {},
): ParseResult {
  const path: CommandSpec[] = [root];
  const positionals: string[] = [];
  const raw: Record<string, FlagValue | undefined> = {};
  const given = new Set<string>();
  let error: UsageError | undefined;
  let help = false;
  const fail = (e: unknown) => {
    error ??= e instanceof UsageError ? e : new UsageError(String(e));
  };

  for (let i = 0; i < argv.length; i++) {
    const token = argv[i]!;
    if (token === '--') {
      positionals.push(...argv.slice(i + 1));
      break;
    }
    if (token.startsWith('-') && token !== '-') {
      const known = flagsOf(path);
      let name: string;
      let inline: string | undefined;
      let flag: FlagSpec | undefined;
      if (token.startsWith('--')) {
        const eq = token.indexOf('=');
        name = eq >= 0 ? token.slice(2, eq) : token.slice(2);
        inline = eq >= 0 ? token.slice(eq + 1) : undefined;
        flag = known.find((f) => f.name === name);
      } else {
        name = token.slice(1, 2);
        const rest = token.slice(2);
        inline = rest.startsWith('=') ? rest.slice(1) : rest.length > 0 ? rest : undefined;
        flag = known.find((f) => f.short === name);
      }
      if (!flag) {
        fail(new UsageError(`unknown flag: ${token.split('=')[0]}`));
        continue;
      }
      if (flag.name === 'help') {
        help = true;
        continue;
      }
      let value: string;
      if (flag.type === 'boolean') value = inline ?? 'true';
      else if (inline !== undefined) value = inline;
      else if (i + 1 < argv.length) value = argv[++i]!;
      else {
        fail(new UsageError(`flag needs an argument: --${flag.name}`));
        continue;
      }
      try {
        raw[flag.name] = convert(flag, value, raw[flag.name]);
        given.add(flag.name);
      } catch (e) {
        fail(e);
      }
      continue;
    }
    const current = path[path.length - 1]!;
    const sub = positionals.length === 0 ? current.subcommands?.find((c) => c.name === token) : undefined;
    if (sub) path.push(sub);
    else positionals.push(token);
  }

  const flags: Record<string, FlagValue | undefined> = {};
  for (const flag of flagsOf(path)) {
    if (given.has(flag.name)) {
      flags[flag.name] = raw[flag.name];
      continue;
    }
    const fromEnv = GLOBAL_FLAGS.includes(flag) ? env[envName(flag.name)] : undefined;
    if (fromEnv !== undefined && fromEnv !== '') {
      try {
        flags[flag.name] = convert(flag, fromEnv, undefined);
        continue;
      } catch (e) {
        fail(new UsageError(`${envName(flag.name)}: ${(e as Error).message}`));
      }
    }
    flags[flag.name] = defaultValue(flag);
    if (flag.required && !help) fail(new UsageError(`required flag --${flag.name} not set`));
  }
  return { path, positionals, flags, given, help, ...(error ? { error } : {}) };
}

/** The GlobalOptions of parsed flags; `--user name:password` splits at the first colon, as etcdctl. */
export function globalOptions(flags: Record<string, FlagValue | undefined>): GlobalOptions {
  const userFlag = flags['user'] as string | undefined;
  let user: string | undefined;
  let password = flags['password'] as string | undefined;
  if (userFlag !== undefined && userFlag !== '') {
    const colon = userFlag.indexOf(':');
    if (colon >= 0 && password !== undefined)
      throw new UsageError('--user has a password; leave out --password (or the password in --user)');
    user = colon >= 0 ? userFlag.slice(0, colon) : userFlag;
    if (colon >= 0) password = userFlag.slice(colon + 1);
  } else if (password !== undefined) {
    throw new UsageError('--password needs --user');
  }
  const endpoints = (flags['endpoints'] as string[] | undefined) ?? ['127.0.0.1:2379'];
  if (endpoints.length === 0) throw new UsageError('--endpoints is empty');
  return {
    endpoints,
    tls: {
      ...(flags['cacert'] ? { cacert: flags['cacert'] as string } : {}),
      ...(flags['cert'] ? { cert: flags['cert'] as string } : {}),
      ...(flags['key'] ? { key: flags['key'] as string } : {}),
      insecureSkipVerify: flags['insecure-skip-tls-verify'] === true,
    },
    ...(user !== undefined ? { user } : {}),
    ...(password !== undefined ? { password } : {}),
    dialTimeoutMs: flags['dial-timeout'] as number,
    commandTimeoutMs: flags['command-timeout'] as number,
    output: (flags['write-out'] as OutputFormat | undefined) ?? 'simple',
  };
}
