// etcd's JSON gateway (grpc-gateway, `/v3/*`) and plain HTTP endpoints (/health, /version, /metrics) on
// the client URL, driven with fetch. Expected bodies are what etcd 3.4 returns: proto field names, 64-bit
// integers as JSON strings, bytes as base64, default values omitted, errors as {error, message, code}.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  GatewayStream,
  gatewayPost,
  type GatewayAnswer as GatewayReply,
  b64,
  cleanupAll,
  currentTarget,
  describeResult,
  etcdctl,
  fromB64,
  repoRoot,
  startMember,
  type Member,
} from '../support';

type Json = Record<string, unknown>;

let member: Member;

beforeAll(async () => {
  member = await startMember();
});

afterAll(() => cleanupAll());

function post(path: string, body: unknown, target: Member = member): Promise<GatewayReply> {
  return gatewayPost(target, path, body);
}

/** POSTs and expects 200; returns the body. */
async function call(path: string, body: unknown, target: Member = member): Promise<Json> {
  const reply = await post(path, body, target);
  expect(reply.status, JSON.stringify(reply.body)).toBe(200);
  return reply.body;
}

interface Header {
  cluster_id: string;
  member_id: string;
  revision: string;
  raft_term: string;
}

function headerOf(body: Json): Header {
  return body['header'] as Header;
}

/** Every response header has exactly these four uint64/int64 fields, each a decimal string. */
function expectFullHeader(body: Json): Header {
  const header = headerOf(body);
  expect(Object.keys(header).sort()).toEqual(['cluster_id', 'member_id', 'raft_term', 'revision']);
  for (const value of Object.values(header)) expect(value).toMatch(/^[1-9]\d*$/);
  return header;
}

