// Deadlines: the client's own (gRPC's grpc-timeout) always; a call that does not wait by design also gets the
// server's bound, so no unary call is held forever (etcd bounds its requests the same way).
import { etcdError } from '@cairn/api';
import type { Policy } from '../policy';

export function deadlinePolicy(options: { unaryBoundMs: number; now?: () => number }): Policy {
  const now = options.now ?? Date.now;
  return {
    name: 'deadline',
    admit(request, draft) {
      const at = now();
      if (request.clientDeadline !== undefined && request.clientDeadline <= at) {
        throw etcdError('deadline-exceeded');
      }
      if (request.blocking) return;
      const bound = at + options.unaryBoundMs;
      draft.deadline = draft.deadline === undefined ? bound : Math.min(draft.deadline, bound);
    },
  };
}
