// `cairnctl alarm list|disarm`: Maintenance.Alarm, printed as etcdctl 3.4 does (`memberID:<id> alarm:<NAME> `,
// the proto text form; a zero member ID is left out, as for CORRUPT).
import type { AlarmMember__Output, AlarmResponse__Output } from '@cairn/api';
import { type CommandSpec, type Context, ExitCode } from '../command';
import { etcdJson } from '../etcd-json';

const ALARM_NAMES = ['NONE', 'NOSPACE', 'CORRUPT'];
const ACTION = { GET: 0, ACTIVATE: 1, DEACTIVATE: 2 } as const;

function alarmText(alarm: AlarmMember__Output): string {
  const id = alarm.memberID !== '0' ? `memberID:${alarm.memberID} ` : '';
  return `${id}alarm:${ALARM_NAMES[alarm.alarm] ?? alarm.alarm} `;
}

function printAlarms(ctx: Context, response: AlarmResponse__Output): number {
  ctx.print(response.alarms, {
    columns: [
      { header: 'MEMBER ID', get: (a) => BigInt(a.memberID).toString(16) },
      { header: 'ALARM', get: (a) => ALARM_NAMES[a.alarm] ?? a.alarm },
    ],
    raw: etcdJson('etcdserverpb.AlarmResponse', response),
    simple: (rows) => rows.map((a) => `${alarmText(a)}\n`).join(''),
  });
  return ExitCode.Success;
}

async function listAlarms(ctx: Context): Promise<AlarmResponse__Output> {
  const client = await ctx.client();
  return client.call<object, AlarmResponse__Output>('etcdserverpb.Maintenance', 'Alarm', {
    action: ACTION.GET,
    memberID: '0',
    alarm: 0,
  });
}

const list: CommandSpec = {
  name: 'list',
  summary: 'List the active alarms',
  args: { max: 0 },
  run: async (ctx) => printAlarms(ctx, await listAlarms(ctx)),
};

const disarm: CommandSpec = {
  name: 'disarm',
  summary: 'Disarm every active alarm (and print the ones disarmed)',
  args: { max: 0 },
  permission: 'the root role',
  run: async (ctx) => {
    const active = await listAlarms(ctx);
    const client = await ctx.client();
    let last: AlarmResponse__Output = { header: active.header, alarms: [] };
    const disarmed: AlarmMember__Output[] = [];
    for (const alarm of active.alarms) {
      last = await client.call<object, AlarmResponse__Output>('etcdserverpb.Maintenance', 'Alarm', {
        action: ACTION.DEACTIVATE,
        memberID: alarm.memberID,
        alarm: alarm.alarm,
      });
      disarmed.push(...last.alarms);
    }
    return printAlarms(ctx, { header: last.header, alarms: disarmed });
  },
};

export const alarmCommand: CommandSpec = {
  name: 'alarm',
  summary: 'Alarms: list, disarm',
  subcommands: [list, disarm],
};
