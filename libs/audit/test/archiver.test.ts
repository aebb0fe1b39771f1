// The archiver over a LocalEtcdPort (a bare store on a temp LevelDB dir), against SQLite and a real PostgreSQL
// server (the same suite for both): what is archived, history past compaction, hashing above the value
// threshold, resuming without duplicates, compacted gaps, actors, paging.
import { createHash } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type EtcdPort, LocalEtcdPort, internalContext, silentLogger } from '@cairn/server';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { AuditArchiver, type AuditArchiverOptions, type RevisionWriters } from '../src';
import { type PostgresServer, postgresMissingReason, startPostgres } from './postgres';

const pgMissing = postgresMissingReason();
if (pgMissing) {
  process.stderr.write(`\n*** audit: PostgreSQL tests SKIPPED: ${pgMissing} ***\n\n`);
}
let pg: PostgresServer | undefined;
let databases = 0;

beforeAll(async () => {
  if (!pgMissing) pg = await startPostgres();
}, 90_000);
afterAll(() => pg?.stop());

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

interface Member {
  local: LocalEtcdPort;
  port: EtcdPort;
  dir: string;
}

const ctx = internalContext();

async function startNode(): Promise<Member> {
  const dir = await mkdtemp(join(tmpdir(), 'cairn-audit-'));
  const local = await LocalEtcdPort.open({ dataDir: dir });
  cleanups.push(async () => {
    await local.close();
    await rm(dir, { recursive: true, force: true });
  });
  return { local, port: local.port, dir };
}

async function put(member: Member, key: string, value: string | Buffer, lease = 0n): Promise<number> {
  const result = await member.port.put(ctx, {
    key: Buffer.from(key),
    value: typeof value === 'string' ? Buffer.from(value) : value,
    lease,
  });
  return result.revision;
}

async function del(member: Member, key: string): Promise<number> {
  return (await member.port.deleteRange(ctx, { key: Buffer.from(key) })).revision;
}

async function compact(member: Member, revision: number): Promise<void> {
  await member.local.compact(revision);
}

