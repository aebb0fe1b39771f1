// Locks across process and member failures on a 3-member cluster (issue 16), green against etcd 3.4 and
// Cairn alike:
// - etcdctl's `lock` recipe: the holder process is killed (SIGKILL, no unlock); the next waiting etcdctl gets
//   the lock only once the holder's session lease has expired, and the one after it keeps waiting.
// - the server-side Lock (gRPC v3lockpb.Lock and the gateway's /v3/lock/lock): a call blocked on a member
//   that is killed ends with an error at once; the client retries the same Lock with the same lease on
//   another member, as a real client does. etcd's lock recipe finds the key the first attempt left
//   (`<name>/<lease hex>`, same lease) and keeps its place in line, so the retry neither deadlocks on it nor
//   jumps the queue, and there is never more than one holder.
import * as grpc from '@grpc/grpc-js';
import { loadEtcdServices } from '@cairn/api';
import { afterAll, describe, expect, it } from 'vitest';
import {
  type ManagedProcess,
  type Member,
  b64,
  cleanupAll,
  fromB64,
  gatewayPost,
  killMember,
  sleep,
  spawnEtcdctl,
  startCluster,
  stopMember,
  waitFor,
} from '../support';

type Json = Record<string, unknown>;

/** Issue 16's bound on each proof (cluster start and teardown included). */
const TEST_TIMEOUT_MS = 45_000;

const grpcClients: grpc.Client[] = [];

afterAll(async () => {
  for (const client of grpcClients) client.close();
  await cleanupAll();
});

async function call(member: Member, path: string, body: unknown): Promise<Json> {
  const reply = await gatewayPost(member, path, body, { timeoutMs: 10_000 });
  expect(reply.status, `${path} on ${member.name}: ${JSON.stringify(reply.body)}`).toBe(200);
  return reply.body;
}

async function grantLease(member: Member, ttl = 60): Promise<string> {
  return (await call(member, '/v3/lease/grant', { TTL: String(ttl) }))['ID'] as string;
}

/** `<name>/<lease in hex>`, the key etcd's Mutex makes. */
function contenderKey(name: string, lease: string): string {
  return `${name}/${BigInt(lease).toString(16)}`;
}

interface Contender {
  key: string;
  createRevision: number;
}

/** Every key under `<name>/`, oldest first (the lock's owner and its queue). */
async function queue(member: Member, name: string): Promise<Contender[]> {
  const prefix = `${name}/`;
  const body = await call(member, '/v3/kv/range', {
    key: b64(prefix),
    range_end: b64(`${name}0`),
    sort_target: 'CREATE',
    sort_order: 'ASCEND',
  });
  return ((body['kvs'] as Json[] | undefined) ?? []).map((kv) => ({
    key: fromB64(kv['key'] as string),
    createRevision: Number(kv['create_revision']),
  }));
}

/** The lease's remaining TTL in seconds; -1 once it has expired (etcd answers -1, not an error). */
async function leaseTtl(member: Member, lease: string): Promise<number> {
  return Number((await call(member, '/v3/lease/timetolive', { ID: lease }))['TTL']);
}

/** The Raft leader and the two followers, as the members' own status reports say. */
async function roles(members: readonly Member[]): Promise<{ leader: Member; followers: [Member, Member] }> {
  const status = await Promise.all(members.map((m) => call(m, '/v3/maintenance/status', {})));
  const index = status.findIndex((body) => body['leader'] === (body['header'] as Json)['member_id']);
  expect(index).toBeGreaterThanOrEqual(0);
  return {
    leader: members[index]!,
    followers: members.filter((_, i) => i !== index) as [Member, Member],
  };
}

/** Whether a request is still unanswered after a while (a waiter that must keep waiting). */
async function stillWaiting(request: Promise<unknown>, ms = 1_000): Promise<boolean> {
  const marker = Symbol('waiting');
  return (await Promise.race([request.catch(() => undefined), sleep(ms).then(() => marker)])) === marker;
}

/** Records who holds the lock and fails on a second holder: the exclusivity the tests assert. */
class Holders {
  private current: string | undefined;
  readonly history: string[] = [];

  acquired(key: string): void {
    expect(this.current, `${key} granted while ${this.current ?? ''} holds the lock`).toBeUndefined();
    this.current = key;
    this.history.push(key);
  }

  released(key: string): void {
    expect(this.current).toBe(key);
    this.current = undefined;
  }
}

