// The `etcd3` npm client (what Node services use) against the target: KV, txn, watch (including resume
// after the server restarts), leases with keep-alive, and the lock and election recipes built on them.
import { noop, type IBackoff } from 'cockatiel';
import {
  EtcdLeaseInvalidError,
  EtcdLockFailedError,
  Etcd3,
  GRPCInvalidArgumentError,
  type IKeyValue,
  type Watcher,
} from 'etcd3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cleanupAll, restartMember, sleep, startMember, stopMember, waitFor, type Member } from '../support';

let member: Member;
let client: Etcd3;

/**
 * A client that reconnects promptly: no per-host circuit breaker (it would refuse calls for 5 s after a
 * restart), short gRPC reconnect backoff, and a fixed 1 s watch re-create delay (long enough that writes
 * made right after a restart land while the watcher is still disconnected).
 */
const oneSecondBackoff: IBackoff<unknown> = { duration: 1000, next: () => oneSecondBackoff };

function newClient(target: Member): Etcd3 {
  return new Etcd3({
    hosts: target.clientUrl,
    dialTimeout: 5000,
    faultHandling: { host: () => noop, watchBackoff: oneSecondBackoff },
    grpcOptions: { 'grpc.initial_reconnect_backoff_ms': 100, 'grpc.max_reconnect_backoff_ms': 500 },
  });
}

beforeAll(async () => {
  member = await startMember();
  client = newClient(member);
});

afterAll(async () => {
  client?.close();
  await cleanupAll();
});

interface SeenEvent {
  type: 'put' | 'delete';
  key: string;
  value: string;
  modRevision: string;
  prevValue?: string;
}

/** Records the watcher's put/delete events in arrival order. */
function record(watcher: Watcher): SeenEvent[] {
  const seen: SeenEvent[] = [];
  const push = (type: SeenEvent['type']) => (kv: IKeyValue, previous?: IKeyValue) =>
    seen.push({
      type,
      key: kv.key.toString(),
      value: kv.value.toString(),
      modRevision: kv.mod_revision,
      ...(previous ? { prevValue: previous.value.toString() } : {}),
    });
  watcher.on('put', push('put'));
  watcher.on('delete', push('delete'));
  return seen;
}

async function eventsWhen(seen: SeenEvent[], count: number): Promise<SeenEvent[]> {
  await waitFor(() => (seen.length >= count ? true : undefined), {
    timeoutMs: 15_000,
    what: `${count} watch events`,
  });
  return seen;
}

describe('etcd3 client: KV', () => {
  it('put then get round-trips strings and binary values; a missing key is null', async () => {
    await client.put('kv/str').value('hello');
    await client.put('kv/bin').value(Buffer.from([0, 1, 2, 255]));
    expect(await client.get('kv/str').string()).toBe('hello');
    expect(await client.get('kv/bin').buffer()).toEqual(Buffer.from([0, 1, 2, 255]));
    expect(await client.get('kv/missing').string()).toBeNull();
  });

  it('each put advances the store revision by one and is visible as create/mod revision and version', async () => {
    const first = await client.put('kv/rev').value('1');
    const second = await client.put('kv/rev').value('2');
    expect(BigInt(second.header.revision)).toBe(BigInt(first.header.revision) + 1n);
    const response = await client.get('kv/rev').exec();
    expect(response.kvs).toHaveLength(1);
    const kv = response.kvs[0]!;
    expect(kv.create_revision).toBe(first.header.revision);
    expect(kv.mod_revision).toBe(second.header.revision);
    expect(kv.version).toBe('2');
    expect(response.header.revision).toBe(second.header.revision);
    expect(await client.get('kv/rev').revision(first.header.revision).string()).toBe('1');
  });

  it('getAll().prefix() lists keys in order, with sort, limit and count', async () => {
    for (const key of ['b', 'a', 'c']) await client.put(`list/${key}`).value(key.toUpperCase());
    await client.put('listx').value('outside the prefix');
    expect(await client.getAll().prefix('list/').strings()).toEqual({
      'list/a': 'A',
      'list/b': 'B',
      'list/c': 'C',
    });
    expect(await client.getAll().prefix('list/').keys()).toEqual(['list/a', 'list/b', 'list/c']);
    expect(await client.getAll().prefix('list/').sort('Key', 'Descend').limit(2).keys()).toEqual([
      'list/c',
      'list/b',
    ]);
    expect(await client.getAll().prefix('list/').count()).toBe(3);
  });

  it('delete removes one key or a prefix, reports how many, and can return the previous values', async () => {
    for (const key of ['a', 'b', 'c']) await client.put(`del/${key}`).value(key);
    const one = await client.delete().key('del/a');
    expect(one.deleted).toBe('1');
    const previous = await client.delete().prefix('del/').getPrevious();
    expect(previous.map((kv) => `${kv.key.toString()}=${kv.value.toString()}`)).toEqual([
      'del/b=b',
      'del/c=c',
    ]);
    expect(await client.getAll().prefix('del/').keys()).toEqual([]);
  });

  it('server errors arrive as the typed etcd3 errors with etcd messages', async () => {
    await expect(client.put('').value('v')).rejects.toThrow(GRPCInvalidArgumentError);
    await expect(client.put('').value('v')).rejects.toThrow('etcdserver: key is not provided');
    await expect(client.put('err/k').value('v').lease('123456')).rejects.toThrow(EtcdLeaseInvalidError);
    await expect(client.get('err/k').string()).resolves.toBeNull();
  });
});

