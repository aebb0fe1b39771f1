// Watch workload: W watchers on one prefix (spread over S streams), then M puts of distinct keys
// under it. Measures put→event latency for every (watcher, event) pair, checks that every
// watcher got every event, and how long delivering all of them took. With one connection (--conns 1) the
// puts share it with the watch streams, so their answers queue behind events the client has not read yet;
// with more, the watch streams use the first and the puts the others (writers apart from watchers).

import { randomBytes } from 'node:crypto';
import type { ConnectionPool } from '../grpc/connection-pool';
import type { BidiStream } from '../grpc/transport';
import { Methods } from '../grpc/methods';
import { runClosedLoop } from '../load/closed-loop';
import { indexOfKey, KeyGenerator } from '../load/key-generator';
import { prefixEnd } from '@cairn/api';
import { decodeWatchResponse, encodePutRequest, encodeWatchCreateRequest } from '../proto/etcd-messages';
import { formatMs, formatRate } from '../report/format-run';
import type { RunResult } from '../report/run-result';
import { LatencyHistogram } from '../stats/latency-histogram';
import { measureCpu } from './measure';

export interface WatchWorkloadOptions {
  watchers: number;
  streams: number;
  puts: number;
  putClients: number;
  valueSize: number;
  /** How long to wait for the last events once all puts are acknowledged. */
  deliveryTimeoutMs: number;
  serverPids: readonly number[];
}

interface WatchStream {
  stream: BidiStream;
  closing: boolean;
}

