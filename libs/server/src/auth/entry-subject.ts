// Who a Raft entry acts for, written into its header by the proposer and read back at apply (etcd's
// RequestHeader.username / auth_revision). auth_revision 0 with no user marks the member's own duty: a
// client's header always carries the revision its credentials were checked at, and revisions start at 1.
import type { Identity } from '@cairn/edge';
import type { AuthSubject } from './auth-store';

export interface EntryHeader {
  ID: string;
  username: string;
  auth_revision: string;
}

export function proposalHeader(id: bigint, identity: Identity, currentAuthRevision: number): EntryHeader {
  if (identity.memberDuty) return { ID: id.toString(), username: '', auth_revision: '0' };
  return {
    ID: id.toString(),
    username: identity.user,
    auth_revision: String(identity.authRevision ?? currentAuthRevision),
  };
}

export function subjectOfHeader(
  header: { username?: string; auth_revision?: string | number } | null | undefined,
): AuthSubject {
  const user = header?.username ?? '';
  const authRevision = Number(header?.auth_revision ?? 0);
  return { user, authRevision, memberDuty: user === '' && authRevision === 0 };
}