describe('etcd3 client: txn builder', () => {
  it('if/then/else runs the success branch when the compare holds, else the failure branch', async () => {
    await client.put('txn/k').value('v1');
    const success = await client
      .if('txn/k', 'Value', '==', 'v1')
      .then(client.put('txn/k').value('v2'), client.put('txn/side').value('from-success'))
      .else(client.put('txn/side').value('from-failure'))
      .commit();
    expect(success.succeeded).toBe(true);
    expect(success.responses).toHaveLength(2);
    expect(await client.get('txn/k').string()).toBe('v2');

    const failure = await client
      .if('txn/k', 'Value', '==', 'v1')
      .then(client.put('txn/side').value('from-success'))
      .else(client.put('txn/side').value('from-failure'), client.get('txn/k'))
      .commit();
    expect(failure.succeeded).toBe(false);
    expect(failure.responses[1]!.response_range!.kvs[0]!.value.toString()).toBe('v2');
    expect(await client.get('txn/side').string()).toBe('from-failure');
  });

  it('Create == 0 acts as "create if absent", and all writes of a txn share one revision', async () => {
    const create = () =>
      client
        .if('txn/once', 'Create', '==', 0)
        .then(client.put('txn/once').value('first'), client.put('txn/once-meta').value('m'))
        .commit();
    const first = await create();
    expect(first.succeeded).toBe(true);
    expect((await create()).succeeded).toBe(false);
    const kvs = (await client.getAll().prefix('txn/once').exec()).kvs;
    expect(kvs.map((kv) => kv.mod_revision)).toEqual([first.header.revision, first.header.revision]);
  });

  it('compares on Mod revision and Version', async () => {
    const put = await client.put('txn/mod').value('x');
    const guarded = await client
      .if('txn/mod', 'Mod', '==', Number(put.header.revision))
      .and('txn/mod', 'Version', '>', 0)
      .then(client.put('txn/mod').value('y'))
      .commit();
    expect(guarded.succeeded).toBe(true);
    const stale = await client
      .if('txn/mod', 'Mod', '==', Number(put.header.revision))
      .then(client.put('txn/mod').value('z'))
      .commit();
    expect(stale.succeeded).toBe(false);
    expect(await client.get('txn/mod').string()).toBe('y');
  });
});

describe('etcd3 client: watch builder', () => {
  it('a prefix watch delivers puts and deletes in order with their revisions and previous values', async () => {
    const watcher = await client.watch().prefix('watch1/').withPreviousKV().create();
    const seen = record(watcher);
    const r1 = await client.put('watch1/a').value('1');
    await client.put('outside/a').value('ignored');
    const r2 = await client.put('watch1/a').value('2');
    const r3 = await client.delete().key('watch1/a');
    await eventsWhen(seen, 3);
    await sleep(200); // nothing else may arrive
    expect(seen).toEqual([
      { type: 'put', key: 'watch1/a', value: '1', modRevision: r1.header.revision },
      { type: 'put', key: 'watch1/a', value: '2', modRevision: r2.header.revision, prevValue: '1' },
      { type: 'delete', key: 'watch1/a', value: '', modRevision: r3.header.revision, prevValue: '2' },
    ]);
    await watcher.cancel();
  });

  it('a watch from a start revision replays history first', async () => {
    const first = await client.put('watch2/k').value('a');
    await client.put('watch2/k').value('b');
    const watcher = await client.watch().key('watch2/k').startRevision(first.header.revision).create();
    const seen = record(watcher);
    await eventsWhen(seen, 2);
    await client.put('watch2/k').value('c');
    await eventsWhen(seen, 3);
    expect(seen.map((e) => e.value)).toEqual(['a', 'b', 'c']);
    await watcher.cancel();
  });

  it('after the server restarts, the watcher reconnects and resumes from its last revision: no gap, no repeat', async () => {
    const own = newClient(member);
    try {
      const watcher = await own.watch().prefix('watch3/').create();
      const seen = record(watcher);
      let disconnects = 0;
      watcher.on('disconnected', () => disconnects++);
      watcher.on('error', () => undefined); // transient errors during the restart are expected
      await own.put('watch3/1').value('before');
      await eventsWhen(seen, 1);

      await stopMember(member);
      await restartMember(member);
      // Written by other clients while this watcher is still waiting out its reconnect delay.
      await client.put('watch3/2').value('while-away');
      await client.put('watch3/3').value('while-away');
      await eventsWhen(seen, 3);
      await own.put('watch3/4').value('after');
      await eventsWhen(seen, 4);
      await sleep(200);

      expect(disconnects).toBeGreaterThanOrEqual(1);
      expect(seen.map((e) => e.key)).toEqual(['watch3/1', 'watch3/2', 'watch3/3', 'watch3/4']);
      const revisions = seen.map((e) => BigInt(e.modRevision));
      expect([...revisions].sort((a, b) => (a < b ? -1 : 1))).toEqual(revisions);
      await watcher.cancel();
    } finally {
      own.close();
    }
  });
});

