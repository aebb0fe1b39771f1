// Opens the connections a command asked for, waits until they are up, and always closes them.

import { authenticate, parseUserFlag } from '../auth/bench-auth';
import { normalizeEndpoint } from '../cli/common-flags';
import { UsageError } from '../cli/flags';
import { ConnectionPool } from '../grpc/connection-pool';
import { loadTls, type ConnectionSecurity } from '../grpc/security';
import type { TransportKind } from '../grpc/transport';

export interface PoolFlags {
  endpoints: readonly string[];
  conns: number;
  transport: TransportKind;
  cacert?: string | undefined;
  cert?: string | undefined;
  key?: string | undefined;
  user?: string | undefined;
}

function securityFrom(flags: PoolFlags): ConnectionSecurity {
  if (flags.cacert === undefined) {
    if (flags.cert !== undefined || flags.key !== undefined)
      throw new UsageError('--cert/--key need --cacert');
    return {};
  }
  return { tls: loadTls({ caFile: flags.cacert, certFile: flags.cert, keyFile: flags.key }) };
}

export async function withPool<T>(flags: PoolFlags, body: (pool: ConnectionPool) => Promise<T>): Promise<T> {
  const pool = new ConnectionPool(
    flags.endpoints.map(normalizeEndpoint),
    flags.conns,
    flags.transport,
    securityFrom(flags),
  );
  try {
    await pool.ready();
    if (flags.user !== undefined) {
      pool.setToken(await authenticate(pool.connections[0]!, parseUserFlag(flags.user)));
    }
    return await body(pool);
  } finally {
    pool.close();
  }
}
