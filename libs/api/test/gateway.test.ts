import { describe, expect, it } from 'vitest';
import {
  decodeBase64Strict,
  decodeGatewayRequest,
  encodeGatewayResponse,
  encodeGatewayStreamError,
  encodeGatewayStreamResult,
  etcdError,
  gatewayError,
  GatewayDecodeError,
  GATEWAY_ROUTES,
  GrpcStatus,
  loadEtcdPackage,
  normalizeGatewayPath,
  toGrpcStatus,
  type PutRequest__Output,
  type RangeRequest__Output,
  type TxnRequest__Output,
  type WatchRequest__Output,
} from '@cairn/api';
import type * as grpc from '@grpc/grpc-js';

// The header of every example in etcd's gateway doc (reference §1.4).
const HEADER = {
  cluster_id: '12585971608760269493',
  member_id: '13847567121247652255',
  revision: '2',
  raft_term: '3',
};

function serviceDefinition(fullName: string): grpc.ServiceDefinition {
  let node: unknown = loadEtcdPackage();
  for (const part of fullName.split('.')) node = (node as Record<string, unknown>)[part];
  return (node as { service: grpc.ServiceDefinition }).service;
}

describe('GATEWAY_ROUTES', () => {
  it('routes every etcd gateway path to a loaded RPC with matching message types and streaming', () => {
    for (const [path, route] of Object.entries(GATEWAY_ROUTES)) {
      const method = serviceDefinition(route.service)[route.method];
      expect(method, path).toBeDefined();
      expect(method.path).toBe(`/${route.service}/${route.method}`);
      const streaming = method.requestStream ? 'bidi' : method.responseStream ? 'server' : 'unary';
      expect(route.streaming, path).toBe(streaming);
      const types = method as unknown as {
        requestType: { type: { name: string } };
        responseType: { type: { name: string } };
      };
      expect(route.requestType.endsWith(`.${types.requestType.type.name}`), path).toBe(true);
      expect(route.responseType.endsWith(`.${types.responseType.type.name}`), path).toBe(true);
    }
  });

  it('has the paths etcd documents, including the /v3/kv/lease aliases', () => {
    const paths = Object.keys(GATEWAY_ROUTES);
    for (const path of [
      '/v3/kv/range',
      '/v3/kv/put',
      '/v3/kv/deleterange',
      '/v3/kv/txn',
      '/v3/kv/compaction',
      '/v3/watch',
      '/v3/lease/grant',
      '/v3/lease/revoke',
      '/v3/kv/lease/revoke',
      '/v3/lease/keepalive',
      '/v3/lease/timetolive',
      '/v3/kv/lease/timetolive',
      '/v3/lease/leases',
      '/v3/kv/lease/leases',
      '/v3/cluster/member/add',
      '/v3/cluster/member/remove',
      '/v3/cluster/member/update',
      '/v3/cluster/member/list',
      '/v3/cluster/member/promote',
      '/v3/maintenance/alarm',
      '/v3/maintenance/status',
      '/v3/maintenance/defragment',
      '/v3/maintenance/hash',
      '/v3/maintenance/hashkv',
      '/v3/maintenance/snapshot',
      '/v3/maintenance/transfer-leadership',
      '/v3/maintenance/downgrade',
      '/v3/auth/enable',
      '/v3/auth/disable',
      '/v3/auth/status',
      '/v3/auth/authenticate',
      '/v3/auth/user/add',
      '/v3/auth/user/get',
      '/v3/auth/user/list',
      '/v3/auth/user/delete',
      '/v3/auth/user/changepw',
      '/v3/auth/user/grant',
      '/v3/auth/user/revoke',
      '/v3/auth/role/add',
      '/v3/auth/role/get',
      '/v3/auth/role/list',
      '/v3/auth/role/delete',
      '/v3/auth/role/grant',
      '/v3/auth/role/revoke',
      '/v3/lock/lock',
      '/v3/lock/unlock',
      '/v3/election/campaign',
      '/v3/election/proclaim',
      '/v3/election/leader',
      '/v3/election/observe',
      '/v3/election/resign',
    ]) {
      expect(paths, path).toContain(path);
    }
    expect(paths).toHaveLength(51);
    expect(GATEWAY_ROUTES['/v3/maintenance/transfer-leadership'].method).toBe('MoveLeader');
    expect(GATEWAY_ROUTES['/v3/kv/compaction'].requestType).toBe('etcdserverpb.CompactionRequest');
  });

  it('maps the /v3beta and /v3alpha prefixes of older etcd releases to /v3', () => {
    expect(normalizeGatewayPath('/v3beta/kv/put')).toBe('/v3/kv/put');
    expect(normalizeGatewayPath('/v3alpha/watch')).toBe('/v3/watch');
    expect(normalizeGatewayPath('/v3/kv/put')).toBe('/v3/kv/put');
  });
});

