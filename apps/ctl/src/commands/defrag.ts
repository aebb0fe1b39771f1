// `cairnctl defrag [--cluster]`: Maintenance.Defragment on each endpoint in turn (never all at once: a
// member defragmenting answers slowly), as etcdctl's.
import { type CommandSpec, ExitCode } from '../command';
import { CLUSTER_FLAG, shortError, targetEndpoints } from './cluster-endpoints';

export const defragCommand: CommandSpec = {
  name: 'defrag',
  summary: 'Defragment the storage of each endpoint (one member at a time)',
  args: { max: 0 },
  permission: 'the root role',
  flags: [CLUSTER_FLAG],
  run: async (ctx, args) => {
    let failed = false;
    for (const endpoint of await targetEndpoints(ctx, args)) {
      try {
        // Defragmenting a large backend takes long: the call gets a minute more than --command-timeout.
        const client = await ctx.client({
          endpoints: [endpoint],
          timeoutMs: ctx.globals.commandTimeoutMs + 60_000,
        });
        await client.call('etcdserverpb.Maintenance', 'Defragment', {});
        ctx.stdout.write(`Finished defragmenting etcd member[${endpoint}]\n`);
      } catch (error) {
        failed = true;
        ctx.stderr.write(`Failed to defragment etcd member[${endpoint}] (${shortError(error)})\n`);
      }
    }
    return failed ? ExitCode.Error : ExitCode.Success;
  },
};
