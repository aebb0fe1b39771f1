// A proposal that times out says why as etcd's parseProposeCtxErr does.
import { describe, expect, it } from 'vitest';
import { proposalTimeoutError } from '../src/proposal';

describe('proposalTimeoutError', () => {
  const electionTimeoutMs = 1000;

  it('blames the previous leader for a proposal made while it was failing', () => {
    // A leader was seen at t=10,000: proposals from 8,000 (exclusive) to 10,000 (exclusive) met its failure.
    expect(proposalTimeoutError(9_000, 10_000, electionTimeoutMs).message).toBe(
      'etcdserver: request timed out, possibly due to previous leader failure',
    );
    expect(proposalTimeoutError(8_001, 10_000, electionTimeoutMs).message).toMatch(/previous leader failure/);
  });

  it('answers a plain timeout otherwise (before the failure window, after the election, no leader yet)', () => {
    for (const proposedAt of [8_000, 10_000, 12_000]) {
      expect(proposalTimeoutError(proposedAt, 10_000, electionTimeoutMs).message).toBe(
        'etcdserver: request timed out',
      );
    }
    expect(proposalTimeoutError(500, 0, electionTimeoutMs).message).toBe('etcdserver: request timed out');
  });
});
