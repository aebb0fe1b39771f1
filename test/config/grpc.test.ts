// cairn.config.v1.Config over gRPC on the client URL: items, validation issues with positions, a publish
// conflict as ABORTED with both versions in the `cairn-conflict` trailer, releases and diff, and the
// server-streaming Watch resuming from a revision.
import * as grpc from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ConfigWatchEvent__Output, loadEtcdServices } from '@cairn/api';
import { ConfigClient } from '@cairn/client';
import { cleanupAll, startMember, type Member } from '../support';

let member: Member;
let config: ConfigClient;
const ref = { namespace: 'grpc', app: 'svc', name: 'app.json' };

beforeAll(async () => {
  member = await startMember();
  config = new ConfigClient({ endpoints: member.clientUrl, callTimeoutMs: 5000 });
});

afterAll(async () => {
  config?.close();
  await cleanupAll();
});

describe('cairn.config.v1.Config', () => {
  it('creates, validates, publishes, rejects a stale publish with ABORTED and lists releases', async () => {
    const item = await config.call<{ format: string; version: string }>('PutItem', { ref, format: 'json' });
    expect(item).toMatchObject({ format: 'json', version: '0' });

    const invalid = await config.call<{ valid: boolean; errors: { line: number; column: number }[] }>(
      'Validate',
      {
        ref,
        content: '{\n  "a": 1,\n  "b" 2\n}',
      },
    );
    expect(invalid.valid).toBe(false);
    expect(invalid.errors[0]).toMatchObject({ line: 3, column: 7 });

    const first = await config.publish('grpc', 'svc', 'app.json', '{"a":1}', {
      author: 'alice',
      expectedRevision: 0,
    });
    expect(first).toMatchObject({ version: '1', kind: 'publish', author: 'alice' });
    const second = await config.publish('grpc', 'svc', 'app.json', '{"a":2}', {
      expectedRevision: Number(first.revision),
    });
    expect(second.version).toBe('2');

    const stale = await config
      .publish('grpc', 'svc', 'app.json', '{"a":3}', { expectedRevision: Number(first.revision) })
      .then(
        () => undefined,
        (err: grpc.ServiceError) => err,
      );
    expect(stale?.code).toBe(grpc.status.ABORTED);
    const conflict = JSON.parse(String(stale?.metadata.get('cairn-conflict')[0])) as {
      base: { version: number; content: string };
      current: { version: number; content: string };
    };
    expect(conflict.base).toMatchObject({ version: 1, content: '{"a":1}' });
    expect(conflict.current).toMatchObject({ version: 2, content: '{"a":2}' });

    const releases = await config.call<{ releases: { version: string }[] }>('ListReleases', { ref });
    expect(releases.releases.map((r) => r.version)).toEqual(['2', '1']);
    const diff = await config.call<{ unified: string }>('Diff', { ref, from_version: 1, to_version: 2 });
    expect(diff.unified).toContain('-{"a":1}');
    expect(diff.unified).toContain('+{"a":2}');
  });

  it('streams Watch events and resumes after a revision with each later release once', async () => {
    const Config = loadEtcdServices().cairn.config.v1.Config;
    const client = new Config(member.clientUrl.replace('http://', ''), grpc.credentials.createInsecure());
    const collect = (
      revision: number,
    ): { events: ConfigWatchEvent__Output[]; call: grpc.ClientReadableStream<ConfigWatchEvent__Output> } => {
      const events: ConfigWatchEvent__Output[] = [];
      const call = client.Watch({ namespace: 'grpc', app: 'svc', revision, subscriber_id: `w-${revision}` });
      call.on('data', (e: ConfigWatchEvent__Output) => events.push(e));
      call.on('error', () => undefined);
      return { events, call };
    };
    const fresh = collect(0);
    await waitUntil(() => fresh.events.length === 1);
    expect(fresh.events[0]).toMatchObject({ kind: 'snapshot' });
    expect(fresh.events[0].items.map((i) => [i.name, i.version, JSON.parse(i.json)])).toEqual([
      ['app.json', '2', { a: 2 }],
    ]);
    const from = Number(fresh.events[0].revision);
    fresh.call.cancel();

    await config.publish('grpc', 'svc', 'app.json', '{"a":4}');
    await config.publish('grpc', 'svc', 'app.json', '{"a":5}');
    const resumed = collect(from);
    await waitUntil(() => resumed.events.length === 3);
    expect(resumed.events.map((e) => e.kind)).toEqual(['resumed', 'change', 'change']);
    expect(resumed.events.slice(1).map((e) => JSON.parse(e.items[0].json) as unknown)).toEqual([
      { a: 4 },
      { a: 5 },
    ]);
    resumed.call.cancel();
    client.close();
  });
});

async function waitUntil(probe: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!probe()) {
    if (Date.now() > deadline) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 20));
  }
}
