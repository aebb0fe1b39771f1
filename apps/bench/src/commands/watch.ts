import { printResult, type Command } from '../cli/command';
import { connectionFlags, parsePids } from '../cli/common-flags';
import { flag, parseFlags, UsageError } from '../cli/flags';
import { runWatchWorkload } from '../workloads/watch';
import { withPool } from './with-pool';

const flags = {
  ...connectionFlags,
  watchers: flag.int('watchers on the benchmark prefix (0: the puts alone, as a baseline)', 1, 0),
  streams: flag.int('watch streams the watchers are spread over', 1, 0),
  puts: flag.int('keys put under the prefix while watching', 10_000),
  clients: flag.int('puts in flight at once', 64),
  'val-size': flag.int('value size in bytes', 256, 0),
  'delivery-timeout': flag.duration('how long to wait for the last events after the last put', 30_000),
};

export const watchCommand: Command = {
  name: 'watch',
  summary: 'put→event latency and delivery of every event to every watcher',
  flags,
  async run(argv, out) {
    const parsed = parseFlags(argv, flags);
    if (parsed.streams > parsed.watchers) throw new UsageError('--streams cannot exceed --watchers');
    if (parsed.watchers > 0 && parsed.streams === 0) throw new UsageError('--streams must be at least 1');
    const result = await withPool(parsed, (pool) =>
      runWatchWorkload(pool, {
        watchers: parsed.watchers,
        streams: parsed.streams,
        puts: parsed.puts,
        putClients: parsed.clients,
        valueSize: parsed['val-size'],
        deliveryTimeoutMs: parsed['delivery-timeout'],
        serverPids: parsePids(parsed['server-pid']),
      }),
    );
    printResult(result, parsed.json, out);
  },
};
