// What a member proposes through Raft on a caller's behalf.
import type { InternalRaftRequest } from '@cairn/api';

/** The shape of a request to propose: one field of InternalRaftRequest, without the header. */
export type ProposalBody = Omit<InternalRaftRequest, 'header'>;
