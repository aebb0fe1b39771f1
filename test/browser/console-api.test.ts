// The console's own REST API (/api/console/v1) against a real built member: the paged key tree, values and
// their encodings, history past compaction from the audit archive, as-of reads, the SSE watch feed with
// Last-Event-ID, and errors.
import http from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { currentTarget, type Member, startMember, stopMember, waitFor } from '../support';
import { api } from './support';
import type {
  KeyHistoryResponse,
  KeyTreeNode,
  KeyTreePage,
  KeyValueResponse,
  WriteResult,
} from '../../apps/server/src/console/console-types';

const suite = currentTarget().kind === 'cairn' ? describe : describe.skip;

suite('console API', () => {
  let member: Member;
  const C = '/api/console/v1';
  const put = (key: string, value: string): Promise<WriteResult> =>
    api<WriteResult>(member.clientUrl, 'PUT', `${C}/keys/value`, { key, value });
  const get = <T>(path: string): Promise<T> => api<T>(member.clientUrl, 'GET', `${C}${path}`);

  beforeAll(async () => {
    member = await startMember();
  });
  afterAll(async () => {
    if (member) await stopMember(member);
  });

  it('pages through a prefix one level at a time, with key counts per directory', async () => {
    const writes: Promise<unknown>[] = [];
    for (let i = 0; i < 230; i++) writes.push(put(`/many/k${String(i).padStart(3, '0')}`, `v${i}`));
    for (let i = 0; i < 7; i++) writes.push(put(`/many/sub/s${i}`, 'x'));
    writes.push(put('/many/sub', 'a key beside the directory'));
    await Promise.all(writes);

    const children: KeyTreeNode[] = [];
    let after: string | null = '';
    let pages = 0;
    while (after !== null) {
      const page: KeyTreePage = await get(
        `/keys/tree?prefix=/many/&limit=100&after=${encodeURIComponent(after)}`,
      );
      expect(page.children.length).toBeLessThanOrEqual(100);
      children.push(...page.children);
      after = page.next;
      pages++;
    }
    expect(pages).toBe(3);
    expect(children).toHaveLength(232);
    expect(children.filter((c) => !c.dir)).toHaveLength(231);
    expect(children.find((c) => c.dir)).toEqual({ name: 'sub/', path: '/many/sub/', dir: true, count: 7 });
    expect(children.find((c) => c.path === '/many/sub')).toEqual({
      name: 'sub',
      path: '/many/sub',
      dir: false,
      count: 1,
    });
    const root: KeyTreePage = await get('/keys/tree?prefix=');
    expect(root.children.find((c) => c.path === '/')?.count).toBeGreaterThanOrEqual(238);
  });

  it('classifies values: JSON, YAML, text and binary (no text, shown as hex)', async () => {
    await put('/enc/json', '{"a":[1,2]}');
    await put('/enc/yaml', 'a: 1\nb:\n  - x\n');
    await put('/enc/text', 'plain words');
    await api(member.clientUrl, 'PUT', `${C}/keys/value`, {
      key: '/enc/bin',
      valueBase64: Buffer.from([0, 1, 2, 0xff]).toString('base64'),
    });
    const enc = async (key: string) => (await get<KeyValueResponse>(`/keys/value?key=${key}`)).kv;
    expect((await enc('/enc/json'))?.encoding).toBe('json');
    expect((await enc('/enc/yaml'))?.encoding).toBe('yaml');
    expect((await enc('/enc/text'))?.encoding).toBe('text');
    const bin = await enc('/enc/bin');
    expect(bin).toMatchObject({ encoding: 'binary', text: null, size: 4, valueBase64: 'AAEC/w==' });
  });

  it('reads a key as of an old revision and its history; past compaction both come from the audit archive', async () => {
    const key = '/cairn/config/console-test/app/item';
    const r1 = (await put(key, 'one')).revision;
    const r2 = (await put(key, 'two')).revision;
    const del = (await api<WriteResult>(member.clientUrl, 'DELETE', `${C}/keys/value?key=${key}`)).revision;
    const r4 = (await put(key, 'four')).revision;

    const before: KeyHistoryResponse = await get(`/keys/history?key=${key}`);
    expect(before.entries.map((e) => [e.revision, e.type, e.kv?.text ?? null, e.source])).toEqual([
      [r1, 'put', 'one', 'mvcc'],
      [r2, 'put', 'two', 'mvcc'],
      [del, 'delete', null, 'mvcc'],
      [r4, 'put', 'four', 'mvcc'],
    ]);
    expect((await get<KeyValueResponse>(`/keys/value?key=${key}&revision=${r1}`)).kv?.text).toBe('one');
    expect((await get<KeyValueResponse>(`/keys/value?key=${key}&revision=${del}`)).kv).toBeNull();

    // Let the archiver catch up, then compact everything before the last put.
    await waitFor(
      async () =>
        (await api<{ lastArchivedRevision: number }>(member.clientUrl, 'GET', '/api/audit/v1/status'))
          .lastArchivedRevision >= r4 || undefined,
      { timeoutMs: 10_000, what: 'the audit archive to reach the last put' },
    );
    await api(member.clientUrl, 'POST', '/v3/kv/compaction', { revision: String(r4) });

    const after: KeyHistoryResponse = await get(`/keys/history?key=${key}`);
    expect(after.compactRevision).toBe(r4);
    expect(after.truncated).toBe(false);
    expect(after.entries.map((e) => [e.revision, e.type, e.kv?.text ?? null])).toEqual([
      [r1, 'put', 'one'],
      [r2, 'put', 'two'],
      [del, 'delete', null],
      [r4, 'put', 'four'],
    ]);
    expect(after.entries.slice(0, 3).every((e) => e.source === 'audit')).toBe(true);
    const old = await get<KeyValueResponse>(`/keys/value?key=${key}&revision=${r2}`);
    expect(old).toMatchObject({ source: 'audit', kv: { text: 'two', modRevision: r2 } });

    // A key the archive does not cover (not config or registry): history says it is truncated.
    const plain: KeyHistoryResponse = await get('/keys/history?key=/enc/text');
    expect(plain.truncated).toBe(true);
  });

  it('answers clear errors: a future revision, a missing key', async () => {
    const future = await fetch(`${member.clientUrl}${C}/keys/value?key=/x&revision=999999`);
    expect(future.status).toBe(400);
    expect(((await future.json()) as { message: string }).message).toBe(
      'etcdserver: mvcc: required revision is a future revision',
    );
    const missing = await fetch(`${member.clientUrl}${C}/keys/value`);
    expect(missing.status).toBe(400);
    expect(((await missing.json()) as { message: string }).message).toBe('key is required');
  });

  it('streams changes under a prefix as SSE, and resumes after Last-Event-ID', async () => {
    const r1 = (await put('/feed/a', '1')).revision;
    const r2 = (await put('/feed/b', '2')).revision;
    await put('/other/x', 'not in the feed');
    const r3 = (await put('/feed/a', '3')).revision;
    const events = await readSse(`${member.clientUrl}${C}/watch?prefix=/feed/&start=${r1}`, 3);
    expect(events.map((e) => [e.id, e.event, e.data['key'], e.data['value']])).toEqual([
      [String(r1), 'change', '/feed/a', '1'],
      [String(r2), 'change', '/feed/b', '2'],
      [String(r3), 'change', '/feed/a', '3'],
    ]);
    expect(events[2]!.data['prevValue']).toBe('1');
    const resumed = await readSse(`${member.clientUrl}${C}/watch?prefix=/feed/`, 1, {
      'Last-Event-ID': String(r2),
    });
    expect(resumed.map((e) => e.id)).toEqual([String(r3)]);
  });
});

