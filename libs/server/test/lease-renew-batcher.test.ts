import { describe, expect, it } from 'vitest';
import { LeaseRenewBatcher } from '../src/peer/lease-renew-batcher';

describe('LeaseRenewBatcher (a follower forwarding keep-alives to the leader)', () => {
  it('sends every keep-alive of one event-loop turn in one call per leader and answers each with its own TTL', async () => {
    const calls: { url: string; ids: bigint[] }[] = [];
    const batcher = new LeaseRenewBatcher(async (url, ids) => {
      calls.push({ url, ids });
      return ids.map((id) => (id === 3n ? 0 : Number(id) * 10));
    }, 1000);
    const answers = await Promise.all([1n, 2n, 3n].map((id) => batcher.renew('http://a', id)));
    expect(answers).toEqual([10, 20, 0]);
    expect(calls).toEqual([{ url: 'http://a', ids: [1n, 2n, 3n] }]);

    await batcher.renew('http://a', 4n);
    expect(calls.map((c) => c.ids)).toEqual([[1n, 2n, 3n], [4n]]);
  });

  it('keeps leaders apart and fails every keep-alive of a batch whose call failed', async () => {
    const batcher = new LeaseRenewBatcher(async (url, ids) => {
      if (url === 'http://down') throw new Error('unavailable');
      return ids.map(() => 5);
    }, 1000);
    const results = await Promise.allSettled([
      batcher.renew('http://down', 1n),
      batcher.renew('http://up', 2n),
      batcher.renew('http://down', 3n),
    ]);
    expect(results.map((r) => r.status)).toEqual(['rejected', 'fulfilled', 'rejected']);
    expect(results[1]).toEqual({ status: 'fulfilled', value: 5 });
  });
});
