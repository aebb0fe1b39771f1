// Finds which endpoint of a cluster is the Raft leader (Maintenance/Status: header.member_id
// equals leader there), so load can go to the leader like the reference figures did.

import { GrpcJsConnection } from '../grpc/grpc-js-connection';
import type { ConnectionSecurity } from '../grpc/security';
import { unaryAsync } from '../grpc/transport';
import { Methods } from '../grpc/methods';
import { decodeStatusResponse, encodeStatusRequest } from '../proto/etcd-messages';

export async function findLeaderEndpoint(
  endpoints: readonly string[],
  security: ConnectionSecurity = {},
): Promise<string | undefined> {
  if (endpoints.length === 1) return endpoints[0];
  for (const endpoint of endpoints) {
    const connection = new GrpcJsConnection(endpoint, security);
    try {
      await connection.ready(5000);
      const status = decodeStatusResponse(
        await unaryAsync(connection, Methods.status, encodeStatusRequest()),
      );
      if (status.leader !== 0n && status.leader === status.memberId) return endpoint;
    } catch {
      // this member cannot tell; ask the next one
    } finally {
      connection.close();
    }
  }
  return undefined;
}
