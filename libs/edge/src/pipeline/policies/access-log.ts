// A structured access log line per call (debug level), and a warning for every call that ended in an
// unexpected error (gRPC Unknown or Internal): those are defects to look at, never a process exit.
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
      if (DEFECT_CODES.has(outcome.code)) {
        logger.warn(
          { ...fields, err: String(outcome.error?.stack ?? outcome.error) },
          'request failed unexpectedly',
        );
      } else {
        logger.debug(fields, 'request');
      }
    },
  };
}
