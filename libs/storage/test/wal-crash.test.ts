// Crash simulation: a child process appends to the WAL with sync=true and reports each save that
// resolved; it is SIGKILLed at a random moment (seeded), the WAL is reopened, and every acknowledged
// entry must be there, intact, with nothing wrong after it. Repeated over several kill/restart rounds.
//
// SIGKILL loses what the process had not handed to the kernel; it does not lose the page cache, so this
// proves the ordering of writes, acknowledgements and recovery, not the disk's own durability.
import { spawn } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import ts from 'typescript';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Wal } from '../src/wal';
import { seededRandom, tempDir } from './wal-helpers';

const SEGMENT_BYTES = 16 * 1024;
const ROUNDS = 4;

/** The child's entry data; the same function is written into the child script below. */
function crashData(index: number): Buffer {
  const out = Buffer.alloc(40 + ((index * 37) % 700));
  for (let i = 0; i < out.length; i++) out[i] = (index * 31 + i * 7) & 0xff;
  return out;
}

const CHILD = `
const { Wal } = require(process.env.CAIRN_WAL_MODULE);
function crashData(index) {
  const out = Buffer.alloc(40 + ((index * 37) % 700));
  for (let i = 0; i < out.length; i++) out[i] = (index * 31 + i * 7) & 0xff;
  return out;
}
(async () => {
  const dir = process.argv[2];
  const opts = { segmentSizeBytes: ${SEGMENT_BYTES} };
  let wal;
  let next = 1;
  if (Wal.exists(dir)) {
    const r = await Wal.open(dir, { index: 0, term: 0 }, opts);
    wal = r.wal;
    if (r.entries.length > 0) next = r.entries[r.entries.length - 1].index + 1;
  } else {
    wal = await Wal.create(dir, Buffer.from('crash-test'), opts);
  }
  process.stdout.write('ready ' + (next - 1) + '\\n');
  for (;;) {
    const batch = [];
    for (let i = 0, n = 1 + (next % 13); i < n; i++) batch.push({ term: 1, index: next + i, type: 0, data: crashData(next + i) });
    // Both ways of waiting for the fsync: inline (a follower) and on libuv's pool (a leader with messages out).
    await wal.save({ term: 1, vote: 1n, commit: next - 1 }, batch, true, next % 2 === 0 ? 'off-thread' : 'inline');
    next += batch.length;
    process.stdout.write('acked ' + (next - 1) + '\\n'); // a pipe write is synchronous on Linux
  }
})().catch((e) => { process.stderr.write(String(e && e.stack)); process.exit(3); });
`;

/**
 * Transpiles the WAL sources to CommonJS so a plain `node` child can run them. Of @cairn/raft they need
 * only the enums in types.ts, so `@cairn/raft` is pointed at that one file.
 */
function buildChildModules(outDir: string): string {
  const libs = join(__dirname, '..', '..');
  const storage = join(libs, 'storage', 'src');
  const files = [join(libs, 'raft', 'src', 'types.ts'), join(storage, 'crc32c.ts')];
  const walk = (p: string): void => {
    if (statSync(p).isDirectory()) for (const n of readdirSync(p)) walk(join(p, n));
    else if (p.endsWith('.ts')) files.push(p);
  };
  walk(join(storage, 'wal'));
  walk(join(storage, 'codec'));
  const raftTypes = join(outDir, 'raft', 'src', 'types.js');
  for (const file of files) {
    const out = join(outDir, relative(libs, file)).replace(/\.ts$/, '.js');
    const js = ts.transpileModule(readFileSync(file, 'utf8'), {
      compilerOptions: {
        module: ts.ModuleKind.CommonJS,
        target: ts.ScriptTarget.ES2022,
        esModuleInterop: true,
      },
    }).outputText;
    mkdirSync(dirname(out), { recursive: true });
    writeFileSync(out, js.replaceAll('require("@cairn/raft")', `require(${JSON.stringify(raftTypes)})`));
  }
  return join(outDir, 'storage', 'src', 'wal', 'index.js');
}

interface RoundResult {
  acked: number;
  exitSignal: NodeJS.Signals | null;
  stderr: string;
}

/** Runs the child until it has acknowledged `saves` saves, then SIGKILLs it. */
function runAndKill(script: string, walModule: string, dir: string, saves: number): Promise<RoundResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [script, dir], {
      env: { ...process.env, CAIRN_WAL_MODULE: walModule },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let acked = -1;
    let seen = 0;
    let buffered = '';
    let stderr = '';
    const guard = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`child made no progress in 15 s (acked ${acked}, stderr: ${stderr})`));
    }, 15_000);
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.stdout.on('data', (d: Buffer) => {
      buffered += d.toString();
      let nl: number;
      while ((nl = buffered.indexOf('\n')) >= 0) {
        const [what, n] = buffered.slice(0, nl).split(' ');
        buffered = buffered.slice(nl + 1);
        if (what === 'ready' && acked < 0) acked = Number(n);
        if (what === 'acked') {
          acked = Number(n);
          if (++seen === saves) child.kill('SIGKILL');
        }
      }
    });
    child.on('exit', (_code, signal) => {
      clearTimeout(guard);
      resolve({ acked, exitSignal: signal, stderr });
    });
  });
}

let root: string;
let cleanup: () => void;
beforeAll(() => ({ dir: root, cleanup } = tempDir('wal-crash')));
afterAll(() => cleanup());

describe('WAL crash safety', () => {
  it('keeps every save that resolved with sync=true across SIGKILLs at random moments', async () => {
    const walModule = buildChildModules(join(root, 'build'));
    const script = join(root, 'child.js');
    writeFileSync(script, CHILD);
    const dir = join(root, 'wal');
    const rand = seededRandom(7);

    let everAcked = 0;
    for (let round = 0; round < ROUNDS; round++) {
      const { acked, exitSignal, stderr } = await runAndKill(script, walModule, dir, 5 + rand(60));
      expect(exitSignal, `round ${round} child did not die by SIGKILL: ${stderr}`).toBe('SIGKILL');
      expect(acked).toBeGreaterThanOrEqual(everAcked);
      everAcked = acked;

      const { wal, entries, hardState } = await Wal.open(
        dir,
        { index: 0, term: 0 },
        { segmentSizeBytes: SEGMENT_BYTES },
      );
      await wal.close();
      expect(entries.length, `round ${round}: acknowledged up to ${acked}`).toBeGreaterThanOrEqual(acked);
      entries.forEach((e, i) => {
        expect(e.index).toBe(i + 1);
        expect(Buffer.from(e.data).equals(crashData(e.index)), `entry ${e.index} data`).toBe(true);
      });
      expect(hardState.commit).toBeLessThanOrEqual(entries.length);
    }
    // the rounds crossed segment cuts
    expect(readdirSync(dir).filter((n) => n.endsWith('.wal')).length).toBeGreaterThan(1);
  });
});
