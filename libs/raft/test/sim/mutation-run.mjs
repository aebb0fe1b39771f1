// "Does the harness have teeth?" For each mutation below: copy libs/raft/src and this harness into a
// scratch directory under os.tmpdir(), apply one deliberate bug (an exact text edit that must match
// once), run seeds 1..N until the first failure and record the seed, the invariant and the tick.
// The working tree is never modified.
//   node libs/raft/test/sim/mutation-run.mjs [name ...]     (MUTANT_SEEDS=N, default 2000)
import { spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const simDir = dirname(fileURLToPath(import.meta.url));
const raftDir = resolve(simDir, '../..');
const repoRoot = resolve(raftDir, '../..');
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

  // ---- Added with the Figure 2 tests (issue 19). `expect` names the unit test meant to catch it.
  {
    name: 'ae5-commit-to-last-index',
    what: 'AppendEntries rule 5: follower commits min(leaderCommit, its last index) instead of the last new entry',
    edits: [
      {
        file: 'src/raft-log.ts',
        from: 'this.commitTo(Math.min(committed, lastNewIndex));',
        to: 'this.commitTo(Math.min(committed, this.lastIndex()));',
      },
    ],
  },
  {
    name: 'ae5-commit-to-last-index-before-append',
    what: 'AppendEntries rule 5: follower commits min(leaderCommit, its last index before the append truncated it)',
    edits: [
      {
        file: 'src/raft-log.ts',
        from: 'const lastNewIndex = index + ents.length;',
        to: 'const lastNewIndex = index + ents.length;\n    const lastBefore = this.lastIndex();',
      },
      {
        file: 'src/raft-log.ts',
        from: 'this.commitTo(Math.min(committed, lastNewIndex));',
        to: 'this.commitTo(Math.min(committed, lastBefore));',
      },
    ],
  },
  {
    name: 'ae5-commit-moves-back',
    what: 'AppendEntries rule 5: a lower leader commit lowers the follower commit index',
    edits: [
      {
        file: 'src/raft-log.ts',
        from: 'if (this.committed >= toCommit) return; // never decrease the commit index',
        to: 'if (this.committed === toCommit) return;',
      },
    ],
  },
  {
    name: 'ae2-commit-on-reject',
    what: 'AppendEntries rule 2: a refused append still advances the commit index',
    edits: [
      {
        file: 'src/raft-log.ts',
        from: 'if (!this.matchTerm(index, logTerm)) return undefined;\n    const lastNewIndex',
        to: 'if (!this.matchTerm(index, logTerm)) {\n      this.commitTo(Math.min(committed, this.lastIndex()));\n      return undefined;\n    }\n    const lastNewIndex',
      },
    ],
  },
  {
    name: 'ae3-conflicting-entry-kept',
    what: 'AppendEntries rule 3: an existing entry of another term at the same index is kept (only missing entries count as new)',
    edits: [
      {
        file: 'src/raft-log.ts',
        from: 'if (!this.matchTerm(e.index, e.term)) return e.index;',
        to: 'if (e.index > this.lastIndex()) return e.index;',
      },
    ],
  },
  {
    name: 'ae4-append-truncates-matching-suffix',
    what: 'AppendEntries rule 4: every append rewrites the log from its first entry, cutting off entries after a stale duplicate',
    edits: [
      {
        file: 'src/raft-log.ts',
        from: 'const conflict = this.findConflict(ents);',
        to: 'const conflict = ents.length > 0 && ents[0].index > this.committed ? ents[0].index : this.findConflict(ents);',
      },
    ],
  },
  {
    name: 'rv1-older-term-vote-granted',
    what: 'RequestVote rule 1: a vote request of an older term is handled instead of refused',
    edits: [
      {
        file: 'src/raft.ts',
        from: '} else if (m.term < this.term) {',
        to: '} else if (m.term < this.term && m.type !== MessageType.Vote) {',
      },
    ],
  },
  {
    name: 'rv2-up-to-date-by-length',
    what: 'RequestVote rule 2: "at least as up-to-date" compares lengths before last terms',
    edits: [
      {
        file: 'src/raft-log.ts',
        from: 'return term > ourTerm || (term === ourTerm && lastIndex >= this.lastIndex());',
        to: 'return lastIndex > this.lastIndex() || (lastIndex === this.lastIndex() && term >= ourTerm);',
      },
    ],
  },
  {
    name: 'all-new-term-keeps-vote',
    what: 'Rules for all servers: adopting a higher term keeps the vote cast in the old term',
    edits: [
      { file: 'src/raft.ts', from: 'this.term = term;\n      this.vote = NONE;', to: 'this.term = term;' },
    ],
  },
  {
    name: 'follower-grant-keeps-timer',
    what: 'Followers: granting a vote does not restart the election timeout',
    edits: [
      {
        file: 'src/raft.ts',
        from: 'this.electionElapsed = 0;\n        this.vote = m.from;',
        to: 'this.vote = m.from;',
      },
    ],
  },
  {
    name: 'candidate-counts-any-vote',
    what: 'Candidates: grants from learners and non-members count towards the majority',
    edits: [
      {
        file: 'src/tracker.ts',
        from: 'for (const id of this.voters) {\n      const v = this.votes.get(id);',
        to: 'for (const id of this.votes.keys()) {\n      const v = this.votes.get(id);',
      },
    ],
  },
  {
    name: 'leader-match-moves-back',
    what: 'Leaders: a late acknowledgement moves matchIndex back',
    edits: [{ file: 'src/progress.ts', from: 'if (this.match < n) {', to: 'if (this.match !== n) {' }],
  },
  {
    name: 'leader-no-retry-after-reject',
    what: 'Leaders: after a log-inconsistency refusal, nextIndex is decremented but nothing is resent',
    edits: [
      {
        file: 'src/raft.ts',
        from: 'if (pr.state === ProgressState.Replicate) pr.becomeProbe();\n        this.sendAppend(m.from);',
        to: 'if (pr.state === ProgressState.Replicate) pr.becomeProbe();',
      },
    ],
  },
  {
    name: 'read-index-confirms-later-reads',
    what: 'ReadIndex: an acknowledged heartbeat round also confirms reads that arrived after it was sent',
    edits: [
      {
        file: 'src/read-only.ts',
        from: 'for (const k of this.queue.slice(0, at + 1)) {',
        to: 'for (const k of this.queue) {',
      },
      { file: 'src/read-only.ts', from: 'this.queue = this.queue.slice(at + 1);', to: 'this.queue = [];' },
    ],
  },
  {
    name: 'pre-vote-refused-after-voting',
    what: 'Pre-vote: a voter that voted in its current term refuses pre-votes for the next term',
    edits: [
      {
        file: 'src/raft.ts',
        from: '(m.type === MessageType.PreVote && m.term > this.term);',
        to: 'false;',
      },
    ],
  },
  {
    name: 'check-quorum-counts-learners',
    what: 'Check-quorum: recently active learners count towards the active quorum',
    edits: [
      {
        file: 'src/tracker.ts',
        from: 'for (const id of this.voters) {\n      if (id === self',
        to: 'for (const id of this.progress.keys()) {\n      if (id === self',
      },
    ],
  },
  {
    name: 'check-quorum-activity-never-expires',
    what: 'Check-quorum: a follower heard from once counts as active forever',
    edits: [
      {
        file: 'src/raft.ts',
        from: 'if (id !== this.id) pr.recentActive = false;',
        to: 'if (id === NONE) pr.recentActive = false;',
      },
    ],
  },
  {
    name: 'transfer-timeout-now-before-caught-up',
    what: 'Leadership transfer: TimeoutNow is sent before the transferee has the whole log',
    edits: [
      {
        file: 'src/raft.ts',
        from: 'if (pr.match === this.raftLog.lastIndex()) {\n      this.sendTimeoutNow(transferee);',
        to: 'if (pr.match >= 0) {\n      this.sendTimeoutNow(transferee);',
      },
    ],
  },
  {
    name: 'transfer-accepts-proposals',
    what: 'Leadership transfer: the leader keeps accepting proposals while handing over',
    edits: [
      {
        file: 'src/raft.ts',
        from: 'if (this.leadTransferee !== NONE) {\n      throw new RaftError(',
        to: 'if (this.leadTransferee === -1n) {\n      throw new RaftError(',
      },
    ],
  },
  {
    name: 'snapshot-fast-forwards-divergent-log',
    what: 'InstallSnapshot: a log merely long enough (not matching the snapshot term) is kept and committed',
    edits: [
      {
        file: 'src/raft.ts',
        from: 'if (this.raftLog.matchTerm(index, term)) {',
        to: 'if (this.raftLog.lastIndex() >= index) {',
      },
    ],
  },
  {
    name: 'snapshot-membership-ignored',
    what: "InstallSnapshot: the follower keeps its old membership instead of the snapshot's",
    edits: [
      {
        file: 'src/raft.ts',
        from: 'this.prs = new ProgressTracker(this.prs.maxInflight);\n    this.prs.setConfig(confState.voters, confState.learners, this.raftLog.lastIndex() + 1);\n',
        to: '',
      },
    ],
  },
  {
    name: 'new-leader-forgets-pending-conf-change',
    what: 'Membership: a new leader accepts a change while an uncommitted one from its predecessor may be in its log',
    edits: [
      {
        file: 'src/raft.ts',
        from: 'this.pendingConfIndex = this.raftLog.lastIndex();',
        to: 'this.pendingConfIndex = 0;',
      },
    ],
  },
];

