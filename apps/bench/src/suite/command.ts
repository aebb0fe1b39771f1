// `bench suite`: every measurement of issue 18 in one sitting, Cairn against real etcd where it applies,
// and one markdown table of medians, spreads and ratios with the machine, its load, the Cairn build and the
// exact command. Each measurement runs as a child (`node apps/bench/dist/main.js <command> --json`, or the
// memory script); a section that fails becomes a row with its error and the suite goes on, exiting
// non-zero at the end.

import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { Command } from '../cli/command';
import { flag, parseFlags, UsageError } from '../cli/flags';
import { describeCairnBuild, loadAverage, machineDescription, versionOf } from '../compare/environment';
import { killAllChildGroups } from './child';
import { errorText, showCommand, type SuiteContext } from './context';
import { planSuite, SECTIONS, type SectionName } from './plan';
import { formatSuiteReport } from './report';
import { configSection } from './sections/config';
import { memorySection } from './sections/memory';
import { registrySection } from './sections/registry';
import { watchSection } from './sections/watch';
import { writesSection } from './sections/writes';
import type { SuiteRow } from './table';
import { killOnExit } from '../servers/kill-on-exit';

/** apps/bench/{src,dist}/suite → the repository root. */
const REPO_ROOT = resolve(__dirname, '../../../..');

const SECTION_RUNNERS: Record<SectionName, (ctx: SuiteContext) => Promise<SuiteRow[]>> = {
  writes: writesSection,
  watch: watchSection,
  memory: memorySection,
  registry: registrySection,
  config: configSection,
};

const flags = {
  only: flag.list('sections to run', [...SECTIONS], 'writes,watch,..'),
  quick: flag.bool('tiny sizes and one short run each: a smoke test of the whole suite (~2–3 minutes)'),
  runs: flag.optionalInt(
    'runs per measurement and server: writes on 1 member, watch, memory (default 3; --quick 1)',
  ),
  'runs-3m': flag.optionalInt(
    'runs of the writes on 3 members (default the larger of 5 and --runs; --quick --runs)',
  ),
  'scale-runs': flag.optionalInt('runs of registry and config push, Cairn only (default 1)'),
  'write-members': flag.list('member counts of the writes', ['1', '3'], 'N,..'),
  keys: flag.optionalInt('keys of the memory-per-key runs (default 150000, --quick 5000; the goal: 1000000)'),
  'registry-instances': flag.optionalInt('registry instances (default 100000, --quick 300)'),
  'config-subscribers': flag.optionalString(
    'config push subscriber counts (default 1000,10000; --quick 100)',
    'N,..',
  ),
  'child-timeout': flag.optionalDuration('bound on each child command (default 60m; --quick 5m)'),
  out: flag.optionalString('also write the markdown report to this file', 'FILE'),
  'etcd-bin': flag.string('real etcd binary', '/usr/bin/etcd', 'PATH'),
  'cairn-bin': flag.string('Cairn launcher', resolve(REPO_ROOT, 'bin/cairn'), 'PATH'),
  'go-load-args': flag.string('extra flags for every `bench go-load` child (space-separated)', '', 'FLAGS'),
  'watch-args': flag.string('extra flags for every `bench watch` child', '', 'FLAGS'),
  'registry-args': flag.string('extra flags for every `bench registry` child', '', 'FLAGS'),
  'config-args': flag.string('extra flags for every `bench config-push` child', '', 'FLAGS'),
};

