// etcdctl's cluster commands against a 3-member cluster, output compared with etcd 3.4's: member list,
// endpoint status/health/hashkv --cluster, move-leader (and its two refusals).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  at,
  cleanupAll,
  describeResult,
  etcdctl,
  parseExactJson,
  startCluster,
  str,
  type EtcdctlResult,
  type ExactJson,
  type Member,
} from '../support';
import { ClusterView } from './harness/cluster-view';

let members: Member[];
let view: ClusterView;

beforeAll(async () => {
  members = await startCluster({ size: 3 });
  view = new ClusterView([...members]);
  await view.waitForLeader();
});

afterAll(async () => {
  view?.close();
  await cleanupAll();
});

const hex = (id: string) => BigInt(id).toString(16);

async function run(args: string[], endpoints: Member | readonly Member[] = members): Promise<EtcdctlResult> {
  return etcdctl(args, { endpoints, timeoutMs: 20_000 });
}

async function ok(args: string[], endpoints: Member | readonly Member[] = members): Promise<string> {
  const result = await run(args, endpoints);
  expect(result.code, `etcdctl ${args.join(' ')}\n${describeResult(result)}`).toBe(0);
  return result.stdout;
}

/** Member IDs (decimal) by member, in etcd's member list order: ascending ID. */
async function idsInOrder(): Promise<Array<{ member: Member; id: string }>> {
  const ids = await Promise.all(members.map(async (member) => ({ member, id: await view.idOf(member) })));
  return ids.sort((a, b) => (BigInt(a.id) < BigInt(b.id) ? -1 : 1));
}

describe('etcdctl against a 3-member cluster', () => {
  it('member list prints every member as "<hex id>, started, <name>, <peer url>, <client url>, false", by ID', async () => {
    const expected = (await idsInOrder()).map(
      ({ member, id }) =>
        `${hex(id)}, started, ${member.name}, ${member.peerUrl}, ${member.clientUrl}, false\n`,
    );
    expect(await ok(['member', 'list'], members[0]!)).toBe(expected.join(''));

    const json = parseExactJson(await ok(['member', 'list', '-w', 'json'], members[1]!));
    const listed = (at(json, 'members') as ExactJson[]).map((m) => ({
      id: str(m, 'ID'),
      name: str(m, 'name'),
      peerURLs: at(m, 'peerURLs'),
      clientURLs: at(m, 'clientURLs'),
    }));
    expect(listed).toEqual(
      (await idsInOrder()).map(({ member, id }) => ({
        id,
        name: member.name,
        peerURLs: [member.peerUrl],
        clientURLs: [member.clientUrl],
      })),
    );
    expect(str(json, 'header', 'member_id')).toBe(await view.idOf(members[1]!));
  });

  it('endpoint status --cluster -w table shows every member (found through one endpoint) and one leader', async () => {
    const { leader } = await view.waitForLeader();
    const statuses = await Promise.all(members.map((m) => view.status(m)));
    const table = await ok(['endpoint', 'status', '--cluster', '-w', 'table'], members[2]!);
    const rows = table
      .split('\n')
      .filter((line) => line.startsWith('|'))
      .map((line) =>
        line
          .split('|')
          .slice(1, -1)
          .map((cell) => cell.trim()),
      );
    expect(rows[0]).toEqual([
      'ENDPOINT',
      'ID',
      'VERSION',
      'DB SIZE',
      'IS LEADER',
      'IS LEARNER',
      'RAFT TERM',
      'RAFT INDEX',
      'RAFT APPLIED INDEX',
      'ERRORS',
    ]);
    const body = rows.slice(1);
    const version = (
      (await (await fetch(`${members[0]!.clientUrl}/version`)).json()) as { etcdserver: string }
    ).etcdserver;
    const leaderId = await view.idOf(leader);
    // Rows come in member list order (ascending ID).
    expect(body.map((row) => [row[0], row[1], row[2], row[4], row[5], row[9]])).toEqual(
      (await idsInOrder()).map(({ member, id }) => [
        member.clientUrl,
        hex(id),
        version,
        String(id === leaderId),
        'false',
        '',
      ]),
    );
    for (const row of body) {
      expect(row[3], `DB SIZE of ${row[0]}`).toMatch(/^\d+(\.\d+)? (B|kB|MB)$/);
      expect(row[6], `RAFT TERM of ${row[0]}`).toBe(statuses[0]!.term.toString());
      expect(row[7], `RAFT INDEX of ${row[0]}`).toMatch(/^[1-9]\d*$/);
      expect(row[8], `RAFT APPLIED INDEX of ${row[0]}`).toMatch(/^[1-9]\d*$/);
    }
  });

  it('endpoint health --cluster reports every member healthy (on stderr, as etcdctl 3.4 does)', async () => {
    const result = await run(['endpoint', 'health', '--cluster'], members[0]!);
    expect(result.code, describeResult(result)).toBe(0);
    const lines = result.stderr.split('\n').filter((line) => line.includes(' is healthy'));
    expect(lines.map((line) => line.split(' ')[0]).sort()).toEqual(members.map((m) => m.clientUrl).sort());
    for (const line of lines) {
      expect(line).toMatch(/^http:\/\/127\.0\.0\.1:\d+ is healthy: successfully committed proposal: took = /);
    }
  });

  it('endpoint hashkv --cluster prints one equal hash per member', async () => {
    await ok(['put', 'hashkv/k', 'v'], members[0]!);
    await view.waitConverged();
    const out = await ok(['endpoint', 'hashkv', '--cluster'], members[0]!);
    const lines = out.split('\n').filter(Boolean);
    expect(lines.map((line) => line.split(', ')[0]).sort()).toEqual(members.map((m) => m.clientUrl).sort());
    expect(new Set(lines.map((line) => line.split(', ')[1])).size, out).toBe(1);
    expect(lines[0]!.split(', ')[1]).toMatch(/^\d+$/);
  });

  it('move-leader hands leadership to the named member and prints "Leadership transferred from … to …"', async () => {
    const { leader, status } = await view.waitForLeader();
    const target = members.find((m) => m !== leader)!;
    const [leaderId, targetId] = [await view.idOf(leader), await view.idOf(target)];
    expect(await ok(['move-leader', hex(targetId)])).toBe(
      `Leadership transferred from ${hex(leaderId)} to ${hex(targetId)}\n`,
    );
    const after = await view.waitForLeader({ timeoutMs: 10_000 });
    expect(after.leader.name, 'leader after move-leader').toBe(target.name);
    await view.waitForTermAbove(target, status.term); // a transfer is an election: the term grows
    await ok(['put', 'moved/k', 'v'], leader);
  });

  it('move-leader through endpoints that do not include the leader fails with "no leader endpoint given"', async () => {
    const { leader } = await view.waitForLeader();
    const follower = members.find((m) => m !== leader)!;
    const result = await run(['move-leader', hex(await view.idOf(follower))], follower);
    expect(result.code, describeResult(result)).toBe(128);
    expect(result.stderr).toContain(`Error: no leader endpoint given at [${follower.clientUrl}]`);
  });

  it('move-leader to an ID that is not a member fails with "bad leader transferee" (FailedPrecondition)', async () => {
    const result = await run(['move-leader', '1234abcd']);
    expect(result.code, describeResult(result)).toBe(1);
    expect(result.stderr).toContain('Error: etcdserver: bad leader transferee');
    expect(result.stderr).toContain('code = FailedPrecondition desc = etcdserver: bad leader transferee');
  });
});