describe('etcd3 client: leases', () => {
  it('keys on a kept-alive lease outlive its TTL, and disappear when the lease is revoked', async () => {
    const lease = client.lease(2);
    let lost = false;
    lease.on('lost', () => (lost = true));
    await lease.put('lease1/k').value('alive');
    const id = await lease.grant();
    await sleep(3500); // well past the 2 s TTL: only keep-alives keep it
    expect(await client.get('lease1/k').string()).toBe('alive');
    const kv = (await client.get('lease1/k').exec()).kvs[0]!;
    expect(kv.lease).toBe(id);
    expect(lost).toBe(false);
    await lease.revoke();
    expect(await client.get('lease1/k').string()).toBeNull();
    expect(await client.getAll().prefix('lease1/').count()).toBe(0);
  });

  it('keys on a lease that is no longer kept alive disappear after its TTL', async () => {
    const lease = client.lease(2);
    await lease.put('lease2/k').value('short-lived');
    lease.release(); // stop keep-alives without revoking
    expect(await client.get('lease2/k').string()).toBe('short-lived');
    await waitFor(async () => ((await client.get('lease2/k').string()) === null ? true : undefined), {
      timeoutMs: 8000,
      intervalMs: 100,
      what: 'the leased key to expire',
    });
  });

  it('keepaliveOnce renews the TTL; a revoked lease can no longer take keys', async () => {
    const lease = client.lease(30);
    const id = await lease.grant();
    const renewed = await lease.keepaliveOnce();
    expect(renewed.ID).toBe(id);
    expect(renewed.TTL).toBe('30');
    await lease.revoke();
    await expect(client.put('lease3/k').value('v').lease(id)).rejects.toThrow(EtcdLeaseInvalidError);
  });
});

describe('etcd3 client: lock and election recipes', () => {
  it('a lock is exclusive while held and released (its key deleted) when do() finishes', async () => {
    const events: string[] = [];
    const result = await client
      .lock('recipes/lock')
      .ttl(10)
      .do(async () => {
        events.push('A enters');
        // A second holder is refused while A holds it (etcd3's lock is a try-lock).
        await expect(client.lock('recipes/lock').ttl(10).acquire()).rejects.toThrow(EtcdLockFailedError);
        const held = (await client.get('recipes/lock').exec()).kvs[0];
        expect(held?.lease).not.toBe('0');
        events.push('A leaves');
        return 42;
      });
    expect(result).toBe(42);
    expect(await client.get('recipes/lock').exists()).toBe(false);
    await client
      .lock('recipes/lock')
      .ttl(10)
      .do(async () => {
        events.push('B enters');
      });
    expect(events).toEqual(['A enters', 'A leaves', 'B enters']);
  });

  it('an election elects the first campaigner, observers see proclaims, and the next candidate wins on resign', async () => {
    const election = client.election('recipes/election', 5);
    const first = election.campaign('candidate-1');
    await first.wait();
    expect(await election.leader()).toBe('candidate-1');

    // Observe once a leader exists: etcd3 1.1.2's observer, started on an empty election, takes the first
    // PUT it sees for the leader (whichever candidate that is), against real etcd too.
    const observer = await election.observe();
    expect(observer.leader()).toBe('candidate-1');
    const changes: Array<string | undefined> = [];
    observer.on('change', (value) => changes.push(value));

    const second = client.election('recipes/election', 5).campaign('candidate-2');
    let secondElected = false;
    second.on('elected', () => (secondElected = true));
    await sleep(300);
    expect(secondElected).toBe(false);
    expect(observer.leader()).toBe('candidate-1');

    await first.proclaim('candidate-1-v2');
    await waitFor(() => (observer.leader() === 'candidate-1-v2' ? true : undefined), {
      timeoutMs: 5000,
      what: 'the observer to see the proclaimed value',
    });
    expect(await election.leader()).toBe('candidate-1-v2');

    await first.resign();
    await second.wait();
    expect(await election.leader()).toBe('candidate-2');
    await waitFor(() => (observer.leader() === 'candidate-2' ? true : undefined), {
      timeoutMs: 5000,
      what: 'the observer to see the new leader',
    });
    expect(changes.filter((value) => value !== undefined)).toEqual(['candidate-1-v2', 'candidate-2']);
    await second.resign();
    await observer.cancel();
  });
});
