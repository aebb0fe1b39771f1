// A structured access log line per call (debug level), and a warning for every call that ended in an
// unexpected error (gRPC Unknown or Internal): those are defects to look at, never a process exit. A malformed
// request answered INTERNAL as grpc-js answers it (marked `clientFault`) is the client's, not a defect: a
// debug line, so bad input cannot flood the log.
import type { Policy } from '../policy';

export interface AccessLogger {
  debug(fields: object, message: string): void;
  warn(fields: object, message: string): void;
}

const DEFECT_CODES = new Set(['Unknown', 'Internal']);

export function accessLogPolicy(logger: AccessLogger): Policy {
  return {
    name: 'access-log',
    complete(request, outcome) {
      const fields = {
        surface: request.surface,
        method: request.method,
        code: outcome.code,
        ms: Math.round(outcome.seconds * 1000 * 10) / 10,
        remote: request.remoteAddress,
        // The verified client certificate's CN (TLS with --client-cert-auth): who called, when no token says so.
        ...(request.certificateCommonName !== undefined ? { cn: request.certificateCommonName } : {}),
      };
      if (DEFECT_CODES.has(outcome.code) && !isClientFault(outcome.error)) {
        logger.warn({ ...fields, err: describe(outcome.error) }, 'request failed unexpectedly');
      } else {
        logger.debug(fields, 'request');
      }
    },
  };
}

function isClientFault(error: unknown): boolean {
  return (error as { clientFault?: unknown } | undefined)?.clientFault === true;
}

/** An exception's stack, a status's code and details (not "[object Object]"). */
function describe(error: unknown): string {
  if (error instanceof Error) return String(error.stack ?? error);
  const status = error as { code?: unknown; details?: unknown } | undefined;
  if (status !== undefined && status !== null && typeof status.details === 'string') {
    return `${String(status.code)} ${status.details}`;
  }
  return String(error);
}
