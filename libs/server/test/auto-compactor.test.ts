import { describe, expect, it } from 'vitest';
import { AutoCompactor, parseRetentionMs } from '../src/auto-compactor';

function compactor(mode: 'periodic' | 'revision', retention: string) {
  const state = { now: 0, current: 0, compacted: 0, leader: true, calls: [] as number[] };
  const auto = new AutoCompactor({
    mode,
    retention,
    currentRevision: () => state.current,
    compactRevision: () => state.compacted,
    isLeader: () => state.leader,
    compact: async (revision) => {
      state.calls.push(revision);
      state.compacted = revision;
    },
    now: () => state.now,
  });
  return { auto, state };
}

describe('auto-compaction retention', () => {
  it('reads a bare number as hours and Go-style durations', () => {
    expect(parseRetentionMs('1')).toBe(3_600_000);
    expect(parseRetentionMs('1h30m')).toBe(5_400_000);
    expect(parseRetentionMs('10s')).toBe(10_000);
    expect(parseRetentionMs('250ms')).toBe(250);
    expect(() => parseRetentionMs('ten minutes')).toThrow('invalid auto-compaction retention');
  });
});

describe('AutoCompactor', () => {
  it('periodic mode compacts to the newest revision that is at least the retention old', async () => {
    const { auto, state } = compactor('periodic', '10s');
    for (let second = 0; second <= 12; second++) {
      state.now = second * 1000;
      state.current = 100 + second * 10;
      await auto.tick();
    }
    // At t=12s the samples from t<=2s are 10s old; the newest of them is t=2s (revision 120).
    expect(state.calls.at(-1)).toBe(120);
  });

  it('revision mode keeps the last N revisions', async () => {
    const { auto, state } = compactor('revision', '50');
    state.current = 40;
    await auto.tick();
    expect(state.calls).toEqual([]);
    state.current = 130;
    await auto.tick();
    expect(state.calls).toEqual([80]);
  });

  it('only the leader compacts', async () => {
    const { auto, state } = compactor('revision', '10');
    state.leader = false;
    state.current = 100;
    await auto.tick();
    expect(state.calls).toEqual([]);
  });
});
