// The hand-encoded WatchResponse (events fan-out) is byte for byte protobufjs's encoding of the same message
// (defaults omitted, as proto3 writers do), and decodes back to the same fields.
import { loadEtcdServices } from '@cairn/api';
import type { KeyValue, WatchEvent } from '@cairn/mvcc';
import { describe, expect, it } from 'vitest';
import {
  type WireHeader,
  encodeResponseHeader,
  encodeWatchEvent,
  encodeWatchEventsResponse,
} from '../src/etcd/watch-response-codec';

const method = (loadEtcdServices().etcdserverpb.Watch.service as unknown as Record<string, WatchMethod>)
  .Watch;
interface WatchMethod {
  responseSerialize(value: object): Buffer;
  responseDeserialize(bytes: Buffer): Record<string, unknown>;
}

function kv(fields: Partial<KeyValue> = {}): KeyValue {
  return {
    key: Buffer.from('foo/1'),
    createRevision: 2,
    modRevision: 7,
    version: 3,
    value: Buffer.from('bar'),
    lease: 0n,
    ...fields,
  };
}

/** The KeyValue as a protobufjs object with zero fields left out. */
function wireKv(value: KeyValue): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  if (value.key.length > 0) out.key = value.key;
  if (value.createRevision !== 0) out.create_revision = value.createRevision;
  if (value.modRevision !== 0) out.mod_revision = value.modRevision;
  if (value.version !== 0) out.version = value.version;
  if (value.value.length > 0) out.value = value.value;
  if (value.lease !== 0n) out.lease = value.lease.toString();
  return out;
}

function wireEvent(event: WatchEvent): Record<string, unknown> {
  const out: Record<string, unknown> = { kv: wireKv(event.kv) };
  if (event.type === 'delete') out.type = 1;
  if (event.prevKv) out.prev_kv = wireKv(event.prevKv);
  return out;
}

const HEADER: WireHeader = {
  cluster_id: '15119813624355553178',
  member_id: '13668033151171901709',
  revision: 5_000_000_123,
  raft_term: 7,
};

const EVENTS: WatchEvent[] = [
  { type: 'put', kv: kv() },
  { type: 'put', kv: kv({ version: 1, createRevision: 7, lease: 0x7fff_ffff_ffff_fff0n }), prevKv: kv() },
  { type: 'delete', kv: { ...kv(), value: Buffer.alloc(0), version: 0, createRevision: 0, modRevision: 9 } },
  { type: 'put', kv: kv({ value: Buffer.alloc(70_000, 1) }) },
  { type: 'put', kv: kv({ value: Buffer.alloc(0), modRevision: 2 ** 40 }) },
];

describe('watch response codec', () => {
  it.each([
    ['auto ID 0, one event', 0, [EVENTS[0]], false],
    ['every kind of event', 5, EVENTS, false],
    ['a fragment', 300, EVENTS.slice(1, 3), true],
    ['a large client-chosen ID', 2 ** 40, [EVENTS[2]], false],
    ['a negative ID', -7, [EVENTS[0]], false],
  ] as const)('%s: the bytes protobufjs writes', (_name, watchId, events, fragment) => {
    const ours = encodeWatchEventsResponse(
      encodeResponseHeader(HEADER),
      watchId,
      events.map(encodeWatchEvent),
      fragment,
    );
    const reference: Record<string, unknown> = { header: HEADER, events: events.map(wireEvent) };
    if (watchId !== 0) reference.watch_id = watchId;
    if (fragment) reference.fragment = true;
    expect(ours.equals(method.responseSerialize(reference))).toBe(true);
    const decoded = method.responseDeserialize(ours);
    expect(decoded.watch_id).toBe(String(watchId));
    expect(decoded.fragment).toBe(fragment);
    expect((decoded.events as unknown[]).length).toBe(events.length);
  });

  it('encodes an event once and shares the bytes', () => {
    const event: WatchEvent = { type: 'put', kv: kv() };
    expect(encodeWatchEvent(event)).toBe(encodeWatchEvent(event));
  });

  it('reuses the header bytes only while every field is the same', () => {
    const first = encodeResponseHeader(HEADER);
    expect(encodeResponseHeader({ ...HEADER })).toBe(first);
    const nextTerm = encodeResponseHeader({ ...HEADER, raft_term: 8 });
    expect(nextTerm).not.toBe(first);
    expect(nextTerm.equals(first)).toBe(false);
  });
});
