// etcd's Lock and Election services on the JSON gateway (/v3/lock/*, /v3/election/*), and etcdctl's lock and
// elect (the client-side recipes, which share the services' keys: `<name>/<lease in hex>`). Every assertion
// holds against real etcd 3.4 (CAIRN_TEST_TARGET=etcd) and Cairn alike; revisions are only compared with each
// other, never with absolute numbers.
import * as grpc from '@grpc/grpc-js';
import { loadEtcdServices } from '@cairn/api';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type ManagedProcess,
  type Member,
  GatewayStream,
  gatewayPost,
  type GatewayAnswer as Reply,
  b64,
  cleanupAll,
  describeResult,
  etcdctl,
  fromB64,
  killMember,
  sleep,
  spawnEtcdctl,
  startCluster,
  startMember,
  waitFor,
} from '../support';

type Json = Record<string, unknown>;

let member: Member;

beforeAll(async () => {
  member = await startMember();
});

afterAll(() => cleanupAll());

function post(path: string, body: unknown, signal?: AbortSignal, target: Member = member): Promise<Reply> {
  return gatewayPost(target, path, body, { signal, timeoutMs: 20_000 });
}

async function call(
  path: string,
  body: unknown,
  signal?: AbortSignal,
  target: Member = member,
): Promise<Json> {
  const reply = await post(path, body, signal, target);
  expect(reply.status, JSON.stringify(reply.body)).toBe(200);
  return reply.body;
}

async function grantLease(ttl = 30): Promise<string> {
  return (await call('/v3/lease/grant', { TTL: String(ttl) }))['ID'] as string;
}

/** `<name>/<lease in hex>`, the key etcd's Mutex and Election make. */
function contenderKey(name: string, lease: string): string {
  return `${name}/${BigInt(lease).toString(16)}`;
}

async function keysUnder(prefix: string): Promise<string[]> {
  const body = await call('/v3/kv/range', { key: b64(prefix), range_end: b64(prefix.slice(0, -1) + '0') });
  return ((body['kvs'] as Json[] | undefined) ?? []).map((kv) => fromB64(kv['key'] as string));
}

function revisionOf(body: Json): number {
  return Number((body['header'] as Json)['revision']);
}

/** Whether a request is still unanswered after a while (a waiter that must keep waiting). */
async function stillWaiting(request: Promise<unknown>, ms = 500): Promise<boolean> {
  const marker = Symbol('waiting');
  return (await Promise.race([request.catch(() => undefined), sleep(ms).then(() => marker)])) === marker;
}

/** The values of the leader kvs an Observe stream carried, once there are at least `count`. */
async function observedValues(stream: GatewayStream, count: number): Promise<string[]> {
  const results = await stream.results(count);
  return results.map((r) => fromB64(((r['kv'] as Json)['value'] as string) ?? ''));
}

