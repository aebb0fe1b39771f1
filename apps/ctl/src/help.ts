// --help text for every command and group, generated from the command tree.
import type { CommandSpec, FlagSpec } from './command';
import { GLOBAL_FLAGS, envName } from './parse';

function flagLine(flag: FlagSpec, withEnv: boolean): [string, string] {
  const value =
    flag.type === 'boolean'
      ? ''
      : ` ${flag.valueName ?? (flag.type === 'duration' ? 'DURATION' : flag.type === 'number' ? 'N' : 'VALUE')}`;
  const left = `${flag.short ? `-${flag.short}, ` : '    '}--${flag.name}${value}`;
  const def =
    flag.default !== undefined && flag.default !== false && flag.name !== 'help'
      ? ` (default ${Array.isArray(flag.default) ? flag.default.join(',') : String(flag.default)})`
      : '';
  const choices = flag.choices ? ` [${flag.choices.join('|')}]` : '';
  const env = withEnv && flag.name !== 'help' ? ` [$${envName(flag.name)}]` : '';
  return [left, `${flag.help}${choices}${def}${flag.required ? ' (required)' : ''}${env}`];
}

function table(lines: [string, string][]): string {
  const width = Math.max(...lines.map(([left]) => left.length));
  return lines.map(([left, right]) => `  ${left.padEnd(width)}   ${right}\n`).join('');
}

/** The usage line of the command at the end of `path`. */
export function usageLine(path: readonly CommandSpec[]): string {
  const names = path.map((c) => c.name).join(' ');
  const command = path[path.length - 1]!;
  if (command.subcommands && !command.run) return `${names} <command> [flags]`;
  return `${names}${command.usage ? ` ${command.usage}` : ''} [flags]`;
}

export function helpText(path: readonly CommandSpec[]): string {
  const command = path[path.length - 1]!;
  const names = path.map((c) => c.name).join(' ');
  let out = `${names} - ${command.summary}\n\nUsage:\n  ${usageLine(path)}\n`;
  if (command.description) out += `\n${command.description.trimEnd()}\n`;
  if (command.subcommands?.length) {
    out += '\nCommands:\n';
    out += table(command.subcommands.map((c) => [c.name, c.summary]));
  }
  const own = path.slice(1).flatMap((c) => c.flags ?? []);
  if (own.length) out += `\nFlags:\n${table(own.map((f) => flagLine(f, false)))}`;
  out += `\nGlobal flags (each also from its CAIRNCTL_* variable; a flag beats the variable):\n`;
  out += table(GLOBAL_FLAGS.map((f) => flagLine(f, true)));
  if (command.subcommands?.length) out += `\nUse "${names} <command> --help" for more about a command.\n`;
  return out;
}
