// Data corruption detection (etcd's --experimental-corrupt-check-time and --experimental-initial-corrupt-check):
// a 3-member cluster checks its members every second; one member is stopped, a stored value is changed in its
// backend behind its back, and it is restarted. The leader's check raises the CORRUPT alarm (member ID 0, as
// etcd 3.4.23 raises it), `etcdctl alarm list` shows it, writes fail with etcd's "etcdserver: corrupt cluster"
// while reads go on; the corrupted member restarted with the initial check refuses to start; `alarm disarm`
// clears the alarm. Green against etcd 3.4 too: there the value is changed in the bbolt file in place (bbolt
// keeps no checksum of leaf pages), for Cairn through LevelDB (classic-level), the same way in effect.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ClassicLevel } from 'classic-level';
import { afterAll, expect, it } from 'vitest';
import {
  type Member,
  at,
  cleanupAll,
  currentTarget,
  describeResult,
  etcdctlAt,
  parseExactJson,
  restartMember,
  startCluster,
  stopMember,
  waitFor,
} from '../support';

afterAll(() => cleanupAll());

const MARKER = 'corruption-check-original-value-0001';
const PATCHED = 'corruption-check-CHANGED!-value-0001';

/** Changes the stored bytes of MARKER (every copy) in a stopped member's backend; how many were changed. */
async function corruptBackend(member: Member): Promise<number> {
  if (currentTarget().kind === 'etcd') {
    // bbolt: values sit as plain bytes in leaf pages; a same-length change keeps the protobuf valid.
    const file = join(member.plan.dataDir, 'member', 'snap', 'db');
    const bytes = readFileSync(file);
    let changed = 0;
    for (let at = bytes.indexOf(MARKER); at >= 0; at = bytes.indexOf(MARKER, at + 1)) {
      bytes.write(PATCHED, at);
      changed++;
    }
    writeFileSync(file, bytes);
    return changed;
  }
  // Cairn: one LevelDB; the 'key' bucket's entries start with byte 0x01 (libs/storage bucket.ts) and hold
  // etcd's mvccpb.KeyValue.
  const db = new ClassicLevel<Buffer, Buffer>(join(member.plan.dataDir, 'member', 'db'), {
    keyEncoding: 'buffer',
    valueEncoding: 'buffer',
  });
  await db.open();
  let changed = 0;
  try {
    for await (const [key, value] of db.iterator({ gte: Buffer.of(0x01), lt: Buffer.of(0x02) })) {
      const at = value.indexOf(MARKER);
      if (at < 0) continue;
      const patched = Buffer.from(value);
      patched.write(PATCHED, at);
      await db.put(key, patched);
      changed++;
    }
  } finally {
    await db.close();
  }
  return changed;
}

