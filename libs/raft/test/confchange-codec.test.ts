import { describe, expect, it } from 'vitest';
import { decodeConfChange, encodeConfChange } from '../src/confchange-codec';
import { ConfChangeType, type ConfChange } from '../src/types';
import { enc } from './support/harness';

describe('conf change codec', () => {
  it('round-trips every change type, full-range node IDs and contexts', () => {
    const changes: ConfChange[] = [
      { type: ConfChangeType.AddNode, nodeId: 1n, context: new Uint8Array() },
      { type: ConfChangeType.RemoveNode, nodeId: (1n << 64n) - 1n, context: enc('x') },
      {
        type: ConfChangeType.AddLearnerNode,
        nodeId: 0x8e9e05c52164694dn,
        context: enc('{"name":"n4","peerURLs":["http://a:2380"]}'),
      },
    ];
    for (const cc of changes) expect(decodeConfChange(encodeConfChange(cc))).toEqual(cc);
  });

  it('is deterministic: a fixed layout, big-endian', () => {
    const bytes = encodeConfChange({
      type: ConfChangeType.RemoveNode,
      nodeId: 0x0102030405060708n,
      context: enc('ab'),
    });
    expect(Buffer.from(bytes).toString('hex')).toBe('0101' + '0102030405060708' + '00000002' + '6162');
  });

  it('decodes from a view into a larger buffer and does not alias it', () => {
    const inner = encodeConfChange({ type: ConfChangeType.AddNode, nodeId: 7n, context: enc('ctx') });
    const big = new Uint8Array(inner.length + 10);
    big.set(inner, 5);
    const view = big.subarray(5, 5 + inner.length);
    const cc = decodeConfChange(view);
    big.fill(0);
    expect(cc).toEqual({ type: ConfChangeType.AddNode, nodeId: 7n, context: enc('ctx') });
  });

  it('rejects truncated, over-long, unknown-version and unknown-type input', () => {
    const good = encodeConfChange({ type: ConfChangeType.AddNode, nodeId: 7n, context: enc('ctx') });
    expect(() => decodeConfChange(good.subarray(0, 5))).toThrow(/too short/);
    expect(() => decodeConfChange(good.subarray(0, good.length - 1))).toThrow(/length mismatch/);
    expect(() => decodeConfChange(new Uint8Array([...good, 0]))).toThrow(/length mismatch/);
    const badVersion = good.slice();
    badVersion[0] = 9;
    expect(() => decodeConfChange(badVersion)).toThrow(/version/);
    const badType = good.slice();
    badType[1] = 7;
    expect(() => decodeConfChange(badType)).toThrow(/type/);
    expect(() =>
      encodeConfChange({ type: ConfChangeType.AddNode, nodeId: 1n << 64n, context: enc('') }),
    ).toThrow(RangeError);
  });
});