describe('gateway /v3/kv', () => {
  it('POST /v3/kv/put {"key":"Zm9v","value":"YmFy"} answers with a header of decimal strings only', async () => {
    const body = await call('/v3/kv/put', { key: 'Zm9v', value: 'YmFy' });
    expect(Object.keys(body)).toEqual(['header']);
    expectFullHeader(body);
  });

  it('put with prev_kv returns the previous pair; without it no prev_kv field', async () => {
    const first = headerOf(await call('/v3/kv/put', { key: b64('gw/pkv'), value: b64('one') })).revision;
    const second = await call('/v3/kv/put', { key: b64('gw/pkv'), value: b64('two'), prev_kv: true });
    expect(second['prev_kv']).toEqual({
      key: b64('gw/pkv'),
      create_revision: first,
      mod_revision: first,
      version: '1',
      value: b64('one'),
    });
  });

  it('/v3/kv/range returns kvs with snake_case fields and string revisions, and count', async () => {
    const rev1 = headerOf(await call('/v3/kv/put', { key: b64('gw/r/a'), value: b64('A') })).revision;
    const rev2 = headerOf(await call('/v3/kv/put', { key: b64('gw/r/b'), value: b64('B') })).revision;
    const rev3 = headerOf(await call('/v3/kv/put', { key: b64('gw/r/b'), value: b64('BB') })).revision;
    const body = await call('/v3/kv/range', { key: b64('gw/r/'), range_end: b64('gw/r0') });
    expect(expectFullHeader(body).revision).toBe(rev3);
    expect(body).toEqual({
      header: headerOf(body),
      kvs: [
        { key: b64('gw/r/a'), create_revision: rev1, mod_revision: rev1, version: '1', value: b64('A') },
        { key: b64('gw/r/b'), create_revision: rev2, mod_revision: rev3, version: '2', value: b64('BB') },
      ],
      count: '2',
    });
  });

  it('range accepts lowerCamel input (rangeEnd, keysOnly, limit, sortOrder) and reports more', async () => {
    for (const key of ['x', 'y', 'z']) await call('/v3/kv/put', { key: b64(`gw/c/${key}`), value: b64(key) });
    const body = await call('/v3/kv/range', {
      key: b64('gw/c/'),
      rangeEnd: b64('gw/c0'),
      keysOnly: true,
      limit: '2',
      sortOrder: 'DESCEND',
      sortTarget: 'KEY',
    });
    const kvs = body['kvs'] as Json[];
    expect(kvs.map((kv) => fromB64(kv['key'] as string))).toEqual(['gw/c/z', 'gw/c/y']);
    expect(kvs.every((kv) => !('value' in kv))).toBe(true);
    expect(body['more']).toBe(true);
    expect(body['count']).toBe('3');
  });

  it('a range that matches nothing has neither kvs nor count (defaults are omitted)', async () => {
    const body = await call('/v3/kv/range', { key: b64('gw/none') });
    expect(Object.keys(body)).toEqual(['header']);
  });

  it('/v3/kv/txn with camelCase input (createRevision, requestPut) answers snake_case response_put', async () => {
    const created = headerOf(await call('/v3/kv/put', { key: b64('gw/txn'), value: b64('v1') })).revision;
    const success = await call('/v3/kv/txn', {
      compare: [{ target: 'CREATE', key: b64('gw/txn'), createRevision: created }],
      success: [
        { requestPut: { key: b64('gw/txn'), value: b64('v2') } },
        { requestRange: { key: b64('gw/txn') } },
      ],
      failure: [{ requestPut: { key: b64('gw/txn'), value: b64('failed') } }],
    });
    const revision = expectFullHeader(success).revision;
    expect(success['succeeded']).toBe(true);
    expect(success['responses']).toEqual([
      { response_put: { header: { revision } } },
      {
        response_range: {
          header: { revision },
          kvs: [
            {
              key: b64('gw/txn'),
              create_revision: created,
              mod_revision: revision,
              version: '2',
              value: b64('v2'),
            },
          ],
          count: '1',
        },
      },
    ]);
  });

  it('a failed txn has no "succeeded" field and runs the failure ops (result and target enums by name)', async () => {
    await call('/v3/kv/put', { key: b64('gw/txn2'), value: b64('actual') });
    const failed = await call('/v3/kv/txn', {
      compare: [{ result: 'EQUAL', target: 'VALUE', key: b64('gw/txn2'), value: b64('expected') }],
      success: [{ request_put: { key: b64('gw/txn2'), value: b64('never') } }],
      failure: [{ request_delete_range: { key: b64('gw/txn2'), prev_kv: true } }],
    });
    expect(failed).not.toHaveProperty('succeeded');
    const responses = failed['responses'] as Json[];
    const deleted = responses[0]!['response_delete_range'] as Json;
    expect(deleted['deleted']).toBe('1');
    expect(((deleted['prev_kvs'] as Json[])[0]!['value'] as string) === b64('actual')).toBe(true);

    const empty = await call('/v3/kv/txn', {
      compare: [{ result: 'GREATER', target: 'VERSION', key: b64('gw/txn2'), version: '5' }],
      success: [{ requestPut: { key: b64('gw/txn2'), value: b64('never') } }],
    });
    expect(Object.keys(empty)).toEqual(['header']);
  });

  it('/v3/kv/deleterange with prev_kv returns deleted as a string and the deleted pairs', async () => {
    const rev = headerOf(await call('/v3/kv/put', { key: b64('gw/del'), value: b64('gone') })).revision;
    const body = await call('/v3/kv/deleterange', { key: b64('gw/del'), prev_kv: true });
    expect(body['deleted']).toBe('1');
    expect(body['prev_kvs']).toEqual([
      { key: b64('gw/del'), create_revision: rev, mod_revision: rev, version: '1', value: b64('gone') },
    ]);
  });
});

describe('gateway /v3/lease', () => {
  it('grant, timetolive with keys, leases, revoke: field names TTL, ID, grantedTTL exactly as etcd', async () => {
    const granted = await call('/v3/lease/grant', { TTL: '30', ID: '0' });
    expectFullHeader(granted);
    expect(granted['TTL']).toBe('30');
    expect(granted['ID']).toMatch(/^[1-9]\d*$/);
    expect(granted).not.toHaveProperty('error'); // empty string omitted

    const chosen = await call('/v3/lease/grant', { TTL: 30, ID: 4660 });
    expect(chosen['ID']).toBe('4660');
    await call('/v3/kv/put', { key: b64('gw/lease/k'), value: b64('v'), lease: '4660' });

    const ttl = await call('/v3/lease/timetolive', { ID: '4660', keys: true });
    expect(ttl['ID']).toBe('4660');
    expect(ttl['grantedTTL']).toBe('30');
    expect(Number(ttl['TTL'])).toBeGreaterThanOrEqual(25);
    expect(ttl['keys']).toEqual([b64('gw/lease/k')]);

    const leases = await call('/v3/lease/leases', {});
    expect(leases['leases']).toEqual(expect.arrayContaining([{ ID: '4660' }, { ID: granted['ID'] }]));

    const revoked = await call('/v3/lease/revoke', { ID: '4660' });
    expect(Object.keys(revoked)).toEqual(['header']);
    expect(await call('/v3/kv/range', { key: b64('gw/lease/k') })).not.toHaveProperty('kvs');
    const after = await call('/v3/lease/timetolive', { ID: '4660' });
    expect(after['TTL']).toBe('-1');
    expect(after).not.toHaveProperty('grantedTTL');
  });

  it('granting an ID that exists fails with "lease already exists"', async () => {
    await call('/v3/lease/grant', { TTL: '30', ID: '777' });
    const again = await post('/v3/lease/grant', { TTL: '30', ID: '777' });
    expect(again.body).toEqual({
      error: 'etcdserver: lease already exists',
      message: 'etcdserver: lease already exists',
      code: 9,
    });
    // grpc-gateway v1 (etcd 3.4) maps FailedPrecondition to 412.
    expect(again.status).toBe(412);
  });
});