describe('etcdctl lock: a killed holder process', () => {
  it(
    'the next waiter gets the lock only once the holder’s lease has expired; the one after keeps waiting',
    async () => {
      const members = await startCluster({ size: 3 });
      const [a, b, c] = members as [Member, Member, Member];
      const name = 'ctl-failover';
      const ttl = 4; // etcdctl 3.4: `lock --ttl` is its session's lease TTL (default 10 s)
      const keyLine = (out: string): string | undefined => /^(ctl-failover\/[0-9a-f]+)$/m.exec(out)?.[1];
      const holder = spawnEtcdctl(['lock', `--ttl=${ttl}`, name], { endpoints: a });
      let first: ManagedProcess | undefined;
      let second: ManagedProcess | undefined;
      try {
        const holderKey = keyLine(await holder.waitForStdout((out) => keyLine(out) !== undefined, 10_000))!;
        const holderLease = BigInt(`0x${holderKey.slice(name.length + 1)}`).toString();
        // Each waiter starts once the one before it is queued, so the order of the line is known.
        first = spawnEtcdctl(['lock', `--ttl=${ttl}`, name], { endpoints: b });
        await waitFor(async () => ((await queue(a, name)).length === 2 ? true : undefined), {
          timeoutMs: 10_000,
          what: 'the first waiter’s key',
        });
        second = spawnEtcdctl(['lock', `--ttl=${ttl}`, name, '--', 'echo', 'second ran'], { endpoints: c });
        await waitFor(async () => ((await queue(a, name)).length === 3 ? true : undefined), {
          timeoutMs: 10_000,
          what: 'the second waiter’s key',
        });
        const line = await queue(a, name);
        expect(line[0]!.key).toBe(holderKey);
        const firstKey = line[1]!.key;
        await sleep(500);
        expect(first.stdout(), first.describeOutput()).toBe('');

        holder.signal('SIGKILL'); // no unlock, no revoke: only the lease's expiry frees the lock
        await holder.exited;
        const killedAt = performance.now();
        const remaining = await leaseTtl(a, holderLease);
        expect(remaining).toBeGreaterThan(0);
        // Each round reads the waiter's output before the lease: a waiter seen holding the lock while the
        // lease is seen alive afterwards would have got the lock before the lease was gone.
        let aliveRounds = 0;
        const granted = await waitFor(
          async () => {
            const holding = keyLine(first!.stdout()) !== undefined;
            const ttlNow = await leaseTtl(c, holderLease);
            if (holding) return { at: performance.now(), ttlNow };
            if (ttlNow > 0) aliveRounds += 1;
            return undefined;
          },
          { timeoutMs: (ttl + 6) * 1000, intervalMs: 100, what: 'the first waiter to get the lock' },
        );
        // Asserted here, not in the probe: waitFor would take a failed expect for a round to retry.
        expect(granted.ttlNow, 'the holder’s lease when the first waiter holds the lock').toBe(-1);
        const waitedMs = granted.at - killedAt;
        console.log(
          `[etcdctl lock] holder killed with ${remaining} s of lease left; the waiter got the lock ${Math.round(waitedMs)} ms later (${aliveRounds} rounds saw the lease alive)`,
        );
        expect(keyLine(first.stdout())).toBe(firstKey);
        expect(aliveRounds).toBeGreaterThan(0);
        // The lease is not revoked early: whole seconds (etcd rounds down, Cairn up), so more than remaining - 1.
        expect(waitedMs).toBeGreaterThanOrEqual((remaining - 1) * 1000);
        expect((await queue(b, name)).map((k) => k.key)).toEqual([firstKey, line[2]!.key]);

        expect(await stillWaiting(second.exited, 1_000)).toBe(true);
        expect(second.stdout(), second.describeOutput()).toBe('');
        first.signal('SIGINT'); // etcdctl unlocks on an interrupt
        expect((await first.exited).code, first.describeOutput()).toBe(0);
        const ran = await second.exited;
        expect([ran.code, second.stdout()], second.describeOutput()).toEqual([0, 'second ran\n']);
        await waitFor(async () => ((await queue(a, name)).length === 0 ? true : undefined), {
          timeoutMs: 5_000,
          what: 'every lock key to go',
        });
      } finally {
        for (const proc of [holder, first, second]) await proc?.kill();
        for (const member of members) await stopMember(member);
      }
    },
    TEST_TIMEOUT_MS,
  );
});

