// The config center on a 3-member cluster: a publish through any member reaches subscribers connected to
// every member, the listeners API of any member lists them all, and a subscriber whose member is killed
// fails over to another and still receives later publishes, each once.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { ConfigClient, type ConfigChange, type ConfigSubscription } from '@cairn/client';
import { cleanupAll, killMember, startCluster, waitFor, type Member } from '../support';

let members: Member[];
const clients: ConfigClient[] = [];

beforeAll(async () => {
  members = await startCluster({ size: 3 });
});

afterAll(async () => {
  for (const c of clients) c.close();
  await cleanupAll();
});

function until(probe: () => boolean | Promise<boolean>, what: string): Promise<unknown> {
  return waitFor(async () => ((await probe()) ? true : undefined), { timeoutMs: 20_000, what });
}

async function rest(member: Member, method: string, path: string, body?: unknown): Promise<Response> {
  return fetch(`${member.clientUrl}/api/config/v1${path}`, {
    method,
    headers: { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
}

it('publishes through any member to subscribers on every member, and survives losing a member', async () => {
  expect(
    (await rest(members[1], 'PUT', '/namespaces/c3/apps/svc/items/app.json', { format: 'json' })).status,
  ).toBe(200);
  const subs: ConfigSubscription[] = [];
  const seen: ConfigChange[][] = [];
  for (const [i, member] of members.entries()) {
    // Each subscriber prefers its own member and may fail over to the others.
    const endpoints = [member, ...members.filter((m) => m !== member)].map((m) => m.clientUrl);
    const client = new ConfigClient({ endpoints, connectTimeoutMs: 1000 });
    clients.push(client);
    const sub = await client.subscribe('c3', 'svc', { subscriberId: `sub-${i}`, cacheDir: false });
    const changes: ConfigChange[] = [];
    sub.on('change', (c) => changes.push(c));
    subs.push(sub);
    seen.push(changes);
  }

  for (const [i, member] of members.entries()) {
    const res = await rest(member, 'POST', '/namespaces/c3/apps/svc/items/app.json/publish', {
      content: JSON.stringify({ from: member.name, n: i + 1 }),
    });
    expect(res.status, await res.clone().text()).toBe(201);
  }
  await until(() => seen.every((s) => s.length === 3), 'three changes on every subscriber');
  for (const s of seen) expect(s.map((c) => (c.newValue as { n: number }).n)).toEqual([1, 2, 3]);

  await until(async () => {
    const res = await rest(members[2], 'GET', '/namespaces/c3/apps/svc/items/app.json/listeners');
    const listeners = (await res.json()) as {
      subscriberId: string;
      appliedVersion: number;
      member: string;
    }[];
    return listeners.length === 3 && listeners.every((l) => l.appliedVersion === 3);
  }, 'three listeners on version 3, listed by the third member');

  // Kill the first member: its subscriber moves to another member and misses nothing.
  await killMember(members[0]);
  const survivor = members[1];
  const live = (await (await rest(survivor, 'GET', '/namespaces/c3/apps/svc/items/app.json')).json()) as {
    modRevision: number;
  };
  // Guarded by the live revision: a retry after an answer lost in the leader change cannot publish twice
  // (it gets 409 once the first attempt has landed).
  await until(async () => {
    const res = await rest(survivor, 'POST', '/namespaces/c3/apps/svc/items/app.json/publish', {
      content: JSON.stringify({ from: survivor.name, n: 4 }),
      expectedRevision: live.modRevision,
    });
    return res.status === 201 || res.status === 409;
  }, 'a publish after the member was killed');
  await until(() => seen.every((s) => s.length === 4), 'the fourth change on every subscriber');
  for (const s of seen) expect(s.map((c) => (c.newValue as { n: number }).n)).toEqual([1, 2, 3, 4]);
  for (const sub of subs) sub.close();
});