describe('gateway /v3/watch stream', () => {
  it('streams {"result":...} lines: created, then events; DELETE by name, PUT type omitted', async () => {
    const stream = await new GatewayStream().open(member, '/v3/watch', {
      create_request: { key: b64('gw/w/'), range_end: b64('gw/w0'), prev_kv: true },
    });
    try {
      expect(stream.status).toBe(200);
      const [created] = await stream.results(1);
      expect(created!['created']).toBe(true);
      expectFullHeader(created!);
      const r1 = headerOf(await call('/v3/kv/put', { key: b64('gw/w/a'), value: b64('1') })).revision;
      await call('/v3/kv/put', { key: b64('gw/other'), value: b64('ignored') });
      const r2 = headerOf(await call('/v3/kv/put', { key: b64('gw/w/a'), value: b64('2') })).revision;
      const r3 = headerOf(await call('/v3/kv/deleterange', { key: b64('gw/w/a') })).revision;
      const results = await stream.results(4);
      expect(results.slice(1).map((r) => r['events'])).toEqual([
        [
          {
            kv: { key: b64('gw/w/a'), create_revision: r1, mod_revision: r1, version: '1', value: b64('1') },
          },
        ],
        [
          {
            kv: { key: b64('gw/w/a'), create_revision: r1, mod_revision: r2, version: '2', value: b64('2') },
            prev_kv: {
              key: b64('gw/w/a'),
              create_revision: r1,
              mod_revision: r1,
              version: '1',
              value: b64('1'),
            },
          },
        ],
        [
          {
            type: 'DELETE',
            kv: { key: b64('gw/w/a'), mod_revision: r3 },
            prev_kv: {
              key: b64('gw/w/a'),
              create_revision: r1,
              mod_revision: r2,
              version: '2',
              value: b64('2'),
            },
          },
        ],
      ]);
      expect(results.slice(1).map((r) => headerOf(r).revision)).toEqual([r1, r2, r3]);
    } finally {
      await stream.close();
    }
  });

  it('accepts camelCase createRequest with startRevision and replays history', async () => {
    const first = headerOf(await call('/v3/kv/put', { key: b64('gw/w2'), value: b64('a') })).revision;
    await call('/v3/kv/put', { key: b64('gw/w2'), value: b64('b') });
    const stream = await new GatewayStream().open(member, '/v3/watch', {
      createRequest: { key: b64('gw/w2'), startRevision: first },
    });
    try {
      const [created] = await stream.results(1);
      expect(created!['created']).toBe(true);
      const events = await stream.events(2);
      expect(events.map((e) => fromB64((e['kv'] as Json)['value'] as string))).toEqual(['a', 'b']);
      expect(events.map((e) => (e['kv'] as Json)['mod_revision'])[0]).toBe(first);
    } finally {
      await stream.close();
    }
  });
});