describe('gateway /v3/lock', () => {
  it('a second locker waits until the holder unlocks; the lock key is <name>/<lease hex>', async () => {
    const [one, two] = [await grantLease(), await grantLease()];
    const first = await call('/v3/lock/lock', { name: b64('gw-lock'), lease: one });
    expect(fromB64(first['key'] as string)).toBe(contenderKey('gw-lock', one));

    const second = call('/v3/lock/lock', { name: b64('gw-lock'), lease: two });
    expect(await stillWaiting(second)).toBe(true);
    const unlocked = await call('/v3/lock/unlock', { key: first['key'] });
    const granted = await second;
    expect(fromB64(granted['key'] as string)).toBe(contenderKey('gw-lock', two));
    expect(revisionOf(granted)).toBeGreaterThanOrEqual(revisionOf(unlocked));
    await call('/v3/lock/unlock', { key: granted['key'] });
    expect(await keysUnder('gw-lock/')).toEqual([]);
  });

  it('the lock is released when the holder’s lease dies', async () => {
    const [one, two] = [await grantLease(), await grantLease()];
    await call('/v3/lock/lock', { name: b64('gw-lease'), lease: one });
    const second = call('/v3/lock/lock', { name: b64('gw-lease'), lease: two });
    expect(await stillWaiting(second)).toBe(true);
    await call('/v3/lease/revoke', { ID: one });
    expect(fromB64((await second)['key'] as string)).toBe(contenderKey('gw-lease', two));
    await call('/v3/lease/revoke', { ID: two });
  });

  it('a waiter whose client goes away leaves no key behind', async () => {
    const [one, two] = [await grantLease(), await grantLease()];
    await call('/v3/lock/lock', { name: b64('gw-gone'), lease: one });
    const gone = new AbortController();
    const waiting = post('/v3/lock/lock', { name: b64('gw-gone'), lease: two }, gone.signal);
    await waitFor(async () => ((await keysUnder('gw-gone/')).length === 2 ? true : undefined), {
      timeoutMs: 5_000,
      what: 'the waiter’s key',
    });
    gone.abort();
    await waiting.catch(() => undefined);
    await waitFor(async () => ((await keysUnder('gw-gone/')).length === 1 ? true : undefined), {
      timeoutMs: 5_000,
      what: 'the abandoned waiter’s key to go',
    });
    expect(await keysUnder('gw-gone/')).toEqual([contenderKey('gw-gone', one)]);
    await call('/v3/lease/revoke', { ID: one });
  });

  it('a lock on the /v3beta/ path waits past the server’s bound on unary calls (5 s + 2 election timeouts)', async () => {
    const [one, two] = [await grantLease(), await grantLease()];
    const held = await call('/v3beta/lock/lock', { name: b64('gw-beta'), lease: one });
    const second = call('/v3beta/lock/lock', { name: b64('gw-beta'), lease: two });
    expect(await stillWaiting(second, 8_000)).toBe(true);
    await call('/v3beta/lock/unlock', { key: held['key'] });
    expect(fromB64((await second)['key'] as string)).toBe(contenderKey('gw-beta', two));
    await call('/v3/lease/revoke', { ID: two });
  });

  it('locking with an unknown lease fails with etcd’s error', async () => {
    const reply = await post('/v3/lock/lock', { name: b64('gw-nolease'), lease: '123456789' });
    // etcd's lock server runs the Mutex through its in-process client, whose errors carry no gRPC status:
    // Unknown (HTTP 500) with etcd's message, which is what clients match on.
    expect(reply.status).toBe(500);
    expect(reply.body).toMatchObject({ code: 2, message: 'etcdserver: requested lease not found' });
  });
});