/** One gRPC Lock client per member, as a client configured with every endpoint has. */
function lockClients(members: readonly Member[]): Map<Member, grpc.Client> {
  const services = loadEtcdServices();
  const clients = new Map<Member, grpc.Client>();
  for (const member of members) {
    const address = member.clientUrl.replace(/^https?:\/\//, '');
    const client = new services.v3lockpb.Lock(address, grpc.credentials.createInsecure());
    grpcClients.push(client);
    clients.set(member, client);
  }
  return clients;
}

type Outcome = { ok: Json; at: number } | { error: grpc.ServiceError; at: number };
type Unary = (
  request: object,
  options: grpc.CallOptions,
  callback: (err: grpc.ServiceError | null, res?: Json) => void,
) => grpc.ClientUnaryCall;

/** A method of the generic grpc-js client loadEtcdServices() gives (it has no typed methods). */
function method(client: grpc.Client, name: 'Lock' | 'Unlock'): Unary {
  return (client as unknown as Record<string, Unary>)[name]!.bind(client);
}

function grpcLock(client: grpc.Client, name: string, lease: string, timeoutMs = 40_000): Promise<Outcome> {
  return new Promise((resolve) => {
    method(client, 'Lock')(
      { name: Buffer.from(name), lease },
      { deadline: Date.now() + timeoutMs },
      (err: grpc.ServiceError | null, res?: Json) =>
        resolve(err ? { error: err, at: performance.now() } : { ok: res ?? {}, at: performance.now() }),
    );
  });
}

async function grpcUnlock(client: grpc.Client, key: Buffer): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    method(client, 'Unlock')({ key }, { deadline: Date.now() + 10_000 }, (err: grpc.ServiceError | null) =>
      err ? reject(err) : resolve(),
    );
  });
}

