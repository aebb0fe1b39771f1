// One Watch stream over a real single-member CairnNode (temp data dir): created acks before events, stream-local
// watch IDs (auto from 0, or chosen by the client), cancel, filters, prev_kv, ranges, history replay, compaction
// notices, progress requests and notifications, fragmentation, close. Where etcd's answer is quoted it was
// checked against a real etcd 3.4.23 (its JSON gateway's /v3/watch).
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type WatchRequest__Output, loadEtcdServices } from '@cairn/api';
import { CairnNode, createNodeEtcdPort, singleMemberConfig } from '@cairn/server';
import { afterEach, describe, expect, it } from 'vitest';
import { WatchSession, type WatchSessionOptions } from '../src/etcd/watch-session';
import { ANONYMOUS } from '../src/port/etcd-port';

interface WireKv {
  key: Buffer;
  value: Buffer;
  mod_revision: number;
  create_revision: number;
  version: number;
}
interface WireEvent {
  type: number;
  kv: WireKv;
  prev_kv: WireKv | null;
}
interface Sent {
  header: { revision: number; cluster_id: string; member_id: string };
  watch_id?: number;
  created?: boolean;
  canceled?: boolean;
  cancel_reason?: string;
  compact_revision?: number;
  fragment?: boolean;
  events?: WireEvent[];
}

interface WatchMethod {
  responseSerialize(value: object): Buffer;
  responseDeserialize(bytes: Buffer): unknown;
}

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function startNode(): Promise<CairnNode> {
  const dir = await mkdtemp(join(tmpdir(), 'cairn-watch-session-'));
  const config = singleMemberConfig(dir, { name: 'w1' });
  const node = await CairnNode.start(config);
  cleanups.push(async () => {
    await node.close();
    await rm(dir, { recursive: true, force: true });
  });
  return node;
}

interface Stream {
  session: WatchSession;
  sent: Sent[];
  sizes: number[];
  send(req: Partial<WatchRequest__Output>): void;
  create(fields?: Partial<NonNullable<WatchRequest__Output['create_request']>>): void;
}

function stream(node: CairnNode, opts: Partial<WatchSessionOptions> = {}): Stream {
  const sent: Sent[] = [];
  const sizes: number[] = [];
  const session = new WatchSession(
    { port: createNodeEtcdPort(node, 128), header: (revision) => node.header(revision) },
    (response, bytes) => {
      sent.push(response as Sent);
      sizes.push(bytes);
      return true;
    },
    {
      context: { identity: ANONYMOUS },
      maxResponseBytes: 1024 * 1024,
      progressNotifyIntervalMs: 60 * 60 * 1000,
      ...opts,
    },
  );
  cleanups.push(async () => session.close());
  const s: Stream = {
    session,
    sent,
    sizes,
    send: (req) => session.handle(req as WatchRequest__Output),
    create: (fields = {}) =>
      s.send({
        create_request: {
          key: Buffer.from('a'),
          range_end: Buffer.alloc(0),
          start_revision: '0',
          progress_notify: false,
          filters: [],
          prev_kv: false,
          watch_id: '0',
          fragment: false,
          ...fields,
        },
      }),
  };
  return s;
}