describe.each([{ backend: 'sqlite' as const }, { backend: 'postgres' as const }])(
  'audit archive on $backend',
  ({ backend }) => {
    const skip = backend === 'postgres' && pgMissing !== undefined;

    async function archiveOptions(member: Member): Promise<Omit<AuditArchiverOptions, 'port'>> {
      const dbUrl = backend === 'postgres' ? await pg!.createDatabase(`audit_${++databases}`) : undefined;
      return {
        logger: silentLogger,
        dbUrl,
        sqlitePath: join(member.dir, 'audit', 'audit.sqlite'),
        flushIntervalMs: 10,
      };
    }

    async function startArchiver(
      member: Member,
      options: Omit<AuditArchiverOptions, 'port'>,
    ): Promise<AuditArchiver> {
      const archiver = AuditArchiver.start({ ...options, port: member.port });
      cleanups.push(() => archiver.close());
      await archiver.whenReady();
      return archiver;
    }

    async function duplicates(archiver: AuditArchiver): Promise<number> {
      const rows = await archiver.database!.query<{ n: number | string }>(
        'SELECT COUNT(*) AS n FROM (SELECT rev_main, rev_sub FROM cairn_audit_event GROUP BY archive, rev_main, rev_sub HAVING COUNT(*) > 1) d',
      );
      return Number(rows[0].n);
    }

    it.skipIf(skip)(
      'archives puts and deletes of config and registry keys with their revision, sub revision and lease, and nothing else',
      async () => {
        const member = await startNode();
        const archiver = await startArchiver(member, await archiveOptions(member));
        const r1 = await put(member, '/cairn/config/ns/app/a', 'one');
        await put(member, '/other/x', 'ignored');
        await put(member, '/cairn/config/ns/app/~subscriber/s1', 'a subscriber record: not history');
        const grant = await member.port.leaseGrant(ctx, { ttl: 60 });
        const txn = await member.port.txn(ctx, {
          success: [
            { put: { key: Buffer.from('/other/y'), value: Buffer.from('y') } },
            {
              put: {
                key: Buffer.from('/cairn/registry/ns/svc/i1'),
                value: Buffer.from('{"addr":"10.0.0.7:8080"}'),
                lease: grant.id,
              },
            },
            { put: { key: Buffer.from('/cairn/config/ns/app/b'), value: Buffer.from('two') } },
          ],
        });
        const r3 = txn.revision;
        const r4 = await del(member, '/cairn/config/ns/app/a');
        await archiver.waitFor(r4);

        const page = await archiver.listEvents({});
        const seen = page.records.map((r) => [r.revision, r.subRevision, r.operation, r.key.toString()]);
        expect(seen).toEqual([
          [r1, 0, 'PUT', '/cairn/config/ns/app/a'],
          [r3, 1, 'PUT', '/cairn/registry/ns/svc/i1'],
          [r3, 2, 'PUT', '/cairn/config/ns/app/b'],
          [r4, 0, 'DELETE', '/cairn/config/ns/app/a'],
        ]);
        const registry = page.records[1];
        expect(registry.lease).toBe(grant.id.toString());
        expect(registry.value?.toString()).toBe('{"addr":"10.0.0.7:8080"}');
        expect(registry.createRevision).toBe(r3);
        expect(registry.version).toBe(1);
        const deleted = page.records[3];
        expect(deleted.value).toBeNull();
        expect(deleted.valueSha256).toBeNull();
        expect(await archiver.lastArchivedRevision()).toBeGreaterThanOrEqual(r4);
        expect(archiver.status()).toMatchObject({ backend, ready: true });
      },
    );

    it.skipIf(skip)('keeps the history of a key past MVCC compaction', async () => {
      const member = await startNode();
      const archiver = await startArchiver(member, await archiveOptions(member));
      const key = '/cairn/config/ns/app/item';
      const revisions: number[] = [];
      for (let i = 1; i <= 5; i++) revisions.push(await put(member, key, `v${i}`));
      const last = await put(member, '/cairn/config/ns/app/other', 'x');
      await compact(member, last);
      // MVCC no longer has the old versions...
      await expect(member.port.range(ctx, { key: Buffer.from(key), revision: revisions[1] })).rejects.toThrow(
        /compacted/,
      );
      // ...the archive does.
      await archiver.waitFor(last);
      const history = await archiver.history(key);
      expect(history.map((r) => [r.revision, r.value?.toString()])).toEqual(
        revisions.map((revision, i) => [revision, `v${i + 1}`]).reverse(),
      );
      const asOf = await archiver.valueAsOf(key, revisions[1] + 0);
      expect(asOf?.value?.toString()).toBe('v2');
      expect((await archiver.eventAt(key, revisions[2]))?.value?.toString()).toBe('v3');
      expect(await archiver.eventAt(key, last)).toBeUndefined();
      const ascending = await archiver.history(key, { order: 'asc', fromRevision: revisions[1], limit: 2 });
      expect(ascending.map((r) => r.revision)).toEqual([revisions[1], revisions[2]]);
    });

    it.skipIf(skip)('stores values above the size threshold as their sha256 only', async () => {
      const member = await startNode();
      const archiver = await startArchiver(member, { ...(await archiveOptions(member)), valueMaxBytes: 100 });
      const small = Buffer.alloc(100, 'a');
      const big = Buffer.alloc(5000, 'b');
      const r1 = await put(member, '/cairn/config/ns/app/small', small);
      const r2 = await put(member, '/cairn/config/ns/app/big', big);
      await archiver.waitFor(r2);
      const smallRecord = await archiver.eventAt('/cairn/config/ns/app/small', r1);
      expect(smallRecord).toMatchObject({ valueStored: true, valueSize: 100 });
      expect(smallRecord?.value?.equals(small)).toBe(true);
      expect(smallRecord?.valueSha256).toBe(createHash('sha256').update(small).digest('hex'));
      const bigRecord = await archiver.eventAt('/cairn/config/ns/app/big', r2);
      expect(bigRecord).toMatchObject({
        valueStored: false,
        value: null,
        valueSize: 5000,
        valueSha256: createHash('sha256').update(big).digest('hex'),
      });
    });

    it.skipIf(skip)(
      'resumes from the last archived revision after a restart and never writes a revision twice',
      async () => {
        const member = await startNode();
        const options = await archiveOptions(member);
        const first = await startArchiver(member, options);
        const firstRevision = await put(member, '/cairn/config/ns/app/start', 'start');
        for (let i = 0; i < 20; i++) await put(member, `/cairn/config/ns/app/k${i % 4}`, `a${i}`);
        const before = member.port.revisions().current;
        await first.waitFor(before);
        await first.close();
        // Changes while no archiver runs are read back from MVCC history on restart.
        for (let i = 0; i < 20; i++) await put(member, `/cairn/registry/ns/svc/i${i % 3}`, `b${i}`);
        // A crash after rows were written but before the cursor moved: pretend the cursor is behind,
        // so the restarted archiver replays revisions that are already stored.
        const rewind =
          backend === 'postgres'
            ? 'UPDATE cairn_audit_cursor SET last_revision = $1'
            : 'UPDATE cairn_audit_cursor SET last_revision = ?';
        await first.database!.query(rewind, [5]).catch(() => undefined);
        const second = await startArchiver(member, options);
        await second.database!.query(rewind, [5]);
        await second.close();
        const third = await startArchiver(member, options);
        const end = await put(member, '/cairn/config/ns/app/k0', 'end');
        await third.waitFor(end);

        const all = [];
        let cursor: string | undefined;
        do {
          const page = await third.listEvents({ limit: 7, cursor });
          all.push(...page.records);
          cursor = page.next;
        } while (cursor);
        expect(all.map((r) => r.revision)).toEqual(
          Array.from({ length: end - firstRevision + 1 }, (_, i) => i + firstRevision),
        );
        expect(await duplicates(third)).toBe(0);
        const replayed = all.filter((r) => r.revision > before && r.revision < end);
        expect(replayed.length).toBe(20);
        expect(replayed.every((r) => r.replayed)).toBe(true);
        expect(all.find((r) => r.revision === end)?.replayed).toBe(false);
        expect(await third.gaps()).toEqual([]);
      },
    );

    it.skipIf(skip)(
      'records a compacted resume point as a gap and continues from the compact revision',
      async () => {
        const member = await startNode();
        const options = await archiveOptions(member);
        const first = await startArchiver(member, options);
        const r1 = await put(member, '/cairn/config/ns/app/g', 'g1');
        await first.waitFor(r1);
        await first.close();
        await put(member, '/cairn/config/ns/app/g', 'g2');
        await put(member, '/cairn/config/ns/app/g', 'g3');
        const r4 = await put(member, '/cairn/config/ns/app/h', 'h1');
        await compact(member, r4);
        const r5 = await put(member, '/cairn/config/ns/app/g', 'g5');
        const second = await startArchiver(member, options);
        await second.waitFor(r5);
        const gaps = await second.gaps();
        expect(gaps).toHaveLength(1);
        expect(gaps[0]).toMatchObject({ fromRevision: r1 + 1, toRevision: r4 - 1 });
        expect(gaps[0].reason).toMatch(/compacted/);
        const history = await second.listEvents({});
        expect(history.records.map((r) => r.revision)).toEqual([r1, r4, r5]);
      },
    );

    it.skipIf(skip)(
      'moves its cursor over revisions outside the archived prefixes it never hears of, and records no gap for them after a compaction',
      async () => {
        const member = await startNode();
        const options = await archiveOptions(member);
        const first = await startArchiver(member, options);
        const r1 = await put(member, '/cairn/config/ns/app/a', 'a1');
        let outside = 0;
        for (let i = 0; i < 30; i++) outside = await put(member, `/other/k${i % 5}`, `v${i}`);
        // Only revisions outside the watched range since r1: the archive still reaches them.
        await first.waitFor(outside, 5000);
        expect(await first.lastArchivedRevision()).toBeGreaterThanOrEqual(outside);
        await put(member, '/zzz/after-the-range', 'x');
        const last = await put(member, '/zzz/after-the-range', 'y');
        await first.close();
        // Compacted past everything the first archiver saw: resuming there is no gap.
        await compact(member, last);
        const second = await startArchiver(member, options);
        const r2 = await put(member, '/cairn/registry/ns/svc/i1', 'i1');
        await second.waitFor(r2);
        expect(await second.gaps()).toEqual([]);
        const history = await second.listEvents({});
        expect(history.records.map((r) => [r.revision, r.subRevision, r.key.toString()])).toEqual([
          [r1, 0, '/cairn/config/ns/app/a'],
          [r2, 0, '/cairn/registry/ns/svc/i1'],
        ]);
      },
    );

    it.skipIf(skip)(
      'attributes changes to actors: the user of the applied entry (RevisionWriters), or noteActor after the write',
      async () => {
        const member = await startNode();
        // What the member's apply reports: the user of each entry's header ('' for no user: no actor).
        const listeners: ((revision: number, user: string) => void)[] = [];
        const writers: RevisionWriters = {
          onApplied(listener) {
            listeners.push(listener);
            return () => listeners.splice(listeners.indexOf(listener), 1);
          },
        };
        const applied = (revision: number, user: string): void => listeners.forEach((l) => l(revision, user));
        const archiver = await startArchiver(member, { ...(await archiveOptions(member)), writers });
        const plain = await put(member, '/cairn/config/ns/app/p', 'p');
        applied(plain, ''); // auth off, or a member duty: not an actor
        archiver.noteActor(plain, 'bob');
        const txn = await member.port.txn(ctx, {
          success: [{ put: { key: Buffer.from('/cairn/config/ns/app/q'), value: Buffer.from('q') } }],
        });
        const marked = txn.revision;
        applied(marked, 'alice'); // before or after the watch delivers it, alike
        await archiver.waitFor(marked);
        archiver.noteActor(marked, 'mallory'); // never overwrites a known actor
        const late = await put(member, '/cairn/config/ns/app/p', 'p2');
        await archiver.waitFor(late);
        archiver.noteActor(late, 'carol'); // after the row is stored
        await archiver.flush();
        const records = (await archiver.listEvents({})).records;
        expect(records.map((r) => [r.key.toString(), r.actor])).toEqual([
          ['/cairn/config/ns/app/p', 'bob'],
          ['/cairn/config/ns/app/q', 'alice'],
          ['/cairn/config/ns/app/p', 'carol'],
        ]);
        const byBob = await archiver.listEvents({ actor: 'bob' });
        expect(byBob.records.map((r) => r.revision)).toEqual([plain]);
      },
    );

    it.skipIf(skip)(
      'holds the watch back while too much is pending and loses nothing (backpressure through the watch)',
      async () => {
        const member = await startNode();
        const archiver = await startArchiver(member, {
          ...(await archiveOptions(member)),
          maxPendingRows: 7,
          batchRows: 1000,
          flushIntervalMs: 1000,
        });
        const written: number[] = [];
        for (let i = 0; i < 60; i++)
          written.push(await put(member, `/cairn/config/ns/app/bp${i % 3}`, `${i}`));
        await archiver.waitFor(written[written.length - 1], 15_000);
        const page = await archiver.listEvents({ limit: 1000 });
        expect(page.records.map((r) => r.revision)).toEqual(written);
      },
    );

    it.skipIf(skip || backend !== 'postgres')(
      'rides out a database outage: the member keeps serving, the archiver retries and then writes everything once',
      async () => {
        const member = await startNode();
        const archiver = await startArchiver(member, { ...(await archiveOptions(member)), retryMs: 100 });
        const written: number[] = [];
        for (let i = 0; i < 10; i++)
          written.push(await put(member, `/cairn/config/ns/app/o${i % 3}`, `${i}`));
        await archiver.waitFor(written[written.length - 1]);
        pg!.halt();
        try {
          for (let i = 10; i < 40; i++)
            written.push(await put(member, `/cairn/config/ns/app/o${i % 3}`, `${i}`));
          await expect(archiver.waitFor(written[written.length - 1], 500)).rejects.toThrow(/did not reach/);
          expect(archiver.status().lastError).toBeDefined();
        } finally {
          pg!.resume();
        }
        await archiver.waitFor(written[written.length - 1], 20_000);
        expect(archiver.status().lastError).toBeUndefined();
        const page = await archiver.listEvents({ limit: 1000 });
        expect(page.records.map((r) => r.revision)).toEqual(written);
        expect(await duplicates(archiver)).toBe(0);
      },
    );

    it.skipIf(skip)(
      'two archivers writing the same log into one database store each change once',
      async () => {
        const member = await startNode();
        const options = await archiveOptions(member);
        const one = await startArchiver(member, options);
        const two = await startArchiver(member, options);
        let last = 0;
        await Promise.all(
          Array.from({ length: 50 }, async (_, i) => {
            last = Math.max(last, await put(member, `/cairn/config/ns/app/c${i % 5}`, `c${i}`));
          }),
        );
        await one.waitFor(last);
        await two.waitFor(last);
        const page = await one.listEvents({ limit: 1000 });
        expect(page.records.length).toBe(50);
        expect(await duplicates(one)).toBe(0);
      },
    );
  },
);
