import { describe, expect, it } from 'vitest';
import { RaftError, RaftErrorCode, isRaftError } from '../src/errors';

describe('RaftError', () => {
  it('carries its code and etcd-io/raft message', () => {
    const err = new RaftError(RaftErrorCode.ProposalDropped, 'no leader');
    expect(err.message).toBe('raft proposal dropped: no leader');
    expect(isRaftError(err, RaftErrorCode.ProposalDropped)).toBe(true);
    expect(isRaftError(err, RaftErrorCode.Compacted)).toBe(false);
  });
});
