// Error messages as cairnctl prints them: etcd's text without grpc-js's code prefix, the endpoint first, and
// for PermissionDenied the permission the command needs; with the exit code (etcdctl's).
import { status as grpcStatus } from '@grpc/grpc-js';
import { type CommandSpec, CommandError, ExitCode } from './command';

function grpcCode(error: unknown): number | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'number' ? code : undefined;
}

/** etcd's error text without grpc-js's "7 PERMISSION_DENIED: " prefix. */
export function errorText(error: unknown): string {
  const details = (error as { details?: unknown } | null)?.details;
  if (typeof details === 'string' && details) return details;
  const message = error instanceof Error ? error.message : String(error);
  return message.replace(/^\d+ [A-Z_]+: /, '');
}

/** The message and exit code of a failed command. */
export function describeError(
  error: unknown,
  command: CommandSpec,
  endpoint: string | undefined,
): { message: string; exitCode: number } {
  if (error instanceof CommandError) return { message: error.message, exitCode: error.exitCode };
  // etcd 3.4 answers a non-root snapshot with "auth: permission denied" under code Unknown: the text counts.
  const code = /permission denied/.test(errorText(error)) ? grpcStatus.PERMISSION_DENIED : grpcCode(error);
  const at = endpoint ? `${endpoint}: ` : '';
  switch (code) {
    case grpcStatus.PERMISSION_DENIED:
      return {
        message: `${at}${errorText(error)}${command.permission ? ` (this command needs ${command.permission})` : ''}`,
        exitCode: ExitCode.Error,
      };
    case grpcStatus.UNAUTHENTICATED:
      return { message: `${at}${errorText(error)} (check --user / --password)`, exitCode: ExitCode.Error };
    case grpcStatus.UNAVAILABLE: {
      // The SDK's "cannot connect to <endpoint>" (no connection within --dial-timeout): say what to check.
      const text = errorText(error);
      return {
        message: /^cannot connect/.test(text)
          ? `${at}cannot connect (check the endpoint, the TLS flags and --dial-timeout)`
          : `${at}${text}`,
        exitCode: ExitCode.BadConnection,
      };
    }
    case grpcStatus.DEADLINE_EXCEEDED:
      return { message: `${at}context deadline exceeded`, exitCode: ExitCode.Error };
    case undefined:
      return { message: errorText(error), exitCode: ExitCode.Error };
    default:
      return { message: `${at}${errorText(error)}`, exitCode: ExitCode.Error };
  }
}
