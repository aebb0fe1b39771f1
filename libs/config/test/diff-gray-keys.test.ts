import { describe, expect, it } from 'vitest';
import { unifiedDiff } from '../src/diff';
import { appPrefix, classifyAppKey, liveKey, releaseKey, subscriptionRange } from '../src/keys';
import { grayApplies, grayBucket } from '../src/subscription';

describe('unifiedDiff', () => {
  it('is empty for equal content and shows changed lines with context', () => {
    expect(unifiedDiff('a\nb\n', 'a\nb\n', 'x', 'y')).toBe('');
    const diff = unifiedDiff('a\nb\nc\n', 'a\nB\nc\n', 'v1', 'v2');
    expect(diff).toBe('--- v1\n+++ v2\n@@ -1,4 +1,4 @@\n a\n-b\n+B\n c\n \n');
  });
});

describe('gray rules', () => {
  it('selects subscribers whose labels all match', () => {
    const rule = { labels: { zone: 'eu-1', canary: 'true' }, percentage: 100 };
    expect(grayApplies(rule, { zone: 'eu-1', canary: 'true', rack: '1' }, 's1')).toBe(true);
    expect(grayApplies(rule, { zone: 'eu-1' }, 's1')).toBe(false);
    expect(grayApplies(rule, { zone: 'us-1', canary: 'true' }, 's1')).toBe(false);
  });

  it('selects a stable share of subscribers by percentage', () => {
    const rule = { labels: {}, percentage: 30 };
    const ids = Array.from({ length: 2000 }, (_, i) => `instance-${i}`);
    const chosen = ids.filter((id) => grayApplies(rule, {}, id));
    expect(chosen.length).toBeGreaterThan(2000 * 0.25);
    expect(chosen.length).toBeLessThan(2000 * 0.35);
    // Stable: the same IDs every time, and a wider percentage is a superset.
    expect(ids.filter((id) => grayApplies(rule, {}, id))).toEqual(chosen);
    const wider = ids.filter((id) => grayApplies({ labels: {}, percentage: 60 }, {}, id));
    for (const id of chosen) expect(wider).toContain(id);
    expect(grayBucket('x')).toBe(grayBucket('x'));
  });
});

describe('key layout', () => {
  it('keeps live keys before the ~ subtrees and releases outside the subscription range', () => {
    const prefix = appPrefix('prod', 'payments');
    const range = subscriptionRange('prod', 'payments');
    const inRange = (key: string): boolean =>
      Buffer.compare(Buffer.from(key), range.key) >= 0 &&
      Buffer.compare(Buffer.from(key), range.rangeEnd) < 0;
    expect(inRange(liveKey('prod', 'payments', 'app.yaml'))).toBe(true);
    expect(inRange(`${prefix}~gray/app.yaml`)).toBe(true);
    expect(inRange(`${prefix}~item/app.yaml`)).toBe(true);
    expect(inRange(releaseKey('prod', 'payments', 'app.yaml', 3))).toBe(false);
    expect(classifyAppKey(prefix, releaseKey('prod', 'payments', 'app.yaml', 3))).toEqual({
      kind: 'release',
      name: 'app.yaml',
      version: 3,
    });
    expect(classifyAppKey(prefix, liveKey('prod', 'payments', 'z.json'))).toEqual({
      kind: 'live',
      name: 'z.json',
    });
  });
});
