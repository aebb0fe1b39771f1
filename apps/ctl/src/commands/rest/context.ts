// The REST client of a command run: built from the global flags (--endpoints, TLS, --user), with the
// client's failures turned into the dispatcher's CommandError (exit 2 when no endpoint answers, as etcdctl).
import { CommandError, type Context, ExitCode, UsageError } from '../../command';
import { ApiError, RestClient } from './client';

export async function restClient(ctx: Context, timeoutMs?: number): Promise<RestClient> {
  const { globals } = ctx;
  if ((globals.tls.cert === undefined) !== (globals.tls.key === undefined))
    throw new UsageError('--cert and --key go together');
  const credentials = await ctx.credentials();
  return new RestClient({
    endpoints: globals.endpoints,
    tls: {
      ...(globals.tls.cacert ? { ca: globals.tls.cacert } : {}),
      ...(globals.tls.cert ? { cert: globals.tls.cert } : {}),
      ...(globals.tls.key ? { key: globals.tls.key } : {}),
      insecureSkipVerify: globals.tls.insecureSkipVerify,
    },
    ...(credentials ? { credentials } : {}),
    timeoutMs: timeoutMs ?? globals.commandTimeoutMs,
  });
}

/** Runs `body`, reporting an ApiError as a CommandError whose message names the endpoint and request. */
export async function guarded<T>(body: () => Promise<T>): Promise<T> {
  try {
    return await body();
  } catch (err) {
    if (err instanceof ApiError)
      throw new CommandError(err.message, err.status === 0 ? ExitCode.BadConnection : ExitCode.Error);
    throw err;
  }
}

/** `k=v,k2=v2` (repeatable) → a map; a usage error names the bad pair. */
export function parsePairs(values: readonly string[] | undefined, flag: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const value of values ?? []) {
    for (const pair of value.split(',')) {
      if (pair === '') continue;
      const eq = pair.indexOf('=');
      if (eq <= 0) throw new UsageError(`--${flag}: "${pair}" is not key=value`);
      out[pair.slice(0, eq).trim()] = pair.slice(eq + 1).trim();
    }
  }
  return out;
}
