import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type * as grpc from '@grpc/grpc-js';
import { describe, expect, it } from 'vitest';
import { etcdRoot, loadEtcdPackage, loadEtcdServices, messageType, PROTO_DIR, PROTO_FILES } from '@cairn/api';

// Every RPC etcd serves, with its streaming kind: [service, method, requestStream, responseStream].
const EXPECTED_METHODS: ReadonlyArray<readonly [string, string, boolean, boolean]> = [
  ['etcdserverpb.KV', 'Range', false, false],
  ['etcdserverpb.KV', 'Put', false, false],
  ['etcdserverpb.KV', 'DeleteRange', false, false],
  ['etcdserverpb.KV', 'Txn', false, false],
  ['etcdserverpb.KV', 'Compact', false, false],
  ['etcdserverpb.Watch', 'Watch', true, true],
  ['etcdserverpb.Lease', 'LeaseGrant', false, false],
  ['etcdserverpb.Lease', 'LeaseRevoke', false, false],
  ['etcdserverpb.Lease', 'LeaseKeepAlive', true, true],
  ['etcdserverpb.Lease', 'LeaseTimeToLive', false, false],
  ['etcdserverpb.Lease', 'LeaseLeases', false, false],
  ['etcdserverpb.Cluster', 'MemberAdd', false, false],
  ['etcdserverpb.Cluster', 'MemberRemove', false, false],
  ['etcdserverpb.Cluster', 'MemberUpdate', false, false],
  ['etcdserverpb.Cluster', 'MemberList', false, false],
  ['etcdserverpb.Cluster', 'MemberPromote', false, false],
  ['etcdserverpb.Maintenance', 'Alarm', false, false],
  ['etcdserverpb.Maintenance', 'Status', false, false],
  ['etcdserverpb.Maintenance', 'Defragment', false, false],
  ['etcdserverpb.Maintenance', 'Hash', false, false],
  ['etcdserverpb.Maintenance', 'HashKV', false, false],
  ['etcdserverpb.Maintenance', 'Snapshot', false, true],
  ['etcdserverpb.Maintenance', 'MoveLeader', false, false],
  ['etcdserverpb.Maintenance', 'Downgrade', false, false],
  ['etcdserverpb.Auth', 'AuthEnable', false, false],
  ['etcdserverpb.Auth', 'AuthDisable', false, false],
  ['etcdserverpb.Auth', 'AuthStatus', false, false],
  ['etcdserverpb.Auth', 'Authenticate', false, false],
  ['etcdserverpb.Auth', 'UserAdd', false, false],
  ['etcdserverpb.Auth', 'UserGet', false, false],
  ['etcdserverpb.Auth', 'UserList', false, false],
  ['etcdserverpb.Auth', 'UserDelete', false, false],
  ['etcdserverpb.Auth', 'UserChangePassword', false, false],
  ['etcdserverpb.Auth', 'UserGrantRole', false, false],
  ['etcdserverpb.Auth', 'UserRevokeRole', false, false],
  ['etcdserverpb.Auth', 'RoleAdd', false, false],
  ['etcdserverpb.Auth', 'RoleGet', false, false],
  ['etcdserverpb.Auth', 'RoleList', false, false],
  ['etcdserverpb.Auth', 'RoleDelete', false, false],
  ['etcdserverpb.Auth', 'RoleGrantPermission', false, false],
  ['etcdserverpb.Auth', 'RoleRevokePermission', false, false],
  ['v3lockpb.Lock', 'Lock', false, false],
  ['v3lockpb.Lock', 'Unlock', false, false],
  ['v3electionpb.Election', 'Campaign', false, false],
  ['v3electionpb.Election', 'Proclaim', false, false],
  ['v3electionpb.Election', 'Leader', false, false],
  ['v3electionpb.Election', 'Observe', false, true],
  ['v3electionpb.Election', 'Resign', false, false],
  ['grpc.health.v1.Health', 'Check', false, false],
  ['grpc.health.v1.Health', 'Watch', false, true],
];

function serviceDefinition(fullName: string): grpc.ServiceDefinition {
  let node: unknown = loadEtcdPackage();
  for (const part of fullName.split('.')) node = (node as Record<string, unknown>)[part];
  return (node as { service: grpc.ServiceDefinition }).service;
}

describe('loader', () => {
  it('finds every .proto file under PROTO_DIR, an absolute path', () => {
    expect(PROTO_DIR.startsWith('/')).toBe(true);
    for (const file of PROTO_FILES) expect(existsSync(join(PROTO_DIR, file)), file).toBe(true);
  });

  it('loads every etcd service and method with etcd gRPC paths and streaming kinds', () => {
    for (const [service, method, requestStream, responseStream] of EXPECTED_METHODS) {
      const definition = serviceDefinition(service)[method];
      expect(definition, `${service}/${method}`).toBeDefined();
      expect(definition.path).toBe(`/${service}/${method}`);
      expect([definition.requestStream, definition.responseStream], definition.path).toEqual([
        requestStream,
        responseStream,
      ]);
    }
  });

  it('serves no method beyond the expected ones (RangeStream is 3.7-only and left out)', () => {
    const services = [...new Set(EXPECTED_METHODS.map(([s]) => s))];
    for (const service of services) {
      const expected = EXPECTED_METHODS.filter(([s]) => s === service).map(([, m]) => m);
      expect(Object.keys(serviceDefinition(service)).sort(), service).toEqual([...expected].sort());
    }
  });

  it('caches: the same objects come back on every call', () => {
    expect(loadEtcdPackage()).toBe(loadEtcdPackage());
    expect(etcdRoot()).toBe(etcdRoot());
    expect(loadEtcdServices().etcdserverpb.KV.service).toBe(serviceDefinition('etcdserverpb.KV'));
  });

  it('deserializes with keepCase names, string longs, Buffer bytes, numeric enums, defaults and oneof names', () => {
    const range = serviceDefinition('etcdserverpb.KV').Range;
    const wire = range.requestSerialize({ key: Buffer.from('a'), limit: 5, sort_order: 'DESCEND' });
    expect(range.requestDeserialize(wire)).toEqual({
      key: Buffer.from('a'),
      range_end: Buffer.alloc(0),
      limit: '5',
      revision: '0',
      sort_order: 2,
      sort_target: 0,
      serializable: false,
      keys_only: false,
      count_only: false,
      min_mod_revision: '0',
      max_mod_revision: '0',
      min_create_revision: '0',
      max_create_revision: '0',
    });
    const txn = serviceDefinition('etcdserverpb.KV').Txn;
    const decoded = txn.requestDeserialize(
      txn.requestSerialize({ success: [{ request_put: { key: Buffer.from('k') } }] }),
    ) as { success: Array<{ request: string; request_put: { key: Buffer } }> };
    expect(decoded.success[0].request).toBe('request_put');
    expect(decoded.success[0].request_put.key.toString()).toBe('k');
  });
});