describe('gateway errors', () => {
  it('an empty key is 400 with {"error","message","code":3} carrying the etcd message', async () => {
    const reply = await post('/v3/kv/put', { key: '', value: b64('v') });
    expect(reply.status).toBe(400);
    expect(reply.body).toEqual({
      error: 'etcdserver: key is not provided',
      message: 'etcdserver: key is not provided',
      code: 3,
    });
  });

  it('an unknown lease is 404 with code 5 (NotFound), on put and on revoke', async () => {
    const put = await post('/v3/kv/put', { key: b64('gw/err'), value: b64('v'), lease: '12345' });
    expect(put.status).toBe(404);
    expect(put.body).toEqual({
      error: 'etcdserver: requested lease not found',
      message: 'etcdserver: requested lease not found',
      code: 5,
    });
    const revoke = await post('/v3/lease/revoke', { ID: '12345' });
    expect(revoke.status).toBe(404);
    expect(revoke.body['code']).toBe(5);
  });

  it('malformed JSON is 400 with code 3 (InvalidArgument) and error equal to message', async () => {
    const reply = await post('/v3/kv/range', '{not json');
    expect(reply.status).toBe(400);
    expect(reply.body['code']).toBe(3);
    expect(typeof reply.body['error']).toBe('string');
    expect(reply.body['error']).toBe(reply.body['message']);
  });

  it('a GET on a gateway route is 405, an unknown /v3 path is 404', async () => {
    const get = await fetch(`${member.clientUrl}/v3/kv/range`);
    expect(get.status).toBe(405);
    await get.text();
    const unknown = await fetch(`${member.clientUrl}/v3/no/such/route`, { method: 'POST', body: '{}' });
    expect(unknown.status).toBe(404);
    await unknown.text();
  });

  describe('after compaction (own member: compaction is store-wide)', () => {
    let compacted: Member;
    let compactRevision: string;

    beforeAll(async () => {
      compacted = await startMember();
      for (const value of ['1', '2', '3']) {
        compactRevision = headerOf(
          await call('/v3/kv/put', { key: b64('k'), value: b64(value) }, compacted),
        ).revision;
      }
      await call('/v3/kv/compaction', { revision: compactRevision, physical: true }, compacted);
    });

    it('a range below the compacted revision is 400 with code 11 (OutOfRange) and the etcd message', async () => {
      const reply = await post(
        '/v3/kv/range',
        { key: b64('k'), revision: String(BigInt(compactRevision) - 1n) },
        compacted,
      );
      expect(reply.status).toBe(400);
      expect(reply.body).toEqual({
        error: 'etcdserver: mvcc: required revision has been compacted',
        message: 'etcdserver: mvcc: required revision has been compacted',
        code: 11,
      });
      const future = await post(
        '/v3/kv/range',
        { key: b64('k'), revision: String(BigInt(compactRevision) + 10n) },
        compacted,
      );
      expect(future.body['message']).toBe('etcdserver: mvcc: required revision is a future revision');
      expect(future.body['code']).toBe(11);
    });

    it('a watch from a compacted revision is created, then canceled with compact_revision', async () => {
      const stream = await new GatewayStream().open(compacted, '/v3/watch', {
        create_request: { key: b64('k'), start_revision: '1' },
      });
      try {
        const [created, canceled] = await stream.results(2);
        expect(created!['created']).toBe(true);
        expect(canceled!['canceled']).toBe(true);
        expect(canceled!['compact_revision']).toBe(compactRevision);
        expect(Object.keys(canceled!).sort()).toEqual(['canceled', 'compact_revision', 'header']);
      } finally {
        await stream.close();
      }
    });
  });
});

