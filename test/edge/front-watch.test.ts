// The gRPC front writes a Watch's responses itself when the Watch runs on a connection that goes through the
// front (its first request was a KV call): the DATA frames join the connection's one write per tick, the
// client's stream and connection windows are kept, and nghttp2's trailers wait for the front's DATA. A real
// member and the etcd3 client (one HTTP/2 connection for its KV and Watch calls), with values large enough
// to run the windows dry.
import { Etcd3 } from 'etcd3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Member, cleanupAll, currentTarget, startMember } from '../support';

describe.skipIf(currentTarget().kind === 'etcd')('a Watch on a gRPC front connection', () => {
  let member: Member;
  let client: Etcd3;

  beforeAll(async () => {
    member = await startMember();
    client = new Etcd3({ hosts: member.clientUrl });
  }, 30_000);
  afterAll(async () => {
    client?.close();
    await cleanupAll();
  });

  it('delivers every event in order, large values across the flow-control windows included', async () => {
    await client.put('front-watch/first').value('opens the connection with a KV call');
    const seen: Array<{ key: string; size: number }> = [];
    const watcher = await client.watch().prefix('front-watch/k').create();
    watcher.on('put', (kv) => seen.push({ key: kv.key.toString(), size: kv.value.length }));
    const sizes = Array.from({ length: 120 }, (_, i) => (i % 3 === 0 ? 200_000 : 100 + i));
    for (let i = 0; i < sizes.length; i += 20) {
      await Promise.all(
        sizes
          .slice(i, i + 20)
          .map((size, j) =>
            client.put(`front-watch/k${String(i + j).padStart(4, '0')}`).value('v'.repeat(size)),
          ),
      );
    }
    const deadline = Date.now() + 20_000;
    while (seen.length < sizes.length && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    expect(seen.length).toBe(sizes.length);
    expect(seen.map((e) => e.size).sort((a, b) => a - b)).toEqual([...sizes].sort((a, b) => a - b));
    // Still one working connection: a cancel and a new watch both answer.
    await watcher.cancel();
    const again = await client.watch().key('front-watch/again').create();
    const got = new Promise<string>((resolve) => again.on('put', (kv) => resolve(kv.value.toString())));
    await client.put('front-watch/again').value('after the cancel');
    expect(await got).toBe('after the cancel');
    await again.cancel();
  }, 60_000);
});