/** Polls every 10 ms; fails (instead of hanging) after `tries` polls. */
async function until(cond: () => boolean, what: string, tries = 300): Promise<void> {
  for (let i = 0; i < tries; i++) {
    if (cond()) return;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  throw new Error(`timed out waiting for: ${what}`);
}

/** Gives the node and the store a few turns to deliver anything pending (to show nothing more comes). */
async function settle(): Promise<void> {
  for (let i = 0; i < 5; i++) await new Promise((resolve) => setTimeout(resolve, 10));
}

async function put(node: CairnNode, key: string, value: string): Promise<number> {
  const result = await node.propose(
    {
      put: {
        key: Buffer.from(key),
        value: Buffer.from(value),
        lease: '0',
        prev_kv: false,
        ignore_value: false,
        ignore_lease: false,
      },
    },
    ANONYMOUS,
  );
  if (result.error) throw result.error;
  return Number((result.response as { header: { revision: number } }).header.revision);
}

async function del(node: CairnNode, key: string): Promise<void> {
  const result = await node.propose(
    {
      delete_range: { key: Buffer.from(key), range_end: Buffer.alloc(0), prev_kv: false },
    },
    ANONYMOUS,
  );
  if (result.error) throw result.error;
}

const events = (s: Stream, id: number): WireEvent[] =>
  s.sent.filter((r) => r.watch_id === id && r.events).flatMap((r) => r.events!);
const summary = (e: WireEvent): string =>
  `${e.type === 0 ? 'PUT' : 'DELETE'} ${e.kv.key.toString()}=${e.kv.value.toString()}`;

describe('WatchSession: creating watchers', () => {
  it('acks a create with created=true before any of its events, then streams puts and deletes', async () => {
    const node = await startNode();
    const s = stream(node);
    s.create({ key: Buffer.from('a') });
    expect(s.sent).toHaveLength(1);
    expect(s.sent[0]).toMatchObject({ watch_id: 0, created: true });
    expect(Number(s.sent[0].header.revision)).toBe(node.kv.currentRevision);
    expect(s.sent[0].header.member_id).toBe(node.memberId.toString());

    await put(node, 'a', '1');
    await put(node, 'b', 'not watched');
    await del(node, 'a');
    await until(() => events(s, 0).length === 2, 'two events');
    expect(events(s, 0).map(summary)).toEqual(['PUT a=1', 'DELETE a=']);
    expect(s.sent.findIndex((r) => r.events)).toBeGreaterThan(0);
  });

  it('numbers watchers created with the default ID 0, 1, 2 on one stream (as etcd’s AutoWatchID)', async () => {
    const node = await startNode();
    const s = stream(node);
    for (const key of ['a', 'b', 'c']) s.create({ key: Buffer.from(key) });
    expect(s.sent.map((r) => [r.watch_id, r.created, r.canceled ?? false])).toEqual([
      [0, true, false],
      [1, true, false],
      [2, true, false],
    ]);
    await put(node, 'b', 'x');
    await until(() => events(s, 1).length === 1, 'the event of watcher 1');
    expect(events(s, 0)).toEqual([]);
    expect(events(s, 2)).toEqual([]);
  });

  it('uses a client-chosen ID, skips it when auto-numbering, and refuses it twice with etcd’s reason', async () => {
    const node = await startNode();
    const s = stream(node);
    s.create({ key: Buffer.from('a'), watch_id: '1' });
    s.create({ key: Buffer.from('b') }); // auto: 0
    s.create({ key: Buffer.from('c') }); // auto: 1 is taken, so 2
    s.create({ key: Buffer.from('d'), watch_id: '1' });
    expect(s.sent.map((r) => r.watch_id)).toEqual([1, 0, 2, -1]);
    // etcd 3.4.23: {"watch_id":"-1","created":true,"canceled":true,"cancel_reason":"mvcc: duplicate watch ID provided on the WatchStream"}
    expect(s.sent[3]).toMatchObject({
      watch_id: -1,
      created: true,
      canceled: true,
      cancel_reason: 'mvcc: duplicate watch ID provided on the WatchStream',
    });
  });

  it('watches a range and, with an empty key and range_end "\\0", every key', async () => {
    const node = await startNode();
    const s = stream(node);
    s.create({ key: Buffer.from('p/'), range_end: Buffer.from('p0') }); // prefix p/
    s.create({ key: Buffer.alloc(0), range_end: Buffer.from([0]) }); // everything
    await put(node, 'p/1', 'x');
    await put(node, 'q', 'y');
    await put(node, 'p/2', 'z');
    await until(() => events(s, 1).length === 3, 'all three events on the all-keys watcher');
    expect(events(s, 0).map(summary)).toEqual(['PUT p/1=x', 'PUT p/2=z']);
    expect(events(s, 1).map(summary)).toEqual(['PUT p/1=x', 'PUT q=y', 'PUT p/2=z']);
  });

  it('applies the NOPUT and NODELETE filters and attaches prev_kv when asked', async () => {
    const node = await startNode();
    const s = stream(node);
    s.create({ key: Buffer.from('k'), filters: [0] }); // NOPUT
    s.create({ key: Buffer.from('k'), filters: [1], prev_kv: true }); // NODELETE
    await put(node, 'k', 'v1');
    await put(node, 'k', 'v2');
    await del(node, 'k');
    await until(() => events(s, 0).length === 1 && events(s, 1).length === 2, 'filtered events');
    expect(events(s, 0).map(summary)).toEqual(['DELETE k=']);
    expect(events(s, 1).map(summary)).toEqual(['PUT k=v1', 'PUT k=v2']);
    expect(events(s, 1)[0].prev_kv).toBeNull();
    expect(events(s, 1)[1].prev_kv?.value.toString()).toBe('v1');
  });

  it('replays history from a past start revision, then continues live', async () => {
    const node = await startNode();
    const first = await put(node, 'h', '1');
    await put(node, 'h', '2');
    await put(node, 'h', '3');
    const s = stream(node);
    s.create({ key: Buffer.from('h'), start_revision: String(first + 1) });
    await until(() => events(s, 0).length === 2, 'the replayed events');
    await put(node, 'h', '4');
    await until(() => events(s, 0).length === 3, 'the live event');
    expect(events(s, 0).map(summary)).toEqual(['PUT h=2', 'PUT h=3', 'PUT h=4']);
    expect(events(s, 0).map((e) => Number(e.kv.mod_revision))).toEqual([first + 1, first + 2, first + 3]);
  });

  it('cancels a watcher whose start revision was compacted with compact_revision and no cancel_reason', async () => {
    const node = await startNode();
    for (let i = 0; i < 5; i++) await put(node, 'c', String(i));
    const compact = await node.propose({ compaction: { revision: '4', physical: true } }, ANONYMOUS);
    expect(compact.error).toBeUndefined();
    const s = stream(node);
    s.create({ key: Buffer.from('c'), start_revision: '2' });
    await until(() => s.sent.some((r) => r.compact_revision !== undefined), 'the compaction notice');
    const notice = s.sent.find((r) => r.compact_revision !== undefined)!;
    expect(notice).toMatchObject({ watch_id: 0, canceled: true, compact_revision: 4 });
    expect(notice.cancel_reason).toBeUndefined();
    await put(node, 'c', 'later');
    await settle();
    expect(events(s, 0)).toEqual([]);
  });
});

describe('WatchSession: cancel, progress, fragments, close', () => {
  it('cancels a watcher: a canceled response, then no more of its events', async () => {
    const node = await startNode();
    const s = stream(node);
    s.create({ key: Buffer.from('x') });
    s.send({ cancel_request: { watch_id: '0' } });
    expect(s.sent[1]).toMatchObject({ watch_id: 0, canceled: true });
    await put(node, 'x', '1');
    await settle();
    expect(events(s, 0)).toEqual([]);
  });

  it('answers nothing to a cancel of an unknown watch ID, as etcd does', async () => {
    const node = await startNode();
    const s = stream(node);
    s.create({ key: Buffer.from('x') });
    // etcd 3.4.23 sends no response for a cancel of an ID that is not watching.
    s.send({ cancel_request: { watch_id: '7' } });
    expect(s.sent).toHaveLength(1);
  });

  it('answers a progress request with watch_id -1 at the current revision when every watcher is synced', async () => {
    const node = await startNode();
    await put(node, 'p', '1');
    const s = stream(node);
    s.create({ key: Buffer.from('p') });
    s.send({ progress_request: {} });
    expect(s.sent).toHaveLength(2);
    expect(s.sent[1].watch_id).toBe(-1);
    expect(s.sent[1].events).toBeUndefined();
    expect(Number(s.sent[1].header.revision)).toBe(node.kv.currentRevision);
  });

  it('sends progress notifications to idle synced watchers that asked for them', async () => {
    const node = await startNode();
    const s = stream(node, { progressNotifyIntervalMs: 30 });
    s.create({ key: Buffer.from('n'), progress_notify: true });
    s.create({ key: Buffer.from('m') });
    await until(
      () => s.sent.some((r) => r.watch_id === 0 && !r.created && !r.events),
      'a progress notification',
    );
    const notification = s.sent.find((r) => r.watch_id === 0 && !r.created && !r.events)!;
    expect(Number(notification.header.revision)).toBe(node.kv.currentRevision);
    expect(s.sent.filter((r) => r.watch_id === 1 && !r.created)).toEqual([]);
  });

  it('splits a big revision into fragments when the watcher asked for them, and only then', async () => {
    const node = await startNode();
    const s = stream(node, { maxResponseBytes: 150 });
    s.create({ key: Buffer.from('f/'), range_end: Buffer.from('f0'), fragment: true });
    s.create({ key: Buffer.from('f/'), range_end: Buffer.from('f0') });
    const value = 'v'.repeat(80);
    const op = (key: string) => ({
      request_put: {
        key: Buffer.from(key),
        value: Buffer.from(value),
        lease: '0',
        prev_kv: false,
        ignore_value: false,
        ignore_lease: false,
      },
    });
    const txn = await node.propose(
      {
        txn: { compare: [], success: [op('f/1'), op('f/2'), op('f/3')], failure: [] },
      },
      ANONYMOUS,
    );
    expect(txn.error).toBeUndefined();
    await until(() => events(s, 0).length === 3 && events(s, 1).length === 3, 'all events on both watchers');

    const fragmented = s.sent.filter((r) => r.watch_id === 0 && r.events);
    expect(fragmented.length).toBeGreaterThan(1);
    expect(fragmented.map((r) => r.fragment)).toEqual([...fragmented.slice(1).map(() => true), false]);
    expect(fragmented.flatMap((r) => r.events!).map((e) => e.kv.key.toString())).toEqual([
      'f/1',
      'f/2',
      'f/3',
    ]);
    const whole = s.sent.filter((r) => r.watch_id === 1 && r.events);
    expect(whole).toHaveLength(1);
    expect(whole[0].fragment).toBeFalsy();
  });

  it('binary sessions send the same events responses, fragments included, as encoded bytes', async () => {
    const method = (loadEtcdServices().etcdserverpb.Watch.service as unknown as Record<string, WatchMethod>)
      .Watch;
    const node = await startNode();
    const objects = stream(node, { maxResponseBytes: 150 });
    const binary = stream(node, { maxResponseBytes: 150, binary: true });
    for (const s of [objects, binary]) {
      s.create({ key: Buffer.from('f/'), range_end: Buffer.from('f0'), fragment: true, prev_kv: true });
      s.create({ key: Buffer.from('f/'), range_end: Buffer.from('f0') });
    }
    const op = (key: string) => ({
      request_put: {
        key: Buffer.from(key),
        value: Buffer.from('v'.repeat(80)),
        lease: '0',
        prev_kv: false,
        ignore_value: false,
        ignore_lease: false,
      },
    });
    await put(node, 'f/1', 'first');
    const txn = await node.propose(
      { txn: { compare: [], success: [op('f/1'), op('f/2'), op('f/3')], failure: [] } },
      ANONYMOUS,
    );
    expect(txn.error).toBeUndefined();
    await del(node, 'f/2');
    const eventResponses = (s: Stream) =>
      (s.sent as unknown[]).filter((r) => Buffer.isBuffer(r) || (r as Sent).events !== undefined);
    await until(() => events(objects, 0).length === 5 && events(objects, 1).length === 5, 'object events');
    await until(() => eventResponses(binary).length === eventResponses(objects).length, 'binary events');
    const decoded = (r: unknown) =>
      method.responseDeserialize(Buffer.isBuffer(r) ? r : method.responseSerialize(r as object));
    expect(eventResponses(objects).length).toBeGreaterThan(4);
    expect(eventResponses(binary).every((r) => Buffer.isBuffer(r))).toBe(true);
    expect(eventResponses(binary).map(decoded)).toEqual(eventResponses(objects).map(decoded));
  });

  it('close() cancels every watcher of the stream and sends nothing more; a closed session ignores requests', async () => {
    const node = await startNode();
    const s = stream(node, { progressNotifyIntervalMs: 20 });
    s.create({ key: Buffer.from('z'), progress_notify: true });
    s.create({ key: Buffer.from('y') });
    expect(node.watchable.stats.synced).toBe(2);
    s.session.close();
    s.session.close();
    expect(node.watchable.stats.synced).toBe(0);
    const count = s.sent.length;
    await put(node, 'z', '1');
    s.create({ key: Buffer.from('z') });
    s.send({ progress_request: {} });
    await settle();
    expect(s.sent).toHaveLength(count);
  });
});
