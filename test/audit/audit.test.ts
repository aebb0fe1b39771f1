// The audit archive of the BUILT server (`npm run build` first), the same suite against SQLite (the default,
// in the data dir) and a real PostgreSQL server (--audit-db-url; a throwaway cluster started here and
// stopped by PID): history past compaction over REST, values above the threshold kept as a hash, a kill -9
// in the middle of a write load followed by a restart (every revision archived exactly once), and a
// 3-member cluster whose members archive the same history (sharing one PostgreSQL database: written once).
import { createHash } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DataSource } from 'typeorm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AuditEventPageView, AuditEventView, AuditStatusView } from '@cairn/audit';
import { type PostgresServer, postgresMissingReason, startPostgres } from '../../libs/audit/test/postgres';
import {
  cleanupAll,
  killMember,
  restartMember,
  startCluster,
  startMember,
  stopMember,
  waitFor,
  type Member,
} from '../support';

const pgMissing = postgresMissingReason();
if (pgMissing) process.stderr.write(`\n*** test/audit: PostgreSQL tests SKIPPED: ${pgMissing} ***\n\n`);
let pg: PostgresServer | undefined;
let databases = 0;

beforeAll(async () => {
  if (pgMissing) return;
  pg = await startPostgres();
  // Let the run-level cleanup kill the postmaster if this worker dies.
  const pidDir = process.env['CAIRN_E2E_PID_DIR'];
  if (pidDir) {
    mkdirSync(pidDir, { recursive: true });
    writeFileSync(join(pidDir, String(pg.pid)), pg.binary);
  }
}, 90_000);

afterAll(async () => {
  await cleanupAll();
  pg?.stop();
});

type Json = Record<string, unknown>;
const b64 = (text: string | Buffer): string => Buffer.from(text).toString('base64');

async function gateway(member: Member, path: string, body: Json): Promise<Json> {
  const response = await fetch(`${member.clientUrl}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
    signal: AbortSignal.timeout(10_000),
  });
  const json = (await response.json()) as Json;
  if (response.status !== 200) throw new Error(`${path}: ${response.status} ${JSON.stringify(json)}`);
  return json;
}

function headerRevision(reply: Json): number {
  return Number((reply['header'] as { revision: string }).revision);
}

async function put(member: Member, key: string, value: string | Buffer): Promise<number> {
  return headerRevision(await gateway(member, '/v3/kv/put', { key: b64(key), value: b64(value) }));
}

/** A put that retries a proposal timeout (a busy 2-core machine running a 3-member cluster). */
async function putRetrying(member: Member, key: string, value: string): Promise<number> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await put(member, key, value);
    } catch (error) {
      if (attempt >= 5 || !/timed out/.test(String(error))) throw error;
    }
  }
}

async function currentRevision(member: Member): Promise<number> {
  return headerRevision(await gateway(member, '/v3/kv/range', { key: b64('\0'), count_only: true }));
}

async function audit<T>(member: Member, path: string): Promise<T> {
  const response = await fetch(`${member.clientUrl}/api/audit/v1/${path}`, {
    signal: AbortSignal.timeout(10_000),
  });
  const body = (await response.json()) as T;
  if (response.status !== 200) throw new Error(`GET ${path}: ${response.status} ${JSON.stringify(body)}`);
  return body;
}

/** Waits until the member's archive has everything up to the member's current revision. */
async function archiveCaughtUp(member: Member, timeoutMs = 20_000): Promise<number> {
  const target = await currentRevision(member);
  return waitFor(
    async () => {
      const status = await audit<AuditStatusView>(member, 'status');
      return status.lastArchivedRevision >= target ? status.lastArchivedRevision : undefined;
    },
    { timeoutMs, what: `${member.name}'s audit archive to reach revision ${target}` },
  );
}

/** Every archived event under `prefix`, page by page. */
async function allEvents(member: Member, prefix: string): Promise<AuditEventView[]> {
  const events: AuditEventView[] = [];
  let cursor: string | undefined;
  do {
    const query = new URLSearchParams({ prefix, limit: '1000', ...(cursor ? { cursor } : {}) });
    const page = await audit<AuditEventPageView>(member, `events?${query}`);
    events.push(...page.events);
    cursor = page.next;
  } while (cursor);
  return events;
}

