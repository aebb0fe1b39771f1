// What every section of the suite shares: the plan, where the binaries are, how a child is run and
// recorded (the report lists every command it ran), and the clusters the suite started itself.

import { relative } from 'node:path';
import type { Output } from '../cli/command';
import type { Cluster } from '../servers/cluster';
import { describeFailure, runChild, type ChildOutcome } from './child';
import type { SuitePlan } from './plan';

export interface SuiteContext {
  plan: SuitePlan;
  out: Output;
  repoRoot: string;
  /** apps/bench/dist/main.js: sections run bench commands as children of the built CLI. */
  benchMain: string;
  cairnBin: string;
  etcdBin: string;
  /** Extra flags per child command, given by the user (--go-load-args etc.). */
  extraArgs: { goLoad: string[]; watch: string[]; registry: string[]; config: string[] };
  /** Data dirs of the clusters the suite starts itself. */
  baseDir: string;
  /** Every child command line, in order, for the report. */
  commands: string[];
  /** Clusters the suite started and has not stopped yet (killed on Ctrl-C). */
  clusters: Set<Cluster>;
}

/** A command line as a reader can paste it: paths under the repository relative to it, arguments quoted. */
export function showCommand(repoRoot: string, command: string, args: readonly string[]): string {
  const shown = (arg: string): string => {
    const rel = arg.startsWith(`${repoRoot}/`) ? relative(repoRoot, arg) : arg;
    return /^[\w@%+=:,./-]+$/.test(rel) ? rel : `'${rel.replace(/'/g, `'\\''`)}'`;
  };
  return [command === process.execPath ? 'node' : command, ...args].map(shown).join(' ');
}

/** Runs a child and records its command line; `failure` says why it failed, if it did. */
export async function runRecordedTolerant(
  ctx: SuiteContext,
  command: string,
  args: readonly string[],
  env?: Record<string, string>,
): Promise<ChildOutcome & { failure?: string }> {
  const line = showCommand(ctx.repoRoot, command, args);
  ctx.commands.push(line);
  ctx.out(`  $ ${line}`);
  const timeoutMs = ctx.plan.childTimeoutMs;
  const outcome = await runChild({ command, args, timeoutMs, out: ctx.out, ...(env ? { env } : {}) });
  return outcome.code === 0 ? outcome : { ...outcome, failure: describeFailure(outcome, timeoutMs) };
}

/** Runs a child, records its command line, and throws its error when it fails. */
export async function runRecorded(
  ctx: SuiteContext,
  command: string,
  args: readonly string[],
  env?: Record<string, string>,
): Promise<ChildOutcome> {
  const outcome = await runRecordedTolerant(ctx, command, args, env);
  if (outcome.failure !== undefined) throw new Error(outcome.failure);
  return outcome;
}

/** Runs `node apps/bench/dist/main.js <args>`. */
export function runBench(
  ctx: SuiteContext,
  args: readonly string[],
  env?: Record<string, string>,
): Promise<ChildOutcome> {
  return runRecorded(ctx, process.execPath, [ctx.benchMain, ...args], env);
}

export function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