/** A scratch copy of libs/raft (src, tests, harness) with `mutation` applied; returns its directory. */
function prepare(mutation) {
  const scratch = mkdtempSync(join(tmpdir(), `cairn-raft-mutant-${mutation.name}-`));
  cpSync(join(raftDir, 'src'), join(scratch, 'src'), { recursive: true });
  cpSync(join(raftDir, 'test'), join(scratch, 'test'), { recursive: true });
  symlinkSync(join(repoRoot, 'node_modules'), join(scratch, 'node_modules'));
  writeFileSync(
    join(scratch, 'vitest.unit.config.mjs'),
    "export default { test: { include: ['test/*.test.ts'], exclude: ['test/simulation.test.ts', 'test/mutant.test.ts', 'test/coverage-floor.test.ts'], pool: 'forks' } };\n",
  );
  writeFileSync(
    join(scratch, 'vitest.sim.config.mjs'),
    "export default { test: { include: ['test/mutant.test.ts'], pool: 'forks' } };\n",
  );
  writeFileSync(
    join(scratch, 'test/mutant.test.ts'),
    `import { it } from 'vitest';
import { runSimulation } from './sim/simulation';
function firstFailure(corners: boolean) {
  const started = Date.now();
  for (let seed = 1; seed <= ${seeds}; seed++) {
    const r = runSimulation(seed, { corners });
    if (r.violation) {
      const v = r.violation;
      return { seed, tick: r.tick, invariant: v.invariant, expected: v.expected, seen: v.seen.slice(0, 300), ms: Date.now() - started };
    }
  }
  return { seed: null, ms: Date.now() - started };
}
it('finds the first failing seed, of the default mix and of the corner scenarios', () => {
  const result = firstFailure(false);
  const corners = firstFailure(true);
  console.log('MUTANT-RESULT ' + JSON.stringify({ ...result, corners }));
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
  return scratch;
}

/** The unit tests (every test file but the simulation) against the mutant: the names of those that fail. */
function runUnitTests(scratch) {
  const out = join(scratch, 'unit.json');
  spawnSync(
    'npx',
    ['vitest', 'run', '-c', 'vitest.unit.config.mjs', '--reporter=json', `--outputFile=${out}`],
    {
      cwd: scratch,
      encoding: 'utf8',
      maxBuffer: 64 * 1024 * 1024,
    },
  );
  let report;
  try {
    report = JSON.parse(readFileSync(out, 'utf8'));
  } catch {
    return { error: 'no report' };
  }
  const failed = [];
  for (const file of report.testResults) {
    const name = file.name.slice(file.name.indexOf('/test/') + 6);
    for (const t of file.assertionResults) if (t.status === 'failed') failed.push(`${name}: ${t.title}`);
    if (file.assertionResults.length === 0 && file.status === 'failed') failed.push(`${name}: (file failed)`);
  }
  return { failed };
}

/** Seeds 1..N of the default simulation against the mutant: the first failing seed. */
function runSimulationSeeds(scratch) {
  const run = spawnSync('npx', ['vitest', 'run', '-c', 'vitest.sim.config.mjs'], {
    cwd: scratch,
    encoding: 'utf8',
    maxBuffer: 64 * 1024 * 1024,
  });
  const line = `${run.stdout}`.split('\n').find((l) => l.includes('MUTANT-RESULT '));
  return line
    ? JSON.parse(line.slice(line.indexOf('MUTANT-RESULT ') + 14))
    : { error: run.stderr.slice(-2000) };
}

function main() {
  const args = process.argv.slice(2);
  const simOnly = args.includes('--sim-only');
  const unitOnly = args.includes('--unit-only');
  const wanted = args.filter((a) => !a.startsWith('--'));
  const rows = [];
  for (const mutation of MUTATIONS.filter((m) => wanted.length === 0 || wanted.includes(m.name))) {
    const scratch = prepare(mutation);
    try {
      const unit = simOnly ? { failed: [] } : runUnitTests(scratch);
      const result = unitOnly ? { seed: null } : runSimulationSeeds(scratch);
      rows.push({ ...mutation, unit, result });
      console.log(`${mutation.name}: unit ${JSON.stringify(unit)} sim ${JSON.stringify(result)}`);
    } finally {
      rmSync(scratch, { recursive: true, force: true });
    }
  }
  console.log(
    '\n| mutation | unit tests that fail | first failing seed (default mix) | invariant caught | first failing seed (corners) | invariant caught |\n|---|---|---|---|---|---|',
  );
  for (const { name, what, unit, result } of rows) {
    const seed = result.seed ?? (result.error ? 'error' : unitOnly ? 'not run' : `none in 1..${seeds}`);
    const tests = unit.error
      ? 'error'
      : unit.failed.length === 0
        ? simOnly
          ? 'not run'
          : 'none'
        : `${unit.failed.length}: ${unit.failed[0]}${unit.failed.length > 1 ? ' …' : ''}`;
    const corners = result.corners ?? {};
    const cornerSeed = corners.seed ?? (unitOnly ? 'not run' : `none in 1..${seeds}`);
    console.log(
      `| \`${name}\`: ${what} | ${tests} | ${seed} | ${result.invariant ?? '-'} | ${cornerSeed} | ${corners.invariant ?? '-'} |`,
    );
  }
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) main();