describe('field numbers match etcd', () => {
  // [message, field, id] taken from etcd's rpc.proto / kv.proto / auth.proto / v3lock / v3election.
  const SAMPLES: ReadonlyArray<readonly [string, string, number]> = [
    ['etcdserverpb.ResponseHeader', 'cluster_id', 1],
    ['etcdserverpb.ResponseHeader', 'raft_term', 4],
    ['etcdserverpb.RangeRequest', 'max_create_revision', 13],
    ['etcdserverpb.RangeResponse', 'count', 4],
    ['etcdserverpb.PutRequest', 'ignore_lease', 6],
    ['etcdserverpb.DeleteRangeResponse', 'prev_kvs', 3],
    ['etcdserverpb.RequestOp', 'request_txn', 4],
    ['etcdserverpb.ResponseOp', 'response_delete_range', 3],
    ['etcdserverpb.Compare', 'lease', 8],
    ['etcdserverpb.Compare', 'range_end', 64],
    ['etcdserverpb.HashKVResponse', 'hash_revision', 4],
    ['etcdserverpb.SnapshotResponse', 'version', 4],
    ['etcdserverpb.WatchRequest', 'progress_request', 3],
    ['etcdserverpb.WatchCreateRequest', 'fragment', 8],
    ['etcdserverpb.WatchResponse', 'fragment', 7],
    ['etcdserverpb.WatchResponse', 'events', 11],
    ['etcdserverpb.LeaseGrantRequest', 'ID', 2],
    ['etcdserverpb.LeaseGrantResponse', 'error', 4],
    ['etcdserverpb.LeaseCheckpoint', 'remaining_TTL', 2],
    ['etcdserverpb.LeaseTimeToLiveResponse', 'keys', 5],
    ['etcdserverpb.Member', 'isLearner', 5],
    ['etcdserverpb.MemberListRequest', 'linearizable', 1],
    ['etcdserverpb.AlarmRequest', 'alarm', 3],
    ['etcdserverpb.DowngradeVersionTestRequest', 'ver', 1],
    ['etcdserverpb.StatusResponse', 'raftAppliedIndex', 7],
    ['etcdserverpb.StatusResponse', 'dbSizeQuota', 12],
    ['etcdserverpb.StatusResponse', 'downgradeInfo', 13],
    ['etcdserverpb.AuthUserAddRequest', 'hashedPassword', 4],
    ['etcdserverpb.AuthStatusResponse', 'authRevision', 3],
    ['etcdserverpb.AuthRoleRevokePermissionRequest', 'range_end', 3],
    ['mvccpb.KeyValue', 'lease', 6],
    ['mvccpb.Event', 'prev_kv', 3],
    ['authpb.Permission', 'permType', 1],
    ['authpb.User', 'options', 4],
    ['authpb.Role', 'keyPermission', 2],
    ['v3lockpb.LockResponse', 'key', 2],
    ['v3electionpb.LeaderKey', 'lease', 4],
    ['v3electionpb.ProclaimRequest', 'value', 2],
    ['grpc.health.v1.HealthCheckResponse', 'status', 1],
    ['cairn.internal.v1.InternalRaftRequest', 'header', 100],
    ['cairn.internal.v1.InternalRaftRequest', 'put', 4],
    ['cairn.internal.v1.InternalRaftRequest', 'lease_checkpoint', 11],
    ['cairn.internal.v1.RequestHeader', 'ID', 1],
  ];

  it.each(SAMPLES)('%s.%s is field %i', (message, field, id) => {
    expect(messageType(message).fields[field]?.id).toBe(id);
  });

  it('types and oneofs match etcd', () => {
    expect(messageType('etcdserverpb.ResponseHeader').fields.cluster_id.type).toBe('uint64');
    expect(messageType('etcdserverpb.ResponseHeader').fields.revision.type).toBe('int64');
    expect(messageType('etcdserverpb.HashKVResponse').fields.hash.type).toBe('uint32');
    expect(messageType('etcdserverpb.Compare').oneofs.target_union.fieldsArray.map((f) => f.name)).toEqual([
      'version',
      'create_revision',
      'mod_revision',
      'value',
      'lease',
    ]);
    expect(etcdRoot().lookupEnum('etcdserverpb.AlarmType').values).toEqual({
      NONE: 0,
      NOSPACE: 1,
      CORRUPT: 2,
    });
    expect(etcdRoot().lookupEnum('etcdserverpb.RangeRequest.SortTarget').values).toEqual({
      KEY: 0,
      VERSION: 1,
      CREATE: 2,
      MOD: 3,
      VALUE: 4,
    });
  });
});