describe('server-side Lock blocked on a member that is killed', () => {
  it(
    'gRPC: the call on a killed follower fails at once; the retry with the same lease on another member keeps its place and gets the lock when the holder unlocks',
    async () => {
      const members = await startCluster({ size: 3 });
      try {
        const { leader, followers } = await roles(members);
        const [victim, other] = followers;
        const clients = lockClients(members);
        const name = 'grpc-failover';
        const holders = new Holders();
        const [holderLease, lease, laterLease] = [
          await grantLease(leader),
          await grantLease(leader),
          await grantLease(leader),
        ];

        const held = await grpcLock(clients.get(other)!, name, holderLease);
        if (!('ok' in held)) throw held.error;
        const heldKey = held.ok['key'] as Buffer;
        holders.acquired(heldKey.toString());

        const blocked = grpcLock(clients.get(victim)!, name, lease);
        await waitFor(async () => ((await queue(leader, name)).length === 2 ? true : undefined), {
          timeoutMs: 10_000,
          what: 'the blocked call’s key',
        });
        const before = await queue(leader, name);
        expect(before.map((k) => k.key)).toEqual([heldKey.toString(), contenderKey(name, lease)]);
        expect(await stillWaiting(blocked, 500)).toBe(true);

        const killedAt = performance.now();
        await killMember(victim);
        const failed = await blocked;
        const failedAfterMs = failed.at - killedAt;
        if (!('error' in failed))
          throw new Error(`the call on the killed member answered ${JSON.stringify(failed)}`);
        expect(failed.error.code, failed.error.message).toBe(grpc.status.UNAVAILABLE);
        expect(failedAfterMs).toBeLessThan(5_000);

        // The client's retry: the same Lock, same lease, next endpoint. A later contender queues behind it.
        const retry = grpcLock(clients.get(other)!, name, lease);
        expect(await stillWaiting(retry)).toBe(true);
        const later = grpcLock(clients.get(leader)!, name, laterLease);
        await waitFor(async () => ((await queue(leader, name)).length === 3 ? true : undefined), {
          timeoutMs: 10_000,
          what: 'the later contender’s key',
        });
        // The retry reused the first attempt's key: same key, same create revision, still second in line.
        const line = await queue(other, name);
        expect(line.slice(0, 2)).toEqual(before);
        expect(line[2]!.key).toBe(contenderKey(name, laterLease));

        await grpcUnlock(clients.get(leader)!, heldKey);
        holders.released(heldKey.toString());
        const granted = await retry;
        if (!('ok' in granted)) throw granted.error;
        const grantedKey = granted.ok['key'] as Buffer;
        holders.acquired(grantedKey.toString());
        expect(grantedKey.toString()).toBe(contenderKey(name, lease));
        console.log(
          `[gRPC Lock] the call on the killed member failed ${Math.round(failedAfterMs)} ms after the kill (${failed.error.details}); the retry got the lock after the holder unlocked`,
        );

        expect(await stillWaiting(later)).toBe(true);
        await grpcUnlock(clients.get(other)!, grantedKey);
        holders.released(grantedKey.toString());
        const last = await later;
        if (!('ok' in last)) throw last.error;
        holders.acquired((last.ok['key'] as Buffer).toString());
        expect(holders.history).toEqual([
          contenderKey(name, holderLease),
          contenderKey(name, lease),
          contenderKey(name, laterLease),
        ]);
        await grpcUnlock(clients.get(leader)!, last.ok['key'] as Buffer);
        expect(await queue(leader, name)).toEqual([]);
      } finally {
        for (const member of members) await stopMember(member);
      }
    },
    TEST_TIMEOUT_MS,
  );

  it(
    'gateway: the /v3/lock/lock on the killed Raft leader fails at once; the retry on a follower gets the lock when the holder’s lease is revoked',
    async () => {
      const members = await startCluster({ size: 3 });
      try {
        const { leader: victim, followers } = await roles(members);
        const [one, two] = followers;
        const name = 'gw-failover';
        const holders = new Holders();
        const [holderLease, lease] = [await grantLease(one), await grantLease(one)];

        const held = await call(one, '/v3/lock/lock', { name: b64(name), lease: holderLease });
        holders.acquired(fromB64(held['key'] as string));

        // Settled into a value at once, so the rejection the kill causes is handled when it happens.
        const blocked = gatewayPost(
          victim,
          '/v3/lock/lock',
          { name: b64(name), lease },
          { timeoutMs: 40_000 },
        ).then(
          (reply) => ({
            error: new Error(`answered ${reply.status} ${JSON.stringify(reply.body)}`),
            at: performance.now(),
          }),
          (err: unknown) => ({ error: err, at: performance.now() }),
        );
        await waitFor(async () => ((await queue(one, name)).length === 2 ? true : undefined), {
          timeoutMs: 10_000,
          what: 'the blocked call’s key',
        });
        const before = await queue(one, name);
        expect(before.map((k) => k.key)).toEqual([fromB64(held['key'] as string), contenderKey(name, lease)]);

        const killedAt = performance.now();
        await killMember(victim);
        const failed = await blocked;
        const failedAfterMs = failed.at - killedAt;
        // The connection is gone: fetch fails ("fetch failed", the socket closed), it does not hang.
        expect(failed.error).toBeInstanceOf(TypeError);
        expect(failedAfterMs).toBeLessThan(5_000);

        // The retry goes to a follower while the two survivors elect a new leader: errors meanwhile (no
        // leader, leader changed) are retried with the same lease, as the client would.
        const refusals: string[] = [];
        const retry = (async (): Promise<Json> => {
          for (;;) {
            const reply = await gatewayPost(
              two,
              '/v3/lock/lock',
              { name: b64(name), lease },
              { timeoutMs: 40_000 },
            );
            if (reply.status === 200) return reply.body;
            refusals.push(`${reply.status} ${String(reply.body['message'])}`);
            await sleep(200);
          }
        })();
        expect(await stillWaiting(retry, 3_000)).toBe(true);
        // Read once a new leader serves it: still the holder, then the first attempt's key, unchanged.
        const line = await waitFor(() => queue(two, name), {
          timeoutMs: 15_000,
          what: 'a read after the election',
        });
        expect(line).toEqual(before);

        await call(two, '/v3/lease/revoke', { ID: holderLease });
        holders.released(fromB64(held['key'] as string));
        const granted = await retry;
        holders.acquired(fromB64(granted['key'] as string));
        expect(fromB64(granted['key'] as string)).toBe(contenderKey(name, lease));
        expect((await queue(one, name)).map((k) => k.key)).toEqual([contenderKey(name, lease)]);
        console.log(
          `[gateway Lock] the call on the killed leader failed ${Math.round(failedAfterMs)} ms after the kill; the retry (refused first: ${JSON.stringify(refusals)}) got the lock after the holder's lease was revoked`,
        );
        await call(one, '/v3/lock/unlock', { key: granted['key'] });
        expect(await queue(one, name)).toEqual([]);
      } finally {
        for (const member of members) await stopMember(member);
      }
    },
    TEST_TIMEOUT_MS,
  );
});
