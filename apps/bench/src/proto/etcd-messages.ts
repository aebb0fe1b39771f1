// The few etcd v3 messages the benchmark sends, and the few response fields a measurement needs.
// Field numbers are etcd's (api/etcdserverpb/rpc.proto, api/mvccpb/kv.proto).

import { ProtoReader, tagOf } from './reader';
import { ProtoWriter, WireType } from './writer';

const scratch = new ProtoWriter(4096);

export function encodePutRequest(key: Uint8Array, value: Uint8Array): Buffer {
  return scratch.reset().bytesField(1, key).bytesField(2, value).finish();
}

export interface RangeRequestFields {
  key: Uint8Array;
  rangeEnd?: Uint8Array;
  serializable?: boolean;
}

export function encodeRangeRequest(request: RangeRequestFields): Buffer {
  scratch.reset().bytesField(1, request.key);
  if (request.rangeEnd) scratch.bytesField(2, request.rangeEnd);
  return scratch.boolField(7, request.serializable ?? false).finish();
}

export function encodeLeaseGrantRequest(ttlSeconds: number): Buffer {
  return scratch.reset().uint64Field(1, ttlSeconds).finish();
}

export function encodeLeaseKeepAliveRequest(leaseId: bigint): Buffer {
  return scratch.reset().uint64Field(1, leaseId).finish();
}

export function encodeLeaseRevokeRequest(leaseId: bigint): Buffer {
  return scratch.reset().uint64Field(1, leaseId).finish();
}

export interface WatchCreateFields {
  key: Uint8Array;
  rangeEnd?: Uint8Array;
  startRevision?: number;
}

/** A WatchRequest whose oneof is create_request. */
export function encodeWatchCreateRequest(create: WatchCreateFields): Buffer {
  scratch.reset().bytesField(1, create.key);
  if (create.rangeEnd) scratch.bytesField(2, create.rangeEnd);
  const inner = scratch.uint64Field(3, create.startRevision ?? 0).finish();
  return scratch.reset().messageField(1, inner).finish();
}

const text = (value: string): Buffer => Buffer.from(value, 'utf8');

/** AuthenticateRequest / AuthUserAddRequest: name=1, password=2. */
export function encodeNamePasswordRequest(name: string, password: string): Buffer {
  return scratch.reset().bytesField(1, text(name)).bytesField(2, text(password)).finish();
}

/** AuthUserGrantRoleRequest: user=1, role=2. */
export function encodeUserGrantRoleRequest(user: string, role: string): Buffer {
  return scratch.reset().bytesField(1, text(user)).bytesField(2, text(role)).finish();
}

/** AuthRoleAddRequest: name=1. */
export function encodeRoleAddRequest(name: string): Buffer {
  return scratch.reset().bytesField(1, text(name)).finish();
}

export const PermissionType = { read: 0, write: 1, readwrite: 2 } as const;

/** AuthRoleGrantPermissionRequest: name=1, perm=2 (authpb.Permission: permType=1, key=2, range_end=3). */
export function encodeRoleGrantPermissionRequest(
  role: string,
  permType: number,
  key: Uint8Array,
  rangeEnd: Uint8Array,
): Buffer {
  const perm = new ProtoWriter(256)
    .uint64Field(1, permType)
    .bytesField(2, key)
    .bytesField(3, rangeEnd)
    .finish();
  return scratch.reset().bytesField(1, text(role)).messageField(2, perm).finish();
}

/** AuthenticateResponse: token=2. */
export function decodeAuthenticateResponse(response: Uint8Array): string {
  const reader = new ProtoReader(response);
  while (reader.hasMore()) {
    const tag = reader.tag();
    if (tag === tagOf(2, WireType.LengthDelimited)) return reader.string();
    reader.skip(tag);
  }
  return '';
}

export function encodeStatusRequest(): Buffer {
  return Buffer.alloc(0);
}

const HEADER_FIELD = tagOf(1, WireType.LengthDelimited);

export interface ResponseHeaderFields {
  clusterId: bigint;
  memberId: bigint;
  revision: number;
  raftTerm: bigint;
}

/** Reads the ResponseHeader in field 1, which every etcd response has. */
export function decodeResponseHeader(response: Uint8Array): ResponseHeaderFields {
  const header: ResponseHeaderFields = { clusterId: 0n, memberId: 0n, revision: 0, raftTerm: 0n };
  const reader = new ProtoReader(response);
  while (reader.hasMore()) {
    const tag = reader.tag();
    if (tag === HEADER_FIELD) readHeader(reader.nested(), header);
    else reader.skip(tag);
  }
  return header;
}

function readHeader(reader: ProtoReader, into: ResponseHeaderFields): void {
  while (reader.hasMore()) {
    const tag = reader.tag();
    switch (tag) {
      case tagOf(1, WireType.Varint):
        into.clusterId = reader.varintBig();
        break;
      case tagOf(2, WireType.Varint):
        into.memberId = reader.varintBig();
        break;
      case tagOf(3, WireType.Varint):
        into.revision = reader.varint();
        break;
      case tagOf(4, WireType.Varint):
        into.raftTerm = reader.varintBig();
        break;
      default:
        reader.skip(tag);
    }
  }
}

