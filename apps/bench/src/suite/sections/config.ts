// Config push (goal 3, Cairn only): `bench config-push --json` per subscriber count, on a fresh cluster.

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

async function pushTo(ctx: SuiteContext, subscribers: number): Promise<SuiteRow[]> {
  const plan = ctx.plan.config;
  const section = `config push, ${plan.members} members, ${subscribers.toLocaleString('en-US')} subscribers`;
  const results: ConfigPushResult[] = [];
  try {
    for (let run = 0; run < plan.runs; run++) {
      const outcome = await runBench(ctx, [
        'config-push',
        ...['--members', String(plan.members), '--subscribers', String(subscribers)],
        ...['--rounds', String(plan.rounds), '--cairn-bin', ctx.cairnBin, '--json', ...ctx.extraArgs.config],
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
