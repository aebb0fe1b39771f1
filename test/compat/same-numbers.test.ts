// One fixed etcdctl scenario (puts, txns, deletes, leases, reads at a revision, compaction, hashkv, status)
// run step by step against a fresh real etcd 3.4 and a fresh Cairn member side by side, and every answer
// compared after dropping only what differs by nature (cluster/member IDs, Raft terms and indexes, lease IDs,
// sizes, versions). Revisions, counts, create/mod revisions, versions, values, compaction and HashKV must be
// the same: what a script sees does not change when etcd is swapped for Cairn. HashKV's hash is compared until
// the scenario grants a lease: lease IDs differ between clusters by nature and are part of the hashed records.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  cleanupAll,
  currentTarget,
  etcdctl,
  parseExactJson,
  startMember,
  targetOf,
  type ExactJson,
  type Member,
} from '../support';

afterAll(() => cleanupAll());

/** Fields whose values differ between two independent clusters by nature. */
const VOLATILE = new Set([
  'cluster_id',
  'member_id',
  'raft_term',
  'raftIndex',
  'raftTerm',
  'raftAppliedIndex',
  'leader',
  'dbSize',
  'dbSizeInUse',
  'version',
  'Endpoint',
]);

/** A scenario step: etcdctl arguments; `{lease}` is replaced by the lease the scenario granted. */
const SCENARIO: string[][] = [
  ['endpoint', 'status'],
  ['get', 'missing'],
  ['put', 'a', '1'],
  ['put', 'b', '2'],
  ['put', 'a', '3'],
  ['get', 'a'],
  ['get', '', '--prefix'],
  ['get', 'a', '--rev=2'],
  ['get', 'a', '--rev=3'],
  ['get', '', '--prefix', '--limit=1'],
  ['put', 'c', '4', '--prev-kv'],
  ['del', 'b', '--prev-kv'],
  ['del', 'nothing'],
  ['get', 'b', '--rev=5'],
  ['txn'],
  ['txn-else'],
  ['endpoint', 'hashkv'],
  ['lease', 'grant', '600'],
  ['put', 'leased/1', 'x', '--lease={lease}'],
  ['put', 'leased/2', 'y', '--lease={lease}'],
  ['get', 'leased/', '--prefix'],
  ['lease', 'revoke', '{lease}'],
  ['get', 'leased/', '--prefix'],
  ['get', '', '--prefix', '--keys-only'],
  ['endpoint', 'hashkv'],
  ['compaction', '4'],
  ['get', 'a', '--rev=5'],
  ['endpoint', 'hashkv'],
  ['put', 'd', '5'],
  ['del', '', '--prefix'],
  ['get', '', '--prefix'],
  ['compaction', '--physical', '10'],
  ['endpoint', 'hashkv'],
  ['endpoint', 'status'],
];

/** The compare-then/else txns, fed on stdin as etcdctl's interactive txn reads them. */
const TXNS: Record<string, string> = {
  txn: 'mod("a") = "4"\n\nput a won\nget c\n\nget a\n\n',
  'txn-else': 'value("a") = "nope"\n\nput a lost\n\nput z else\nget z\n\n',
};

interface StepAnswer {
  step: string;
  ok: boolean;
  answer: ExactJson | string;
}

async function runScenario(member: Member): Promise<StepAnswer[]> {
  const answers: StepAnswer[] = [];
  let lease = '';
  let leaseGranted = false;
  for (const step of SCENARIO) {
    const txn = TXNS[step[0]!];
    const args = txn !== undefined ? ['txn'] : step.map((arg) => arg.replace('{lease}', lease));
    const result = await etcdctl(['-w', 'json', ...args], {
      endpoints: member,
      ...(txn !== undefined ? { stdin: txn } : {}),
    });
    const ok = result.code === 0;
    // Some commands (compaction) print text even with -w json; errors go to stderr.
    const text = ok ? result.stdout.trim() : result.stderr.trim();
    let answer: ExactJson | string = ok && /^[[{]/.test(text) ? parseExactJson(text) : text;
    if (ok && step[0] === 'lease' && step[1] === 'grant') {
      lease = BigInt((answer as Record<string, ExactJson>)['ID'] as string).toString(16);
      leaseGranted = true;
    }
    if (typeof answer !== 'string') answer = normalize(answer, leaseGranted);
    answers.push({ step: step.join(' '), ok, answer });
  }
  return answers;
}

/** Drops the volatile fields, lease IDs (compared as present or not) and, once a lease exists, hashes. */
function normalize(value: ExactJson, leaseGranted: boolean): ExactJson {
  if (Array.isArray(value)) return value.map((item) => normalize(item, leaseGranted));
  if (value === null || typeof value !== 'object') return value;
  const out: Record<string, ExactJson> = {};
  for (const [key, field] of Object.entries(value)) {
    if (VOLATILE.has(key) || (key === 'hash' && leaseGranted)) continue;
    out[key] =
      key === 'lease' || key === 'ID' ? (field === '0' ? '0' : 'a lease') : normalize(field, leaseGranted);
  }
  return out;
}

describe.skipIf(currentTarget().kind === 'etcd')('the same numbers as etcd', () => {
  let etcd: Member;
  let cairn: Member;

  beforeAll(async () => {
    [etcd, cairn] = await Promise.all([
      startMember({ target: targetOf('etcd') }),
      startMember({ target: targetOf('cairn') }),
    ]);
  }, 60_000);

  it('a fixed etcdctl scenario answers with the same revisions, kvs, counts, compaction and HashKV', async () => {
    const [fromEtcd, fromCairn] = [await runScenario(etcd), await runScenario(cairn)];
    expect(fromEtcd.filter((a) => !a.ok)).toEqual([]);
    for (const [i, reference] of fromEtcd.entries()) {
      expect(fromCairn[i], `step ${i + 1}: etcdctl ${reference.step}`).toEqual(reference);
    }
  }, 60_000);
});
