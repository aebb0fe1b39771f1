// ReadIndexBatcher: one read-index request confirms every read queued behind it, reads that arrive during a round
// wait for the next one, a read is released only once the member has applied up to the read index, a round
// with no answer is asked again, reads fail with the timeout error after timeoutMs, close fails everything.
// Time is Vitest's fake clock: the batcher's `now` and its retry timers both follow it.
import type { ReadState } from '@cairn/raft';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { ReadIndexBatcher } from '../src/read-index';

const RETRY_MS = 50;
const TIMEOUT_MS = 1000;

class TimeoutError extends Error {}
class ClosedError extends Error {}

interface Tracked {
  state: 'pending' | 'resolved' | 'rejected';
  error?: unknown;
}

/** Records how a promise settled without awaiting it. */
function track(promise: Promise<void>): Tracked {
  const tracked: Tracked = { state: 'pending' };
  promise.then(
    () => (tracked.state = 'resolved'),
    (err: unknown) => {
      tracked.state = 'rejected';
      tracked.error = err;
    },
  );
  return tracked;
}

/** Lets promise callbacks run (no timers advance). */
async function flush(): Promise<void> {
  for (let i = 0; i < 5; i++) await Promise.resolve();
}

interface Harness {
  batcher: ReadIndexBatcher;
  /** The contexts requestReadIndex was called with, as hex, in order. */
  asked: string[];
  setApplied(index: number): void;
  /** When set, requestReadIndex throws (no leader). */
  noLeader: boolean;
  answer(ctxHex: string, index: number): void;
}

function harness(): Harness {
  let applied = 0;
  const h: Harness = {
    asked: [],
    noLeader: false,
    setApplied: (index) => {
      applied = index;
    },
    answer: (ctxHex, index) => {
      const state: ReadState = { index, requestCtx: new Uint8Array(Buffer.from(ctxHex, 'hex')) };
      h.batcher.onReadStates([state]);
    },
    batcher: new ReadIndexBatcher({
      requestReadIndex: (ctx) => {
        h.asked.push(Buffer.from(ctx).toString('hex'));
        if (h.noLeader) throw new Error('raft: no leader');
      },
      appliedIndex: () => applied,
      retryIntervalMs: RETRY_MS,
      timeoutMs: TIMEOUT_MS,
      timeoutError: () => new TimeoutError('etcdserver: request timed out'),
      now: () => Date.now(),
    }),
  };
  return h;
}

beforeEach(() => {
  vi.useFakeTimers();
});

afterEach(() => {
  vi.useRealTimers();
});

describe('ReadIndexBatcher batching', () => {
  it('confirms every read queued during a round with one read-index request for the next round', async () => {
    const h = harness();
    h.setApplied(10);
    const first = track(h.batcher.waitReadable());
    expect(h.asked).toHaveLength(1);

    // Reads that arrive while round 1 is in flight do not join it and do not ask Raft themselves.
    const later = Array.from({ length: 20 }, () => track(h.batcher.waitReadable()));
    expect(h.asked).toHaveLength(1);

    h.answer(h.asked[0], 10);
    await flush();
    expect(first.state).toBe('resolved');
    expect(later.every((r) => r.state === 'pending')).toBe(true);
    // The queued reads form round 2: exactly one more request, with a new context.
    expect(h.asked).toHaveLength(2);
    expect(h.asked[1]).not.toBe(h.asked[0]);

    h.answer(h.asked[1], 10);
    await flush();
    expect(later.every((r) => r.state === 'resolved')).toBe(true);
    // Nothing is queued: no third round starts.
    expect(h.asked).toHaveLength(2);
    expect(vi.getTimerCount()).toBe(0);
  });

  it('ignores an answer for another context (a late answer to an earlier round)', async () => {
    const h = harness();
    h.setApplied(5);
    const first = track(h.batcher.waitReadable());
    h.answer(h.asked[0], 5);
    const second = track(h.batcher.waitReadable());
    expect(h.asked).toHaveLength(2);

    // A duplicate of round 1's answer must not release round 2's read.
    h.answer(h.asked[0], 5);
    h.batcher.onReadStates([{ index: 5, requestCtx: new Uint8Array([1, 2, 3]) }]);
    await flush();
    expect(first.state).toBe('resolved');
    expect(second.state).toBe('pending');

    h.answer(h.asked[1], 5);
    await flush();
    expect(second.state).toBe('resolved');
  });

  it('finds its answer among several read states in one batch', async () => {
    const h = harness();
    h.setApplied(3);
    const read = track(h.batcher.waitReadable());
    h.batcher.onReadStates([
      { index: 1, requestCtx: new Uint8Array(Buffer.from('ffffffffffffffff', 'hex')) },
      { index: 3, requestCtx: new Uint8Array(Buffer.from(h.asked[0], 'hex')) },
    ]);
    await flush();
    expect(read.state).toBe('resolved');
  });

  it('does nothing with read states when no round is in flight', () => {
    const h = harness();
    expect(() => h.batcher.onReadStates([{ index: 1, requestCtx: new Uint8Array(8) }])).not.toThrow();
    expect(h.asked).toHaveLength(0);
  });
});

