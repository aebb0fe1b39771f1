// "Does the harness have teeth?" For each mutation below: copy libs/raft/src and this harness into a
// scratch directory under os.tmpdir(), apply one deliberate bug (an exact text edit that must match
// once), run seeds 1..N until the first failure and record the seed, the invariant and the tick.
// The working tree is never modified.
//   node libs/raft/test/sim/mutation-run.mjs [name ...]     (MUTANT_SEEDS=N, default 2000)
import { spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const simDir = dirname(fileURLToPath(import.meta.url));
const raftDir = resolve(simDir, '../..');
const repoRoot = resolve(raftDir, '../..');
const scratch = join(tmpdir(), 'cairn-raft-mutants');
const seeds = Number(process.env.MUTANT_SEEDS ?? 2000);

/** Each edit replaces `from` (which must occur exactly once in `file`) with `to`. */
export const MUTATIONS = [
  {
    name: 'vote-ignores-log',
    what: 'grant votes without the log up-to-date check (§5.4.1)',
    edits: [
      {
        file: 'src/raft.ts',
        from: 'if (canVote && this.raftLog.isUpToDate(m.index, m.logTerm)) {',
        to: 'if (canVote) {',
      },
    ],
  },
  {
    name: 'commit-old-term',
    what: 'leader commits an entry of an earlier term by counting replicas (§5.4.2)',
    edits: [
      {
        file: 'src/raft-log.ts',
        from: 'if (maxIndex > this.committed && this.termOrZero(maxIndex) === term) {',
        to: 'if (maxIndex > this.committed) {',
      },
    ],
  },
  {
    name: 'vote-not-persisted',
    what: 'forget to persist the vote (HardState.vote always NONE)',
    edits: [
      {
        file: 'src/raft.ts',
        from: 'return { term: this.term, vote: this.vote, commit: this.raftLog.committed };',
        to: 'return { term: this.term, vote: NONE, commit: this.raftLog.committed };',
      },
    ],
  },
  {
    name: 'send-before-persist',
    what: "driver sends a Ready's messages before persisting it",
    edits: [
      {
        file: 'test/sim/driver.ts',
        from: '  // 1. Persist: what is written here survives a crash; nothing later in this Ready does.',
        to: '  for (const msg of rd.messages) hooks.send(node, msg);\n  // 1. Persist',
      },
      {
        file: 'test/sim/driver.ts',
        from: '  for (const msg of rd.messages) hooks.send(node, msg);\n\n  // 3. Apply.',
        to: '\n  // 3. Apply.',
      },
    ],
  },
  {
    name: 'vote-twice',
    what: 'a node votes again in a term in which it already voted',
    edits: [
      {
        file: 'src/raft.ts',
        from: '(this.vote === NONE && this.lead === NONE) ||',
        to: 'this.lead === NONE ||',
      },
    ],
  },
  {
    name: 'apply-before-commit',
    what: 'hand out entries for applying up to the last index instead of the commit index',
    edits: [
      {
        file: 'src/raft-log.ts',
        from: 'if (this.committed + 1 > off) return this.slice(off, this.committed + 1, this.maxNextEntsSize);',
        to: 'if (this.lastIndex() + 1 > off) return this.slice(off, this.lastIndex() + 1, this.maxNextEntsSize);',
      },
      {
        file: 'src/raft-log.ts',
        from: 'return this.committed + 1 > Math.max(this.applied + 1, this.firstIndex());',
        to: 'return this.lastIndex() + 1 > Math.max(this.applied + 1, this.firstIndex());',
      },
    ],
  },
  {
    name: 'snapshot-index-ignored',
    what: 'follower installs a snapshot without checking its index against its commit index',
    edits: [
      {
        file: 'src/raft.ts',
        from: 'if (index <= this.raftLog.committed) return false;\n    if (this.state',
        to: 'if (this.state',
      },
    ],
  },
  {
    name: 'append-skips-log-matching',
    what: 'follower appends entries without matching (prevIndex, prevTerm)',
    edits: [
      {
        file: 'src/raft-log.ts',
        from: 'if (!this.matchTerm(index, logTerm)) return undefined;\n    const lastNewIndex',
        to: 'const lastNewIndex',
      },
    ],
  },
  {
    name: 'heartbeat-commit-unclamped',
    what: 'heartbeats carry the leader commit even beyond what the follower is known to hold',
    edits: [
      {
        file: 'src/raft.ts',
        from: 'const commit = Math.min(pr.match, this.raftLog.committed);',
        to: 'const commit = this.raftLog.committed;',
      },
    ],
  },
  {
    name: 'quorum-even-sizes',
    what: 'quorum computed as ceil(n/2): right for odd clusters, one short for even ones',
    edits: [
      {
        file: 'src/tracker.ts',
        from: 'return Math.floor(this.voters.size / 2) + 1;',
        to: 'return Math.ceil(this.voters.size / 2);',
      },
    ],
  },
  {
    name: 'read-index-before-term-commit',
    what: 'new leader serves ReadIndex before committing an entry of its term (§6.4)',
    edits: [
      {
        file: 'src/raft.ts',
        from: 'if (!this.committedEntryInCurrentTerm()) {\n      // Until',
        to: 'if (false) {\n      // Until',
      },
    ],
  },
  {
    name: 'read-index-no-quorum',
    what: 'Safe ReadIndex answered without the heartbeat quorum round',
    edits: [
      {
        file: 'src/raft.ts',
        from: 'if (this.readOnlyOption === ReadOnlyOption.LeaseBased) {\n      this.respondToReadIndex',
        to: 'if (this.readOnlyOption !== undefined) {\n      this.respondToReadIndex',
      },
    ],
  },
  {
    name: 'restart-ignores-applied',
    what: 'restart ignores config.applied and re-delivers applied entries',
    edits: [{ file: 'src/raft.ts', from: '      this.raftLog.appliedTo(applied);\n', to: '\n' }],
  },
  {
    name: 'multiple-pending-conf-changes',
    what: 'leader accepts a conf change while another is still unapplied',
    edits: [{ file: 'src/raft.ts', from: 'confIndex > this.raftLog.applied\n', to: 'false\n' }],
  },
  {
    name: 'stale-term-accepted',
    what: 'messages from an older term are processed instead of ignored',
    edits: [
      {
        file: 'src/raft.ts',
        from: "        this.log('debug', 'ignored a message with a lower term', { msg: describeMessage(m) });\n      }\n      return;",
        to: "        this.log('debug', 'ignored a message with a lower term', { msg: describeMessage(m) });\n      }",
      },
    ],
  },
];

function prepare(mutation) {
  rmSync(scratch, { recursive: true, force: true });
  mkdirSync(join(scratch, 'test'), { recursive: true });
  cpSync(join(raftDir, 'src'), join(scratch, 'src'), { recursive: true });
  cpSync(simDir, join(scratch, 'test/sim'), { recursive: true });
  symlinkSync(join(repoRoot, 'node_modules'), join(scratch, 'node_modules'));
  writeFileSync(
    join(scratch, 'vitest.config.mjs'),
    "export default { test: { include: ['test/*.test.ts'], pool: 'forks' } };\n",
  );
  writeFileSync(
    join(scratch, 'test/mutant.test.ts'),
    `import { it } from 'vitest';
import { runSimulation } from './sim/simulation';
it('finds the first failing seed', () => {
  const started = Date.now();
  for (let seed = 1; seed <= ${seeds}; seed++) {
    const r = runSimulation(seed);
    if (r.violation) {
      const v = r.violation;
      console.log('MUTANT-RESULT ' + JSON.stringify({ seed, tick: r.tick, invariant: v.invariant, expected: v.expected, seen: v.seen.slice(0, 300), ms: Date.now() - started }));
      return;
    }
  }
  console.log('MUTANT-RESULT ' + JSON.stringify({ seed: null, ms: Date.now() - started }));
}, 1_800_000);
`,
  );
  for (const edit of mutation.edits) {
    const path = join(scratch, edit.file);
    const text = readFileSync(path, 'utf8');
    const count = text.split(edit.from).length - 1;
    if (count !== 1) throw new Error(`${mutation.name}: expected one match in ${edit.file}, found ${count}`);
    writeFileSync(path, text.replace(edit.from, edit.to));
  }
}

const wanted = process.argv.slice(2);
const rows = [];
for (const mutation of MUTATIONS.filter((m) => wanted.length === 0 || wanted.includes(m.name))) {
  prepare(mutation);
  const run = spawnSync('npx', ['vitest', 'run'], {
    cwd: scratch,
    encoding: 'utf8',
    maxBuffer: 64 * 1024 * 1024,
  });
  const line = `${run.stdout}`.split('\n').find((l) => l.includes('MUTANT-RESULT '));
  const result = line
    ? JSON.parse(line.slice(line.indexOf('MUTANT-RESULT ') + 14))
    : { error: run.stderr.slice(-2000) };
  rows.push({ ...mutation, result });
  console.log(`${mutation.name}: ${JSON.stringify(result)}`);
}
rmSync(scratch, { recursive: true, force: true });
console.log('\n| mutation | first failing seed | invariant caught | tick |\n|---|---|---|---|');
for (const { name, what, result } of rows) {
  const seed = result.seed ?? (result.error ? 'error' : `none in 1..${seeds}`);
  console.log(`| \`${name}\`: ${what} | ${seed} | ${result.invariant ?? '-'} | ${result.tick ?? '-'} |`);
}
