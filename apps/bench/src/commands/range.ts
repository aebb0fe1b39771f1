import { printResult, type Command } from '../cli/command';
import { connectionFlags, loadFlags, loadPlanFrom, parsePids } from '../cli/common-flags';
import { flag, parseFlags } from '../cli/flags';
import { runRangeWorkload } from '../workloads/range';
import { withPool } from './with-pool';

const flags = {
  ...connectionFlags,
  ...loadFlags,
  key: flag.string('key to read (written first)', 'foo', 'KEY'),
  prefix: flag.bool('read every key under --key instead of the one key'),
  'prefix-keys': flag.int('with --prefix: how many keys to write under it first', 100),
  consistency: flag.choice('l = linearizable, s = serializable', ['l', 's'] as const, 'l'),
  'val-size': flag.int('size of the values written first', 256, 0),
};

export const rangeCommand: Command = {
  name: 'range',
  summary: 'closed-loop KV/Range load on one key or a prefix',
  flags,
  async run(argv, out) {
    const parsed = parseFlags(argv, flags);
    const plan = loadPlanFrom(parsed);
    const result = await withPool(parsed, (pool) =>
      runRangeWorkload(pool, {
        clients: parsed.clients,
        ...plan,
        key: parsed.key,
        prefix: parsed.prefix,
        prefixKeys: parsed['prefix-keys'],
        consistency: parsed.consistency,
        valueSize: parsed['val-size'],
        serverPids: parsePids(parsed['server-pid']),
      }),
    );
    printResult(result, parsed.json, out);
  },
};
