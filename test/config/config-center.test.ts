// The config center against a real server process: publish reaching 100 subscriber connections in
// several processes, guarded publish conflicts (409 with both versions), rollback, gray release by labels
// and promote, a subscriber cut off during three publishes catching up once and in order, a start from the
// cache file with the server down, YAML errors with line and column, SSE and long-poll watches.
import { join } from 'node:path';
import { strToU8, unzipSync, zipSync } from 'fflate';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigClient, type ConfigChange, type ConfigSubscription } from '@cairn/client';
import {
  cleanupAll,
  makeTempDir,
  repoRoot,
  restartMember,
  spawnManaged,
  startMember,
  stopMember,
  waitFor,
  type ManagedProcess,
  type Member,
} from '../support';
import { RESET, PASS, TcpProxy } from '../support/tcp-proxy';

let member: Member;
let base: string;
const clients: ConfigClient[] = [];

beforeAll(async () => {
  member = await startMember();
  base = `${member.clientUrl}/api/config/v1`;
});

afterAll(async () => {
  for (const c of clients) c.close();
  await cleanupAll();
});

async function rest<T = Record<string, unknown>>(
  method: string,
  path: string,
  body?: unknown,
): Promise<{ status: number; body: T }> {
  const res = await fetch(`${base}${path}`, {
    method,
    headers: body === undefined ? {} : { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, body: (text ? JSON.parse(text) : {}) as T };
}

async function createItem(
  ns: string,
  app: string,
  name: string,
  format: string,
  content?: string,
): Promise<void> {
  const put = await rest('PUT', `/namespaces/${ns}/apps/${app}/items/${name}`, { format });
  expect(put.status, JSON.stringify(put.body)).toBe(200);
  if (content !== undefined) {
    const pub = await rest('POST', `/namespaces/${ns}/apps/${app}/items/${name}/publish`, {
      content,
      author: 'test',
    });
    expect(pub.status, JSON.stringify(pub.body)).toBe(201);
  }
}

async function publish(
  ns: string,
  app: string,
  name: string,
  content: string,
  extra: Record<string, unknown> = {},
): Promise<{ status: number; body: Record<string, unknown> }> {
  return rest('POST', `/namespaces/${ns}/apps/${app}/items/${name}/publish`, {
    content,
    author: 'test',
    ...extra,
  });
}

/** waitFor takes any defined value as done: turn a boolean probe into true | undefined. */
function until(
  probe: () => boolean | Promise<boolean>,
  options: { timeoutMs: number; what: string },
): Promise<unknown> {
  return waitFor(async () => ((await probe()) ? true : undefined), options);
}

function client(endpoint = member.clientUrl): ConfigClient {
  const c = new ConfigClient({ endpoints: endpoint, callTimeoutMs: 5000, connectTimeoutMs: 1000 });
  clients.push(c);
  return c;
}

function record(sub: ConfigSubscription): ConfigChange[] {
  const seen: ConfigChange[] = [];
  sub.on('change', (c) => seen.push(c));
  return seen;
}

describe('config center', () => {
  it('publish reaches 100 subscriber connections in 4 processes, each applies it and the listeners API shows it', async () => {
    await createItem('e2e', 'fanout', 'app.json', 'json', '{"greeting":"hello","n":1}');
    const children: ManagedProcess[] = [];
    const script = join(repoRoot, 'test', 'config', 'fixtures', 'subscribers.js');
    for (let p = 0; p < 4; p++) {
      children.push(
        spawnManaged(process.execPath, [script, member.clientUrl, 'e2e', 'fanout', '25', `p${p}`, '{}', ''], {
          label: `subscribers-${p}`,
          cwd: repoRoot,
        }),
      );
    }
    for (const child of children) await child.waitForStdout((out) => out.includes('"all-ready"'), 30_000);

    const release = await publish('e2e', 'fanout', 'app.json', '{"greeting":"bonjour","n":2}');
    expect(release.status).toBe(201);
    const version = release.body.version as number;

    const appliedBy = (): Set<string> => {
      const ids = new Set<string>();
      for (const child of children) {
        for (const line of child.stdout().split('\n')) {
          if (!line.startsWith('{')) continue;
          const ev = JSON.parse(line) as {
            t: string;
            id: string;
            version: number;
            value: { greeting: string };
          };
          if (ev.t === 'applied' && ev.version === version && ev.value.greeting === 'bonjour') ids.add(ev.id);
        }
      }
      return ids;
    };
    await until(() => appliedBy().size === 100, {
      timeoutMs: 30_000,
      what: '100 subscribers applying the publish',
    });
    expect(appliedBy().size).toBe(100);

    // Every subscriber reported the version it applied: the listeners API lists all 100 with it.
    await until(
      async () => {
        const res = await rest<{ appliedVersion: number }[]>(
          'GET',
          '/namespaces/e2e/apps/fanout/items/app.json/listeners',
        );
        return res.body.filter((l) => l.appliedVersion === version).length === 100;
      },
      { timeoutMs: 30_000, what: '100 listeners reporting the new version' },
    );
    for (const child of children) await child.terminate(3000);
  });

  it('rejects a publish based on an old revision with 409, the caller base and the current release', async () => {
    await createItem('e2e', 'conflict', 'db.yaml', 'yaml', 'pool: 5\n');
    const item = await rest<{ modRevision: number; version: number }>(
      'GET',
      '/namespaces/e2e/apps/conflict/items/db.yaml',
    );
    const baseRevision = item.body.modRevision;
    const first = await publish('e2e', 'conflict', 'db.yaml', 'pool: 10\n', {
      expectedRevision: baseRevision,
    });
    expect(first.status).toBe(201);
    const second = await publish('e2e', 'conflict', 'db.yaml', 'pool: 20\n', {
      expectedRevision: baseRevision,
    });
    expect(second.status).toBe(409);
    const body = second.body as {
      base: { version: number; content: string; revision: number };
      current: { version: number; content: string; revision: number };
      expectedRevision: number;
      currentRevision: number;
    };
    expect(body.base).toMatchObject({ version: 1, content: 'pool: 5\n', revision: baseRevision });
    expect(body.current).toMatchObject({ version: 2, content: 'pool: 10\n' });
    expect(body.currentRevision).toBe(first.body.revision);
    // Nothing was written by the rejected publish.
    const after = await rest<{ content: string; version: number }>(
      'GET',
      '/namespaces/e2e/apps/conflict/items/db.yaml',
    );
    expect(after.body).toMatchObject({ content: 'pool: 10\n', version: 2 });
  });

  it('rolls back to an earlier version as a new release and subscribers get it', async () => {
    await createItem('e2e', 'rollback', 'feature.properties', 'properties', 'flag=off\n');
    await publish('e2e', 'rollback', 'feature.properties', 'flag=on\nlimit=3\n');
    const sub = await client().subscribe('e2e', 'rollback', { cacheDir: false });
    expect(sub.get('feature.properties')).toEqual({ flag: 'on', limit: '3' });
    const seen = record(sub);
    const res = await rest('POST', '/namespaces/e2e/apps/rollback/items/feature.properties/rollback', {
      version: 1,
      author: 'ops',
    });
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    expect(res.body).toMatchObject({ version: 3, kind: 'rollback', sourceVersion: 1, content: 'flag=off\n' });
    await until(() => seen.length === 1, { timeoutMs: 10_000, what: 'the rollback change' });
    expect(seen[0]).toMatchObject({
      oldVersion: 2,
      newVersion: 3,
      oldValue: { flag: 'on', limit: '3' },
      newValue: { flag: 'off' },
    });
    const releases = await rest<{ version: number; kind: string }[]>(
      'GET',
      '/namespaces/e2e/apps/rollback/items/feature.properties/releases',
    );
    expect(releases.body.map((r) => [r.version, r.kind])).toEqual([
      [3, 'rollback'],
      [2, 'publish'],
      [1, 'publish'],
    ]);
    const diff = await rest<{ unified: string }>(
      'GET',
      '/namespaces/e2e/apps/rollback/items/feature.properties/diff?from=2&to=3',
    );
    expect(diff.body.unified).toContain('-flag=on');
    expect(diff.body.unified).toContain('+flag=off');
    sub.close();
  });

  it('a gray release reaches exactly the labelled subscribers, promote reaches all', async () => {
    await createItem('e2e', 'gray', 'app.yaml', 'yaml', 'color: blue\n');
    const c = client();
    const specs: { id: string; labels: Record<string, string>; gray: boolean }[] = [
      { id: 'eu-canary', labels: { zone: 'eu-1', canary: 'true' }, gray: true },
      { id: 'eu-plain', labels: { zone: 'eu-1' }, gray: false },
      { id: 'us-canary', labels: { zone: 'us-1', canary: 'true' }, gray: false },
      { id: 'eu-canary-2', labels: { zone: 'eu-1', canary: 'true', rack: '7' }, gray: true },
    ];
    const subs = await Promise.all(
      specs.map((s) => c.subscribe('e2e', 'gray', { labels: s.labels, subscriberId: s.id, cacheDir: false })),
    );
    const seen = subs.map(record);
    const gray = await rest('POST', '/namespaces/e2e/apps/gray/items/app.yaml/gray', {
      content: 'color: green\n',
      rule: { labels: { zone: 'eu-1', canary: 'true' } },
      author: 'ops',
    });
    expect(gray.status, JSON.stringify(gray.body)).toBe(201);
    const grayVersion = gray.body.version as number;
    await until(() => seen[0].length === 1 && seen[3].length === 1, {
      timeoutMs: 10_000,
      what: 'gray subscribers',
    });
    // A later publish of something else proves the others had their chance to receive (and did not).
    await createItem('e2e', 'gray', 'marker.txt', 'text', 'x');
    await until(() => seen.every((s) => s.some((ch) => ch.name === 'marker.txt')), {
      timeoutMs: 10_000,
      what: 'marker',
    });
    specs.forEach((s, i) => {
      expect(subs[i].get('app.yaml'), s.id).toEqual({ color: s.gray ? 'green' : 'blue' });
      expect(subs[i].item('app.yaml')?.gray, s.id).toBe(s.gray);
    });
    const listeners = await rest<
      { subscriberId: string; gray: boolean; expectedVersion: number; appliedVersion: number }[]
    >('GET', '/namespaces/e2e/apps/gray/items/app.yaml/listeners');
    await until(
      async () => {
        const res = await rest<{ subscriberId: string; appliedVersion: number; expectedVersion: number }[]>(
          'GET',
          '/namespaces/e2e/apps/gray/items/app.yaml/listeners',
        );
        return res.body.length === 4 && res.body.every((l) => l.appliedVersion === l.expectedVersion);
      },
      { timeoutMs: 10_000, what: 'listeners on their expected versions' },
    );
    expect(listeners.status).toBe(200);

    // Long-poll and SSE pick the version by the labels in the query, like the gRPC stream.
    type Poll = { events: { items: { name: string; content: string; gray: boolean }[] }[] };
    const polledGray = await rest<Poll>('GET', '/namespaces/e2e/apps/gray/poll?labels=zone=eu-1,canary=true');
    const polledMain = await rest<Poll>('GET', '/namespaces/e2e/apps/gray/poll?labels=zone=eu-1');
    expect(polledGray.body.events[0].items.find((i) => i.name === 'app.yaml')).toMatchObject({
      content: 'color: green\n',
      gray: true,
    });
    expect(polledMain.body.events[0].items.find((i) => i.name === 'app.yaml')).toMatchObject({
      content: 'color: blue\n',
      gray: false,
    });
    const sse = new AbortController();
    const stream = await fetch(`${base}/namespaces/e2e/apps/gray/watch?labels=canary=true,zone=eu-1`, {
      signal: sse.signal,
    });
    const reader = stream.body!.getReader();
    let sseText = '';
    while (!/event: snapshot\n[^\n]*\n/.test(sseText.replace(/^id: .*\n/gm, ''))) {
      sseText += Buffer.from((await reader.read()).value!).toString();
    }
    expect(sseText).toContain('"content":"color: green\\n"');
    sse.abort();

    const promoted = await rest('POST', '/namespaces/e2e/apps/gray/items/app.yaml/gray/promote', {
      author: 'ops',
    });
    expect(promoted.status, JSON.stringify(promoted.body)).toBe(201);
    expect(promoted.body).toMatchObject({ kind: 'promote', sourceVersion: grayVersion });
    await until(() => subs.every((s) => s.item('app.yaml')?.version === promoted.body.version), {
      timeoutMs: 10_000,
      what: 'every subscriber on the promoted release',
    });
    for (const s of subs) expect(s.get('app.yaml')).toEqual({ color: 'green' });
    for (const s of subs) s.close();
  });

  it('a subscriber cut off during three publishes catches up to the latest, each publish once and in order', async () => {
    await createItem('e2e', 'offline', 'n.json', 'json', '{"n":0}');
    const proxy = await TcpProxy.start({ targetPort: Number(new URL(member.clientUrl).port) });
    try {
      const sub = await client(proxy.url).subscribe('e2e', 'offline', {
        cacheDir: false,
        minBackoffMs: 50,
        maxBackoffMs: 200,
      });
      const seen = record(sub);
      expect(sub.get('n.json')).toEqual({ n: 0 });
      proxy.setFault(RESET);
      await until(() => proxy.stats().open === 0, { timeoutMs: 5000, what: 'connections reset' });
      for (let n = 1; n <= 3; n++)
        expect((await publish('e2e', 'offline', 'n.json', `{"n":${n}}`)).status).toBe(201);
      await new Promise((r) => setTimeout(r, 300));
      expect(seen).toEqual([]);
      proxy.setFault(PASS);
      await until(() => seen.length >= 3, { timeoutMs: 15_000, what: 'three changes after reconnecting' });
      await new Promise((r) => setTimeout(r, 300));
      expect(seen.map((c) => c.newValue)).toEqual([{ n: 1 }, { n: 2 }, { n: 3 }]);
      expect(seen.map((c) => c.newVersion)).toEqual([2, 3, 4]);
      expect(sub.get('n.json')).toEqual({ n: 3 });
      sub.close();
    } finally {
      await proxy.close();
    }
  });

  it('refuses invalid YAML with the line and column', async () => {
    await createItem('e2e', 'invalid', 'bad.yaml', 'yaml', 'ok: true\n');
    const res = await publish('e2e', 'invalid', 'bad.yaml', 'a: 1\nb:\n  - x\n   y: [1, 2\n');
    expect(res.status).toBe(400);
    const issues = res.body.issues as { line: number; column: number; message: string }[];
    expect(issues.length).toBeGreaterThan(0);
    expect(issues[0].line).toBeGreaterThanOrEqual(3);
    expect(issues[0].column).toBeGreaterThan(0);
    expect(res.body.message).toMatch(/line \d+, column \d+/);
    const item = await rest('GET', '/namespaces/e2e/apps/invalid/items/bad.yaml');
    expect(item.body).toMatchObject({ version: 1, content: 'ok: true\n' });
  });

  it('serves SSE and long-poll watches that resume by revision', async () => {
    await createItem('e2e', 'streams', 'a.txt', 'text', 'one');
    const first = await rest<{ revision: number; events: { kind: string; items: { content: string }[] }[] }>(
      'GET',
      '/namespaces/e2e/apps/streams/poll?revision=0',
    );
    expect(first.body.events[0]).toMatchObject({ kind: 'snapshot', items: [{ content: 'one' }] });
    const polled = rest<{ revision: number; events: { kind: string; items: { content: string }[] }[] }>(
      'GET',
      `/namespaces/e2e/apps/streams/poll?revision=${first.body.revision}&timeoutMs=10000`,
    );
    await new Promise((r) => setTimeout(r, 200));
    await publish('e2e', 'streams', 'a.txt', 'two');
    const second = await polled;
    expect(second.body.events).toHaveLength(1);
    expect(second.body.events[0]).toMatchObject({ kind: 'change', items: [{ content: 'two' }] });

    // SSE from the first revision: replays 'two', then streams 'three'.
    const controller = new AbortController();
    const res = await fetch(`${base}/namespaces/e2e/apps/streams/watch?revision=${first.body.revision}`, {
      signal: controller.signal,
    });
    expect(res.headers.get('content-type')).toContain('text/event-stream');
    const reader = res.body!.getReader();
    let text = '';
    const readUntil = async (needle: string): Promise<void> => {
      while (!text.includes(needle)) {
        const { value, done } = await reader.read();
        if (done) throw new Error(`SSE ended before ${needle}: ${text}`);
        text += Buffer.from(value).toString('utf8');
      }
    };
    await readUntil('"content":"two"');
    await publish('e2e', 'streams', 'a.txt', 'three');
    await readUntil('"content":"three"');
    expect(text).toMatch(/event: resumed/);
    expect(text).toMatch(/id: \d+\nevent: change/);
    controller.abort();
  });

  it('an app started while the server is down starts from its cache file', async () => {
    const cacheDir = makeTempDir();
    await createItem('e2e', 'cached', 'app.json', 'json', '{"greeting":"from-server"}');
    const first = await client().subscribe('e2e', 'cached', { cacheDir, labels: { zone: 'eu-1' } });
    expect(first.source).toBe('server');
    await first.closeAndWait();

    await stopMember(member);
    try {
      const started = Date.now();
      const offline = await client().subscribe('e2e', 'cached', {
        cacheDir,
        labels: { zone: 'eu-1' },
        startTimeoutMs: 1500,
      });
      expect(offline.source).toBe('cache');
      expect(offline.get('app.json')).toEqual({ greeting: 'from-server' });
      expect(Date.now() - started).toBeLessThan(10_000);
      const seen = record(offline);
      await restartMember(member);
      await publish('e2e', 'cached', 'app.json', '{"greeting":"after-restart"}');
      await until(() => seen.length === 1, {
        timeoutMs: 15_000,
        what: 'the change after the server came back',
      });
      expect(offline.source).toBe('server');
      expect(seen[0]).toMatchObject({
        oldValue: { greeting: 'from-server' },
        newValue: { greeting: 'after-restart' },
      });
      offline.close();
    } finally {
      if (!member.running) await restartMember(member);
    }
  });
});

describe('config history past compaction', () => {
  it('keeps releases (own keys) and who-changed-what (audit archive) after MVCC compaction; a compacted resume gets a snapshot', async () => {
    await createItem('e2e', 'history', 'app.yaml', 'yaml', 'v: 1\n');
    await publish('e2e', 'history', 'app.yaml', 'v: 2\n', { author: 'alice' });
    const third = await publish('e2e', 'history', 'app.yaml', 'v: 3\n', { author: 'bob' });
    const revision = third.body.revision as number;

    // Compact everything up to the last publish through etcd's JSON gateway.
    const compact = await fetch(`${member.clientUrl}/v3/kv/compaction`, {
      method: 'POST',
      body: JSON.stringify({ revision: String(revision), physical: true }),
    });
    expect(compact.status).toBe(200);
    const oldRead = await fetch(`${member.clientUrl}/v3/kv/range`, {
      method: 'POST',
      body: JSON.stringify({
        key: Buffer.from('/cairn/config/e2e/history/app.yaml').toString('base64'),
        revision: '2',
      }),
    });
    expect(oldRead.status).not.toBe(200); // MVCC no longer has it

    const releases = await rest<{ version: number; content: string; author: string }[]>(
      'GET',
      '/namespaces/e2e/apps/history/items/app.yaml/releases',
    );
    expect(releases.body.map((r) => [r.version, r.content, r.author])).toEqual([
      [3, 'v: 3\n', 'bob'],
      [2, 'v: 2\n', 'alice'],
      [1, 'v: 1\n', 'test'],
    ]);
    const rollback = await rest('POST', '/namespaces/e2e/apps/history/items/app.yaml/rollback', {
      version: 1,
    });
    expect(rollback.status).toBe(201);

    // The archive saw every write of the live key, with the actor of each: the authenticated user ('anonymous'
    // with auth off), never the author a caller typed (that is only a note on the release).
    let history: { revision: number; operation: string; actor: string; value: string | null; key: string }[] =
      [];
    await until(
      async () => {
        const res = await rest<typeof history>('GET', '/namespaces/e2e/apps/history/items/app.yaml/history');
        history = res.status === 200 ? res.body.filter((h) => h.key.endsWith('/history/app.yaml')) : [];
        return history.length >= 4;
      },
      { timeoutMs: 15_000, what: 'four archived writes of the live key' },
    );
    expect(history.map((h) => [h.value, h.actor])).toEqual([
      ['v: 1\n', 'anonymous'],
      ['v: 3\n', 'anonymous'],
      ['v: 2\n', 'anonymous'],
      ['v: 1\n', 'anonymous'],
    ]);

    // A subscriber resuming from a compacted revision starts over from a snapshot.
    const polled = await rest<{ events: { kind: string; items: { content: string }[] }[] }>(
      'GET',
      '/namespaces/e2e/apps/history/poll?revision=2',
    );
    expect(polled.body.events[0]).toMatchObject({ kind: 'snapshot', items: [{ content: 'v: 1\n' }] });
  });
});

describe('config import/export', () => {
  it('exports an app as JSON and zip, and imports an edited zip as new releases and a JSON bundle as drafts', async () => {
    await createItem('e2e', 'bundle', 'a.yaml', 'yaml', 'x: 1\n');
    await createItem('e2e', 'bundle', 'b.txt', 'text', 'hello');
    const json = await rest<{
      kind: string;
      apps: { name: string; items: { name: string; content: string }[] }[];
    }>('GET', '/namespaces/e2e/apps/bundle/export');
    expect(json.body.kind).toBe('cairn.config.bundle');
    expect(json.body.apps[0].items.map((i) => [i.name, i.content])).toEqual([
      ['a.yaml', 'x: 1\n'],
      ['b.txt', 'hello'],
    ]);

    const zipRes = await fetch(`${base}/namespaces/e2e/apps/bundle/export?format=zip`);
    expect(zipRes.headers.get('content-type')).toBe('application/zip');
    const files = unzipSync(new Uint8Array(await zipRes.arrayBuffer()));
    expect(Object.keys(files).sort()).toEqual(['bundle.json', 'e2e/bundle/a.yaml', 'e2e/bundle/b.txt']);
    files['e2e/bundle/a.yaml'] = strToU8('x: 2\n');
    const imported = await fetch(`${base}/import/zip?publish=true&author=importer`, {
      method: 'POST',
      headers: { 'content-type': 'application/zip' },
      body: Buffer.from(zipSync(files)),
    });
    expect(imported.status).toBe(201);
    expect(await imported.json()).toEqual({ items: 2, published: 1, drafts: 0, unchanged: 1 });
    const a = await rest('GET', '/namespaces/e2e/apps/bundle/items/a.yaml');
    expect(a.body).toMatchObject({ content: 'x: 2\n', version: 2 });

    // A JSON bundle into another namespace lands as drafts, nothing published.
    const bundle = { ...json.body, namespace: 'e2e-copy' };
    const asDrafts = await rest('POST', '/import', { bundle, author: 'importer' });
    expect(asDrafts.body).toEqual({ items: 2, published: 0, drafts: 2, unchanged: 0 });
    const copy = await rest<{ version: number; draft: { content: string } }>(
      'GET',
      '/namespaces/e2e-copy/apps/bundle/items/a.yaml',
    );
    expect(copy.body).toMatchObject({ version: 0, draft: { content: 'x: 1\n' } });
  });
});

describe('config drafts and deletion', () => {
  it('keeps a draft away from subscribers until it is published, then deleting the item removes it', async () => {
    await createItem('e2e', 'drafts', 'app.yaml', 'yaml', 'level: info\n');
    const sub = await client().subscribe('e2e', 'drafts', { cacheDir: false });
    const seen = record(sub);
    const item = await rest<{ modRevision: number }>('GET', '/namespaces/e2e/apps/drafts/items/app.yaml');

    const draft = await rest('PUT', '/namespaces/e2e/apps/drafts/items/app.yaml/draft', {
      content: 'level: debug\n',
      author: 'dev',
    });
    expect(draft.status).toBe(200);
    expect(draft.body).toMatchObject({ content: 'level: debug\n', baseRevision: item.body.modRevision });
    const withDraft = await rest('GET', '/namespaces/e2e/apps/drafts/items/app.yaml');
    expect(withDraft.body).toMatchObject({ content: 'level: info\n', draft: { content: 'level: debug\n' } });

    // Another live publish after the draft was started: publishing the draft is now a conflict.
    await publish('e2e', 'drafts', 'app.yaml', 'level: warn\n');
    const stale = await rest('POST', '/namespaces/e2e/apps/drafts/items/app.yaml/publish', {
      fromDraft: true,
    });
    expect(stale.status).toBe(409);
    expect(stale.body).toMatchObject({
      base: { content: 'level: info\n' },
      current: { content: 'level: warn\n' },
    });

    // Rebased on the live revision, the draft publishes and is gone.
    const live = await rest<{ modRevision: number }>('GET', '/namespaces/e2e/apps/drafts/items/app.yaml');
    const published = await rest('POST', '/namespaces/e2e/apps/drafts/items/app.yaml/publish', {
      fromDraft: true,
      expectedRevision: live.body.modRevision,
      author: 'dev',
    });
    expect(published.status, JSON.stringify(published.body)).toBe(201);
    expect((await rest('GET', '/namespaces/e2e/apps/drafts/items/app.yaml/draft')).status).toBe(404);
    await until(() => seen.length === 2, { timeoutMs: 10_000, what: 'two live changes' });
    expect(seen.map((c) => c.newValue)).toEqual([{ level: 'warn' }, { level: 'debug' }]);

    const deleted = await rest('DELETE', '/namespaces/e2e/apps/drafts/items/app.yaml');
    expect(deleted.body).toEqual({ deleted: true });
    await until(() => seen.length === 3, { timeoutMs: 10_000, what: 'the deletion' });
    expect(seen[2]).toMatchObject({ name: 'app.yaml', newVersion: 0, newValue: undefined });
    expect(sub.get('app.yaml')).toBeUndefined();
    expect((await rest('GET', '/namespaces/e2e/apps/drafts/items/app.yaml')).status).toBe(404);
    sub.close();
  });
});

describe('config gray release abandon and percentage', () => {
  it('abandoning a gray release sends its subscribers back to the main release; a percentage picks a stable share', async () => {
    await createItem('e2e', 'abandon', 'app.json', 'json', '{"v":"main"}');
    const c = client();
    const canary = await c.subscribe('e2e', 'abandon', {
      labels: { canary: 'true' },
      subscriberId: 'can-1',
      cacheDir: false,
    });
    const seen = record(canary);
    const started = await rest('POST', '/namespaces/e2e/apps/abandon/items/app.json/gray', {
      content: '{"v":"gray"}',
      rule: { labels: { canary: 'true' } },
    });
    expect(started.status).toBe(201);
    await until(() => seen.length === 1, { timeoutMs: 10_000, what: 'the gray version' });
    expect(canary.get('app.json')).toEqual({ v: 'gray' });
    const abandoned = await rest('POST', '/namespaces/e2e/apps/abandon/items/app.json/gray/abandon', {
      author: 'ops',
    });
    expect(abandoned.body).toEqual({ abandoned: true });
    await until(() => seen.length === 2, { timeoutMs: 10_000, what: 'back to main' });
    expect(seen[1]).toMatchObject({
      oldValue: { v: 'gray' },
      newValue: { v: 'main' },
      newVersion: 1,
      gray: false,
    });
    // The gray release stays in history.
    const releases = await rest<{ version: number; kind: string }[]>(
      'GET',
      '/namespaces/e2e/apps/abandon/items/app.json/releases',
    );
    expect(releases.body.map((r) => [r.version, r.kind])).toEqual([
      [2, 'gray'],
      [1, 'publish'],
    ]);
    canary.close();

    // 50 %: long-polls as 40 subscriber IDs; the gray share is the same on a second pass.
    await rest('POST', '/namespaces/e2e/apps/abandon/items/app.json/gray', {
      content: '{"v":"half"}',
      rule: { percentage: 50 },
    });
    const grayIds = async (): Promise<string[]> => {
      const ids: string[] = [];
      for (let i = 0; i < 40; i++) {
        const res = await rest<{ events: { items: { gray: boolean }[] }[] }>(
          'GET',
          `/namespaces/e2e/apps/abandon/poll?subscriber=inst-${i}`,
        );
        if (res.body.events[0].items[0].gray) ids.push(`inst-${i}`);
      }
      return ids;
    };
    const first = await grayIds();
    expect(first.length).toBeGreaterThan(8);
    expect(first.length).toBeLessThan(32);
    expect(await grayIds()).toEqual(first);
  });
});
