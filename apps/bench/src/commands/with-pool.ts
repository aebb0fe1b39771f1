// Opens the connections a command asked for, waits until they are up, and always closes them.

import { normalizeEndpoint } from '../cli/common-flags';
import { ConnectionPool } from '../grpc/connection-pool';
import type { TransportKind } from '../grpc/transport';

export interface PoolFlags {
  endpoints: readonly string[];
  conns: number;
  transport: TransportKind;
}

export async function withPool<T>(flags: PoolFlags, body: (pool: ConnectionPool) => Promise<T>): Promise<T> {
  const pool = new ConnectionPool(flags.endpoints.map(normalizeEndpoint), flags.conns, flags.transport);
  try {
    await pool.ready();
    return await body(pool);
  } finally {
    pool.close();
  }
}
