// The command framework of cairnctl: what a command declares (CommandSpec, FlagSpec), what it gets when it
// runs (Context), and the exit codes. Command groups live in ./commands/*.ts and are registered in
// ./commands/index.ts; the dispatcher (cli.ts) parses flags, prints --help and maps errors to exit codes.
import type { EtcdClient } from '@cairn/client';

/**
 * Exit codes, as etcdctl's (etcdctl/ctlv3/command/error.go): scripts written against etcdctl read them the
 * same way. A usage error (wrong arguments, unknown flag, bad flag value) is ExitBadArgs = 128.
 */
export const ExitCode = {
  Success: 0,
  Error: 1,
  BadConnection: 2,
  InvalidInput: 3,
  BadFeature: 4,
  Interrupted: 5,
  IO: 6,
  BadArgs: 128,
} as const;
export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode];

/** `duration` takes Go's syntax (500ms, 5s, 1m30s, 2h) and yields milliseconds. */
export type FlagType = 'string' | 'boolean' | 'number' | 'duration' | 'strings';

export type FlagValue = string | boolean | number | string[];

export interface FlagSpec {
  /** Long name without dashes, e.g. `data-dir`. */
  name: string;
  /** One-letter alias without the dash, e.g. `w`. */
  short?: string;
  type: FlagType;
  /** Default when neither the flag nor (for global flags) its CAIRNCTL_* variable is set. */
  default?: FlagValue;
  help: string;
  /** Allowed values (checked by the parser; also offered by shell completion). */
  choices?: readonly string[];
  /** Placeholder in --help, e.g. `FILE`. */
  valueName?: string;
  /** The flag must be given (usage error otherwise). */
  required?: boolean;
  /** Shell completion completes the value as a file / directory path. */
  complete?: 'file' | 'dir';
}

/** What the parser hands to run(): positional arguments and every flag (own and global) with defaults. */
export interface ParsedArgs {
  positionals: string[];
  flags: Record<string, FlagValue | undefined>;
  /** Flags given explicitly on the command line (not defaults, not env). */
  given: ReadonlySet<string>;
}

export interface CommandSpec {
  name: string;
  /** One line for the parent's --help listing. */
  summary: string;
  /** Argument synopsis after the command path, e.g. `FILE [--name NAME]`. */
  usage?: string;
  /** More text for this command's --help. */
  description?: string;
  flags?: FlagSpec[];
  /** A group: `cairnctl <group> <sub> ...`. A group with run() also runs when called with no subcommand. */
  subcommands?: CommandSpec[];
  /** Positional argument count bounds (checked by the dispatcher; usage error otherwise). */
  args?: { min?: number; max?: number };
  /** For PermissionDenied errors: what the command needs, e.g. `root role` or `read on /cairn/registry/`. */
  permission?: string;
  /** Returns an exit code (ExitCode). Throw UsageError for bad arguments, CommandError for known failures. */
  run?: (ctx: Context, args: ParsedArgs) => Promise<number> | number;
}

export type OutputFormat = 'table' | 'json' | 'yaml' | 'simple';

/** A table column: a header and how to get the cell from a row. */
export interface Column<Row = Record<string, unknown>> {
  header: string;
  get: (row: Row) => unknown;
  /** Default: numbers right, the rest left (as etcdctl's tablewriter). */
  align?: 'left' | 'right';
}

export interface PrintOptions<Row = Record<string, unknown>> {
  /** Columns for table and simple output; without them the row objects' keys are used. */
  columns?: Column<Row>[];
  /** What json/yaml print instead of the rows (e.g. etcd's response shape, as etcdctl -w json). */
  raw?: unknown;
  /** simple output; default: each row's cells joined by ", " (etcdctl's simple printer). */
  simple?: (rows: Row[]) => string;
}

export interface Writer {
  write(text: string): unknown;
  /** True when the writer is a terminal (progress redraws in place, passwords are prompted). */
  isTTY?: boolean;
}

/** Progress on stderr for long operations; redrawn in place on a TTY, a line every few seconds otherwise. */
export interface Progress {
  update(done: number, total?: number, note?: string): void;
  /** Prints the final line (and a newline on a TTY). */
  done(note?: string): void;
}

/** TLS files (paths), as etcdctl's --cacert / --cert / --key. */
export interface TlsFiles {
  cacert?: string;
  cert?: string;
  key?: string;
  insecureSkipVerify: boolean;
}

/** The global flags, resolved from the command line, then CAIRNCTL_* variables, then defaults. */
export interface GlobalOptions {
  endpoints: string[];
  tls: TlsFiles;
  /** `--user name[:password]`; the password may also come from --password or a TTY prompt. */
  user?: string;
  password?: string;
  dialTimeoutMs: number;
  commandTimeoutMs: number;
  output: OutputFormat;
}

export interface ClientOptions {
  /** Only these endpoints (default: all of --endpoints). */
  endpoints?: string[];
  /** Per-call deadline (default --command-timeout). */
  timeoutMs?: number;
}

export interface Context {
  readonly globals: GlobalOptions;
  readonly output: OutputFormat;
  readonly stdout: Writer;
  readonly stderr: Writer;
  readonly env: Readonly<Record<string, string | undefined>>;
  /** Aborted on Ctrl-C (SIGINT/SIGTERM): long-running commands stop and return. */
  readonly signal: AbortSignal;
  /** Prints `value` (rows: an array of objects, or one object) as --write-out asks. */
  print<Row = Record<string, unknown>>(value: Row[] | Row, options?: PrintOptions<Row>): void;
  /** `unit`: bytes (default, printed as kB/MB) or items (printed as done/total). */
  progress(label: string, total?: number, unit?: 'bytes' | 'items'): Progress;
  /**
   * An etcd client (@cairn/client's SDK: TLS, failover, re-authentication) for --endpoints or the given
   * ones; closed by the dispatcher after run(). Prompts for the password on a TTY when --user has none.
   */
  client(options?: ClientOptions): Promise<EtcdClient>;
  /** The user's credentials (prompting for the password if needed), or undefined without --user. */
  credentials(): Promise<{ user: string; password: string } | undefined>;
  /** The endpoint a failed call went to, for error messages (set by commands that talk to one). */
  lastEndpoint?: string;
}

/** Bad arguments or flags: printed with the command's usage line, exit ExitBadArgs. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}

/** A failure with a chosen exit code (default ExitError). */
export class CommandError extends Error {
  override readonly name = 'CommandError';
  constructor(
    message: string,
    readonly exitCode: number = ExitCode.Error,
  ) {
    super(message);
  }
}