export async function runWatchWorkload(
  pool: ConnectionPool,
  options: WatchWorkloadOptions,
): Promise<RunResult> {
  const prefix = `bench-watch/${randomBytes(4).toString('hex')}/`;
  const keys = new KeyGenerator({
    prefix,
    keySize: prefix.length + String(Math.max(0, options.puts - 1)).length,
    keySpace: options.puts,
    sequential: true,
  });
  const expectedEvents = options.watchers * options.puts;
  const sentAt = new Float64Array(options.puts);
  const eventLatency = new LatencyHistogram();
  let delivered = 0;
  let unexpected = 0;
  let lastEventAt = 0;
  let createdWatchers = 0;
  const streamErrors: string[] = [];

  let onAllCreated: () => void = () => undefined;
  let onCreateFailed: (error: Error) => void = () => undefined;
  let onAllDelivered: () => void = () => undefined;
  const allCreated = new Promise<void>((resolve, reject) => {
    onAllCreated = resolve;
    onCreateFailed = reject;
  });
  // Marked handled here so that a failure nobody is waiting for any more cannot crash the process;
  // the waits below still see the rejection.
  allCreated.catch(() => undefined);
  const allDelivered = new Promise<void>((resolve) => (onAllDelivered = resolve));
  // A broken stream ends both waits: nothing more will arrive on it.
  const onFailure = (error: Error): void => {
    streamErrors.push(error.message);
    onCreateFailed(error);
    onAllDelivered();
  };

  const handleResponse = (response: Buffer): void => {
    const now = performance.now();
    const summary = decodeWatchResponse(response);
    if (summary.canceled) {
      onFailure(new Error(`watch canceled by the server: ${summary.cancelReason || 'no reason given'}`));
      return;
    }
    if (summary.created) {
      createdWatchers++;
      if (createdWatchers === options.watchers) onAllCreated();
    }
    for (const key of summary.eventKeys) {
      const index = indexOfKey(key, prefix.length);
      if (index < 0 || index >= options.puts || sentAt[index] === 0) {
        unexpected++;
        continue;
      }
      eventLatency.record(now - sentAt[index]);
      delivered++;
      lastEventAt = now;
    }
    if (delivered >= expectedEvents) onAllDelivered();
  };
  if (expectedEvents === 0) onAllDelivered();

  const shared = pool.connections.length === 1;
  const putConnection = (client: number) =>
    shared ? pool.forClient(client) : pool.connections[1 + (client % (pool.connections.length - 1))];
  const streams: WatchStream[] = Array.from({ length: options.streams }, (_, i) => {
    const connection = shared ? pool.forClient(i) : pool.connections[0];
    const watchStream: WatchStream = { stream: connection.bidi(Methods.watch), closing: false };
    watchStream.stream.on('data', handleResponse);
    watchStream.stream.on('error', (error: Error) => {
      if (!watchStream.closing) onFailure(error);
    });
    return watchStream;
  });

  try {
    const createRequest = encodeWatchCreateRequest({
      key: Buffer.from(prefix),
      rangeEnd: prefixEnd(prefix),
    });
    for (let watcher = 0; watcher < options.watchers; watcher++) {
      streams[watcher % streams.length].stream.write(createRequest);
    }
    // No watchers: the same puts alone, the baseline the put rate under fan-out is compared with.
    if (options.watchers === 0) onAllCreated();
    await withTimeout(
      allCreated,
      30_000,
      `only ${createdWatchers}/${options.watchers} watchers were created`,
    );

    const value = randomBytes(options.valueSize);
    const measured = await measureCpu(options.serverPids, async () => {
      const firstPutAt = performance.now();
      const puts = await runClosedLoop(
        options.putClients,
        { kind: 'total', requests: options.puts },
        (clientIndex, sequence, done) => {
          sentAt[sequence] = performance.now();
          putConnection(clientIndex).unary(Methods.put, encodePutRequest(keys.keyAt(sequence), value), done);
        },
      );
      const putsAckedAt = performance.now();
      const expectedNow = options.watchers * puts.completed;
      if (delivered < expectedNow) {
        await withTimeout(allDelivered, options.deliveryTimeoutMs, '').catch(() => undefined);
      }
      return { puts, firstPutAt, putsAckedAt, windowClosedAt: performance.now() };
    });

    const { puts, firstPutAt, putsAckedAt, windowClosedAt } = measured.value;
    const deliveryMs = (lastEventAt || putsAckedAt) - firstPutAt;
    const missing = options.watchers * puts.completed - delivered;
    return {
      workload: `watch, ${options.watchers} watchers on ${options.streams} streams, ${options.puts} puts by ${options.putClients} clients`,
      requests: delivered,
      errors: puts.errors.count + Math.max(0, missing) + unexpected,
      errorMessages: [
        ...puts.errors.summary(),
        // When the last event came tells a slow fan-out (events until the window closed) from a stopped one.
        ...(missing > 0
          ? [
              `${missing} events never arrived (the last event came ${((windowClosedAt - (lastEventAt || putsAckedAt)) / 1000).toFixed(2)} s before the window closed)`,
            ]
          : []),
        ...(unexpected > 0 ? [`${unexpected} events for keys that were not put`] : []),
        ...streamErrors,
      ],
      elapsedMs: deliveryMs,
      throughput: deliveryMs > 0 ? (delivered * 1000) / deliveryMs : 0,
      latency: {
        p50: eventLatency.percentile(50),
        p90: eventLatency.percentile(90),
        p99: eventLatency.percentile(99),
        max: eventLatency.max,
        mean: eventLatency.mean,
      },
      clientCpu: measured.clientCpu,
      serverCpu: measured.serverCpu,
      details: {
        events: `${delivered}/${expectedEvents} delivered in ${(deliveryMs / 1000).toFixed(2)} s after the first put`,
        puts: `${puts.completed} ok, ${puts.errors.count} errors, ${formatRate((puts.completed * 1000) / puts.elapsedMs)} puts/s, p50 ${formatMs(puts.latency.percentile(50))} ms, p99 ${formatMs(puts.latency.percentile(99))} ms`,
        ...(measured.serverCpu
          ? {
              'server CPU': `${measured.serverCpu.cpuMs.toFixed(0)} ms: ${
                delivered > 0
                  ? `${((measured.serverCpu.cpuMs * 1000) / delivered).toFixed(2)} µs per event`
                  : `${((measured.serverCpu.cpuMs * 1000) / Math.max(1, puts.completed)).toFixed(0)} µs per put`
              } (the puts' own included)`,
            }
          : {}),
        'latency is': 'put sent → event received, per watcher',
      },
    };
  } finally {
    for (const watchStream of streams) {
      watchStream.closing = true;
      watchStream.stream.cancel();
    }
  }
}

function withTimeout<T>(promise: Promise<T>, ms: number, message: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(message || `timed out after ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}