describe('decodeGatewayRequest', () => {
  it('decodes the doc’s put: base64 bytes, defaults filled, proto-loader shape', () => {
    const put = decodeGatewayRequest<PutRequest__Output>('etcdserverpb.PutRequest', {
      key: 'Zm9v',
      value: 'YmFy',
    });
    expect(put).toEqual({
      key: Buffer.from('foo'),
      value: Buffer.from('bar'),
      lease: '0',
      prev_kv: false,
      ignore_value: false,
      ignore_lease: false,
    });
    expect(Buffer.isBuffer(put.key)).toBe(true);
  });

  it('decodes the doc’s prefix range with proto names', () => {
    const range = decodeGatewayRequest<RangeRequest__Output>('etcdserverpb.RangeRequest', {
      key: 'Zm9v',
      range_end: 'Zm9w',
    });
    expect(range.key.toString()).toBe('foo');
    expect(range.range_end.toString()).toBe('fop');
    expect(range.limit).toBe('0');
  });

  it('decodes the doc’s txn with lowerCamel names, an enum name and an int64 string', () => {
    const txn = decodeGatewayRequest<TxnRequest__Output>('etcdserverpb.TxnRequest', {
      compare: [{ target: 'CREATE', key: 'Zm9v', createRevision: '2' }],
      success: [{ requestPut: { key: 'Zm9v', value: 'YmFy' } }],
    });
    expect(txn.compare[0]).toEqual({
      result: 0,
      target: 1,
      key: Buffer.from('foo'),
      create_revision: '2',
      target_union: 'create_revision',
      range_end: Buffer.alloc(0),
    });
    expect(txn.success[0].request).toBe('request_put');
    expect(txn.success[0].request_put?.value.toString()).toBe('bar');
    expect(txn.failure).toEqual([]);
  });

  it('decodes the doc’s watch create request into a oneof', () => {
    const watch = decodeGatewayRequest<WatchRequest__Output>('etcdserverpb.WatchRequest', {
      create_request: { key: 'Zm9v', filters: ['NODELETE', 0], startRevision: 7 },
    });
    expect(watch.request_union).toBe('create_request');
    expect(watch.create_request?.key.toString()).toBe('foo');
    expect(watch.create_request?.filters).toEqual([1, 0]);
    expect(watch.create_request?.start_revision).toBe('7');
  });

  it('decodes lease requests: TTL and ID as strings or numbers, full 64-bit IDs exactly', () => {
    expect(decodeGatewayRequest('etcdserverpb.LeaseGrantRequest', { TTL: '5', ID: '0' })).toEqual({
      TTL: '5',
      ID: '0',
    });
    expect(decodeGatewayRequest('etcdserverpb.LeaseGrantRequest', { TTL: 5 })).toEqual({ TTL: '5', ID: '0' });
    expect(
      decodeGatewayRequest('etcdserverpb.LeaseTimeToLiveRequest', { ID: '7587862072081834000', keys: true }),
    ).toEqual({ ID: '7587862072081834000', keys: true });
    expect(decodeGatewayRequest('etcdserverpb.MemberRemoveRequest', { ID: '18446744073709551615' })).toEqual({
      ID: '18446744073709551615',
    });
  });

  it('accepts URL-safe and unpadded base64, null as unset, and ignores unknown fields', () => {
    const put = decodeGatewayRequest<PutRequest__Output>('etcdserverpb.PutRequest', {
      key: '-_8',
      value: null,
      some_future_field: 1,
    });
    expect([...put.key]).toEqual([0xfb, 0xff]);
    expect(put.value).toEqual(Buffer.alloc(0));
  });

  it('rejects bodies that do not fit, with InvalidArgument', () => {
    const bad: Array<[string, unknown]> = [
      ['etcdserverpb.PutRequest', 'not an object'],
      ['etcdserverpb.PutRequest', { key: 'not base64!' }],
      // Node would decode these to an empty or shortened value; protojson refuses them.
      ['etcdserverpb.PutRequest', { key: 'Zm9v', value: 'A' }],
      ['etcdserverpb.PutRequest', { key: 'Zm9v', value: 'YQ=' }],
      ['etcdserverpb.PutRequest', { key: 'Zm9v', value: 'a+-b' }],
      ['etcdserverpb.PutRequest', { key: 'Zm9v', value: '!!!' }],
      ['etcdserverpb.PutRequest', { lease: 1.5 }],
      ['etcdserverpb.PutRequest', { lease: 2 ** 60 }], // unsafe as a number: must be a string
      ['etcdserverpb.PutRequest', { prev_kv: 'yes' }],
      ['etcdserverpb.PutRequest', { key: 'Zm9v', ...{ prevKv: true, prev_kv: true } }],
      ['etcdserverpb.MemberRemoveRequest', { ID: '-1' }],
      ['etcdserverpb.LeaseGrantRequest', { ID: '9223372036854775808' }],
      ['etcdserverpb.RangeRequest', { sort_order: 'SIDEWAYS' }],
      ['etcdserverpb.TxnRequest', { compare: {} }],
      ['etcdserverpb.RequestOp', { request_put: {}, request_range: {} }],
    ];
    for (const [type, body] of bad) {
      let thrown: unknown;
      try {
        decodeGatewayRequest(type, body);
      } catch (err) {
        thrown = err;
      }
      expect(thrown, JSON.stringify(body)).toBeInstanceOf(GatewayDecodeError);
      expect(toGrpcStatus(thrown).code).toBe(GrpcStatus.INVALID_ARGUMENT);
    }
  });
});

