// The Context a command runs with: resolved global options, writers, the printer, progress on stderr and
// lazily created etcd clients (@cairn/client, with TLS and re-authentication) that the dispatcher closes.
import { EtcdClient } from '@cairn/client';
import type { ClientOptions, Context, GlobalOptions, PrintOptions, Progress, Writer } from './command';
import { CommandError, ExitCode } from './command';
import { render } from './output';

export interface ContextIo {
  stdout: Writer;
  stderr: Writer;
  env: Readonly<Record<string, string | undefined>>;
  /** Reads a password without echo (a TTY prompt); undefined when no terminal is attached. */
  promptPassword?: (prompt: string) => Promise<string>;
  signal?: AbortSignal;
}

/** Human units as etcdctl prints sizes (go-humanize Bytes: kB, MB, GB, base 1000). */
export function humanBytes(n: number): string {
  if (n < 10) return `${n} B`;
  const units = ['B', 'kB', 'MB', 'GB', 'TB', 'PB'];
  const e = Math.floor(Math.log(n) / Math.log(1000));
  const value = n / 1000 ** e;
  const text = value < 10 ? value.toFixed(1) : value.toFixed(0);
  return `${text} ${units[e]}`;
}

/** A progress line on `out`: redrawn in place on a TTY, otherwise at most one line every 2 s. */
export function createProgress(
  out: Writer,
  label: string,
  total?: number,
  unit: 'bytes' | 'items' = 'bytes',
  now = () => Date.now(),
): Progress {
  let lastLine = 0;
  let lastText = '';
  let total_ = total;
  const line = (done: number, note?: string) => {
    const pct = total_ ? ` ${Math.min(100, Math.floor((done / total_) * 100))}%` : '';
    const show = unit === 'bytes' ? humanBytes : String;
    const size = total_ ? `${show(done)} / ${show(total_)}` : show(done);
    return `${label}:${pct} ${size}${note ? ` ${note}` : ''}`;
  };
  return {
    update(done, newTotal, note) {
      if (newTotal !== undefined) total_ = newTotal;
      lastText = line(done, note);
      if (out.isTTY) {
        out.write(`\r\x1b[K${lastText}`);
      } else if (now() - lastLine >= 2000) {
        lastLine = now();
        out.write(`${lastText}\n`);
      }
    },
    done(note) {
      const text = note ? `${label}: ${note}` : lastText || `${label}: done`;
      if (out.isTTY) out.write(`\r\x1b[K${text}\n`);
      else if (text) out.write(`${text}\n`);
    },
  };
}

export class CliContext implements Context {
  readonly output;
  readonly stdout;
  readonly stderr;
  readonly env;
  readonly signal: AbortSignal;
  lastEndpoint?: string;
  private readonly clients: EtcdClient[] = [];
  private resolvedCredentials: Promise<{ user: string; password: string } | undefined> | undefined;

  constructor(
    readonly globals: GlobalOptions,
    private readonly io: ContextIo,
  ) {
    this.output = globals.output;
    this.stdout = io.stdout;
    this.stderr = io.stderr;
    this.env = io.env;
    this.signal = io.signal ?? new AbortController().signal;
  }

  print<Row>(value: Row[] | Row, options?: PrintOptions<Row>): void {
    this.stdout.write(render(this.output, value, options));
  }

  progress(label: string, total?: number, unit?: 'bytes' | 'items'): Progress {
    return createProgress(this.stderr, label, total, unit);
  }

  credentials(): Promise<{ user: string; password: string } | undefined> {
    this.resolvedCredentials ??= (async () => {
      const { user, password } = this.globals;
      if (user === undefined) return undefined;
      if (password !== undefined) return { user, password };
      if (!this.io.promptPassword)
        throw new CommandError(`--user ${user} has no password (use --user ${user}:PASSWORD or --password)`);
      return { user, password: await this.io.promptPassword('Password: ') };
    })();
    return this.resolvedCredentials;
  }

  async client(options: ClientOptions = {}): Promise<EtcdClient> {
    const credentials = await this.credentials();
    const { tls } = this.globals;
    const endpoints = options.endpoints ?? this.globals.endpoints;
    const useTls = tls.cacert !== undefined || tls.cert !== undefined || tls.insecureSkipVerify;
    if ((tls.cert === undefined) !== (tls.key === undefined))
      throw new CommandError('--cert and --key go together', ExitCode.BadArgs);
    const client = new EtcdClient({
      endpoints,
      callTimeoutMs: options.timeoutMs ?? this.globals.commandTimeoutMs,
      connectTimeoutMs: this.globals.dialTimeoutMs,
      ...(credentials ? { credentials } : {}),
      ...(useTls
        ? {
            tls: {
              ...(tls.cacert ? { ca: tls.cacert } : {}),
              ...(tls.cert ? { cert: tls.cert } : {}),
              ...(tls.key ? { key: tls.key } : {}),
              ...(tls.insecureSkipVerify ? { insecureSkipVerify: true } : {}),
            },
          }
        : {}),
    });
    this.clients.push(client);
    return client;
  }

  /** The endpoint the most recent client is on (for error messages). */
  currentEndpoint(): string | undefined {
    return this.lastEndpoint ?? this.clients[this.clients.length - 1]?.pool.current();
  }

  close(): void {
    for (const client of this.clients.splice(0)) client.close();
  }
}

/** Reads a line from a TTY without echoing it (for --user without a password). */
export function ttyPasswordPrompt(
  input: NodeJS.ReadStream,
  output: NodeJS.WriteStream,
): ((prompt: string) => Promise<string>) | undefined {
  if (!input.isTTY) return undefined;
  return (prompt) =>
    new Promise<string>((resolve, reject) => {
      output.write(prompt);
      input.setRawMode(true);
      input.resume();
      input.setEncoding('utf8');
      let text = '';
      const finish = (error?: Error) => {
        input.setRawMode(false);
        input.pause();
        input.off('data', onData);
        output.write('\n');
        if (error) reject(error);
        else resolve(text);
      };
      const onData = (chunk: string) => {
        for (const ch of chunk) {
          if (ch === '\r' || ch === '\n') return finish();
          if (ch === '\u0003') return finish(new CommandError('interrupted', ExitCode.Interrupted));
          if (ch === '\u007f' || ch === '\b') text = text.slice(0, -1);
          else text += ch;
        }
      };
      input.on('data', onData);
    });
}
