// --experimental-watch-progress-notify-interval: a watcher created with progress_notify gets a progress
// response (no events, the current revision) every interval, as etcd sends them; a watcher without it gets
// none. etcdctl 3.4 has no --progress-notify, so the watch goes through the gateway (the Go suite covers the
// clientv3 side with RequestProgress).
import { afterAll, beforeAll, expect, it } from 'vitest';
import { GatewayStream, cleanupAll, etcdctlAt, sleep, startMember, type Member } from '../support';

afterAll(() => cleanupAll());

let member: Member;

beforeAll(async () => {
  member = await startMember({ extraFlags: ['--experimental-watch-progress-notify-interval', '1s'] });
}, 60_000);

type Json = Record<string, unknown>;

it('a watcher with progress_notify gets a progress response at the current revision every interval', async () => {
  const ctl = etcdctlAt(member);
  await ctl(['put', 'progress/a', '1']);
  const key = Buffer.from('progress/').toString('base64');
  const rangeEnd = Buffer.from('progress0').toString('base64');
  const notified = await new GatewayStream().open(member, '/v3/watch', {
    create_request: { key, range_end: rangeEnd, progress_notify: true },
  });
  const silent = await new GatewayStream().open(member, '/v3/watch', {
    create_request: { key, range_end: rangeEnd },
  });
  try {
    await notified.results(1); // created
    await ctl(['put', 'progress/b', '2']);
    const revision = String(
      JSON.parse((await ctl(['get', 'progress/b', '-w', 'json'])).stdout).header.revision,
    );
    await sleep(2600);
    const results = (await notified.results(4)) as Json[];
    const progress = results.filter(
      (r) => r['created'] !== true && ((r['events'] as unknown[] | undefined) ?? []).length === 0,
    );
    expect(progress.length).toBeGreaterThanOrEqual(2);
    for (const response of progress) expect((response['header'] as Json)['revision']).toBe(revision);
    // Without progress_notify: the created response and the put's event only.
    expect(silent.messages).toHaveLength(2);
  } finally {
    await notified.close();
    await silent.close();
  }
}, 30_000);
