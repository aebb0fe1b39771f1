// Picks the subcommand, runs it, and turns usage mistakes into a help text and exit code 2.

import { compareCommand } from '../commands/compare';
import { configPushCommand } from '../config-push/command';
import { leaseKeepAliveCommand } from '../commands/lease-keepalive';
import { putCommand } from '../commands/put';
import { rangeCommand } from '../commands/range';
import { watchCommand } from '../commands/watch';
import { failoverCommand } from '../failover/command';
import { goLoadCommand } from '../go-load/command';
import { handoffCommand } from '../handoff/command';
import { registryCommand } from '../registry/command';
import { suiteCommand } from '../suite/command';
import type { Command, Output } from './command';
import { describeFlags, UsageError } from './flags';

export const commands: readonly Command[] = [
  putCommand,
  rangeCommand,
  watchCommand,
  leaseKeepAliveCommand,
  compareCommand,
  goLoadCommand,
  failoverCommand,
  configPushCommand,
  registryCommand,
  suiteCommand,
  handoffCommand,
];

export function usage(): string[] {
  return [
    "usage: bench <command> [flags]     (like etcd's `benchmark` tool; works against any etcd v3 endpoint)",
    '',
    'commands:',
    ...commands.map((command) => `  ${command.name.padEnd(16)} ${command.summary}`),
    '',
    'Run `bench <command> --help` for its flags.',
  ];
}

/** Runs the CLI; returns the process exit code. */
export async function runCli(argv: readonly string[], out: Output, err: Output): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    usage().forEach(out);
    return name === undefined ? 2 : 0;
  }
  const command = commands.find((candidate) => candidate.name === name);
  if (!command) {
    err(`unknown command "${name}"`);
    usage().forEach(err);
    return 2;
  }
  if (rest.includes('--help') || rest.includes('-h')) {
    out(`usage: bench ${command.name} [flags]   ${command.summary}`);
    describeFlags(command.flags).forEach(out);
    return 0;
  }
  try {
    await command.run(rest, out);
    return 0;
  } catch (error) {
    if (error instanceof UsageError) {
      err(`bench ${command.name}: ${error.message}`);
      err(`run \`bench ${command.name} --help\` for the flags`);
      return 2;
    }
    err(`bench ${command.name} failed: ${error instanceof Error ? error.message : String(error)}`);
    return 1;
  }
}