describe('gateway /v3/election', () => {
  it('campaign, observe, proclaim, leader, resign, with "not leader" and "no leader"', async () => {
    const [one, two] = [await grantLease(), await grantLease()];
    const noLeader = await post('/v3/election/leader', { name: b64('gw-elect') });
    expect([noLeader.status, noLeader.body['code'], noLeader.body['message']]).toEqual([
      500,
      2,
      'election: no leader',
    ]);

    const won = await call('/v3/election/campaign', { name: b64('gw-elect'), lease: one, value: b64('v1') });
    const leader = won['leader'] as Json;
    expect(fromB64(leader['name'] as string)).toBe('gw-elect');
    expect(fromB64(leader['key'] as string)).toBe(contenderKey('gw-elect', one));
    expect(leader['lease']).toBe(one);
    expect(Number(leader['rev'])).toBe(revisionOf(won));

    const observer = await new GatewayStream().open(member, '/v3/election/observe', {
      name: b64('gw-elect'),
    });
    expect(observer.status).toBe(200);
    try {
      expect(await observedValues(observer, 1)).toEqual(['v1']);
      await call('/v3/election/proclaim', { leader, value: b64('v2') });
      expect(await observedValues(observer, 2)).toEqual(['v1', 'v2']);
      const current = await call('/v3/election/leader', { name: b64('gw-elect') });
      expect(fromB64((current['kv'] as Json)['value'] as string)).toBe('v2');
      expect(fromB64((current['kv'] as Json)['key'] as string)).toBe(contenderKey('gw-elect', one));

      const runnerUp = call('/v3/election/campaign', { name: b64('gw-elect'), lease: two, value: b64('w1') });
      expect(await stillWaiting(runnerUp)).toBe(true);
      const stale = { ...leader, rev: String(Number(leader['rev']) + 1000) };
      const notLeader = await post('/v3/election/proclaim', { leader: stale, value: b64('x') });
      expect([notLeader.status, notLeader.body['code'], notLeader.body['message']]).toEqual([
        500,
        2,
        'election: not leader',
      ]);

      await call('/v3/election/resign', { leader });
      const next = (await runnerUp)['leader'] as Json;
      expect(fromB64(next['key'] as string)).toBe(contenderKey('gw-elect', two));
      expect(await observedValues(observer, 3)).toEqual(['v1', 'v2', 'w1']);
      await call('/v3/election/resign', { leader: next });
    } finally {
      await observer.close();
    }
    const after = await post('/v3/election/leader', { name: b64('gw-elect') });
    expect(after.body['message']).toBe('election: no leader');
    await call('/v3/lease/revoke', { ID: one });
    await call('/v3/lease/revoke', { ID: two });
  });
});

/** A unary call of the Lock or Election service on the member's gRPC port, with an optional deadline. */
async function unary(
  client: grpc.Client,
  method: string,
  request: object,
  timeoutMs = 10_000,
): Promise<{ ok: Json } | { error: grpc.ServiceError }> {
  // A generated client's unary method: (request, call options, callback).
  type UnaryMethod = (
    this: grpc.Client,
    request: object,
    options: grpc.CallOptions,
    callback: (err: grpc.ServiceError | null, res?: Json) => void,
  ) => void;
  const fn = (client as unknown as Record<string, UnaryMethod | undefined>)[method];
  if (fn === undefined) throw new Error(`no method ${method}`);
  return new Promise((resolve) => {
    fn.call(
      client,
      request,
      { deadline: Date.now() + timeoutMs },
      (err: grpc.ServiceError | null, res?: Json) => resolve(err ? { error: err } : { ok: res ?? {} }),
    );
  });
}

async function ok(client: grpc.Client, method: string, request: object): Promise<Json> {
  const answer = await unary(client, method, request);
  if ('error' in answer) throw new Error(`${method}: ${answer.error.message}`);
  return answer.ok;
}

