// Debian's etcdctl 3.4 against the target, command by command. Expected outputs are what etcdctl 3.4 prints
// against a real etcd 3.4 (the etcdctl our users have); 64-bit numbers in `-w json` are compared as exact
// decimal strings.
import { statSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  allocatePort,
  at,
  b64,
  cleanupAll,
  currentTarget,
  describeResult,
  etcdctl,
  etcdctlAt,
  fromB64,
  makeTempDir,
  parseExactJson,
  spawnEtcdctl,
  startMember,
  str,
  waitFor,
  type EtcdctlResult,
  type ExactJson,
  type ManagedProcess,
  type Member,
} from '../support';

type Ctl = ReturnType<typeof etcdctlAt>;

let member: Member;
let ctl: Ctl;

beforeAll(async () => {
  member = await startMember();
  ctl = etcdctlAt(member);
});

afterAll(() => cleanupAll());

/** Runs etcdctl, expects exit 0, returns stdout. */
async function run(args: string[], stdin?: string, on: Ctl = ctl): Promise<string> {
  const result = await on(args, { stdin });
  expect(result.code, describeResult(result)).toBe(0);
  return result.stdout;
}

async function runJson(args: string[], on: Ctl = ctl): Promise<ExactJson> {
  return parseExactJson(await run([...args, '-w', 'json'], undefined, on));
}