it(
  "raises CORRUPT when a member's backend was changed, refuses writes until disarmed, and a member that " +
    'starts with the initial check on corrupted data refuses to start',
  async () => {
    // A small --snapshot-count: etcd 3.4 knows its peers at start only from a snapshot (its initial check
    // compares with nobody before the first one); the writes below pass it.
    const checkFlags = ['--experimental-corrupt-check-time', '1s', '--snapshot-count', '10'];
    const members = await startCluster({ size: 3, extraFlags: checkFlags });
    const [m1, m2, m3] = members as [Member, Member, Member];
    const cluster = etcdctlAt(members);
    const atM1 = etcdctlAt(m1);

    const fillers = Array.from({ length: 12 }, (_, i) => [`/corrupt/filler/${i}`, `f${i}`]);
    for (const [key, value] of [
      ['/corrupt/a', 'one'],
      ['/corrupt/victim', MARKER],
      ...fillers,
      ['/corrupt/b', 'two'],
    ]) {
      const put = await cluster(['put', key!, value!]);
      expect(put.code, describeResult(put)).toBe(0);
    }
    // m3 has applied every write before it stops (a serializable read answers from its own store).
    await waitFor(
      async () => {
        const got = await etcdctlAt(m3)(['get', '--consistency=s', '/corrupt/b', '--print-value-only']);
        return got.stdout.trim() === 'two' ? true : undefined;
      },
      { timeoutMs: 10_000, what: 'm3 to apply the writes' },
    );
    // No check has anything to find yet.
    expect((await atM1(['alarm', 'list'])).stdout.trim()).toBe('');

    await stopMember(m3);
    expect(await corruptBackend(m3)).toBeGreaterThan(0);
    // /health turns unhealthy once the alarm is raised: do not wait for it.
    await restartMember(m3, { waitReady: false });

    const alarms = await waitFor(
      async () => {
        const list = await atM1(['alarm', 'list']);
        return /alarm:CORRUPT/.test(list.stdout) ? list.stdout : undefined;
      },
      { timeoutMs: 20_000, intervalMs: 250, what: 'the CORRUPT alarm' },
    ).catch((err: unknown) => {
      // What the members' checks logged, to tell "not detected" from "not raised".
      const logged = members.map((m) => {
        const lines = `${m.process?.stdout() ?? ''}${m.process?.stderr() ?? ''}`.split('\n');
        return `${m.name}:\n${lines
          .filter((l) => /corrupt|hash/i.test(l))
          .slice(-10)
          .join('\n')}`;
      });
      throw new Error(`${String(err)}\n${logged.join('\n')}`);
    });
    // etcdctl prints the AlarmMember in proto text, which leaves out the zero member ID.
    expect(alarms.trim().split('\n')).toEqual([expect.stringMatching(/^alarm:CORRUPT\s*$/)]);
    const listed = await atM1(['alarm', 'list', '-w', 'json']);
    // In JSON too: member ID 0 is omitted; 2 is CORRUPT.
    expect(at(parseExactJson(listed.stdout), 'alarms')).toEqual([{ alarm: '2' }]);
    const status = await atM1(['endpoint', 'status', '-w', 'json']);
    expect(at(parseExactJson(status.stdout), 0, 'Status', 'errors')).toEqual(['alarm:CORRUPT ']);

    // Writes are refused everywhere with etcd's error (gRPC DataLoss); reads are served.
    for (const member of [m1, m2]) {
      const put = await etcdctlAt(member)(['put', '/corrupt/after', 'x']);
      expect(put.code, describeResult(put)).not.toBe(0);
      expect(put.stderr).toContain('Error: etcdserver: corrupt cluster');
      expect(put.stderr).toContain('code = DataLoss');
    }
    const del = await atM1(['del', '/corrupt/a']);
    expect(del.stderr, describeResult(del)).toContain('etcdserver: corrupt cluster');
    const get = await atM1(['get', '/corrupt/a', '--print-value-only']);
    expect(get.stdout.trim(), describeResult(get)).toBe('one');

    // The corrupted member, started with the initial check, compares itself with its peers and refuses to start.
    await stopMember(m3);
    await restartMember(m3, {
      extraFlags: [...checkFlags, '--experimental-initial-corrupt-check'],
      waitReady: false,
    });
    const proc = m3.process!;
    const exit = await Promise.race([
      proc.exited,
      new Promise<undefined>((resolve) => setTimeout(() => resolve(undefined), 20_000)),
    ]);
    expect(exit, `m3 still running\n${proc.describeOutput()}`).toBeDefined();
    expect(exit!.code, proc.describeOutput()).not.toBe(0);
    expect(proc.stdout() + proc.stderr()).toContain('found data inconsistency with peers');

    // Disarm (m3 is down, so no check finds it again): writes are served again.
    const disarm = await atM1(['alarm', 'disarm']);
    expect(disarm.code, describeResult(disarm)).toBe(0);
    expect(disarm.stdout.trim()).toBe('alarm:CORRUPT');
    expect((await atM1(['alarm', 'list'])).stdout.trim()).toBe('');
    const put = await etcdctlAt([m1, m2])(['put', '/corrupt/after', 'x']);
    expect(put.code, describeResult(put)).toBe(0);
  },
  60_000,
);