export interface RangeResponseSummary {
  revision: number;
  kvCount: number;
  count: number;
}

export function decodeRangeResponse(response: Uint8Array): RangeResponseSummary {
  const summary: RangeResponseSummary = { revision: 0, kvCount: 0, count: 0 };
  const reader = new ProtoReader(response);
  while (reader.hasMore()) {
    const tag = reader.tag();
    if (tag === HEADER_FIELD) {
      const header = { clusterId: 0n, memberId: 0n, revision: 0, raftTerm: 0n };
      readHeader(reader.nested(), header);
      summary.revision = header.revision;
    } else if (tag === tagOf(2, WireType.LengthDelimited)) {
      summary.kvCount++;
      reader.skip(tag);
    } else if (tag === tagOf(4, WireType.Varint)) {
      summary.count = reader.varint();
    } else {
      reader.skip(tag);
    }
  }
  return summary;
}

export interface LeaseResponseFields {
  id: bigint;
  ttl: number;
  error: string;
}

/** Decodes LeaseGrantResponse (ID=2, TTL=3, error=4) and LeaseKeepAliveResponse (ID=2, TTL=3). */
export function decodeLeaseResponse(response: Uint8Array): LeaseResponseFields {
  const fields: LeaseResponseFields = { id: 0n, ttl: 0, error: '' };
  const reader = new ProtoReader(response);
  while (reader.hasMore()) {
    const tag = reader.tag();
    if (tag === tagOf(2, WireType.Varint)) fields.id = reader.int64Big();
    else if (tag === tagOf(3, WireType.Varint)) fields.ttl = Number(reader.int64Big());
    else if (tag === tagOf(4, WireType.LengthDelimited)) fields.error = reader.string();
    else reader.skip(tag);
  }
  return fields;
}

export interface WatchResponseSummary {
  watchId: number;
  created: boolean;
  canceled: boolean;
  compactRevision: number;
  cancelReason: string;
  /** Key of every event, as views into the response buffer. */
  eventKeys: Uint8Array[];
}

/** Decodes a WatchResponse down to what the watch benchmark checks: ids, flags and event keys. */
export function decodeWatchResponse(response: Uint8Array): WatchResponseSummary {
  const summary: WatchResponseSummary = {
    watchId: 0,
    created: false,
    canceled: false,
    compactRevision: 0,
    cancelReason: '',
    eventKeys: [],
  };
  const reader = new ProtoReader(response);
  while (reader.hasMore()) {
    const tag = reader.tag();
    switch (tag) {
      case tagOf(2, WireType.Varint):
        summary.watchId = Number(reader.int64Big());
        break;
      case tagOf(3, WireType.Varint):
        summary.created = reader.bool();
        break;
      case tagOf(4, WireType.Varint):
        summary.canceled = reader.bool();
        break;
      case tagOf(5, WireType.Varint):
        summary.compactRevision = Number(reader.int64Big());
        break;
      case tagOf(6, WireType.LengthDelimited):
        summary.cancelReason = reader.string();
        break;
      case tagOf(11, WireType.LengthDelimited):
        summary.eventKeys.push(readEventKey(reader.nested()));
        break;
      default:
        reader.skip(tag);
    }
  }
  return summary;
}

/** Event{kv=2 KeyValue{key=1}} → the key. */
function readEventKey(event: ProtoReader): Uint8Array {
  let key: Uint8Array = new Uint8Array(0);
  while (event.hasMore()) {
    const tag = event.tag();
    if (tag !== tagOf(2, WireType.LengthDelimited)) {
      event.skip(tag);
      continue;
    }
    const kv = event.nested();
    while (kv.hasMore()) {
      const kvTag = kv.tag();
      if (kvTag === tagOf(1, WireType.LengthDelimited)) key = kv.bytes();
      else kv.skip(kvTag);
    }
  }
  return key;
}

export interface StatusSummary {
  memberId: bigint;
  leader: bigint;
}

/** StatusResponse: header.member_id and leader=4, enough to find the leader of a cluster. */
export function decodeStatusResponse(response: Uint8Array): StatusSummary {
  const status: StatusSummary = { memberId: 0n, leader: 0n };
  const reader = new ProtoReader(response);
  while (reader.hasMore()) {
    const tag = reader.tag();
    if (tag === HEADER_FIELD) {
      const header = { clusterId: 0n, memberId: 0n, revision: 0, raftTerm: 0n };
      readHeader(reader.nested(), header);
      status.memberId = header.memberId;
    } else if (tag === tagOf(4, WireType.Varint)) {
      status.leader = reader.varintBig();
    } else {
      reader.skip(tag);
    }
  }
  return status;
}
