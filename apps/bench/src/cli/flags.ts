// Command-line flags in etcd's style: `--name value`, `--name=value`, and bare `--flag` for
// booleans. Each command declares its flags once; the parser returns a typed object.

export class UsageError extends Error {
  override name = 'UsageError';
}

export interface FlagSpec<T> {
  readonly help: string;
  /** Shown in --help after the flag name; absent for booleans, which take no value. */
  readonly valueName?: string;
  readonly defaultValue: T;
  /** How --help shows the default, when String(defaultValue) would mislead (durations). */
  readonly shownDefault?: string;
  parse(raw: string, flagName: string): T;
}

export type FlagSpecs = Record<string, FlagSpec<unknown>>;
export type ParsedFlags<S extends FlagSpecs> = {
  [K in keyof S]: S[K] extends FlagSpec<infer T> ? T : never;
} & {
  /** Names of the flags that were given on the command line (not defaulted). */
  readonly given: ReadonlySet<string>;
};

function integer(raw: string, flagName: string, min: number): number {
  if (!/^-?\d+$/.test(raw)) throw new UsageError(`--${flagName} wants an integer, got "${raw}"`);
  const value = Number(raw);
  if (!Number.isSafeInteger(value) || value < min) {
    throw new UsageError(`--${flagName} must be an integer >= ${min}, got "${raw}"`);
  }
  return value;
}

const DURATION_UNITS_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** Parses "10s", "500ms", "1.5m", "2h"; a bare number means seconds. Returns milliseconds. */
export function parseDuration(raw: string, flagName = 'duration'): number {
  const match = /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/.exec(raw.trim());
  if (!match) throw new UsageError(`--${flagName} wants a duration like 10s or 500ms, got "${raw}"`);
  return Math.round(Number(match[1]) * DURATION_UNITS_MS[match[2] ?? 's']);
}

export function formatDuration(ms: number): string {
  return ms % 1000 === 0 ? `${ms / 1000}s` : `${ms}ms`;
}

function list(raw: string): string[] {
  return raw
    .split(',')
    .map((item) => item.trim())
    .filter((item) => item.length > 0);
}

export const flag = {
  string: (help: string, defaultValue: string, valueName = 'STRING'): FlagSpec<string> => ({
    help,
    valueName,
    defaultValue,
    parse: (raw) => raw,
  }),
  optionalString: (help: string, valueName = 'STRING'): FlagSpec<string | undefined> => ({
    help,
    valueName,
    defaultValue: undefined,
    parse: (raw) => raw,
  }),
  int: (help: string, defaultValue: number, min = 1): FlagSpec<number> => ({
    help,
    valueName: 'N',
    defaultValue,
    parse: (raw, name) => integer(raw, name, min),
  }),
  optionalInt: (help: string, min = 1): FlagSpec<number | undefined> => ({
    help,
    valueName: 'N',
    defaultValue: undefined,
    parse: (raw, name) => integer(raw, name, min),
  }),
  duration: (help: string, defaultMs: number): FlagSpec<number> => ({
    help,
    valueName: 'DURATION',
    defaultValue: defaultMs,
    shownDefault: formatDuration(defaultMs),
    parse: (raw, name) => parseDuration(raw, name),
  }),
  optionalDuration: (help: string): FlagSpec<number | undefined> => ({
    help,
    valueName: 'DURATION',
    defaultValue: undefined,
    parse: (raw, name) => parseDuration(raw, name),
  }),
  bool: (help: string): FlagSpec<boolean> => ({
    help,
    defaultValue: false,
    parse: (raw, name) => {
      if (raw === 'true' || raw === '') return true;
      if (raw === 'false') return false;
      throw new UsageError(`--${name} is a switch (true/false), got "${raw}"`);
    },
  }),
  list: (help: string, defaultValue: string[], valueName = 'A,B'): FlagSpec<string[]> => ({
    help,
    valueName,
    defaultValue,
    parse: (raw, name) => {
      const items = list(raw);
      if (items.length === 0) throw new UsageError(`--${name} wants a comma-separated list`);
      return items;
    },
  }),
  choice: <C extends string>(help: string, choices: readonly C[], defaultValue: C): FlagSpec<C> => ({
    help,
    valueName: choices.join('|'),
    defaultValue,
    parse: (raw, name) => {
      if (!(choices as readonly string[]).includes(raw)) {
        throw new UsageError(`--${name} must be one of ${choices.join(', ')}, got "${raw}"`);
      }
      return raw as C;
    },
  }),
};

export function parseFlags<S extends FlagSpecs>(argv: readonly string[], specs: S): ParsedFlags<S> {
  const values: Record<string, unknown> = {};
  const given = new Set<string>();
  for (const [name, spec] of Object.entries(specs)) values[name] = spec.defaultValue;

  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (!arg.startsWith('--') || arg === '--') throw new UsageError(`unexpected argument "${arg}"`);
    const equals = arg.indexOf('=');
    const name = equals === -1 ? arg.slice(2) : arg.slice(2, equals);
    const spec = specs[name];
    if (!spec) throw new UsageError(`unknown flag --${name}`);
    let raw: string;
    if (equals !== -1) raw = arg.slice(equals + 1);
    else if (spec.valueName === undefined) raw = '';
    else {
      if (i + 1 >= argv.length) throw new UsageError(`--${name} needs a value (${spec.valueName})`);
      raw = argv[++i];
    }
    values[name] = spec.parse(raw, name);
    given.add(name);
  }
  return { ...values, given } as ParsedFlags<S>;
}

export function describeFlags(specs: FlagSpecs): string[] {
  return Object.entries(specs).map(([name, spec]) => {
    const left = spec.valueName ? `--${name} ${spec.valueName}` : `--${name}`;
    const shownDefault = spec.shownDefault ?? formatDefault(spec.defaultValue);
    return `  ${left.padEnd(34)} ${spec.help}${shownDefault ? ` (default ${shownDefault})` : ''}`;
  });
}

function formatDefault(value: unknown): string {
  if (value === undefined || value === false || value === '') return '';
  if (Array.isArray(value)) return value.join(',');
  return String(value);
}
