// Crash safety of a single member: while a client writes keys one by one, the server is SIGKILLed at
// seeded-random moments and restarted on the same data dir. Every acknowledged put must survive with its
// value and revision, and revisions must never go backwards; once with one writer, once with four at a time.
// Replay a failure with CAIRN_CRASH_SEED=<seed>.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import ts from 'typescript';
import { afterAll, expect, it } from 'vitest';
import {
  cleanupAll,
  describeResult,
  etcdctl,
  fromB64,
  killMember,
  makeTempDir,
  parseExactJson,
  repoRoot,
  restartMember,
  seededRandom,
  seedFromEnv,
  sleep,
  spawnManaged,
  startMember,
  str,
  waitFor,
  type ExactJson,
  type ManagedProcess,
  type Member,
} from '../support';

const SEED = seedFromEnv('CAIRN_CRASH_SEED', 20_261_121);
const CRASHES = 5;
const PREFIX = 'crash/';

interface Ack {
  i: number;
  key: string;
  value: string;
  revision: string;
}

afterAll(() => cleanupAll());

/** Transpiles writer.ts to a temp dir and starts it with plain node (node_modules via NODE_PATH). */
function startWriter(member: Member, prefix: string): ManagedProcess {
  const source = readFileSync(join(__dirname, 'writer.ts'), 'utf8');
  const { outputText } = ts.transpileModule(source, {
    compilerOptions: {
      module: ts.ModuleKind.CommonJS,
      target: ts.ScriptTarget.ES2022,
      esModuleInterop: true,
    },
  });
  const file = join(makeTempDir('cairn-e2e-writer-'), 'writer.js');
  writeFileSync(file, outputText);
  return spawnManaged(process.execPath, [file, member.clientUrl, '100000', prefix], {
    label: 'crash writer',
    env: { ...process.env, NODE_PATH: join(repoRoot, 'node_modules') },
    keepBytes: 64 * 1024 * 1024,
  });
}

function acksOf(writer: ManagedProcess): Ack[] {
  return writer
    .stdout()
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line) as Ack);
}

async function storeRevision(member: Member): Promise<bigint> {
  const result = await etcdctl(['get', 'crash-probe', '-w', 'json'], { endpoints: member });
  expect(result.code, describeResult(result)).toBe(0);
  return BigInt(str(parseExactJson(result.stdout), 'header', 'revision'));
}

it(`acknowledged puts survive ${CRASHES} SIGKILLs at random moments (seed ${SEED})`, async () => {
  await crashWhileWriting(1, SEED);
});

// Concurrent writers make the member batch several proposals per Ready, which it fsyncs off the event loop
// (group commit): the same promise must hold for every writer.
it(`acknowledged puts of 4 concurrent writers survive ${CRASHES} SIGKILLs (seed ${SEED + 1})`, async () => {
  await crashWhileWriting(4, SEED + 1);
});

async function crashWhileWriting(writerCount: number, seed: number): Promise<void> {
  const random = seededRandom(seed);
  const member = await startMember();
  const prefixes = Array.from({ length: writerCount }, (_, n) =>
    writerCount === 1 ? PREFIX : `${PREFIX}w${n}/`,
  );
  const writers = prefixes.map((prefix) => startWriter(member, prefix));
  const context = `seed ${seed}, ${writerCount} writer(s)`;
  const allAcks = (): Ack[] => writers.flatMap(acksOf);

  for (let crash = 1; crash <= CRASHES; crash++) {
    // Let writes flow (at least a few acknowledged since the last restart), then kill at a random moment.
    const before = allAcks().length;
    await waitFor(() => (allAcks().length >= before + 5 * writerCount ? true : undefined), {
      timeoutMs: 15_000,
      what: `writer progress after restart ${crash - 1} (${context})\n${writers.map((w) => w.describeOutput()).join('\n')}`,
    });
    await sleep(Math.floor(random() * 600));
    await killMember(member);
    const lastAcked = allAcks().reduce(
      (max, ack) => (BigInt(ack.revision) > max ? BigInt(ack.revision) : max),
      0n,
    );

    await sleep(Math.floor(random() * 200)); // the writers keep retrying against a dead server
    await restartMember(member);
    // Nothing acknowledged before the crash may be missing from the restarted store.
    expect(
      await storeRevision(member),
      `store revision after crash ${crash} (${context})`,
    ).toBeGreaterThanOrEqual(lastAcked);
  }

  for (const writer of writers) {
    const writerExit = await writer.terminate(10_000);
    expect(writerExit.code, `writer exit (${context})\n${writer.describeOutput()}`).toBe(0);
  }
  const acks = allAcks();
  expect(acks.length, context).toBeGreaterThan(CRASHES * 5 * writerCount);
  console.log(`crash test (${context}): ${acks.length} acknowledged puts`);

  // Each writer's acknowledged revisions strictly increase (a sequential writer, one revision per put).
  for (const writer of writers) {
    const own = acksOf(writer);
    for (let n = 1; n < own.length; n++) {
      expect(BigInt(own[n]!.revision), `ack ${n} vs ${n - 1} (${context})`).toBeGreaterThan(
        BigInt(own[n - 1]!.revision),
      );
      expect(own[n]!.i, context).toBe(own[n - 1]!.i + 1);
    }
  }

  const result = await etcdctl(['get', PREFIX, '--prefix', '-w', 'json'], {
    endpoints: member,
    timeoutMs: 30_000,
  });
  expect(result.code, describeResult(result)).toBe(0);
  const stored = new Map<string, { value: string; modRevision: string }>();
  const kvs = (parseExactJson(result.stdout) as { kvs?: ExactJson[] }).kvs ?? [];
  for (const kv of kvs) {
    stored.set(fromB64(str(kv, 'key')), {
      value: fromB64(str(kv, 'value')),
      modRevision: str(kv, 'mod_revision'),
    });
  }

  const lost = acks.filter((ack) => {
    const found = stored.get(ack.key);
    return found?.value !== ack.value || found.modRevision !== ack.revision;
  });
  expect(
    lost.map((ack) => ({ ack, stored: stored.get(ack.key) ?? null })),
    `acknowledged puts missing or changed (${context})`,
  ).toEqual([]);

  // The only keys that may exist without an acknowledgement are the ones in flight when the writers stopped.
  const acknowledgedKeys = new Set(acks.map((ack) => ack.key));
  const inFlight = new Set(
    writers.map((writer, n) => {
      const own = acksOf(writer);
      return `${prefixes[n]}k${(own[own.length - 1]?.i ?? -1) + 1}`;
    }),
  );
  const unexpected = [...stored.keys()].filter((key) => !acknowledgedKeys.has(key) && !inFlight.has(key));
  expect(unexpected, `keys never written by the writers (${context})`).toEqual([]);
}
