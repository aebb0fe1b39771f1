// A PutResponse without prev_kv encoded by hand is byte for byte what grpc-js's own serializer (protobufjs)
// writes, for ids and revisions at zero, small and at their extremes; one with a prev_kv is left to it.
import { describe, expect, it } from 'vitest';
import { loadEtcdServices } from '@cairn/api';
import { encodePutResponse } from '../src/etcd/put-response-codec';

const put = (
  loadEtcdServices().etcdserverpb.KV.service as unknown as Record<
    string,
    { responseSerialize(value: unknown): Buffer; responseDeserialize(bytes: Buffer): unknown }
  >
)['Put']!;

const HEADERS = [
  { cluster_id: '0', member_id: '0', revision: 0, raft_term: 0 },
  { cluster_id: '14841639068965178418', member_id: '10276657743932975437', revision: 2, raft_term: 1 },
  { cluster_id: '18446744073709551615', member_id: '1', revision: 9007199254740991, raft_term: 127 },
  { cluster_id: '128', member_id: '16384', revision: 128, raft_term: 16384 },
];

describe('PutResponse encoded by hand', () => {
  it('is what protobufjs writes', () => {
    for (const header of HEADERS) {
      const response = { header, prev_kv: null };
      expect(encodePutResponse(response), JSON.stringify(header)).toEqual(put.responseSerialize(response));
      expect(encodePutResponse({ header })).toEqual(put.responseSerialize({ header }));
    }
  });

  it('leaves answers with a prev_kv, and shapes it does not know, to the generic encoder', () => {
    const header = HEADERS[1]!;
    expect(encodePutResponse({ header, prev_kv: { key: Buffer.from('k') } })).toBeUndefined();
    expect(encodePutResponse({})).toBeUndefined();
    expect(encodePutResponse({ header: { ...header, cluster_id: '-1' } })).toBeUndefined();
    expect(encodePutResponse({ header: { ...header, revision: 1.5 } })).toBeUndefined();
  });
});
