// The linearizability checker (support/linearizability.ts) accepts what a register can do and rejects what it
// cannot, including with operations whose outcome is unknown.
import { describe, expect, it } from 'vitest';
import {
  checkLinearizable,
  describeViolation,
  kvModel,
  type KvInput,
  type KvOutput,
  type Operation,
} from '../support/linearizability';
import { seededRandom } from '../support';

type Op = Operation<KvInput, KvOutput>;

const put = (key: string, value: string, invokedAt: number, returnedAt: number, client = 'c'): Op => ({
  client,
  input: { op: 'put', key, value },
  output: {},
  invokedAt,
  returnedAt,
});
const get = (key: string, value: string | null, invokedAt: number, returnedAt: number, client = 'c'): Op => ({
  client,
  input: { op: 'get', key },
  output: { value },
  invokedAt,
  returnedAt,
});

const verdict = (history: Op[]) => checkLinearizable(kvModel, history).verdict;

describe('checkLinearizable with the key-value model', () => {
  it('accepts a sequential history and reads of concurrent writes either way', () => {
    expect(verdict([put('a', '1', 0, 1), get('a', '1', 2, 3)])).toBe('linearizable');
    expect(verdict([get('a', null, 0, 1), put('a', '1', 2, 3), get('a', '1', 4, 5)])).toBe('linearizable');
    // A read during a put may see the old or the new value.
    expect(verdict([put('a', '1', 0, 10), get('a', null, 1, 2), get('a', '1', 3, 4)])).toBe('linearizable');
    expect(verdict([put('a', '1', 0, 10), get('a', '1', 1, 2), get('a', '1', 3, 4)])).toBe('linearizable');
  });

  it('rejects a stale read and a read that goes back after a newer value was seen', () => {
    expect(verdict([put('a', '1', 0, 1), put('a', '2', 2, 3), get('a', '1', 4, 5)])).toBe('not-linearizable');
    expect(
      verdict([put('a', '1', 0, 1), put('a', '2', 2, 10), get('a', '2', 3, 4), get('a', '1', 5, 6)]),
    ).toBe('not-linearizable');
    expect(verdict([get('a', 'never-written', 0, 1)])).toBe('not-linearizable');
  });

  it('lets a put of unknown outcome take effect at any later point, or never, but not be undone', () => {
    const lost = put('a', 'x', 0, Infinity);
    expect(verdict([lost, get('a', null, 1, 2)])).toBe('linearizable');
    expect(verdict([lost, get('a', null, 1, 2), get('a', 'x', 3, 4)])).toBe('linearizable');
    expect(verdict([lost, get('a', 'x', 1, 2), get('a', null, 3, 4)])).toBe('not-linearizable');
  });

  it('checks keys independently and reports the part that failed', () => {
    const result = checkLinearizable(kvModel, [
      put('a', '1', 0, 1),
      get('a', '1', 2, 3),
      put('b', '1', 0, 1),
      put('b', '2', 2, 3),
      get('b', '1', 4, 5, 'reader'),
    ]);
    expect(result.verdict).toBe('not-linearizable');
    expect(result.parts).toBe(2);
    expect(result.failedPart?.every((op) => op.input.key === 'b')).toBe(true);
    expect(describeViolation(kvModel, result)).toContain('reader get b -> 1');
  });

  it('accepts a long random history of an atomic register and rejects it with one read altered', () => {
    // Clients run overlapping operations on 3 keys; each takes effect atomically at a random point inside
    // its interval, so the history is linearizable by construction.
    const random = seededRandom(7);
    const store = new Map<string, string>();
    const events: Array<{ at: number; apply: () => void }> = [];
    const history: Op[] = [];
    for (let client = 0; client < 6; client++) {
      let time = random() * 5;
      for (let n = 0; n < 150; n++) {
        const key = `k${Math.floor(random() * 3)}`;
        const invokedAt = time;
        const returnedAt = time + 1 + random() * 20;
        const at = invokedAt + random() * (returnedAt - invokedAt);
        if (random() < 0.5) {
          const value = `c${client}-${n}`;
          const op = put(key, value, invokedAt, returnedAt, `c${client}`);
          history.push(op);
          events.push({ at, apply: () => store.set(key, value) });
        } else {
          const op = get(key, null, invokedAt, returnedAt, `c${client}`);
          history.push(op);
          events.push({ at, apply: () => (op.output = { value: store.get(key) ?? null }) });
        }
        time = returnedAt + random() * 3;
      }
    }
    events.sort((a, b) => a.at - b.at).forEach((e) => e.apply());
    expect(verdict(history)).toBe('linearizable');

    const read = history.find((op) => op.input.op === 'get' && op.output.value !== null)!;
    read.output = { value: 'c99-0' };
    expect(verdict(history)).toBe('not-linearizable');
  });
});
