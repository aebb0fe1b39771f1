import { dirname, join } from 'node:path';
import { Root, type Type } from 'protobufjs';
import { describe, expect, it } from 'vitest';
import { messageType, TO_OBJECT_OPTIONS } from '@cairn/api';

// The etcd3 npm client ships its own copy of etcd's protos (etcd 3.5 era). Bytes it writes must decode with
// ours into the same message, and bytes we write must decode with theirs: that is wire compatibility.
const etcd3ProtoDir = join(dirname(require.resolve('etcd3/package.json')), 'proto');
const theirRoot = new Root();
theirRoot.loadSync(join(etcd3ProtoDir, 'rpc.proto'), { keepCase: true });
theirRoot.resolveAll();

const header = {
  cluster_id: '14841639068965178418',
  member_id: '10276657743932975437',
  revision: '42',
  raft_term: '7',
};
const kv = {
  key: Buffer.from('/cairn/registry/default/orders/a'),
  create_revision: '3',
  mod_revision: '41',
  version: '9',
  value: Buffer.from([0, 1, 2, 250, 255]),
  lease: '7587862072081834000',
};

const SAMPLES: ReadonlyArray<readonly [string, Record<string, unknown>]> = [
  [
    'RangeRequest',
    {
      key: Buffer.from('a'),
      range_end: Buffer.from('b'),
      limit: '10',
      revision: '5',
      sort_order: 2,
      sort_target: 3,
      serializable: true,
      keys_only: true,
      min_mod_revision: '1',
      max_create_revision: '100',
    },
  ],
  [
    'RangeResponse',
    { header, kvs: [kv, { ...kv, key: Buffer.from('b'), lease: '0' }], more: true, count: '2' },
  ],
  [
    'PutRequest',
    { key: Buffer.from('k'), value: Buffer.from('v'), lease: '-5', prev_kv: true, ignore_lease: true },
  ],
  ['PutResponse', { header, prev_kv: kv }],
  ['DeleteRangeRequest', { key: Buffer.from('k'), range_end: Buffer.from([0]), prev_kv: true }],
  ['DeleteRangeResponse', { header, deleted: '3', prev_kvs: [kv] }],
  [
    'TxnRequest',
    {
      compare: [
        { result: 0, target: 1, key: Buffer.from('k'), create_revision: '0' },
        { result: 3, target: 3, key: Buffer.from('k'), value: Buffer.from('old') },
        { result: 2, target: 2, key: Buffer.from('a'), mod_revision: '9', range_end: Buffer.from('b') },
        { result: 1, target: 4, key: Buffer.from('l'), lease: '77' },
      ],
      success: [
        { request_put: { key: Buffer.from('k'), value: Buffer.from('v'), lease: '12' } },
        { request_range: { key: Buffer.from('k') } },
        { request_txn: { success: [{ request_delete_range: { key: Buffer.from('x') } }] } },
      ],
      failure: [{ request_range: { key: Buffer.from('k'), count_only: true } }],
    },
  ],
  [
    'TxnResponse',
    {
      header,
      succeeded: true,
      responses: [
        { response_put: { header: { revision: '43' } } },
        { response_range: { header, kvs: [kv], count: '1' } },
        { response_delete_range: { header, deleted: '1' } },
        { response_txn: { header, succeeded: false, responses: [] } },
      ],
    },
  ],
  ['CompactionRequest', { revision: '40', physical: true }],
  [
    'WatchRequest',
    {
      create_request: {
        key: Buffer.from('/cairn/'),
        range_end: Buffer.from('/cairn0'),
        start_revision: '12',
        progress_notify: true,
        filters: [0, 1],
        prev_kv: true,
        watch_id: '3',
        fragment: true,
      },
    },
  ],
  ['WatchRequest', { cancel_request: { watch_id: '3' } }],
  ['WatchRequest', { progress_request: {} }],
  [
    'WatchResponse',
    {
      header,
      watch_id: '3',
      created: true,
      canceled: true,
      compact_revision: '10',
      cancel_reason: 'etcdserver: mvcc: required revision has been compacted',
      fragment: true,
      events: [
        { type: 0, kv, prev_kv: { ...kv, version: '8' } },
        { type: 1, kv: { key: Buffer.from('gone'), mod_revision: '42' } },
      ],
    },
  ],
  ['LeaseGrantRequest', { TTL: '10', ID: '7587862072081834000' }],
  ['LeaseGrantResponse', { header, ID: '7587862072081834000', TTL: '10', error: '' }],
  ['LeaseRevokeRequest', { ID: '1' }],
  ['LeaseKeepAliveRequest', { ID: '7587862072081834000' }],
  ['LeaseKeepAliveResponse', { header, ID: '7587862072081834000', TTL: '0' }],
  ['LeaseTimeToLiveRequest', { ID: '5', keys: true }],
  [
    'LeaseTimeToLiveResponse',
    { header, ID: '5', TTL: '-1', grantedTTL: '60', keys: [Buffer.from('a'), Buffer.from('b')] },
  ],
  ['LeaseLeasesResponse', { header, leases: [{ ID: '1' }, { ID: '2' }] }],
  [
    'MemberListResponse',
    {
      header,
      members: [
        {
          ID: '10276657743932975437',
          name: 'm1',
          peerURLs: ['http://10.0.0.1:2380'],
          clientURLs: ['http://10.0.0.1:2379'],
        },
        { ID: '3', name: '', peerURLs: ['http://10.0.0.2:2380'], isLearner: true },
      ],
    },
  ],
  [
    'StatusResponse',
    {
      header,
      version: '3.5.0',
      dbSize: '24576',
      leader: '10276657743932975437',
      raftIndex: '100',
      raftTerm: '7',
      raftAppliedIndex: '100',
      errors: ['NOSPACE'],
      dbSizeInUse: '20480',
      isLearner: false,
    },
  ],
  ['AlarmResponse', { header, alarms: [{ memberID: '3', alarm: 1 }] }],
  [
    'AuthRoleGrantPermissionRequest',
    { name: 'r', perm: { permType: 2, key: Buffer.from('a'), range_end: Buffer.from('b') } },
  ],
];