describe('HTTP /health, /version, /metrics', () => {
  it('GET /health is 200 {"health":"true"}', async () => {
    const response = await fetch(`${member.clientUrl}/health`);
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ health: 'true' });
  });

  it('GET /version names the etcd server and cluster versions, matching Maintenance/Status', async () => {
    const response = await fetch(`${member.clientUrl}/version`);
    expect(response.status).toBe(200);
    const version = (await response.json()) as Json;
    if (currentTarget().kind === 'etcd') {
      // Debian's etcd 3.4.23: the server's release and the cluster's major.minor.
      expect(version).toEqual({ etcdserver: expect.stringMatching(/^3\.4\.\d+$/), etcdcluster: '3.4.0' });
    } else {
      // The etcd API level Cairn implements in etcd's two fields, and Cairn's release (the root package.json).
      const pkg = JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')) as { version: string };
      expect(version).toEqual({ etcdserver: '3.5.0', etcdcluster: '3.5.0', cairn: pkg.version });
    }
    const status = await call('/v3/maintenance/status', {});
    expect(status['version']).toBe(version['etcdserver']);
  });

  it('/v3/maintenance/status and /v3/cluster/member/list use etcd field names', async () => {
    const status = await call('/v3/maintenance/status', {});
    const header = expectFullHeader(status);
    for (const field of ['dbSize', 'leader', 'raftIndex', 'raftTerm', 'raftAppliedIndex', 'dbSizeInUse']) {
      expect(status[field], field).toMatch(/^[1-9]\d*$/);
    }
    expect(status['leader']).toBe(header.member_id);

    const list = await call('/v3/cluster/member/list', {});
    expect(list['members']).toEqual([
      { ID: header.member_id, name: 'm1', peerURLs: [member.peerUrl], clientURLs: [member.clientUrl] },
    ]);
    // A cluster call does not touch the KV store: header.revision is 0 and so omitted.
    expect(Object.keys(list['header'] as Json).sort()).toEqual(['cluster_id', 'member_id', 'raft_term']);
  });

  it('GET /metrics is Prometheus text with etcd metric names, types and live values', async () => {
    const scrape = async () => {
      const response = await fetch(`${member.clientUrl}/metrics`);
      expect(response.status).toBe(200);
      expect(response.headers.get('content-type')).toContain('text/plain');
      return parseMetrics(await response.text());
    };
    const before = await scrape();
    const expectedTypes: Record<string, string> = {
      etcd_server_has_leader: 'gauge',
      etcd_server_is_leader: 'gauge',
      etcd_server_leader_changes_seen_total: 'counter',
      etcd_server_proposals_committed_total: 'gauge',
      etcd_server_proposals_applied_total: 'gauge',
      etcd_server_proposals_pending: 'gauge',
      etcd_server_proposals_failed_total: 'counter',
      etcd_server_id: 'gauge',
      etcd_server_version: 'gauge',
      etcd_cluster_version: 'gauge',
      etcd_mvcc_db_total_size_in_bytes: 'gauge',
      etcd_mvcc_put_total: 'counter',
      etcd_disk_wal_fsync_duration_seconds: 'histogram',
      etcd_disk_backend_commit_duration_seconds: 'histogram',
      etcd_network_client_grpc_received_bytes_total: 'counter',
      etcd_network_client_grpc_sent_bytes_total: 'counter',
      grpc_server_started_total: 'counter',
      grpc_server_handled_total: 'counter',
    };
    for (const [name, type] of Object.entries(expectedTypes)) expect(before.types.get(name), name).toBe(type);
    expect(before.value('etcd_server_has_leader')).toBe(1);
    expect(before.value('etcd_server_is_leader')).toBe(1);
    expect(before.value('etcd_server_leader_changes_seen_total')).toBeGreaterThanOrEqual(1);
    expect(before.value('etcd_mvcc_db_total_size_in_bytes')).toBeGreaterThan(0);
    const status = await call('/v3/maintenance/status', {});
    const idHex = BigInt(headerOf(status).member_id).toString(16);
    expect(before.value('etcd_server_id', { server_id: idHex })).toBe(1);
    expect(before.value('etcd_server_version', { server_version: status['version'] as string })).toBe(1);

    // Through real gRPC (etcdctl), so the grpc_server_* counters must count it whatever the gateway does.
    const put = await etcdctl(['put', 'gw/metrics', 'counted'], { endpoints: member });
    expect(put.code, describeResult(put)).toBe(0);
    const after = await scrape();
    expect(after.value('etcd_server_proposals_committed_total')).toBeGreaterThan(
      before.value('etcd_server_proposals_committed_total'),
    );
    expect(after.value('etcd_mvcc_put_total')).toBeGreaterThan(before.value('etcd_mvcc_put_total'));
    expect(after.value('etcd_disk_wal_fsync_duration_seconds_count')).toBeGreaterThan(
      before.value('etcd_disk_wal_fsync_duration_seconds_count'),
    );
    const okPuts = {
      grpc_code: 'OK',
      grpc_method: 'Put',
      grpc_service: 'etcdserverpb.KV',
      grpc_type: 'unary',
    };
    expect(after.value('grpc_server_handled_total', okPuts)).toBeGreaterThanOrEqual(1);
  });
});

interface ParsedMetrics {
  types: Map<string, string>;
  /** The sample's value; with `labels`, the sample whose labels include them. Throws if absent. */
  value(name: string, labels?: Record<string, string>): number;
}

function parseMetrics(text: string): ParsedMetrics {
  const types = new Map<string, string>();
  const samples: Array<{ name: string; labels: Record<string, string>; value: number }> = [];
  for (const line of text.split('\n')) {
    const type = /^# TYPE (\S+) (\S+)$/.exec(line);
    if (type) types.set(type[1]!, type[2]!);
    const sample = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)/.exec(line);
    if (!sample) continue;
    const labels: Record<string, string> = {};
    for (const [, key, value] of (sample[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g))
      labels[key!] = value!;
    samples.push({ name: sample[1]!, labels, value: Number(sample[3]) });
  }
  return {
    types,
    value(name, wanted = {}) {
      const found = samples.find(
        (s) => s.name === name && Object.entries(wanted).every(([key, value]) => s.labels[key] === value),
      );
      if (!found) throw new Error(`no sample ${name}${JSON.stringify(wanted)} in /metrics`);
      return found.value;
    },
  };
}
