// The endpoints a per-endpoint command visits: --endpoints, or with --cluster every member's client URLs
// from MemberList (etcdctl's endpointsFromCluster).
import type { MemberListResponse__Output } from '@cairn/api';
import type { Context, FlagSpec, ParsedArgs } from '../command';

export const CLUSTER_FLAG: FlagSpec = {
  name: 'cluster',
  type: 'boolean',
  default: false,
  help: "use all members' client URLs from the member list instead of --endpoints",
};

export async function targetEndpoints(ctx: Context, args: ParsedArgs): Promise<string[]> {
  if (args.flags['cluster'] !== true) return ctx.globals.endpoints;
  const client = await ctx.client();
  const response = await client.call<object, MemberListResponse__Output>(
    'etcdserverpb.Cluster',
    'MemberList',
    {},
  );
  return [...new Set(response.members.flatMap((m) => m.clientURLs))];
}

/** The error text etcdctl shows for a failed call (gRPC details without the code prefix). */
export function shortError(error: unknown): string {
  const code = (error as { code?: unknown } | null)?.code;
  if (code === 4) return 'context deadline exceeded';
  const details = (error as { details?: unknown } | null)?.details;
  if (typeof details === 'string' && details) return details;
  const message = error instanceof Error ? error.message : String(error);
  return message.replace(/^\d+ [A-Z_]+: /, '');
}
