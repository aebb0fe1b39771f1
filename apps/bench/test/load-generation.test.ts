import { describe, expect, it } from 'vitest';
import { runClosedLoop } from '../src/load/closed-loop';
import { indexOfKey, KeyGenerator } from '../src/load/key-generator';

describe('KeyGenerator', () => {
  it('makes keys of exactly --key-size bytes, zero-padded decimal', () => {
    const keys = new KeyGenerator({ keySize: 16, keySpace: 100_000, sequential: true });
    expect(keys.keyFor(0).toString()).toBe('0000000000000000');
    expect(keys.keyFor(12345).toString()).toBe('0000000000012345');
    expect(keys.keyFor(100_001).toString()).toBe('0000000000000001'); // wraps around the key space
  });

  it('draws random keys from the key space only', () => {
    const draws = [0, 0.5, 0.999999];
    const keys = new KeyGenerator({
      keySize: 8,
      keySpace: 1000,
      sequential: false,
      random: () => draws.shift() ?? 0,
    });
    expect([0, 1, 2].map((i) => keys.keyFor(i).toString())).toEqual(['00000000', '00000500', '00000999']);
  });

  it('puts the prefix in front and reads the index back', () => {
    const keys = new KeyGenerator({ keySize: 10, keySpace: 1000, sequential: true, prefix: 'w/' });
    const key = keys.keyAt(42);
    expect(key.toString()).toBe('w/00000042');
    expect(indexOfKey(key, 2)).toBe(42);
    expect(indexOfKey(Buffer.from('w/0000004x'), 2)).toBe(-1);
  });

  it('refuses a key size too small for the key space', () => {
    expect(() => new KeyGenerator({ keySize: 4, keySpace: 100_000, sequential: true })).toThrow(/too small/);
  });
});

describe('runClosedLoop', () => {
  it('sends exactly --total requests and never has more than --clients in flight', async () => {
    let inFlight = 0;
    let peak = 0;
    const sequences: number[] = [];
    const outcome = await runClosedLoop(8, { kind: 'total', requests: 1000 }, (_client, sequence, done) => {
      inFlight++;
      peak = Math.max(peak, inFlight);
      sequences.push(sequence);
      setImmediate(() => {
        inFlight--;
        done(null);
      });
    });
    expect(outcome.completed).toBe(1000);
    expect(outcome.latency.count).toBe(1000);
    expect(peak).toBe(8);
    expect(new Set(sequences).size).toBe(1000);
  });

  it('stops issuing after the duration and counts failures apart from successes', async () => {
    let calls = 0;
    const outcome = await runClosedLoop(4, { kind: 'duration', ms: 100 }, (_client, _sequence, done) => {
      calls++;
      setTimeout(() => done(calls % 3 === 0 ? new Error('UNAVAILABLE: boom') : null), 1);
    });
    expect(outcome.completed + outcome.errors.count).toBe(calls);
    expect(outcome.errors.count).toBeGreaterThan(0);
    expect(outcome.errors.summary()[0]).toMatch(/× UNAVAILABLE: boom/);
    expect(outcome.elapsedMs).toBeGreaterThanOrEqual(100);
    expect(outcome.elapsedMs).toBeLessThan(2000);
  });

  it('gives up on requests that are never answered, counts them as errors, and sends nothing more', async () => {
    let calls = 0;
    const outcome = await runClosedLoop(
      3,
      { kind: 'total', requests: 100 },
      (_client, sequence, done) => {
        calls++;
        if (sequence < 10) setImmediate(() => done(null)); // then the "server" hangs
      },
      { stallTimeoutMs: 200 },
    );
    expect(outcome.completed).toBe(10);
    expect(outcome.errors.count).toBe(3);
    expect(outcome.errors.summary()[0]).toMatch(/3× no answer within 0.2 s/);
    expect(calls).toBe(13);
  });
});
