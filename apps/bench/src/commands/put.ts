import { printResult, type Command } from '../cli/command';
import { connectionFlags, loadFlags, loadPlanFrom, parsePids } from '../cli/common-flags';
import { flag, parseFlags } from '../cli/flags';
import { runPutWorkload } from '../workloads/put';
import { withPool } from './with-pool';

const flags = {
  ...connectionFlags,
  ...loadFlags,
  'key-size': flag.int('key size in bytes', 16),
  'val-size': flag.int('value size in bytes', 256, 0),
  'key-space': flag.int('number of distinct keys', 100_000),
  'seq-keys': flag.bool('write keys in order instead of at random'),
};

export const putCommand: Command = {
  name: 'put',
  summary: 'closed-loop KV/Put load',
  flags,
  async run(argv, out) {
    const parsed = parseFlags(argv, flags);
    const plan = loadPlanFrom(parsed);
    const result = await withPool(parsed, (pool) =>
      runPutWorkload(pool, {
        clients: parsed.clients,
        ...plan,
        keySize: parsed['key-size'],
        valueSize: parsed['val-size'],
        keySpace: parsed['key-space'],
        sequentialKeys: parsed['seq-keys'],
        serverPids: parsePids(parsed['server-pid']),
      }),
    );
    printResult(result, parsed.json, out);
  },
};
