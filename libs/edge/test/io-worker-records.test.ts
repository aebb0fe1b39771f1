// The I/O worker's hand-off (libs/edge io-worker/): records packed into chunks and read back in order, header
// fields carried octet for octet, chunks leaving at once past CALLS_PER_CHUNK calls, and the worker's edge
// counters reaching the main thread's EdgeStats as deltas.
import { describe, expect, it } from 'vitest';
import { EdgeStats } from '../src/edge-stats';
import {
  CALLS_PER_CHUNK,
  RecordWriter,
  decodeHeaders,
  encodeHeaders,
  readRecords,
} from '../src/io-worker/bridge-records';
import { applyStatsDelta, markingChanges, statsDelta } from '../src/io-worker/stats-delta';

function collect(chunks: ArrayBuffer[]): Array<[number, number, number, string]> {
  const out: Array<[number, number, number, string]> = [];
  for (const chunk of chunks)
    readRecords(chunk, (type, connection, stream, payload) =>
      out.push([type, connection, stream, payload.toString('latin1')]),
    );
  return out;
}

describe('bridge records', () => {
  it('come back in order with their connection, stream and payload', () => {
    const chunks: ArrayBuffer[] = [];
    const writer = new RecordWriter((chunk) => chunks.push(chunk));
    writer.add(2, 7, 0, Buffer.from('bytes'));
    writer.add(5, 7, 3, Buffer.from('call'), true);
    writer.add(3, 0xffffffff, 0x7fffffff);
    writer.addNumber(10, 7, 0, 123456);
    writer.flush();
    expect(chunks).toHaveLength(1);
    const records = collect(chunks);
    expect(records.slice(0, 3)).toEqual([
      [2, 7, 0, 'bytes'],
      [5, 7, 3, 'call'],
      [3, 0xffffffff, 0x7fffffff, ''],
    ]);
    expect(Buffer.from(records[3]![3], 'latin1').readUInt32BE(0)).toBe(123456);
  });

  it(`leave at once after ${CALLS_PER_CHUNK} calls, and grow past their first buffer`, () => {
    const chunks: ArrayBuffer[] = [];
    const writer = new RecordWriter((chunk) => chunks.push(chunk));
    for (let i = 0; i < CALLS_PER_CHUNK; i++) writer.add(5, 1, 2 * i + 1, Buffer.alloc(10), true);
    expect(chunks).toHaveLength(1);
    writer.add(2, 1, 0, Buffer.alloc(200_000, 7));
    expect(chunks).toHaveLength(2); // past the chunk size: sent at once
    expect(collect(chunks).map((r) => r[3].length)).toEqual([...Array(CALLS_PER_CHUNK).fill(10), 200_000]);
  });

  it('carry header fields octet for octet (latin1, as HPACK decodes them)', () => {
    const headers = new Map([
      [':path', '/etcdserverpb.KV/Put'],
      ['token', 'ab\u00ff\u00e9'],
      ['grpc-timeout', '5S'],
      ['empty', ''],
    ]);
    expect(decodeHeaders(encodeHeaders(headers))).toEqual(headers);
  });
});

describe('edge counters of the worker', () => {
  it('reach the main thread as deltas, and every change is noticed', () => {
    let changes = 0;
    const counted = new EdgeStats();
    const stats = markingChanges(counted, () => changes++);
    stats.connections.grpc++;
    stats.connections.undecided--;
    stats.connectionsClosed.protocol_decision_timeout += 2;
    stats.streams += 3;
    expect(changes).toBe(4);
    expect(stats.openConnections).toBe(0);

    const main = new EdgeStats();
    main.connections.http = 5;
    const first = statsDelta(counted, new EdgeStats())!;
    applyStatsDelta(main, first.changes);
    expect(main.connections).toEqual({ undecided: -1, grpc: 1, http: 5 });
    expect(main.connectionsClosed.protocol_decision_timeout).toBe(2);
    expect(main.streams).toBe(3);
    expect(statsDelta(counted, first.snapshot)).toBeUndefined();
    stats.streams--;
    const second = statsDelta(counted, first.snapshot)!;
    expect(second.changes).toEqual({ streams: -1 });
  });
});
