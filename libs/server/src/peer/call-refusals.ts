// What a peer service does with a unary call whose caller it refused (peer-call-identity.ts decides): count it,
// log it (rate-limited per method, claimed member and reason, so a flood of forged calls cannot flood the log)
// and hand the refusal back as the call's answer. Shared by the Membership and Integrity services.
import type * as grpc from '@grpc/grpc-js';
import type { GrpcErrorStatus } from '@cairn/api';
import type { Logger } from '../logger';
import { rejectionLogKey } from './inbound-streams';
import { LogLimiter } from './log-limiter';
import { claimedMemberId } from './peer-call-identity';

export interface CallRefusalOptions {
  logger?: Logger;
  /** A refused call, by reason (for stats). */
  onRejected?(rejection: GrpcErrorStatus): void;
  now?: () => number;
}

/** Returns a function that reports `rejection` for `call` (if any) and returns it unchanged. */
export function callRefusalReporter(
  options: CallRefusalOptions,
): (
  call: grpc.ServerUnaryCall<unknown, unknown>,
  rejection: GrpcErrorStatus | undefined,
) => GrpcErrorStatus | undefined {
  const limiter = new LogLimiter(10_000, options.now ?? Date.now);
  return (call, rejection) => {
    if (rejection === undefined) return undefined;
    options.onRejected?.(rejection);
    const claimed = claimedMemberId(call.metadata);
    const gate = limiter.allow(rejectionLogKey(`reject-call:${call.getPath()}`, claimed, rejection));
    if (gate.allowed) {
      options.logger?.warn(
        {
          method: call.getPath(),
          remotePeerId: claimed,
          address: call.getPeer(),
          reason: rejection.details,
          suppressed: gate.suppressed,
        },
        'rejected peer call',
      );
    }
    return rejection;
  };
}