interface SseEvent {
  id?: string;
  event: string;
  data: Record<string, unknown>;
}

/** Reads `count` `change` events from an SSE URL, then closes the connection. */
function readSse(url: string, count: number, headers: Record<string, string> = {}): Promise<SseEvent[]> {
  return new Promise((resolve, reject) => {
    const events: SseEvent[] = [];
    const req = http.get(url, { headers }, (res) => {
      let buffer = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        buffer += chunk;
        let end: number;
        while ((end = buffer.indexOf('\n\n')) >= 0) {
          const block = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          const event: SseEvent = { event: 'message', data: {} };
          for (const line of block.split('\n')) {
            if (line.startsWith('id: ')) event.id = line.slice(4);
            else if (line.startsWith('event: ')) event.event = line.slice(7);
            else if (line.startsWith('data: '))
              event.data = JSON.parse(line.slice(6)) as Record<string, unknown>;
          }
          if (event.event === 'change') events.push(event);
          if (events.length >= count) {
            req.destroy();
            resolve(events);
            return;
          }
        }
      });
    });
    req.on('error', (err) => {
      if (events.length < count) reject(err);
    });
    req.setTimeout(10_000, () => {
      req.destroy();
      reject(new Error(`only ${events.length} of ${count} events from ${url}`));
    });
  });
}