export const suiteCommand: Command = {
  name: 'suite',
  summary:
    'every issue-18 measurement, Cairn vs etcd interleaved: one markdown table (medians, spreads, ratios)',
  flags,
  async run(argv, out) {
    const parsed = parseFlags(argv, flags);
    const sections = parsed.only.map((name): SectionName => {
      if (!(SECTIONS as readonly string[]).includes(name))
        throw new UsageError(`unknown section "${name}": use ${SECTIONS.join(', ')}`);
      return name as SectionName;
    });
    const plan = planSuite(parsed.quick, {
      sections,
      ...(parsed.runs !== undefined ? { runs: parsed.runs } : {}),
      ...(parsed['runs-3m'] !== undefined ? { runsMultiMember: parsed['runs-3m'] } : {}),
      ...(parsed['scale-runs'] !== undefined ? { scaleRuns: parsed['scale-runs'] } : {}),
      ...(parsed.given.has('write-members')
        ? { writeMembers: positiveList(parsed['write-members'], 'write-members') }
        : {}),
      ...(parsed.keys !== undefined ? { keys: parsed.keys } : {}),
      ...(parsed['registry-instances'] !== undefined
        ? { registryInstances: parsed['registry-instances'] }
        : {}),
      ...(parsed['config-subscribers'] !== undefined
        ? { configSubscribers: positiveList(parsed['config-subscribers'].split(','), 'config-subscribers') }
        : {}),
      ...(parsed['child-timeout'] !== undefined ? { childTimeoutMs: parsed['child-timeout'] } : {}),
    });
    const benchMain = join(REPO_ROOT, 'apps/bench/dist/main.js');
    if (!existsSync(benchMain))
      throw new Error(`${benchMain} is missing: build apps/bench first (npm run build -w @cairn/bench)`);

    const ctx: SuiteContext = {
      plan,
      out,
      repoRoot: REPO_ROOT,
      benchMain,
      cairnBin: parsed['cairn-bin'],
      etcdBin: parsed['etcd-bin'],
      extraArgs: {
        goLoad: splitFlags(parsed['go-load-args']),
        watch: splitFlags(parsed['watch-args']),
        registry: splitFlags(parsed['registry-args']),
        config: splitFlags(parsed['config-args']),
      },
      baseDir: mkdtempSync(join(tmpdir(), 'cairn-bench-suite-')),
      commands: [],
      clusters: new Set(),
    };
    const killAll = (): void => {
      killAllChildGroups();
      for (const cluster of ctx.clusters) cluster.killNow();
    };
    const removeExitHooks = killOnExit(killAll);

    const rows: SuiteRow[] = [];
    try {
      const command = showCommand(REPO_ROOT, process.execPath, [benchMain, 'suite', ...argv]);
      const startedAt = new Date();
      const loadBefore = loadAverage();
      const machine = machineDescription();
      const cairn = `${parsed['cairn-bin']} (${describeCairnBuild(parsed['cairn-bin'])})`;
      const etcd = `${parsed['etcd-bin']} (${versionOf(parsed['etcd-bin'])})`;
      out(`bench suite: ${command}`);
      out(`machine: ${machine}; load average before: ${loadBefore}`);
      out(`Cairn: ${cairn}`);
      out(`etcd: ${etcd}`);
      const sectionSeconds: Array<[string, number]> = [];
      for (const section of SECTIONS.filter((name) => plan.sections.includes(name))) {
        out('');
        out(`== ${section} (load average ${loadAverage()}) ==`);
        const started = performance.now();
        try {
          rows.push(...(await SECTION_RUNNERS[section](ctx)));
        } catch (error) {
          rows.push({ kind: 'failed', section, name: section, error: errorText(error) });
        }
        sectionSeconds.push([section, (performance.now() - started) / 1000]);
      }
      const report = formatSuiteReport({
        startedAt,
        endedAt: new Date(),
        command,
        machine,
        loadBefore,
        loadAfter: loadAverage(),
        cairn,
        etcd,
        plan,
        rows,
        sectionSeconds,
        commands: ctx.commands,
      });
      out('');
      for (const line of report) out(line);
      if (parsed.out) {
        writeFileSync(parsed.out, `${report.join('\n')}\n`);
        out('');
        out(`report written to ${parsed.out}`);
      }
    } finally {
      for (const cluster of ctx.clusters) await cluster.stop();
      removeExitHooks();
      rmSync(ctx.baseDir, { recursive: true, force: true });
    }
    const failed = rows.filter((row) => row.kind === 'failed');
    if (failed.length > 0) {
      throw new Error(
        `${failed.length} measurement(s) failed: ${failed.map((row) => `${row.section} (${row.name})`).join('; ')}`,
      );
    }
  },
};

function splitFlags(raw: string): string[] {
  return raw.split(/\s+/).filter((part) => part.length > 0);
}

function positiveList(raw: readonly string[], name: string): number[] {
  return raw.map((item) => {
    const value = Number(item.trim());
    if (!Number.isSafeInteger(value) || value < 1)
      throw new UsageError(`--${name} wants positive integers, got "${item}"`);
    return value;
  });
}
