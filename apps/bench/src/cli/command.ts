// The shape every subcommand has, and how single-run commands print their result.

import { formatRunText } from '../report/format-run';
import type { RunResult } from '../report/run-result';
import type { FlagSpecs } from './flags';

export type Output = (line: string) => void;

export interface Command {
  name: string;
  summary: string;
  flags: FlagSpecs;
  run(argv: readonly string[], out: Output): Promise<void>;
}

export function printResult(result: RunResult, asJson: boolean, out: Output): void {
  if (asJson) out(JSON.stringify(result, null, 2));
  else for (const line of formatRunText(result)) out(line);
}