describe('decodeBase64Strict', () => {
  it('decodes as protojson does: either alphabet, padding optional but whole, never a silent empty value', () => {
    expect(decodeBase64Strict('YQ==')?.toString()).toBe('a');
    expect(decodeBase64Strict('YQ')?.toString()).toBe('a');
    expect(decodeBase64Strict('YWJj\r\n')?.toString()).toBe('abc');
    expect([...(decodeBase64Strict('-_8') ?? [])]).toEqual([0xfb, 0xff]);
    expect(decodeBase64Strict('')).toEqual(Buffer.alloc(0));
    for (const bad of ['!!!', 'A', 'YQ=', 'AA=', 'a+-b', 'YQ===', 'Y Q==']) {
      expect(decodeBase64Strict(bad), bad).toBeUndefined();
    }
  });
});

describe('encodeGatewayResponse', () => {
  it('renders the doc’s put response: uint64/int64 header fields as strings', () => {
    expect(JSON.stringify(encodeGatewayResponse('etcdserverpb.PutResponse', { header: HEADER }))).toBe(
      '{"header":{"cluster_id":"12585971608760269493","member_id":"13847567121247652255","revision":"2","raft_term":"3"}}',
    );
  });

  it('renders the doc’s range response, omitting defaults (lease 0, more false)', () => {
    const response = {
      header: HEADER,
      kvs: [
        {
          key: Buffer.from('foo'),
          create_revision: '2',
          mod_revision: '2',
          version: '1',
          value: Buffer.from('bar'),
          lease: '0',
        },
      ],
      more: false,
      count: '1',
    };
    expect(encodeGatewayResponse('etcdserverpb.RangeResponse', response)).toEqual({
      header: HEADER,
      kvs: [{ key: 'Zm9v', create_revision: '2', mod_revision: '2', version: '1', value: 'YmFy' }],
      count: '1',
    });
  });

  it('renders the doc’s txn response with nested oneof responses', () => {
    const response = {
      header: { ...HEADER, revision: '3' },
      succeeded: true,
      responses: [{ response: 'response_put', response_put: { header: { revision: '3' }, prev_kv: null } }],
    };
    expect(JSON.stringify(encodeGatewayResponse('etcdserverpb.TxnResponse', response))).toBe(
      JSON.stringify({
        header: { ...HEADER, revision: '3' },
        succeeded: true,
        responses: [{ response_put: { header: { revision: '3' } } }],
      }),
    );
  });

  it('renders the doc’s watch stream lines; a PUT event’s type is omitted, DELETE is named', () => {
    expect(
      encodeGatewayStreamResult('etcdserverpb.WatchResponse', { header: HEADER, created: true }),
    ).toEqual({
      result: { header: HEADER, created: true },
    });
    const kv = {
      key: Buffer.from('foo'),
      create_revision: '2',
      mod_revision: '2',
      version: '1',
      value: Buffer.from('bar'),
    };
    expect(
      encodeGatewayStreamResult('etcdserverpb.WatchResponse', {
        header: HEADER,
        watch_id: '0',
        events: [
          { type: 0, kv, prev_kv: null },
          { type: 1, kv: { key: Buffer.from('foo'), mod_revision: '3' } },
        ],
      }),
    ).toEqual({
      result: {
        header: HEADER,
        events: [
          { kv: { key: 'Zm9v', create_revision: '2', mod_revision: '2', version: '1', value: 'YmFy' } },
          { type: 'DELETE', kv: { key: 'Zm9v', mod_revision: '3' } },
        ],
      },
    });
  });

  it('renders enums as names, uint32 as numbers, repeated bytes as base64, an empty set message as {}', () => {
    expect(
      encodeGatewayResponse('etcdserverpb.AlarmResponse', {
        header: {},
        alarms: [{ memberID: '3', alarm: 1 }],
      }),
    ).toEqual({ header: {}, alarms: [{ memberID: '3', alarm: 'NOSPACE' }] });
    expect(
      encodeGatewayResponse('etcdserverpb.HashKVResponse', { hash: 4294967295, compact_revision: 0 }),
    ).toEqual({
      hash: 4294967295,
    });
    expect(
      encodeGatewayResponse('etcdserverpb.LeaseTimeToLiveResponse', {
        ID: 7n,
        TTL: -1,
        keys: [Buffer.from('a'), new Uint8Array([0xff])],
      }),
    ).toEqual({ ID: '7', TTL: '-1', keys: ['YQ==', '/w=='] });
  });

  it('emits the chosen oneof member even when it holds a default value', () => {
    expect(
      encodeGatewayResponse('etcdserverpb.Compare', {
        target: 1,
        key: Buffer.from('k'),
        create_revision: '0',
        target_union: 'create_revision',
      }),
    ).toEqual({ target: 'CREATE', key: 'aw==', create_revision: '0' });
  });

  it('round-trips through decode: what we emit, we read back', () => {
    const status = {
      header: HEADER,
      version: '3.6.0',
      dbSize: '24576',
      leader: '13847567121247652255',
      raftIndex: '100',
      raftTerm: '3',
      raftAppliedIndex: '100',
      errors: ['memberID:1 alarm:NOSPACE'],
      dbSizeInUse: '20480',
      isLearner: false,
      storageVersion: '3.6.0',
      dbSizeQuota: '2147483648',
      downgradeInfo: { enabled: false, targetVersion: '' },
    };
    const json = JSON.parse(
      JSON.stringify(encodeGatewayResponse('etcdserverpb.StatusResponse', status)),
    ) as unknown;
    expect(decodeGatewayRequest('etcdserverpb.StatusResponse', json)).toEqual(status);
  });
});