function encode(type: Type, object: Record<string, unknown>): Buffer {
  return Buffer.from(type.encode(type.fromObject(object)).finish());
}

function decode(type: Type, bytes: Buffer): unknown {
  return type.toObject(type.decode(bytes), TO_OBJECT_OPTIONS);
}

describe('wire compatibility with the etcd3 npm client’s protos', () => {
  it.each(SAMPLES)('%s: both sides write the same bytes and read each other', (name, sample) => {
    const ours = messageType(`etcdserverpb.${name}`);
    const theirs = theirRoot.lookupType(`etcdserverpb.${name}`);
    const ourBytes = encode(ours, sample);
    const theirBytes = encode(theirs, sample);
    expect(ourBytes.length).toBeGreaterThan(0);
    expect(ourBytes.toString('hex')).toBe(theirBytes.toString('hex'));
    // Their bytes decode with ours into what our own encoding decodes to, and the other way round.
    expect(decode(ours, theirBytes)).toEqual(decode(ours, ourBytes));
    expect(decode(theirs, ourBytes)).toEqual(decode(theirs, theirBytes));
  });

  it('sample values survive the trip from their encoder to our decoder', () => {
    const theirs = theirRoot.lookupType('etcdserverpb.WatchResponse');
    const ours = messageType('etcdserverpb.WatchResponse');
    const decoded = decode(ours, encode(theirs, SAMPLES.find(([n]) => n === 'WatchResponse')![1])) as {
      header: { cluster_id: string };
      events: Array<{ type: number; kv: { key: Buffer; lease: string } }>;
    };
    expect(decoded.header.cluster_id).toBe('14841639068965178418');
    expect(decoded.events.map((e) => e.type)).toEqual([0, 1]);
    expect(decoded.events[0].kv.key.toString()).toBe('/cairn/registry/default/orders/a');
    expect(decoded.events[0].kv.lease).toBe('7587862072081834000');
  });
});