describe('ReadIndexBatcher and the applied index', () => {
  it('releases a round only once the applied index reaches its read index', async () => {
    const h = harness();
    h.setApplied(5);
    const read = track(h.batcher.waitReadable());
    h.answer(h.asked[0], 10);
    await flush();
    expect(read.state).toBe('pending');

    h.setApplied(9);
    h.batcher.onApplied(9);
    await flush();
    expect(read.state).toBe('pending');

    h.setApplied(10);
    h.batcher.onApplied(10);
    await flush();
    expect(read.state).toBe('resolved');
  });

  it('releases rounds waiting for apply in order, each at its own index', async () => {
    const h = harness();
    h.setApplied(1);
    const a = track(h.batcher.waitReadable());
    const b = track(h.batcher.waitReadable());
    h.answer(h.asked[0], 4); // round 1 (a) needs 4
    h.answer(h.asked[1], 7); // round 2 (b) needs 7
    await flush();
    expect([a.state, b.state]).toEqual(['pending', 'pending']);

    h.batcher.onApplied(5);
    await flush();
    expect([a.state, b.state]).toEqual(['resolved', 'pending']);

    h.batcher.onApplied(8);
    await flush();
    expect(b.state).toBe('resolved');
  });

  it('starts the next round while the previous one still waits for apply', async () => {
    const h = harness();
    h.setApplied(0);
    const a = track(h.batcher.waitReadable());
    const b = track(h.batcher.waitReadable());
    h.answer(h.asked[0], 3);
    // Round 2 is asked for at once, not after round 1's reads are applied.
    expect(h.asked).toHaveLength(2);
    h.setApplied(3);
    h.answer(h.asked[1], 3);
    await flush();
    expect(b.state).toBe('resolved');
    h.batcher.onApplied(3);
    await flush();
    expect(a.state).toBe('resolved');
  });
});

