// Opens the connections a command asked for, waits until they are up, and always closes them.

import { ConnectionPool } from '../grpc/connections';
import { normalizeEndpoint } from '../cli/common-flags';

export async function withPool<T>(
  endpoints: readonly string[],
  conns: number,
  body: (pool: ConnectionPool) => Promise<T>,
): Promise<T> {
  const pool = new ConnectionPool(endpoints.map(normalizeEndpoint), conns);
  try {
    await pool.ready();
    return await body(pool);
  } finally {
    pool.close();
  }
}