describe.each([{ backend: 'sqlite' as const }, { backend: 'postgres' as const }])(
  'audit archive of the server on $backend',
  ({ backend }) => {
    const skip = backend === 'postgres' && pgMissing !== undefined;

    /** The member's archive database, opened directly (SQLite file in its data dir, or its PostgreSQL URL). */
    async function openArchiveDatabase(member: Member): Promise<DataSource> {
      const flag = member.extraFlags.indexOf('--audit-db-url');
      const db =
        backend === 'sqlite'
          ? new DataSource({
              type: 'better-sqlite3',
              database: join(member.plan.dataDir, 'audit', 'audit.sqlite'),
              readonly: true,
            })
          : new DataSource({ type: 'postgres', url: member.extraFlags[flag + 1] });
      return db.initialize();
    }

    async function dbFlags(): Promise<string[]> {
      if (backend === 'sqlite') return [];
      return ['--audit-db-url', await pg!.createDatabase(`e2e_${++databases}`)];
    }

    it.skipIf(skip)(
      'serves a key’s history past compaction over REST and keeps values above the threshold as their sha256',
      async () => {
        const member = await startMember({
          extraFlags: [...(await dbFlags()), '--audit-value-max-bytes', '64'],
        });
        const key = '/cairn/config/shop/payments/config.yaml';
        const revisions: number[] = [];
        for (let i = 1; i <= 5; i++) revisions.push(await put(member, key, `rate: ${i}`));
        const big = Buffer.alloc(1000, 'x');
        const bigRevision = await put(member, '/cairn/config/shop/payments/blob', big);
        await put(member, '/elsewhere/not-archived', 'x');
        await gateway(member, '/v3/kv/compaction', { revision: String(bigRevision), physical: true });
        // MVCC refuses the old revision...
        const old = await fetch(`${member.clientUrl}/v3/kv/range`, {
          method: 'POST',
          body: JSON.stringify({ key: b64(key), revision: String(revisions[1]) }),
        });
        expect(JSON.stringify(await old.json())).toMatch(/compacted/);
        // ...the archive answers.
        await archiveCaughtUp(member);
        const history = await audit<AuditEventPageView>(member, `history?key=${encodeURIComponent(key)}`);
        expect(history.events.map((e) => [e.revision, e.operation, e.value])).toEqual(
          revisions.map((revision, i) => [revision, 'PUT', `rate: ${i + 1}`]).reverse(),
        );
        const asOf = await audit<AuditEventView>(
          member,
          `value?key=${encodeURIComponent(key)}&revision=${revisions[1]}`,
        );
        expect(asOf.value).toBe('rate: 2');
        const blob = await audit<AuditEventPageView>(
          member,
          `history?key=${encodeURIComponent('/cairn/config/shop/payments/blob')}`,
        );
        expect(blob.events[0]).toMatchObject({
          valueStored: false,
          value: null,
          valueSize: 1000,
          valueSha256: createHash('sha256').update(big).digest('hex'),
        });
        const everything = await allEvents(member, '');
        expect(everything.some((e) => e.key.startsWith('/elsewhere/'))).toBe(false);
        const status = await audit<AuditStatusView>(member, 'status');
        expect(status).toMatchObject({ backend, ready: true, gaps: [], valueMaxBytes: 64 });
        const missing = await fetch(
          `${member.clientUrl}/api/audit/v1/value?key=${encodeURIComponent(key)}&revision=0`,
        );
        expect(missing.status).toBe(404);
        await stopMember(member);
      },
    );

    it.skipIf(skip)(
      'after a kill -9 in the middle of a write load and a restart, every revision is archived exactly once',
      async () => {
        const member = await startMember({ extraFlags: [...(await dbFlags()), '--audit-all-keys'] });
        const acknowledged: Array<{ key: string; revision: number }> = [];
        let stop = false;
        const writer = async (worker: number): Promise<void> => {
          for (let n = 0; !stop; n++) {
            const key = `/cairn/config/load/w${worker}-${n}`;
            try {
              acknowledged.push({ key, revision: await put(member, key, `value ${worker}-${n}`) });
            } catch {
              return; // the server is gone
            }
          }
        };
        const writers = [0, 1, 2, 3].map((worker) => writer(worker));
        await waitFor(() => (acknowledged.length >= 400 ? true : undefined), {
          timeoutMs: 30_000,
          what: '400 acknowledged writes',
        });
        await killMember(member);
        stop = true;
        await Promise.all(writers);

        await restartMember(member);
        await archiveCaughtUp(member);
        const current = await currentRevision(member);
        const events = await allEvents(member, '');
        // With --audit-all-keys every revision has at least one archived change.
        const positions = events.map((e) => `${e.revision}.${e.subRevision}`);
        expect(new Set(positions).size).toBe(positions.length);
        const revisions = [...new Set(events.map((e) => e.revision))];
        const firstRevision = revisions[0];
        expect(revisions).toEqual(
          Array.from({ length: current - firstRevision + 1 }, (_, i) => firstRevision + i),
        );
        const byRevision = new Map(events.map((e) => [e.revision, e]));
        const lost = acknowledged.filter((w) => byRevision.get(w.revision)?.key !== w.key);
        expect(lost).toEqual([]);
        const replayed = events.filter((e) => e.replayed).length;
        process.stderr.write(
          `audit ${backend}: ${acknowledged.length} acknowledged writes before kill -9, ${events.length} archived changes, ${replayed} replayed from MVCC after the restart\n`,
        );

        // The database itself: no (revision, sub) twice.
        await stopMember(member);
        const db = await openArchiveDatabase(member);
        try {
          const duplicates = await db.query<Array<{ n: number | string }>>(
            'SELECT COUNT(*) AS n FROM (SELECT rev_main, rev_sub FROM cairn_audit_event GROUP BY archive, rev_main, rev_sub HAVING COUNT(*) > 1) d',
          );
          expect(Number(duplicates[0].n)).toBe(0);
          const count = await db.query<Array<{ n: number | string }>>(
            'SELECT COUNT(*) AS n FROM cairn_audit_event',
          );
          expect(Number(count[0].n)).toBe(events.length);
        } finally {
          await db.destroy();
        }
      },
    );

    it.skipIf(skip)(
      'every member of a 3-member cluster archives the same history (one shared PostgreSQL database: each change written once)',
      async () => {
        // One database for the whole cluster on PostgreSQL; each member's own SQLite file otherwise.
        const members = await startCluster({ size: 3, extraFlags: await dbFlags() });
        const written: number[] = [];
        for (let i = 0; i < 30; i++) {
          written.push(await put(members[i % 3], `/cairn/registry/prod/orders/i${i % 6}`, `{"n":${i}}`));
        }
        const views: string[][] = [];
        for (const member of members) {
          await archiveCaughtUp(member);
          const events = await allEvents(member, '/cairn/registry/');
          views.push(events.map((e) => `${e.revision}.${e.subRevision} ${e.key} ${e.valueSha256}`));
        }
        expect(views[0]).toHaveLength(30);
        expect(views[0].map((line) => Number(line.split('.')[0]))).toEqual(written);
        expect(views[1]).toEqual(views[0]);
        expect(views[2]).toEqual(views[0]);
        if (backend === 'postgres') {
          const db = await openArchiveDatabase(members[0]);
          try {
            const rows = await db.query<Array<{ n: string }>>('SELECT COUNT(*) AS n FROM cairn_audit_event');
            expect(Number(rows[0].n)).toBe(30);
            const cursors = await db.query<Array<{ member: string }>>(
              'SELECT member FROM cairn_audit_cursor',
            );
            expect(cursors).toHaveLength(3);
          } finally {
            await db.destroy();
          }
        }
        await Promise.all(members.map((member) => stopMember(member)));
      },
    );
  },
);