describe('gateway errors', () => {
  it('answers an etcd error with its HTTP status and exactly the error, code and message fields of etcd 3.4', () => {
    // Checked against a real etcd 3.4 in test/compat/gateway.test.ts: no `details` field.
    expect(gatewayError(etcdError('compacted'))).toEqual({
      httpStatus: 400,
      body: {
        error: 'etcdserver: mvcc: required revision has been compacted',
        code: GrpcStatus.OUT_OF_RANGE,
        message: 'etcdserver: mvcc: required revision has been compacted',
      },
    });
    expect(gatewayError(etcdError('no-leader')).httpStatus).toBe(503);
    expect(gatewayError(etcdError('invalid-auth-token')).httpStatus).toBe(401);
    expect(gatewayError(new Error('boom'))).toEqual({
      httpStatus: 500,
      body: { error: 'boom', code: GrpcStatus.UNKNOWN, message: 'boom' },
    });
  });

  it('ends a failed stream with one error line readable by grpc-gateway v1 and v2 clients', () => {
    expect(encodeGatewayStreamError(etcdError('watch-canceled'))).toEqual({
      error: {
        code: GrpcStatus.CANCELLED,
        message: 'etcdserver: watch canceled',
        details: [],
        grpc_code: GrpcStatus.CANCELLED,
        http_code: 408,
        http_status: 'Request Timeout',
      },
    });
  });
});