describe('ReadIndexBatcher retries and timeouts', () => {
  it('asks again with the same context when no answer came within the retry interval', async () => {
    const h = harness();
    h.setApplied(2);
    const read = track(h.batcher.waitReadable());
    expect(h.asked).toHaveLength(1);

    vi.advanceTimersByTime(RETRY_MS - 1);
    expect(h.asked).toHaveLength(1);
    vi.advanceTimersByTime(1);
    expect(h.asked).toEqual([h.asked[0], h.asked[0]]);
    vi.advanceTimersByTime(RETRY_MS);
    expect(h.asked).toHaveLength(3);
    expect(new Set(h.asked).size).toBe(1);

    h.answer(h.asked[0], 2);
    await flush();
    expect(read.state).toBe('resolved');
    // The answer stops the retries.
    vi.advanceTimersByTime(10 * RETRY_MS);
    expect(h.asked).toHaveLength(3);
  });

  it('keeps the reads when Raft has no leader and asks again until one answers', async () => {
    const h = harness();
    h.setApplied(1);
    h.noLeader = true;
    const read = track(h.batcher.waitReadable());
    vi.advanceTimersByTime(3 * RETRY_MS);
    await flush();
    expect(h.asked).toHaveLength(4);
    expect(read.state).toBe('pending');

    h.noLeader = false;
    vi.advanceTimersByTime(RETRY_MS);
    expect(h.asked).toHaveLength(5);
    h.answer(h.asked[4], 1);
    await flush();
    expect(read.state).toBe('resolved');
  });

  it('fails a round with the timeout error once it has waited timeoutMs, then serves the next round', async () => {
    const h = harness();
    h.setApplied(1);
    const stuck = Array.from({ length: 3 }, () => track(h.batcher.waitReadable()));
    // stuck[0] is round 1; stuck[1..2] wait for round 2, which starts when round 1 ends.
    vi.advanceTimersByTime(TIMEOUT_MS - RETRY_MS);
    await flush();
    expect(stuck[0].state).toBe('pending');

    vi.advanceTimersByTime(RETRY_MS);
    await flush();
    expect(stuck[0].state).toBe('rejected');
    expect(stuck[0].error).toBeInstanceOf(TimeoutError);
    expect((stuck[0].error as Error).message).toBe('etcdserver: request timed out');
    expect(stuck[1].state).toBe('pending');

    // Round 2 was asked for right away with a fresh context, and is served normally.
    const round2 = h.asked[h.asked.length - 1];
    expect(round2).not.toBe(h.asked[0]);
    h.answer(round2, 1);
    await flush();
    expect(stuck[1].state).toBe('resolved');
    expect(stuck[2].state).toBe('resolved');
    expect(vi.getTimerCount()).toBe(0);
  });

  it('ignores an answer that arrives after its round timed out', async () => {
    const h = harness();
    h.setApplied(1);
    const read = track(h.batcher.waitReadable());
    vi.advanceTimersByTime(TIMEOUT_MS);
    await flush();
    expect(read.state).toBe('rejected');
    expect(() => h.answer(h.asked[0], 1)).not.toThrow();
    expect(vi.getTimerCount()).toBe(0);
  });
});

describe('ReadIndexBatcher close', () => {
  it('rejects reads in flight, queued and waiting for apply, and every later read', async () => {
    const h = harness();
    h.setApplied(0);
    const waitingApply = track(h.batcher.waitReadable());
    h.answer(h.asked[0], 100); // round 1 now waits for apply
    const inFlight = track(h.batcher.waitReadable()); // this is round 2 (asked already)
    const queued = track(h.batcher.waitReadable()); // waits for round 3
    expect(h.asked).toHaveLength(2);

    const closed = new ClosedError('etcdserver: server stopped');
    h.batcher.close(closed);
    await flush();
    for (const read of [waitingApply, inFlight, queued]) {
      expect(read.state).toBe('rejected');
      expect(read.error).toBe(closed);
    }
    // No retry timer survives, no round starts.
    expect(vi.getTimerCount()).toBe(0);
    expect(h.asked).toHaveLength(2);

    // After close a read fails at once (with the batcher's timeout error) and asks nothing.
    const after = track(h.batcher.waitReadable());
    await flush();
    expect(after.state).toBe('rejected');
    expect(h.asked).toHaveLength(2);

    // Late answers and applies after close are harmless.
    h.answer(h.asked[1], 0);
    h.batcher.onApplied(1000);
    expect(vi.getTimerCount()).toBe(0);
  });

  it('can be closed twice', async () => {
    const h = harness();
    const read = track(h.batcher.waitReadable());
    h.batcher.close(new ClosedError('first'));
    h.batcher.close(new ClosedError('second'));
    await flush();
    expect((read.error as Error).message).toBe('first');
  });
});

describe('ReadIndexBatcher: a stalled apply', () => {
  it('fails reads that waited timeoutMs for the applied index with the timeout error', async () => {
    vi.useFakeTimers();
    try {
      const asked: Uint8Array[] = [];
      const batcher = new ReadIndexBatcher({
        requestReadIndex: (ctx) => asked.push(ctx),
        appliedIndex: () => 5,
        retryIntervalMs: 100,
        timeoutMs: 1000,
        timeoutError: () => new Error('etcdserver: request timed out'),
        now: () => Date.now(),
      });
      const read = batcher.waitReadable();
      const outcome = read.then(
        () => 'served',
        (err: Error) => err.message,
      );
      batcher.onReadStates([{ index: 9, requestCtx: asked[0] }]);
      await vi.advanceTimersByTimeAsync(999);
      batcher.onApplied(8);
      await vi.advanceTimersByTimeAsync(2);
      expect(await outcome).toBe('etcdserver: request timed out');
      batcher.close(new Error('closed'));
    } finally {
      vi.useRealTimers();
    }
  });
});