describe('audit archive across a snapshot install', () => {
  it('a member that catches up through a leader snapshot records the compacted revisions as a gap and keeps archiving', async () => {
    const members = await startCluster({ size: 3, extraFlags: ['--snapshot-count', '20'] });
    const [m1, , m3] = members;
    await put(m1, '/cairn/config/snap/start', 'first');
    await archiveCaughtUp(m3);
    const before = (await audit<AuditStatusView>(m3, 'status')).lastArchivedRevision;
    await stopMember(m3);
    let last = 0;
    for (let i = 0; i < 120; i += 10) {
      const revisions = await Promise.all(
        Array.from({ length: 10 }, (_, j) =>
          putRetrying(m1, `/cairn/config/snap/k${(i + j) % 5}`, `v${i + j}`),
        ),
      );
      last = Math.max(last, ...revisions);
    }
    await gateway(m1, '/v3/kv/compaction', { revision: String(last), physical: true });
    await restartMember(m3);
    await waitFor(() => (m3.process!.stderr().includes('installed the leader snapshot') ? true : undefined), {
      timeoutMs: 20_000,
      what: 'm3 to install the leader snapshot',
    });
    const after = await putRetrying(m1, '/cairn/config/snap/after', 'x');
    await waitFor(
      async () =>
        (await audit<AuditStatusView>(m3, 'status')).lastArchivedRevision >= after ? true : undefined,
      { timeoutMs: 20_000, what: `m3's archive to reach revision ${after}` },
    );
    const status = await audit<AuditStatusView>(m3, 'status');
    expect(status.gaps).toHaveLength(1);
    expect(status.gaps[0]).toMatchObject({ fromRevision: before + 1, toRevision: last - 1 });
    const events = await allEvents(m3, '/cairn/config/snap/');
    expect(events.map((e) => e.revision)).toEqual(
      expect.arrayContaining([before, last, after].filter((revision) => revision > 0)),
    );
    // The members that saw every write archived all of them.
    await archiveCaughtUp(m1);
    expect(await allEvents(m1, '/cairn/config/snap/')).toHaveLength(122);
    await Promise.all(members.map((member) => stopMember(member)));
  });
});
