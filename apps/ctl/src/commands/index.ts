// The top-level command groups of cairnctl, in --help order. Each group lives in its own file and exports
// one CommandSpec; add a group by importing it here and listing it in COMMANDS.
import type { CommandSpec } from '../command';
import { snapshotCommand } from './snapshot';
import { backupCommand } from './backup';
import { memberCommand } from './member';
import { endpointCommand } from './endpoint';
import { defragCommand } from './defrag';
import { alarmCommand } from './alarm';
import { registryCommand } from './registry';
import { configCommand } from './config';

export const COMMANDS: CommandSpec[] = [
  snapshotCommand,
  backupCommand,
  memberCommand,
  endpointCommand,
  defragCommand,
  alarmCommand,
  registryCommand,
  configCommand,
];
