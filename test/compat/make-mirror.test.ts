// `etcdctl make-mirror` between a real etcd 3.4 and the target, both ways: the way a user moves a live
// keyspace from etcd to Cairn (and back). The mirror copies a prefix at one revision, then replays the watch
// from the next: the destination must converge to the source's keys and values while writes go on. Against
// CAIRN_TEST_TARGET=etcd both sides are etcd, which proves the test.
import { Etcd3 } from 'etcd3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  cleanupAll,
  spawnEtcdctl,
  startMember,
  targetOf,
  waitFor,
  type ManagedProcess,
  type Member,
} from '../support';

let etcd: Member;
let target: Member;
const clients: Etcd3[] = [];

beforeAll(async () => {
  [etcd, target] = await Promise.all([startMember({ target: targetOf('etcd') }), startMember()]);
});

afterAll(async () => {
  for (const client of clients) client.close();
  await cleanupAll();
});

function clientOf(member: Member): Etcd3 {
  const client = new Etcd3({ hosts: member.clientUrl, dialTimeout: 5000 });
  clients.push(client);
  return client;
}

/** The prefix's keys and values, with `from` replaced by `to` in each key (make-mirror's --dest-prefix). */
async function contents(
  client: Etcd3,
  prefix: string,
  from = prefix,
  to = prefix,
): Promise<Map<string, string>> {
  const all = await client.getAll().prefix(prefix).strings();
  return new Map(Object.entries(all).map(([key, value]) => [to + key.slice(from.length), value]));
}

/** Waits until the destination holds exactly the source's keys and values under the (mapped) prefix. */
async function converged(
  source: Etcd3,
  destination: Etcd3,
  prefix: string,
  destPrefix: string,
  what: string,
): Promise<Map<string, string>> {
  let last = '';
  return waitFor(
    async () => {
      const [want, have] = await Promise.all([
        contents(source, prefix, prefix, destPrefix),
        contents(destination, destPrefix),
      ]);
      const same = want.size === have.size && [...want].every(([key, value]) => have.get(key) === value);
      last = `source ${want.size} keys, destination ${have.size}`;
      return same ? have : undefined;
    },
    { timeoutMs: 20_000, intervalMs: 100, what: `${what} (last: ${last})` },
  );
}

/**
 * Writes under `prefix` on the source, mirrors it into the destination, keeps writing (puts, overwrites,
 * deletes, a multi-key txn, a leased key) and checks the destination after each step.
 */
async function mirrorLive(from: Member, to: Member, prefix: string, destPrefix: string): Promise<void> {
  const source = clientOf(from);
  const destination = clientOf(to);
  for (let i = 0; i < 100; i += 20) {
    await Promise.all(
      Array.from({ length: 20 }, (_, j) =>
        source.put(`${prefix}k${String(i + j).padStart(3, '0')}`).value(`v${i + j}`),
      ),
    );
  }
  await source.put(`${prefix}binary`).value(Buffer.from([0, 1, 2, 255]));
  await source.put(`${prefix.slice(0, -1)}-sibling/x`).value('not under the prefix');

  const args = ['make-mirror', `--prefix=${prefix}`];
  if (destPrefix !== prefix) args.push(`--dest-prefix=${destPrefix}`);
  const mirror: ManagedProcess = spawnEtcdctl([...args, to.clientUrl], { endpoints: from });
  try {
    // The base copy: every key under the prefix at the revision the mirror started from.
    const base = await converged(source, destination, prefix, destPrefix, 'the base copy');
    expect(base.size).toBe(101);
    expect(base.get(`${destPrefix}k042`)).toBe('v42');
    expect((await destination.get(`${destPrefix}binary`).buffer())?.equals(Buffer.from([0, 1, 2, 255]))).toBe(
      true,
    );

    // Live writes, replayed from the source's watch: overwrites, deletes, a txn of several keys, a leased key.
    const lease = source.lease(10, { autoKeepAlive: false });
    await lease.grant();
    await Promise.all([
      ...Array.from({ length: 30 }, (_, i) =>
        source.put(`${prefix}k${String(i).padStart(3, '0')}`).value(`w${i}`),
      ),
      ...Array.from({ length: 10 }, (_, i) =>
        source.delete().key(`${prefix}k${String(50 + i).padStart(3, '0')}`),
      ),
      source.delete().prefix(`${prefix}k09`),
      source.put(`${prefix}new`).value('live'),
    ]);
    await source
      .if(`${prefix}new`, 'Value', '==', 'live')
      .then(
        source.put(`${prefix}txn-a`).value('a'),
        source.put(`${prefix}txn-b`).value('b'),
        source.delete().key(`${prefix}k060`),
      )
      .commit();
    await lease.put(`${prefix}leased`).value('with a lease at the source');
    const live = await converged(source, destination, prefix, destPrefix, 'the live writes');
    expect(live.get(`${destPrefix}k000`)).toBe('w0');
    expect(live.has(`${destPrefix}k055`)).toBe(false);
    expect(live.has(`${destPrefix}k095`)).toBe(false);
    expect(live.get(`${destPrefix}txn-b`)).toBe('b');
    expect(live.get(`${destPrefix}leased`)).toBe('with a lease at the source');

    // What is not carried: leases (the mirrored key has none) and keys outside the prefix.
    const leased = await destination.get(`${destPrefix}leased`).exec();
    expect(leased.kvs[0]?.lease).toBe('0');
    expect(await destination.get(`${prefix.slice(0, -1)}-sibling/x`).string()).toBeNull();
    expect(mirror.running, mirror.describeOutput()).toBe(true);
    await lease.revoke();
  } finally {
    await mirror.kill();
  }
}

describe('etcdctl make-mirror', () => {
  it('mirrors a live prefix from a real etcd into the target', async () => {
    await mirrorLive(etcd, target, '/from-etcd/', '/from-etcd/');
  });

  it('mirrors a live prefix from the target into a real etcd, under another prefix (--dest-prefix)', async () => {
    await mirrorLive(target, etcd, '/to-etcd/', '/moved/');
  });
});
