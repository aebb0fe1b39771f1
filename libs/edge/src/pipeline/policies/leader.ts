// etcd's WithRequireLeader: a client that sends `hasleader: true` metadata is refused while the member has no
// leader, and its context says so (a watch it opens ends when the leader is lost).
import { etcdError } from '@cairn/api';
import type { Policy } from '../policy';

export function leaderPolicy(hasLeader: () => boolean): Policy {
  return {
    name: 'leader',
    admit(request, draft) {
      if (request.header('hasleader') !== 'true') return;
      if (!hasLeader()) throw etcdError('no-leader');
      draft.requireLeader = true;
    },
  };
}
