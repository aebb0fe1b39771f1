// Config push (goal 3, Cairn only): `bench config-push --json` per subscriber count, on a fresh cluster,
// with up to 100 subscribers sharing a connection where the command can do that.

import { execFileSync } from 'node:child_process';
import { lastJsonBlock } from '../child';
import { errorText, runBench, type SuiteContext } from '../context';
import { goals, type SuiteRow } from '../table';

/** The fields of `bench config-push --json` the suite reads. */
export interface ConfigPushResult {
  lastSubscriberMs: { p50: number; p99: number; max: number };
}

export async function configSection(ctx: SuiteContext): Promise<SuiteRow[]> {
  const rows: SuiteRow[] = [];
  for (const subscribers of ctx.plan.config.subscribers) rows.push(...(await pushTo(ctx, subscribers)));
  return rows;
}

/** Subscribers per gRPC connection: real SDKs share one connection per process (issue 18, goal 3). */
const PER_CONNECTION = 100;

/** Whether `bench <command>` has the flag (the commands change while the suite runs them). */
export function commandHasFlag(benchMain: string, command: string, flagName: string): boolean {
  try {
    const help = execFileSync(process.execPath, [benchMain, command, '--help'], {
      encoding: 'utf8',
      timeout: 30_000,
      stdio: ['ignore', 'pipe', 'ignore'],
    });
    return help.includes(`--${flagName} `);
  } catch {
    return false;
  }
}

async function pushTo(ctx: SuiteContext, subscribers: number): Promise<SuiteRow[]> {
  const plan = ctx.plan.config;
  const sharing =
    !ctx.extraArgs.config.includes('--per-connection') &&
    commandHasFlag(ctx.benchMain, 'config-push', 'per-connection')
      ? ['--per-connection', String(PER_CONNECTION)]
      : [];
  const section = `config push, ${plan.members} members, ${subscribers.toLocaleString('en-US')} subscribers${sharing.length > 0 ? `, ${PER_CONNECTION} per connection` : ''}`;
  const results: ConfigPushResult[] = [];
  try {
    for (let run = 0; run < plan.runs; run++) {
      const outcome = await runBench(ctx, [
        'config-push',
        ...['--members', String(plan.members), '--subscribers', String(subscribers)],
        ...['--rounds', String(plan.rounds), ...sharing, '--cairn-bin', ctx.cairnBin, '--json'],
        ...ctx.extraArgs.config,
      ]);
      results.push(lastJsonBlock(outcome.stdout) as ConfigPushResult);
    }
  } catch (error) {
    return [{ kind: 'failed', section, name: 'bench config-push', error: errorText(error) }];
  }
  return [
    {
      kind: 'measured',
      section,
      name: `publish → last subscriber applied, p50 of ${plan.rounds} publishes`,
      unit: 'ms',
      cairn: results.map((r) => r.lastSubscriberMs.p50),
    },
    {
      kind: 'measured',
      section,
      name: `publish → last subscriber applied, p99 of ${plan.rounds} publishes`,
      unit: 'ms',
      goal: goals.below(100, '< 100 ms (floor < 200)'),
      cairn: results.map((r) => r.lastSubscriberMs.p99),
    },
  ];
}