/** Runs etcdctl and expects it to exit with `code`. */
async function runFailing(args: string[], code: number, on: Ctl = ctl): Promise<EtcdctlResult> {
  const result = await on(args);
  expect(result.code, describeResult(result)).toBe(code);
  return result;
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/**
 * etcdctl 3.4 prints a server error as `Error: <message>` and, for unary calls, logs the gRPC status
 * (`code = <Code> desc = <message>`) from its retry interceptor: both the string and the code must match.
 */
function expectServerError(result: EtcdctlResult, grpcCode: string, message: string, prefix = ''): void {
  expect(result.stderr, describeResult(result)).toMatch(
    new RegExp(`^Error: ${escapeRegExp(prefix + message)}`, 'm'),
  );
  expect(result.stderr, describeResult(result)).toContain(`code = ${grpcCode} desc = ${message}`);
}

/** Puts and returns the revision the put created (exact decimal string). */
async function putRevision(key: string, value: string, on: Ctl = ctl): Promise<string> {
  return str(await runJson(['put', key, value], on), 'header', 'revision');
}

async function currentRevision(on: Ctl = ctl): Promise<string> {
  return str(await runJson(['get', 'revision-probe'], on), 'header', 'revision');
}

function lines(...items: string[]): string {
  return items.map((item) => `${item}\n`).join('');
}

describe('etcdctl put and get', () => {
  it('put prints OK and get prints the key line then the value line', async () => {
    expect(await run(['put', 'basic/k', 'hello world'])).toBe('OK\n');
    expect(await run(['get', 'basic/k'])).toBe(lines('basic/k', 'hello world'));
  });

  it('get of a missing key prints nothing and succeeds', async () => {
    expect(await run(['get', 'basic/missing'])).toBe('');
  });

  it('get --prefix lists every key under the prefix in byte order', async () => {
    for (const key of ['pfx/b', 'pfx/a', 'pfx/c', 'pfx0', 'pfw']) await run(['put', key, `v-${key}`]);
    expect(await run(['get', 'pfx/', '--prefix'])).toBe(
      lines('pfx/a', 'v-pfx/a', 'pfx/b', 'v-pfx/b', 'pfx/c', 'v-pfx/c'),
    );
  });

  it('get <key> <range_end> returns the half-open range [key, range_end)', async () => {
    for (const key of ['rng/a', 'rng/b', 'rng/c', 'rng/d']) await run(['put', key, key]);
    expect(await run(['get', 'rng/b', 'rng/d'])).toBe(lines('rng/b', 'rng/b', 'rng/c', 'rng/c'));
  });

  it('get --from-key returns every key >= the given key', async () => {
    await run(['put', '\x7ffrom/a', '1']);
    await run(['put', '\x7ffrom/b', '2']);
    expect(await run(['get', '--from-key', '\x7ffrom/'])).toBe(lines('\x7ffrom/a', '1', '\x7ffrom/b', '2'));
  });

  it('get --limit returns the first N keys; -w json reports more=true and the full count', async () => {
    for (const key of ['lim/1', 'lim/2', 'lim/3']) await run(['put', key, 'x']);
    expect(await run(['get', 'lim/', '--prefix', '--limit', '2', '--keys-only'])).toBe(
      lines('lim/1', '', 'lim/2', ''),
    );
    const json = await runJson(['get', 'lim/', '--prefix', '--limit', '1']);
    expect(at(json, 'more')).toBe(true);
    expect(str(json, 'count')).toBe('3');
    expect((at(json, 'kvs') as ExactJson[]).length).toBe(1);
    expect(fromB64(str(json, 'kvs', 0, 'key'))).toBe('lim/1');
  });

  it('get --sort-by/--order sorts by key, value, version, create and modify revision', async () => {
    // Creation order a, c, b; then b is modified twice and c once: versions a=1, c=2, b=3; last modified b.
    await run(['put', 'srt/a', '3']);
    await run(['put', 'srt/c', '1']);
    await run(['put', 'srt/b', '0']);
    await run(['put', 'srt/c', '2']);
    await run(['put', 'srt/b', '9']);
    await run(['put', 'srt/b', '4']);
    const keys = async (...flags: string[]) =>
      (await run(['get', 'srt/', '--prefix', '--keys-only', ...flags])).split('\n').filter(Boolean);
    expect(await keys('--order', 'DESCEND')).toEqual(['srt/c', 'srt/b', 'srt/a']);
    expect(await keys('--sort-by', 'KEY', '--order', 'ASCEND')).toEqual(['srt/a', 'srt/b', 'srt/c']);
    expect(await keys('--sort-by', 'VALUE')).toEqual(['srt/c', 'srt/a', 'srt/b']);
    expect(await keys('--sort-by', 'VERSION', '--order', 'DESCEND')).toEqual(['srt/b', 'srt/c', 'srt/a']);
    expect(await keys('--sort-by', 'CREATE', '--order', 'DESCEND')).toEqual(['srt/b', 'srt/c', 'srt/a']);
    expect(await keys('--sort-by', 'MODIFY')).toEqual(['srt/a', 'srt/c', 'srt/b']);
    expect(await keys('--sort-by', 'MODIFY', '--order', 'DESCEND', '--limit', '1')).toEqual(['srt/b']);
  });

  it('get --rev reads the value as of that revision, and nothing before the key existed', async () => {
    const first = await putRevision('rev/k', 'one');
    await putRevision('rev/k', 'two');
    expect(await run(['get', 'rev/k', `--rev=${first}`, '--print-value-only'])).toBe('one\n');
    expect(await run(['get', 'rev/k', '--print-value-only'])).toBe('two\n');
    expect(await run(['get', 'rev/k', `--rev=${BigInt(first) - 1n}`])).toBe('');
  });

  it('get --keys-only prints each key followed by an empty line (etcdctl 3.4 format)', async () => {
    await run(['put', 'ko/a', 'va']);
    await run(['put', 'ko/b', 'vb']);
    expect(await run(['get', 'ko/', '--prefix', '--keys-only'])).toBe('ko/a\n\nko/b\n\n');
  });

  it('get --print-value-only prints only the values', async () => {
    await run(['put', 'pvo/a', 'first']);
    await run(['put', 'pvo/b', 'second']);
    expect(await run(['get', 'pvo/', '--prefix', '--print-value-only'])).toBe(lines('first', 'second'));
  });

  it('get --count-only does not exist in etcdctl 3.4; the count is in -w json instead', async () => {
    const result = await runFailing(['get', 'pvo/', '--prefix', '--count-only'], 1);
    expect(result.stderr).toContain('Error: unknown flag: --count-only');
    const json = await runJson(['get', 'pvo/', '--prefix', '--keys-only']);
    expect(str(json, 'count')).toBe('2');
  });

  it('get -w json gives exact 64-bit header fields and base64 key/value with create/mod revision and version', async () => {
    const created = await putRevision('json/k', 'v1');
    const modified = await putRevision('json/k', 'v2');
    const json = await runJson(['get', 'json/k']);
    const members = await runJson(['member', 'list']);
    expect(str(json, 'header', 'member_id')).toBe(str(members, 'members', 0, 'ID'));
    expect(str(json, 'header', 'cluster_id')).toBe(str(members, 'header', 'cluster_id'));
    expect(str(json, 'header', 'member_id')).toMatch(/^[1-9]\d*$/);
    expect(str(json, 'header', 'revision')).toBe(modified);
    expect(BigInt(str(json, 'header', 'raft_term'))).toBeGreaterThanOrEqual(1n);
    expect(at(json, 'kvs')).toEqual([
      {
        key: b64('json/k'),
        create_revision: created,
        mod_revision: modified,
        version: '2',
        value: b64('v2'),
      },
    ]);
    expect(str(json, 'count')).toBe('1');
  });

  it('put --prev-kv prints OK then the previous key and value (nothing extra on first put)', async () => {
    expect(await run(['put', 'pkv/k', 'old', '--prev-kv'])).toBe('OK\n');
    expect(await run(['put', 'pkv/k', 'new', '--prev-kv'])).toBe(lines('OK', 'pkv/k', 'old'));
    const json = await runJson(['put', 'pkv/k', 'newer', '--prev-kv']);
    expect(fromB64(str(json, 'prev_kv', 'value'))).toBe('new');
    expect(str(json, 'prev_kv', 'version')).toBe('2');
  });

  it('put --ignore-value keeps the value; on a missing key it fails with "key not found"', async () => {
    await run(['put', 'ign/k', 'kept']);
    expect(await run(['put', 'ign/k', '--ignore-value'])).toBe('OK\n');
    expect(await run(['get', 'ign/k', '--print-value-only'])).toBe('kept\n');
    const missing = await runFailing(['put', 'ign/missing', '--ignore-value'], 1);
    expectServerError(missing, 'InvalidArgument', 'etcdserver: key not found');
  });
});

describe('etcdctl del', () => {
  it('del --prefix prints the number deleted and the keys are gone', async () => {
    for (const key of ['delp/a', 'delp/b', 'delp/c']) await run(['put', key, 'x']);
    expect(await run(['del', 'delp/', '--prefix'])).toBe('3\n');
    expect(await run(['get', 'delp/', '--prefix'])).toBe('');
  });

  it('del --prev-kv prints the count then every deleted key and value', async () => {
    await run(['put', 'delk/a', '1']);
    await run(['put', 'delk/b', '2']);
    expect(await run(['del', 'delk/', '--prefix', '--prev-kv'])).toBe(
      lines('2', 'delk/a', '1', 'delk/b', '2'),
    );
  });

  it('del of a missing key prints 0; del of a range [key, end) deletes only that range', async () => {
    expect(await run(['del', 'delr/none'])).toBe('0\n');
    for (const key of ['delr/a', 'delr/b', 'delr/c']) await run(['put', key, 'x']);
    expect(await run(['del', 'delr/a', 'delr/c'])).toBe('2\n');
    expect(await run(['get', 'delr/', '--prefix', '--keys-only'])).toBe('delr/c\n\n');
  });

  it('del -w json reports deleted as a string-exact count and the deletion revision', async () => {
    await run(['put', 'delj/a', '1']);
    const before = BigInt(await currentRevision());
    const json = await runJson(['del', 'delj/a']);
    expect(str(json, 'deleted')).toBe('1');
    expect(BigInt(str(json, 'header', 'revision'))).toBe(before + 1n);
  });
});

describe('etcdctl txn (stdin)', () => {
  it('takes the success branch when every compare holds and prints SUCCESS and each response', async () => {
    await run(['put', 'txn1/k', 'v1']);
    const stdin = lines(
      'value("txn1/k") = "v1"',
      'version("txn1/k") = "1"',
      'mod("txn1/k") > "0"',
      '',
      'put txn1/result ok',
      'get txn1/k',
      '',
      'put txn1/result bad',
      '',
    );
    expect(await run(['txn'], stdin)).toBe(lines('SUCCESS', '', 'OK', '', 'txn1/k', 'v1'));
    expect(await run(['get', 'txn1/result', '--print-value-only'])).toBe('ok\n');
  });

  it('takes the failure branch when a compare fails and prints FAILURE', async () => {
    await run(['put', 'txn2/k', 'v1']);
    const stdin = lines(
      'value("txn2/k") = "other"',
      '',
      'put txn2/result ok',
      '',
      'put txn2/result bad',
      'get txn2/result',
      '',
    );
    expect(await run(['txn'], stdin)).toBe(lines('FAILURE', '', 'OK', '', 'txn2/result', 'bad'));
  });

  it('compares a missing key as create revision 0 ("create if absent") and supports del in a branch', async () => {
    const stdin = lines('create("txn3/lock") = "0"', '', 'put txn3/lock me', 'del txn3/none', '', '');
    expect(await run(['txn'], stdin)).toBe(lines('SUCCESS', '', 'OK', '', '0'));
    // Each response is preceded by a blank line, so an empty branch prints just the verdict.
    expect(await run(['txn'], stdin)).toBe(lines('FAILURE'));
  });

  it('-w json reports the header and responses; a failed txn has no "succeeded" field', async () => {
    await run(['put', 'txn4/k', 'v']);
    const succeeded = parseExactJson(
      await run(['txn', '-w', 'json'], lines('value("txn4/k") = "v"', '', 'put txn4/k w', '', '')),
    );
    expect(at(succeeded, 'succeeded')).toBe(true);
    const revision = str(succeeded, 'header', 'revision');
    expect(str(succeeded, 'responses', 0, 'Response', 'ResponsePut', 'header', 'revision')).toBe(revision);
    const failed = parseExactJson(
      await run(['txn', '-w', 'json'], lines('value("txn4/k") = "v"', '', '', 'get txn4/k', '')),
    );
    expect(failed).not.toHaveProperty('succeeded');
    expect(fromB64(str(failed, 'responses', 0, 'Response', 'ResponseRange', 'kvs', 0, 'value'))).toBe('w');
  });

  it('--interactive prints the section prompts and runs the same txn', async () => {
    const stdin = lines('create("txn5/k") = "0"', '', 'put txn5/k v', '', '');
    expect(await run(['txn', '--interactive'], stdin)).toBe(
      'compares:\nsuccess requests (get, put, del):\nfailure requests (get, put, del):\nSUCCESS\n\nOK\n',
    );
  });

  it('fails with "Error: EOF" when stdin ends without the trailing blank line', async () => {
    const result = await ctl(['txn'], { stdin: lines('create("txn6/k") = "0"', '', 'put txn6/k v') });
    expect(result.code, describeResult(result)).toBe(3);
    expect(result.stderr).toContain('Error: EOF');
    expect(await run(['get', 'txn6/k'])).toBe('');
  });

  it('rejects a txn that writes the same key twice with "duplicate key given in txn request"', async () => {
    const result = await ctl(['txn'], { stdin: lines('', 'put txn7/k 1', 'put txn7/k 2', '', '') });
    expect(result.code, describeResult(result)).toBe(1);
    expectServerError(result, 'InvalidArgument', 'etcdserver: duplicate key given in txn request');
    expect(await run(['get', 'txn7/k'])).toBe('');
  });
});

describe('etcdctl watch', () => {
  const watchers: ManagedProcess[] = [];

  afterAll(async () => {
    await Promise.all(watchers.map((w) => w.kill()));
  });

  function watch(args: string[]): ManagedProcess {
    const proc = spawnEtcdctl(['watch', ...args], { endpoints: member });
    watchers.push(proc);
    return proc;
  }

  /** Waits until the watcher printed `expected` after the first `offset` characters, and compares exactly. */
  async function expectOutputAfter(proc: ManagedProcess, offset: number, expected: string): Promise<void> {
    const out = await proc.waitForStdout((text) => text.length >= offset + expected.length, 10_000);
    expect(out.slice(offset)).toBe(expected);
  }

  /** Puts `syncKey` until the watcher prints it: from then on the watch is live. Returns output so far. */
  async function syncWatch(proc: ManagedProcess, syncKey: string): Promise<string> {
    return waitFor(
      async () => {
        await run(['put', syncKey, 'sync']);
        await new Promise((resolve) => setTimeout(resolve, 100));
        const out = proc.stdout();
        return out.includes(`PUT\n${syncKey}\nsync\n`) ? out : undefined;
      },
      { timeoutMs: 10_000, intervalMs: 0, what: `etcdctl watch to report ${syncKey}` },
    );
  }

  it('watch --prefix streams PUT and DELETE events for the prefix only, in order', async () => {
    const proc = watch(['w1/', '--prefix']);
    const synced = await syncWatch(proc, 'w1/sync');
    await run(['put', 'w1/a', '1']);
    await run(['put', 'other/a', 'ignored']);
    await run(['put', 'w1/b', 'two words']);
    await run(['del', 'w1/a']);
    await expectOutputAfter(
      proc,
      synced.length,
      lines('PUT', 'w1/a', '1', 'PUT', 'w1/b', 'two words', 'DELETE', 'w1/a', ''),
    );
    await proc.kill();
    expect(proc.running).toBe(false);
  });

  it('watch --rev replays history from that revision (inclusive) before live events', async () => {
    const first = await putRevision('w2/k', 'a');
    await run(['put', 'w2/k', 'b']);
    await run(['del', 'w2/k']);
    const proc = watch(['w2/k', `--rev=${first}`]);
    const history = lines('PUT', 'w2/k', 'a', 'PUT', 'w2/k', 'b', 'DELETE', 'w2/k', '');
    await expectOutputAfter(proc, 0, history);
    await run(['put', 'w2/k', 'c']);
    await expectOutputAfter(proc, history.length, lines('PUT', 'w2/k', 'c'));
    await proc.kill();
  });

  it('watch --prev-kv prints the previous pair before the new one, and before the deleted key', async () => {
    const proc = watch(['w3/', '--prefix', '--prev-kv']);
    const synced = await syncWatch(proc, 'w3/sync');
    await run(['put', 'w3/k', 'old']);
    await run(['put', 'w3/k', 'new']);
    await run(['del', 'w3/k']);
    await expectOutputAfter(
      proc,
      synced.length,
      lines('PUT', 'w3/k', 'old', 'PUT', 'w3/k', 'old', 'w3/k', 'new', 'DELETE', 'w3/k', 'new', 'w3/k', ''),
    );
    await proc.kill();
  });

  it('a txn touching two watched keys arrives as events of one revision', async () => {
    const start = BigInt(await currentRevision()) + 1n;
    const proc = watch(['w4/', '--prefix', `--rev=${start}`, '-w', 'json']);
    await run(['txn'], lines('', 'put w4/a 1', 'put w4/b 2', '', ''));
    const out = await proc.waitForStdout((text) => text.includes('\n'), 10_000);
    const response = parseExactJson(out.split('\n')[0]!);
    const events = at(response, 'Events') as ExactJson[];
    expect(events.map((e) => fromB64(str(e, 'kv', 'key')))).toEqual(['w4/a', 'w4/b']);
    expect(events.map((e) => str(e, 'kv', 'mod_revision'))).toEqual([String(start), String(start)]);
    await proc.kill();
  });
});

describe('etcdctl lease', () => {
  async function grant(ttl: number, grantedTtl = ttl): Promise<string> {
    const out = await run(['lease', 'grant', String(ttl)]);
    const match = /^lease ([0-9a-f]{16}) granted with TTL\((\d+)s\)\n$/.exec(out);
    expect(match, out).not.toBeNull();
    expect(match![2]).toBe(String(grantedTtl));
    return match![1]!;
  }

  it('lease grant prints a 16-hex-digit ID; -w json gives the same ID in exact decimal', async () => {
    await grant(60);
    const json = await runJson(['lease', 'grant', '45']);
    expect(str(json, 'TTL')).toBe('45');
    expect(at(json, 'Error')).toBe('');
    expect(str(json, 'ID')).toMatch(/^[1-9]\d*$/);
  });

  it('put --lease attaches keys; timetolive --keys lists them with remaining and granted TTL', async () => {
    const id = await grant(60);
    await run(['put', 'lease1/a', 'x', `--lease=${id}`]);
    await run(['put', 'lease1/b', 'y', `--lease=${id}`]);
    const plain = await run(['lease', 'timetolive', id]);
    expect(plain).toMatch(new RegExp(`^lease ${id} granted with TTL\\(60s\\), remaining\\((\\d+)s\\)\\n$`));
    const withKeys = await run(['lease', 'timetolive', id, '--keys']);
    const match = new RegExp(
      `^lease ${id} granted with TTL\\(60s\\), remaining\\((\\d+)s\\), attached keys\\(\\[(.*)\\]\\)\\n$`,
    ).exec(withKeys);
    expect(match, withKeys).not.toBeNull();
    // Whole seconds left, truncated: some time has passed since the grant, so below the granted 60 (etcd).
    expect(Number(match![1])).toBeGreaterThanOrEqual(55);
    expect(Number(match![1])).toBeLessThanOrEqual(59);
    expect(match![2]!.split(' ').sort()).toEqual(['lease1/a', 'lease1/b']);

    const json = await runJson(['lease', 'timetolive', id, '--keys']);
    expect(str(json, 'id')).toBe(BigInt(`0x${id}`).toString());
    expect(str(json, 'granted-ttl')).toBe('60');
    expect(Number(str(json, 'ttl'))).toBeGreaterThanOrEqual(55);
    expect((at(json, 'keys') as string[]).map(fromB64).sort()).toEqual(['lease1/a', 'lease1/b']);
    const got = await runJson(['get', 'lease1/a']);
    expect(str(got, 'kvs', 0, 'lease')).toBe(BigInt(`0x${id}`).toString());
  });

  it('lease keep-alive --once renews to the full TTL', async () => {
    const id = await grant(60);
    expect(await run(['lease', 'keep-alive', '--once', id])).toBe(`lease ${id} keepalived with TTL(60)\n`);
    const json = await runJson(['lease', 'keep-alive', '--once', id]);
    expect(str(json, 'ID')).toBe(BigInt(`0x${id}`).toString());
    expect(str(json, 'TTL')).toBe('60');
  });

  it('lease list prints "found N leases" and every ID in hex', async () => {
    const ids = [await grant(60), await grant(60)];
    const out = await run(['lease', 'list']);
    const [header, ...listed] = out.trimEnd().split('\n');
    expect(header).toBe(`found ${listed.length} leases`);
    expect(listed).toEqual(expect.arrayContaining(ids));
    const json = await runJson(['lease', 'list']);
    const decimal = (at(json, 'leases') as ExactJson[]).map((l) => str(l, 'id'));
    expect(decimal).toEqual(expect.arrayContaining(ids.map((id) => BigInt(`0x${id}`).toString())));
  });

  it('lease revoke deletes the attached keys, and the lease then reads as expired', async () => {
    const id = await grant(60);
    await run(['put', 'lease2/a', 'x', `--lease=${id}`]);
    await run(['put', 'lease2/b', 'y', `--lease=${id}`]);
    await run(['put', 'lease2/keep', 'z']);
    expect(await run(['lease', 'revoke', id])).toBe(`lease ${id} revoked\n`);
    expect(await run(['get', 'lease2/', '--prefix', '--keys-only'])).toBe('lease2/keep\n\n');
    expect(await run(['lease', 'timetolive', id])).toBe(`lease ${id} already expired\n`);
    const json = await runJson(['lease', 'timetolive', id]);
    expect(str(json, 'ttl')).toBe('-1');
    expect(str(json, 'granted-ttl')).toBe('0');
    expect(await run(['lease', 'list'])).not.toContain(id);
  });

  it('revoke and keep-alive of an unknown lease fail with "requested lease not found"', async () => {
    const unknown = '00000000000a1b2c';
    const revoke = await runFailing(['lease', 'revoke', unknown], 1);
    expectServerError(
      revoke,
      'NotFound',
      'etcdserver: requested lease not found',
      'failed to revoke lease (',
    );
    const keepAlive = await runFailing(['lease', 'keep-alive', '--once', unknown], 2);
    expect(keepAlive.stderr).toMatch(/^Error: etcdserver: requested lease not found$/m);
    expect(await run(['lease', 'timetolive', unknown])).toBe(`lease ${unknown} already expired\n`);
  });

  it('a lease expires after its TTL and takes its keys with it', async () => {
    // etcd raises a TTL below its minimum, ceil(1.5 × election timeout) = 2 s with the default 1 s
    // election timeout, and says so in the grant response.
    const id = await grant(1, 2);
    await run(['put', 'lease3/k', 'v', `--lease=${id}`]);
    await waitFor(async () => ((await run(['get', 'lease3/k'])) === '' ? true : undefined), {
      timeoutMs: 10_000,
      intervalMs: 200,
      what: 'the leased key to disappear',
    });
    expect(await run(['lease', 'timetolive', id])).toBe(`lease ${id} already expired\n`);
  });

  it('lease grant rejects a TTL above the maximum with "too large lease TTL"', async () => {
    const result = await runFailing(['lease', 'grant', '9000000001'], 1);
    expectServerError(result, 'OutOfRange', 'etcdserver: too large lease TTL', 'failed to grant lease (');
  });
});

describe('etcdctl compaction (own member: compaction is store-wide)', () => {
  let compacting: Member;
  let cctl: Ctl;

  beforeAll(async () => {
    compacting = await startMember();
    cctl = etcdctlAt(compacting);
  });

  it('compaction prints the revision; reads and watches below it fail with "required revision has been compacted"', async () => {
    const inner = (...args: string[]) => run(args, undefined, cctl);
    const first = await putRevision('c/k', '1', cctl);
    const second = await putRevision('c/k', '2', cctl);
    await inner('put', 'c/k', '3');
    expect(await inner('compaction', second)).toBe(`compacted revision ${second}\n`);

    const below = await runFailing(['get', 'c/k', `--rev=${BigInt(second) - 1n}`], 1, cctl);
    expectServerError(below, 'OutOfRange', 'etcdserver: mvcc: required revision has been compacted');
    expect(await inner('get', 'c/k', `--rev=${second}`, '--print-value-only')).toBe('2\n');

    const again = await runFailing(['compaction', second], 1, cctl);
    expectServerError(again, 'OutOfRange', 'etcdserver: mvcc: required revision has been compacted');

    const watch = await cctl(['watch', 'c/k', `--rev=${first}`], { timeoutMs: 10_000 });
    expect(watch.code, describeResult(watch)).toBe(5);
    // etcdctl 3.4 prints both lines on stderr.
    expect(watch.stdout).toBe('');
    expect(watch.stderr).toBe(
      'watch was canceled (etcdserver: mvcc: required revision has been compacted)\n' +
        'Error: watch is canceled by the server\n',
    );

    const hash = parseExactJson(await inner('endpoint', 'hashkv', '-w', 'json'));
    expect(str(hash, 0, 'HashKV', 'compact_revision')).toBe(second);
  });

  it('compaction --physical succeeds; get --rev in the future fails with "future revision"', async () => {
    const rev = await currentRevision(cctl);
    expect(await run(['compaction', '--physical', rev], undefined, cctl)).toBe(`compacted revision ${rev}\n`);
    const future = await runFailing(['get', 'c/k', `--rev=${BigInt(rev) + 100n}`], 1, cctl);
    expectServerError(future, 'OutOfRange', 'etcdserver: mvcc: required revision is a future revision');
  });
});

describe('etcdctl endpoint, member and snapshot', () => {
  async function memberIdHex(): Promise<string> {
    const out = await run(['member', 'list']);
    return out.split(',')[0]!;
  }

  it('member list prints "<hex id>, started, <name>, <peer url>, <client url>, false"', async () => {
    expect(await run(['member', 'list'])).toMatch(
      new RegExp(`^[0-9a-f]{1,16}, started, m1, ${member.peerUrl}, ${member.clientUrl}, false\\n$`),
    );
    const json = await runJson(['member', 'list']);
    expect(BigInt(str(json, 'members', 0, 'ID')).toString(16)).toBe(await memberIdHex());
    expect(str(json, 'members', 0, 'ID')).toBe(str(json, 'header', 'member_id'));
    expect(at(json, 'members', 0, 'name')).toBe('m1');
    expect(at(json, 'members', 0, 'peerURLs')).toEqual([member.peerUrl]);
    expect(at(json, 'members', 0, 'clientURLs')).toEqual([member.clientUrl]);
    expect(json).not.toHaveProperty(['members', 0, 'isLearner']);
  });

  it('endpoint status reports id, version, db size, leadership and raft indexes', async () => {
    const idHex = await memberIdHex();
    const simple = await run(['endpoint', 'status']);
    expect(simple).toMatch(
      new RegExp(
        `^${member.clientUrl}, ${idHex}, \\d+\\.\\d+\\.\\d+, [\\d.]+ [kMG]?B, true, false, \\d+, \\d+, \\d+, \\n$`,
      ),
    );
    const json = await runJson(['endpoint', 'status']);
    expect(at(json, 0, 'Endpoint')).toBe(member.clientUrl);
    const status = at(json, 0, 'Status');
    expect(str(status, 'leader')).toBe(str(status, 'header', 'member_id'));
    expect(BigInt(str(status, 'header', 'member_id')).toString(16)).toBe(idHex);
    expect(str(status, 'version')).toMatch(/^\d+\.\d+\.\d+$/);
    // The server's version is the etcd API level it implements: etcd's own release, 3.5.0 for Cairn; the same
    // as /version's etcdserver.
    const version = (await (await fetch(`${member.clientUrl}/version`)).json()) as { etcdserver: string };
    expect(str(status, 'version')).toBe(version.etcdserver);
    expect(simple).toContain(`, ${version.etcdserver}, `);
    if (currentTarget().kind === 'cairn') expect(version.etcdserver).toBe('3.5.0');
    else expect(version.etcdserver).toMatch(/^3\.4\.\d+$/);
    expect(BigInt(str(status, 'dbSize'))).toBeGreaterThan(0n);
    expect(BigInt(str(status, 'dbSizeInUse'))).toBeLessThanOrEqual(BigInt(str(status, 'dbSize')));
    expect(BigInt(str(status, 'raftTerm'))).toBeGreaterThanOrEqual(1n);
    expect(BigInt(str(status, 'raftIndex'))).toBeGreaterThanOrEqual(BigInt(str(status, 'raftAppliedIndex')));
    expect(BigInt(str(status, 'raftAppliedIndex'))).toBeGreaterThan(0n);
  });

  it('version is client-only in etcdctl 3.4: its own release and API level, the same with no server at all', async () => {
    const expected = /^etcdctl version: 3\.4\.\d+\nAPI version: 3\.4\n$/;
    const served = await run(['version']);
    expect(served).toMatch(expected);
    const closed = await etcdctl(['version'], { endpoints: `http://127.0.0.1:${await allocatePort()}` });
    expect(closed.code, describeResult(closed)).toBe(0);
    expect(closed.stdout).toBe(served);
  });

  it('endpoint health says "is healthy: successfully committed proposal" (on stderr) and health:true in json', async () => {
    const result = await ctl(['endpoint', 'health']);
    expect(result.code, describeResult(result)).toBe(0);
    expect(result.stdout).toBe('');
    expect(result.stderr).toMatch(
      new RegExp(`^${member.clientUrl} is healthy: successfully committed proposal: took = \\S+\\n$`),
    );
    const json = await runJson(['endpoint', 'health']);
    expect(at(json, 0, 'endpoint')).toBe(member.clientUrl);
    expect(at(json, 0, 'health')).toBe(true);
    expect(str(json, 0, 'took')).toMatch(/^[\d.]+(ns|µs|ms|s)$/);
  });

  it('endpoint hashkv is stable without writes and changes with a write', async () => {
    const simple = await run(['endpoint', 'hashkv']);
    expect(simple).toMatch(new RegExp(`^${member.clientUrl}, \\d+\\n$`));
    const one = await runJson(['endpoint', 'hashkv']);
    const two = await runJson(['endpoint', 'hashkv']);
    expect(at(one, 0, 'Endpoint')).toBe(member.clientUrl);
    expect(str(one, 0, 'HashKV', 'hash')).toBe(str(two, 0, 'HashKV', 'hash'));
    expect(str(one, 0, 'HashKV', 'header', 'revision')).toBe(await currentRevision());
    await run(['put', 'hash/k', 'changes the hash']);
    const three = await runJson(['endpoint', 'hashkv']);
    expect(str(three, 0, 'HashKV', 'hash')).not.toBe(str(one, 0, 'HashKV', 'hash'));
  });

  it('snapshot save writes a non-empty file and says where', async () => {
    const file = join(makeTempDir('cairn-e2e-snap-'), 'backup.db');
    const result = await ctl(['snapshot', 'save', file], { timeoutMs: 20_000 });
    expect(result.code, describeResult(result)).toBe(0);
    expect(result.stdout).toBe(`Snapshot saved at ${file}\n`);
    expect(statSync(file).size).toBeGreaterThan(0);
  });
});

describe('etcdctl error cases', () => {
  it('put and get of an empty key fail with "key is not provided" (InvalidArgument)', async () => {
    expectServerError(
      await runFailing(['put', '', 'v'], 1),
      'InvalidArgument',
      'etcdserver: key is not provided',
    );
    expectServerError(await runFailing(['get', ''], 1), 'InvalidArgument', 'etcdserver: key is not provided');
    expectServerError(await runFailing(['del', ''], 1), 'InvalidArgument', 'etcdserver: key is not provided');
  });

  it('put with an unknown lease fails with "requested lease not found" (NotFound) and writes nothing', async () => {
    const result = await runFailing(['put', 'err/k', 'v', '--lease=1234abcd'], 1);
    expectServerError(result, 'NotFound', 'etcdserver: requested lease not found');
    expect(await run(['get', 'err/k'])).toBe('');
  });

  it('bad arguments are rejected by etcdctl itself with its own messages and exit codes', async () => {
    const badLease = await runFailing(['put', 'err/k', 'v', '--lease=zz'], 128);
    expect(badLease.stderr).toContain('Error: bad lease ID');
    const badSort = await runFailing(['get', 'err/k', '--sort-by=BOGUS'], 4);
    expect(badSort.stderr).toContain('Error: bad sort target BOGUS');
  });
});
