// Maintenance/Status as the failover benchmark needs it: who answers, whom it calls leader, and the
// Raft term, read straight from the StatusResponse bytes (header=1, leader=4, raftTerm=6).

import type { Connection } from '../grpc/transport';
import { Methods } from '../grpc/methods';
import { decodeResponseHeader, encodeStatusRequest } from '../proto/etcd-messages';
import { ProtoReader, tagOf } from '../proto/reader';
import { WireType } from '../proto/writer';

export interface MemberStatus {
  memberId: bigint;
  /** 0n while the member knows no leader. */
  leader: bigint;
  raftTerm: bigint;
}

export function decodeMemberStatus(response: Uint8Array): MemberStatus {
  const status: MemberStatus = {
    memberId: decodeResponseHeader(response).memberId,
    leader: 0n,
    raftTerm: 0n,
  };
  const reader = new ProtoReader(response);
  while (reader.hasMore()) {
    const tag = reader.tag();
    if (tag === tagOf(4, WireType.Varint)) status.leader = reader.varintBig();
    else if (tag === tagOf(6, WireType.Varint)) status.raftTerm = reader.varintBig();
    else reader.skip(tag);
  }
  return status;
}

/** One Status call; rejects on any error or when no answer comes within `timeoutMs`. */
export function fetchStatus(connection: Connection, timeoutMs: number): Promise<MemberStatus> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`Status: no answer in ${timeoutMs} ms`)), timeoutMs);
    connection.unary(Methods.status, encodeStatusRequest(), (error, response) => {
      clearTimeout(timer);
      if (error) reject(error);
      else {
        try {
          resolve(decodeMemberStatus(response ?? Buffer.alloc(0)));
        } catch (decodeError) {
          reject(decodeError instanceof Error ? decodeError : new Error(String(decodeError)));
        }
      }
    });
  });
}
