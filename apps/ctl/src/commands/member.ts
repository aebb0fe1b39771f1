// `cairnctl member list|add|promote|remove`: the Cluster service, printed as etcdctl 3.4 prints it.
import type {
  MemberAddResponse__Output,
  MemberListResponse__Output,
  MemberPromoteResponse__Output,
  MemberRemoveResponse__Output,
  Member__Output,
} from '@cairn/api';
import { type CommandSpec, type Context, ExitCode, UsageError } from '../command';
import { etcdJson, hexId, parseHexId } from '../etcd-json';

/** `%16x` as Go prints it: hex, space-padded to 16. */
const hex16 = (id: string | bigint) => hexId(id).padStart(16, ' ');

function memberId(text: string): bigint {
  try {
    return parseHexId(text);
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
}

export const MEMBER_COLUMNS = [
  { header: 'ID', get: (m: Member__Output) => hexId(m.ID) },
  { header: 'STATUS', get: (m: Member__Output) => (m.name ? 'started' : 'unstarted') },
  { header: 'NAME', get: (m: Member__Output) => m.name },
  { header: 'PEER ADDRS', get: (m: Member__Output) => m.peerURLs.join(',') },
  { header: 'CLIENT ADDRS', get: (m: Member__Output) => m.clientURLs.join(',') },
  { header: 'IS LEARNER', get: (m: Member__Output) => m.isLearner },
];

async function memberList(ctx: Context): Promise<MemberListResponse__Output> {
  const client = await ctx.client();
  return client.call<object, MemberListResponse__Output>('etcdserverpb.Cluster', 'MemberList', {});
}

const list: CommandSpec = {
  name: 'list',
  summary: 'List the members of the cluster',
  args: { max: 0 },
  run: async (ctx) => {
    const response = await memberList(ctx);
    ctx.print(response.members, {
      columns: MEMBER_COLUMNS,
      raw: etcdJson('etcdserverpb.MemberListResponse', response),
    });
    return ExitCode.Success;
  },
};

const add: CommandSpec = {
  name: 'add',
  summary: 'Add a member (or a learner) to the cluster',
  usage: 'NAME --peer-urls URL[,URL...] [--learner]',
  description:
    'Prints the flags the new member starts with (ETCD_INITIAL_CLUSTER... as etcdctl; `cairn` reads the same\nvariables). Scale up safely: add it as a learner, start it, then `member promote` once it caught up.',
  args: { min: 1, max: 1 },
  permission: 'the root role',
  flags: [
    {
      name: 'peer-urls',
      type: 'strings',
      help: "the new member's peer URLs, comma-separated",
      required: true,
    },
    { name: 'learner', type: 'boolean', default: false, help: 'add as a non-voting learner' },
  ],
  run: async (ctx, args) => {
    const name = args.positionals[0]!;
    const peerURLs = args.flags['peer-urls'] as string[];
    const client = await ctx.client();
    const response = await client.call<object, MemberAddResponse__Output>(
      'etcdserverpb.Cluster',
      'MemberAdd',
      {
        peerURLs,
        isLearner: args.flags['learner'] === true,
      },
    );
    const added = response.member!;
    if (ctx.output !== 'simple') {
      ctx.print(added, {
        columns: MEMBER_COLUMNS,
        raw: etcdJson('etcdserverpb.MemberAddResponse', response),
      });
      return ExitCode.Success;
    }
    const as = added.isLearner ? ' as learner ' : ' ';
    const cluster = hex16(response.header?.cluster_id ?? '0');
    const conf = response.members.flatMap((m) =>
      m.peerURLs.map((url) => `${m.ID === added.ID ? name : m.name}=${url}`),
    );
    ctx.stdout.write(
      `Member ${hex16(added.ID)} added${as}to cluster ${cluster}\n\n` +
        `ETCD_NAME=${JSON.stringify(name)}\n` +
        `ETCD_INITIAL_CLUSTER=${JSON.stringify(conf.join(','))}\n` +
        `ETCD_INITIAL_ADVERTISE_PEER_URLS=${JSON.stringify(added.peerURLs.join(','))}\n` +
        `ETCD_INITIAL_CLUSTER_STATE="existing"\n`,
    );
    return ExitCode.Success;
  },
};

function idCommand(
  name: 'promote' | 'remove',
  summary: string,
  method: string,
  verb: string,
  typeName: string,
): CommandSpec {
  return {
    name,
    summary,
    usage: 'MEMBER_ID',
    description: 'MEMBER_ID is the hex ID `member list` prints.',
    args: { min: 1, max: 1 },
    permission: 'the root role',
    run: async (ctx, args) => {
      const id = memberId(args.positionals[0]!);
      const client = await ctx.client();
      const response = await client.call<
        object,
        MemberPromoteResponse__Output | MemberRemoveResponse__Output
      >('etcdserverpb.Cluster', method, { ID: id.toString() });
      if (ctx.output === 'simple') {
        ctx.stdout.write(
          `Member ${hex16(id)} ${verb} cluster ${hex16(response.header?.cluster_id ?? '0')}\n`,
        );
      } else {
        ctx.print(response.members, { columns: MEMBER_COLUMNS, raw: etcdJson(typeName, response) });
      }
      return ExitCode.Success;
    },
  };
}

export const memberCommand: CommandSpec = {
  name: 'member',
  summary: 'Membership: list, add (as learner), promote, remove',
  subcommands: [
    list,
    add,
    idCommand(
      'promote',
      'Promote a learner to a voting member',
      'MemberPromote',
      'promoted in',
      'etcdserverpb.MemberPromoteResponse',
    ),
    idCommand(
      'remove',
      'Remove a member from the cluster',
      'MemberRemove',
      'removed from',
      'etcdserverpb.MemberRemoveResponse',
    ),
  ],
};
