// `cairnctl endpoint status|health|hashkv [--cluster]`: one call per endpoint, printed in etcdctl 3.4's
// columns; an endpoint that fails is reported on stderr (status) or as unhealthy (health), exit 1.
import type { AlarmResponse__Output, HashKVResponse__Output, StatusResponse__Output } from '@cairn/api';
import { type CommandSpec, ExitCode } from '../command';
import { humanBytes } from '../context';
import { etcdJson, goDuration, hexId } from '../etcd-json';
import { CLUSTER_FLAG, shortError, targetEndpoints } from './cluster-endpoints';

const ALARM_NAMES = ['NONE', 'NOSPACE', 'CORRUPT'];

interface EpStatus {
  endpoint: string;
  status: StatusResponse__Output;
}

export const STATUS_COLUMNS = [
  { header: 'ENDPOINT', get: (r: EpStatus) => r.endpoint },
  { header: 'ID', get: (r: EpStatus) => hexId(r.status.header?.member_id ?? '0') },
  { header: 'VERSION', get: (r: EpStatus) => r.status.version },
  { header: 'DB SIZE', get: (r: EpStatus) => humanBytes(Number(r.status.dbSize)) },
  { header: 'IS LEADER', get: (r: EpStatus) => r.status.header?.member_id === r.status.leader },
  { header: 'IS LEARNER', get: (r: EpStatus) => r.status.isLearner },
  { header: 'RAFT TERM', get: (r: EpStatus) => r.status.raftTerm },
  { header: 'RAFT INDEX', get: (r: EpStatus) => r.status.raftIndex },
  { header: 'RAFT APPLIED INDEX', get: (r: EpStatus) => r.status.raftAppliedIndex },
  { header: 'ERRORS', get: (r: EpStatus) => r.status.errors.join(', ') },
];

const status: CommandSpec = {
  name: 'status',
  summary: 'Print the status of each endpoint (member ID, leader, Raft term and index, db size, errors)',
  args: { max: 0 },
  flags: [CLUSTER_FLAG],
  run: async (ctx, args) => {
    const rows: EpStatus[] = [];
    let failed = false;
    for (const endpoint of await targetEndpoints(ctx, args)) {
      try {
        const client = await ctx.client({ endpoints: [endpoint] });
        rows.push({
          endpoint,
          status: await client.call<object, StatusResponse__Output>('etcdserverpb.Maintenance', 'Status', {}),
        });
      } catch (error) {
        failed = true;
        ctx.stderr.write(`Failed to get the status of endpoint ${endpoint} (${shortError(error)})\n`);
      }
    }
    ctx.print(rows, {
      columns: STATUS_COLUMNS,
      raw: rows.map((r) => ({
        Endpoint: r.endpoint,
        Status: etcdJson('etcdserverpb.StatusResponse', r.status),
      })),
    });
    return failed ? ExitCode.Error : ExitCode.Success;
  },
};

interface EpHealth {
  endpoint: string;
  health: boolean;
  took: string;
  error?: string;
}

const health: CommandSpec = {
  name: 'health',
  summary: 'Check the health of each endpoint (a linearizable read, then no active alarm)',
  description:
    'As etcdctl: an endpoint is healthy when a linearizable Get commits (PermissionDenied counts as healthy:\nthe member answered) and it reports no active alarm.',
  args: { max: 0 },
  flags: [CLUSTER_FLAG],
  run: async (ctx, args) => {
    const endpoints = await targetEndpoints(ctx, args);
    const rows = await Promise.all(
      endpoints.map(async (endpoint): Promise<EpHealth> => {
        const started = performance.now();
        try {
          const client = await ctx.client({ endpoints: [endpoint] });
          try {
            await client.get('health');
          } catch (error) {
            if ((error as { code?: unknown }).code !== 7) throw error; // PermissionDenied: the member answered
          }
          const took = goDuration(performance.now() - started);
          const alarms = await client.call<object, AlarmResponse__Output>(
            'etcdserverpb.Maintenance',
            'Alarm',
            {
              action: 0,
              memberID: '0',
              alarm: 0,
            },
          );
          if (alarms.alarms.length > 0) {
            const names = alarms.alarms.map((a) => ALARM_NAMES[a.alarm] ?? String(a.alarm)).join(' ');
            return { endpoint, health: false, took, error: `Active Alarm(s): ${names}` };
          }
          return { endpoint, health: true, took };
        } catch (error) {
          return {
            endpoint,
            health: false,
            took: goDuration(performance.now() - started),
            error: shortError(error),
          };
        }
      }),
    );
    // etcdctl 3.4 prints the simple form on stderr (its simplePrinter.EndpointHealth): scripts rely on it.
    if (ctx.output === 'simple') {
      for (const r of rows)
        ctx.stderr.write(
          r.health
            ? `${r.endpoint} is healthy: successfully committed proposal: took = ${r.took}\n`
            : `${r.endpoint} is unhealthy: failed to commit proposal: ${r.error ?? ''}\n`,
        );
    } else {
      ctx.print(rows, {
        columns: [
          { header: 'ENDPOINT', get: (r) => r.endpoint },
          { header: 'HEALTH', get: (r) => r.health },
          { header: 'TOOK', get: (r) => r.took },
          { header: 'ERROR', get: (r) => r.error ?? '' },
        ],
      });
    }
    if (rows.some((r) => !r.health)) {
      ctx.stderr.write('Error: unhealthy cluster\n');
      return ExitCode.Error;
    }
    return ExitCode.Success;
  },
};

interface EpHash {
  endpoint: string;
  hash: HashKVResponse__Output;
}

const hashkv: CommandSpec = {
  name: 'hashkv',
  summary: "Print each endpoint's KV history hash (equal on members in sync)",
  args: { max: 0 },
  flags: [CLUSTER_FLAG, { name: 'rev', type: 'number', default: 0, help: 'revision to hash at (0: latest)' }],
  run: async (ctx, args) => {
    const rows: EpHash[] = [];
    let failed = false;
    for (const endpoint of await targetEndpoints(ctx, args)) {
      try {
        const client = await ctx.client({ endpoints: [endpoint] });
        const hash = await client.call<object, HashKVResponse__Output>('etcdserverpb.Maintenance', 'HashKV', {
          revision: String(args.flags['rev']),
        });
        rows.push({ endpoint, hash });
      } catch (error) {
        failed = true;
        ctx.stderr.write(`Failed to get the hash of endpoint ${endpoint} (${shortError(error)})\n`);
      }
    }
    ctx.print(rows, {
      columns: [
        { header: 'ENDPOINT', get: (r) => r.endpoint },
        { header: 'HASH', get: (r) => r.hash.hash },
      ],
      raw: rows.map((r) => ({
        Endpoint: r.endpoint,
        HashKV: etcdJson('etcdserverpb.HashKVResponse', r.hash),
      })),
    });
    return failed ? ExitCode.Error : ExitCode.Success;
  },
};

export const endpointCommand: CommandSpec = {
  name: 'endpoint',
  summary: 'Endpoint checks: status, health, hashkv',
  subcommands: [status, health, hashkv],
};
