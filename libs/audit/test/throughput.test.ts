// Opt-in measurement (not a timed assertion): how fast the archiver keeps up with a write load and how
// fast it replays history it missed, on SQLite and PostgreSQL. Run with
//   cd libs/audit && CAIRN_AUDIT_BENCH=1 npx vitest run test/throughput.test.ts
// Figures go to stderr and into docs/audit.md.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  CairnNode,
  createNodeEtcdPort,
  internalContext,
  silentLogger,
  singleMemberConfig,
} from '@cairn/server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AuditArchiver } from '../src';
import { type PostgresServer, postgresMissingReason, startPostgres } from './postgres';

const enabled = process.env['CAIRN_AUDIT_BENCH'] === '1';
const WRITES = Number(process.env['CAIRN_AUDIT_BENCH_WRITES'] ?? 5000);
const IN_FLIGHT = 32;
let pg: PostgresServer | undefined;

beforeAll(async () => {
  if (enabled && !postgresMissingReason()) pg = await startPostgres();
}, 90_000);
afterAll(() => pg?.stop());

describe.skipIf(!enabled)('audit archiver throughput (opt-in)', () => {
  for (const backend of ['sqlite', 'postgres'] as const) {
    it(`${backend}: live archiving under a write load, then a replay of missed history`, async () => {
      if (backend === 'postgres' && !pg) return;
      const dir = await mkdtemp(join(tmpdir(), 'cairn-audit-bench-'));
      const config = singleMemberConfig(dir, {
        name: 'b1',
        initialClusterToken: `bench-${backend}`,
        snapshotCount: 100_000,
      });
      const node = await CairnNode.start(config);
      try {
        while (!node.isLeader()) await new Promise((r) => setTimeout(r, 20));
        const port = createNodeEtcdPort(node, 128);
        const options = {
          port,
          logger: silentLogger,
          dbUrl: backend === 'postgres' ? await pg!.createDatabase(`bench_${Date.now()}`) : undefined,
          sqlitePath: join(dir, 'audit', 'audit.sqlite'),
        };
        const value = Buffer.alloc(256, 'v');
        const load = async (count: number): Promise<number> => {
          let next = 0;
          let last = 0;
          await Promise.all(
            Array.from({ length: IN_FLIGHT }, async () => {
              while (next < count) {
                const i = next++;
                const reply = await port.put(internalContext(), {
                  key: Buffer.from(`/cairn/config/bench/app/k${i % 500}`),
                  value,
                });
                last = Math.max(last, reply.revision);
              }
            }),
          );
          return last;
        };

        // 1. The load with no archiver (history the archiver will have to replay).
        let started = performance.now();
        const lastMissed = await load(WRITES);
        const baseSeconds = (performance.now() - started) / 1000;
        // 2. Start the archiver: it replays that history from MVCC.
        started = performance.now();
        const archiver = AuditArchiver.start(options);
        await archiver.whenReady();
        await archiver.waitFor(lastMissed, 120_000);
        const replaySeconds = (performance.now() - started) / 1000;
        // 3. The same load with the archiver live.
        started = performance.now();
        const lastLive = await load(WRITES);
        const writeSeconds = (performance.now() - started) / 1000;
        const lagStart = performance.now();
        await archiver.waitFor(lastLive, 60_000);
        const lagMs = performance.now() - lagStart;
        expect((await archiver.listEvents({ fromRevision: lastLive, limit: 1 })).records).toHaveLength(1);
        await archiver.close();
        process.stderr.write(
          `audit bench ${backend}: ${WRITES} puts of 256 B (${IN_FLIGHT} in flight): ` +
            `${baseSeconds.toFixed(2)} s (${Math.round(WRITES / baseSeconds)}/s) without an archiver, ` +
            `${writeSeconds.toFixed(2)} s (${Math.round(WRITES / writeSeconds)}/s) with it live, archived ${lagMs.toFixed(0)} ms after the last ack; ` +
            `replay of ${WRITES} missed changes in ${replaySeconds.toFixed(2)} s (${Math.round(WRITES / replaySeconds)}/s)\n`,
        );
      } finally {
        await node.close();
        await rm(dir, { recursive: true, force: true });
      }
    }, 300_000);
  }
});