describe('gRPC v3lockpb.Lock and v3electionpb.Election', () => {
  const address = (): string => member.clientUrl.replace(/^https?:\/\//, '');
  const services = loadEtcdServices();
  let lockClient: grpc.Client;
  let electionClient: grpc.Client;

  beforeAll(() => {
    lockClient = new services.v3lockpb.Lock(address(), grpc.credentials.createInsecure());
    electionClient = new services.v3electionpb.Election(address(), grpc.credentials.createInsecure());
  });

  afterAll(() => {
    lockClient.close();
    electionClient.close();
  });

  it('Lock blocks until its deadline, which removes the waiter’s key; Unlock releases', async () => {
    const [one, two] = [await grantLease(), await grantLease()];
    const held = await ok(lockClient, 'Lock', { name: Buffer.from('grpc-lock'), lease: one });
    expect((held['key'] as Buffer).toString()).toBe(contenderKey('grpc-lock', one));
    const late = await unary(lockClient, 'Lock', { name: Buffer.from('grpc-lock'), lease: two }, 1_000);
    expect('error' in late && late.error.code).toBe(grpc.status.DEADLINE_EXCEEDED);
    await waitFor(async () => ((await keysUnder('grpc-lock/')).length === 1 ? true : undefined), {
      timeoutMs: 5_000,
      what: 'the timed-out waiter’s key to go',
    });
    await ok(lockClient, 'Unlock', { key: held['key'] });
    const next = await ok(lockClient, 'Lock', { name: Buffer.from('grpc-lock'), lease: two });
    expect((next['key'] as Buffer).toString()).toBe(contenderKey('grpc-lock', two));
    await ok(lockClient, 'Unlock', { key: next['key'] });
  });

  it('Campaign, Observe (server stream), Leader with "no leader", Resign', async () => {
    const lease = await grantLease();
    const none = await unary(electionClient, 'Leader', { name: Buffer.from('grpc-elect') });
    expect('error' in none && [none.error.code, none.error.details]).toEqual([
      grpc.status.UNKNOWN,
      'election: no leader',
    ]);
    const won = await ok(electionClient, 'Campaign', {
      name: Buffer.from('grpc-elect'),
      lease,
      value: Buffer.from('g1'),
    });
    const leader = won['leader'] as Json;
    expect((leader['key'] as Buffer).toString()).toBe(contenderKey('grpc-elect', lease));
    const seen: string[] = [];
    const stream = (
      electionClient as unknown as { Observe(req: object): grpc.ClientReadableStream<Json> }
    ).Observe({ name: Buffer.from('grpc-elect') });
    stream.on('data', (res: Json) => seen.push(((res['kv'] as Json)['value'] as Buffer).toString()));
    stream.on('error', () => undefined); // cancelled below
    try {
      await waitFor(() => (seen.length >= 1 ? true : undefined), { timeoutMs: 5_000, what: 'the leader' });
      await ok(electionClient, 'Proclaim', { leader, value: Buffer.from('g2') });
      await waitFor(() => (seen.length >= 2 ? true : undefined), { timeoutMs: 5_000, what: 'the new value' });
      expect(seen).toEqual(['g1', 'g2']);
    } finally {
      stream.cancel();
    }
    await ok(electionClient, 'Resign', { leader });
    expect(await keysUnder('grpc-elect/')).toEqual([]);
    await call('/v3/lease/revoke', { ID: lease });
  });
});

describe('an election across a Raft leader change (3 members)', () => {
  it('a campaign waiting on one follower is elected when the leader resigns through another, after the Raft leader was killed', async () => {
    const members = await startCluster({ size: 3 });
    const status = await Promise.all(members.map((m) => call('/v3/maintenance/status', {}, undefined, m)));
    const raftLeader = status.findIndex((body) => body['leader'] === (body['header'] as Json)['member_id']);
    expect(raftLeader).toBeGreaterThanOrEqual(0);
    const [first, second] = members.filter((_, i) => i !== raftLeader) as [Member, Member];

    const lease = async (target: Member): Promise<string> =>
      (await call('/v3/lease/grant', { TTL: '60' }, undefined, target))['ID'] as string;
    const [one, two] = [await lease(first), await lease(second)];
    const won = await call(
      '/v3/election/campaign',
      { name: b64('ha-elect'), lease: one, value: b64('a') },
      undefined,
      first,
    );
    const runnerUp = call(
      '/v3/election/campaign',
      { name: b64('ha-elect'), lease: two, value: b64('b') },
      AbortSignal.timeout(40_000),
      second,
    );
    expect(await stillWaiting(runnerUp)).toBe(true);

    await killMember(members[raftLeader]!);
    // Retried while the two survivors elect a new Raft leader.
    await waitFor(
      async () =>
        (await post('/v3/election/resign', { leader: won['leader'] }, undefined, first)).status === 200
          ? true
          : undefined,
      { timeoutMs: 20_000, what: 'the resign once a new Raft leader is elected' },
    );
    const next = (await runnerUp)['leader'] as Json;
    expect(fromB64(next['key'] as string)).toBe(contenderKey('ha-elect', two));
    const current = await call('/v3/election/leader', { name: b64('ha-elect') }, undefined, first);
    expect(fromB64((current['kv'] as Json)['value'] as string)).toBe('b');
  });
});

describe('etcdctl lock and elect', () => {
  async function stop(proc: ManagedProcess, signal: NodeJS.Signals): Promise<void> {
    proc.signal(signal);
    await proc.exited;
  }

  it('etcdctl lock waits for a lock held through the gateway, runs its command, and releases it', async () => {
    const lease = await grantLease();
    const held = await call('/v3/lock/lock', { name: b64('ctl-lock'), lease });
    const waiter = spawnEtcdctl(['lock', 'ctl-lock', '--', 'sh', '-c', 'echo "ran $ETCD_LOCK_KEY"'], {
      endpoints: member,
    });
    try {
      await sleep(500);
      expect(waiter.running, waiter.describeOutput()).toBe(true);
      await call('/v3/lock/unlock', { key: held['key'] });
      const status = await waiter.exited;
      expect(status.code, waiter.describeOutput()).toBe(0);
      expect(waiter.stdout()).toMatch(/^ran ctl-lock\/[0-9a-f]+$/m);
    } finally {
      await stop(waiter, 'SIGKILL');
    }
    expect(await keysUnder('ctl-lock/')).toEqual([]);
  });

  it('a killed holder’s lease expires and the next etcdctl lock gets the lock', async () => {
    const holder = spawnEtcdctl(['lock', '--ttl=3', 'ctl-kill'], { endpoints: member });
    let next: ManagedProcess | undefined;
    try {
      await holder.waitForStdout((out) => /^ctl-kill\/[0-9a-f]+$/m.test(out), 10_000);
      // Started once the holder holds the lock, so it is the one that waits.
      const waiter = spawnEtcdctl(['lock', 'ctl-kill', '--', 'echo', 'next'], { endpoints: member });
      next = waiter;
      await sleep(500);
      expect(waiter.running, waiter.describeOutput()).toBe(true);
      await stop(holder, 'SIGKILL'); // no unlock: only the lease's expiry frees the lock
      await waiter.waitForStdout((out) => out.includes('next'), 20_000);
      expect((await waiter.exited).code, waiter.describeOutput()).toBe(0);
    } finally {
      await stop(holder, 'SIGKILL');
      if (next) await stop(next, 'SIGKILL');
    }
  });

  it('etcdctl elect: the observer sees each leader; the next candidate wins when the leader resigns', async () => {
    const observer = spawnEtcdctl(['elect', '-l', 'ctl-elect'], { endpoints: member });
    const first = spawnEtcdctl(['elect', 'ctl-elect', 'p1'], { endpoints: member });
    let second: ManagedProcess | undefined;
    try {
      await first.waitForStdout((out) => /^ctl-elect\/[0-9a-f]+\np1$/m.test(out), 10_000);
      await observer.waitForStdout((out) => out.includes('p1'), 10_000);
      // The server-side Leader answers what the recipe wrote.
      const current = await call('/v3/election/leader', { name: b64('ctl-elect') });
      expect(fromB64((current['kv'] as Json)['value'] as string)).toBe('p1');

      second = spawnEtcdctl(['elect', 'ctl-elect', 'p2'], { endpoints: member });
      await sleep(500);
      expect(second.stdout(), second.describeOutput()).not.toContain('p2');
      await stop(first, 'SIGINT'); // etcdctl resigns on an interrupt
      const elected = second;
      await elected.waitForStdout((out) => /^ctl-elect\/[0-9a-f]+\np2$/m.test(out), 10_000);
      await observer.waitForStdout((out) => out.includes('p2'), 10_000);
    } finally {
      await stop(first, 'SIGKILL');
      if (second) await stop(second, 'SIGINT');
      await stop(observer, 'SIGKILL');
    }
    const result = await etcdctl(['get', '--prefix', 'ctl-elect/'], { endpoints: member });
    expect(result.stdout, describeResult(result)).toBe('');
  });
});
