// The dispatcher: parses the command line against the tree, prints --help, runs the command with a Context,
// and turns errors into etcdctl-style messages ("Error: ...", naming the endpoint and, for PermissionDenied,
// the permission the command needs) and exit codes.
import { type CommandSpec, ExitCode, UsageError, type Writer } from './command';
import { COMMANDS } from './commands/index';
import { bashCompletion, zshCompletion } from './completion';
import { CliContext, type ContextIo } from './context';
import { describeError } from './errors';
import { helpText, usageLine } from './help';
import { globalOptions, parseCommandLine } from './parse';

export { describeError } from './errors';

export const VERSION = '0.2.0';

const completionCommand: CommandSpec = {
  name: 'completion',
  summary: 'Print a shell completion script (bash or zsh)',
  usage: 'bash|zsh',
  description:
    'Load it in the current shell with `source <(cairnctl completion bash)`, or save it where your shell\nreads completions (e.g. /etc/bash_completion.d/cairnctl, or a file `_cairnctl` on $fpath for zsh).',
  args: { min: 1, max: 1 },
  run: (ctx, args) => {
    const shell = args.positionals[0];
    if (shell === 'bash') ctx.stdout.write(bashCompletion(ROOT));
    else if (shell === 'zsh') ctx.stdout.write(zshCompletion(ROOT));
    else throw new UsageError(`unsupported shell "${shell}" (bash or zsh)`);
    return ExitCode.Success;
  },
};

const versionCommand: CommandSpec = {
  name: 'version',
  summary: 'Print the version of cairnctl',
  args: { max: 0 },
  run: (ctx) => {
    ctx.stdout.write(`cairnctl version: ${VERSION}\nAPI version: 3.5\n`);
    return ExitCode.Success;
  },
};

/** The root of the tree; COMMANDS (commands/index.ts) plus completion and version. */
export const ROOT: CommandSpec = {
  name: 'cairnctl',
  summary: 'the operator CLI for Cairn',
  description:
    'Talks to Cairn (or etcd) members over the etcd v3 gRPC API. Exit codes as etcdctl: 0 success, 1 error,\n2 bad connection (no endpoint answered), 5 interrupted (Ctrl-C), 128 bad arguments.',
  subcommands: [...COMMANDS, completionCommand, versionCommand],
};

function usageError(stderr: Writer, path: readonly CommandSpec[], error: UsageError): number {
  stderr.write(
    `Error: ${error.message}\n\nUsage:\n  ${usageLine(path)}\n\nRun '${path.map((c) => c.name).join(' ')} --help' for usage.\n`,
  );
  return ExitCode.BadArgs;
}

/** Runs cairnctl with `argv` (without node and the script); resolves to the exit code. */
export async function runCli(
  argv: readonly string[],
  io: ContextIo,
  root: CommandSpec = ROOT,
): Promise<number> {
  const parsed = parseCommandLine(argv, root, io.env);
  const command = parsed.path[parsed.path.length - 1]!;
  if (parsed.help || (parsed.path.length === 1 && parsed.positionals.length === 0 && !parsed.error)) {
    io.stdout.write(helpText(parsed.path));
    return ExitCode.Success;
  }
  if (parsed.error) return usageError(io.stderr, parsed.path, parsed.error);
  if (!command.run) {
    const what = parsed.positionals[0];
    return usageError(
      io.stderr,
      parsed.path,
      new UsageError(
        what
          ? `unknown command "${what}" for "${parsed.path.map((c) => c.name).join(' ')}"`
          : 'a subcommand is required',
      ),
    );
  }
  const { min = 0, max = Infinity } = command.args ?? {};
  const n = parsed.positionals.length;
  if (n < min || n > max) {
    const expected = min === max ? `${min}` : max === Infinity ? `at least ${min}` : `${min} to ${max}`;
    return usageError(io.stderr, parsed.path, new UsageError(`expects ${expected} argument(s), got ${n}`));
  }
  let ctx: CliContext;
  try {
    ctx = new CliContext(globalOptions(parsed.flags), io);
  } catch (error) {
    if (error instanceof UsageError) return usageError(io.stderr, parsed.path, error);
    throw error;
  }
  try {
    return await command.run(ctx, {
      positionals: parsed.positionals,
      flags: parsed.flags,
      given: parsed.given,
    });
  } catch (error) {
    if (error instanceof UsageError) return usageError(io.stderr, parsed.path, error);
    const { message, exitCode } = describeError(error, command, ctx.currentEndpoint());
    io.stderr.write(`Error: ${message}\n`);
    return exitCode;
  } finally {
    ctx.close();
  }
}
