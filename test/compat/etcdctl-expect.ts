// Assertions on etcdctl runs shared by the auth suites: a command that succeeds, and one that fails the way
// etcdctl 3.4 prints a server error (`Error: <message>` on stderr, its retry interceptor's `code = <Code>
// desc = <message>` line, and an exit code).
import { expect } from 'vitest';
import { describeResult, type EtcdctlResult } from '../support';

/** etcdctl bound to some credentials: runs `args` (with `stdin`). */
export type Ctl = (args: readonly string[], stdin?: string) => Promise<EtcdctlResult>;

export const PERMISSION_DENIED = 'etcdserver: permission denied';

export function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** Runs etcdctl, expects exit 0, returns stdout. */
export async function ok(ctl: Ctl, args: string[], stdin?: string): Promise<string> {
  const result = await ctl(args, stdin);
  expect(result.code, describeResult(result)).toBe(0);
  return result.stdout;
}

/**
 * etcdctl 3.4 prints a server error as `Error: <message>` (after `prefix`) and exits with `code`; its retry
 * interceptor logs the gRPC status (`code = <Code> desc = <message>`): both must match.
 */
export async function fails(
  ctl: Ctl,
  args: string[],
  exitCode: number,
  grpcCode: string,
  message: string,
  options: { stdin?: string; prefix?: string; suffix?: string } = {},
): Promise<EtcdctlResult> {
  const result = await ctl(args, options.stdin);
  const why = describeResult(result);
  expect(result.code, why).toBe(exitCode);
  expect(result.stdout, why).toBe('');
  expect(result.stderr, why).toMatch(
    new RegExp(`^Error: ${escapeRegExp((options.prefix ?? '') + message + (options.suffix ?? ''))}$`, 'm'),
  );
  expect(result.stderr, why).toContain(`code = ${grpcCode} desc = ${message}`);
  return result;
}

/** A request the member refuses for lack of permission (exit 1, PermissionDenied). */
export async function denied(ctl: Ctl, args: string[], stdin?: string): Promise<void> {
  await fails(ctl, args, 1, 'PermissionDenied', PERMISSION_DENIED, stdin === undefined ? {} : { stdin });
}
