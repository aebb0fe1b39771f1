// Lease keep-alive workload: grant N leases, then keep each one alive in a closed loop (one
// keep-alive in flight per lease) over S keep-alive streams; report keep-alives per second.
// The leases are revoked afterwards.

import type { ConnectionPool } from '../grpc/connection-pool';
import type { BidiStream } from '../grpc/transport';
import { Methods } from '../grpc/methods';
import { runClosedLoop } from '../load/closed-loop';
import { ErrorTally } from '../load/error-tally';
import type { StopCondition } from '../load/stop-condition';
import {
  decodeLeaseResponse,
  encodeLeaseGrantRequest,
  encodeLeaseKeepAliveRequest,
  encodeLeaseRevokeRequest,
} from '../proto/etcd-messages';
import type { RunResult } from '../report/run-result';
import { LatencyHistogram } from '../stats/latency-histogram';
import { measureCpu } from './measure';

export interface LeaseKeepAliveOptions {
  leases: number;
  streams: number;
  ttlSeconds: number;
  stop: StopCondition;
  serverPids: readonly number[];
}

const SETUP_CLIENTS = 64;
/** Give up when no keep-alive has been answered for this long (a hung server must not hang us). */
const STALL_TIMEOUT_MS = 10_000;

export async function runLeaseKeepAliveWorkload(
  pool: ConnectionPool,
  options: LeaseKeepAliveOptions,
): Promise<RunResult> {
  const leaseIds = await grantLeases(pool, options.leases, options.ttlSeconds);
  try {
    const measured = await measureCpu(options.serverPids, () => keepAlive(pool, leaseIds, options));
    const { latency, completed, errors, elapsedMs } = measured.value;
    return {
      workload: `lease keep-alive, ${options.leases} leases on ${options.streams} streams`,
      requests: completed,
      errors: errors.count,
      errorMessages: errors.summary(),
      elapsedMs,
      throughput: elapsedMs > 0 ? (completed * 1000) / elapsedMs : 0,
      latency: {
        p50: latency.percentile(50),
        p90: latency.percentile(90),
        p99: latency.percentile(99),
        max: latency.max,
        mean: latency.mean,
      },
      clientCpu: measured.clientCpu,
      serverCpu: measured.serverCpu,
      details: { 'latency is': 'keep-alive sent → answer received' },
    };
  } finally {
    await revokeLeases(pool, leaseIds);
  }
}

async function grantLeases(pool: ConnectionPool, count: number, ttlSeconds: number): Promise<bigint[]> {
  const ids: bigint[] = [];
  const request = encodeLeaseGrantRequest(ttlSeconds);
  const outcome = await runClosedLoop(
    Math.min(SETUP_CLIENTS, count),
    { kind: 'total', requests: count },
    (clientIndex, _sequence, done) =>
      pool.forClient(clientIndex).unary(Methods.leaseGrant, request, (error, response) => {
        if (error || !response) return done(error ?? new Error('empty LeaseGrant response'));
        const lease = decodeLeaseResponse(response);
        if (lease.error) return done(new Error(`LeaseGrant: ${lease.error}`));
        ids.push(lease.id);
        done(null);
      }),
  );
  if (outcome.errors.count > 0)
    throw new Error(`granting leases failed: ${outcome.errors.summary().join('; ')}`);
  return ids;
}

async function revokeLeases(pool: ConnectionPool, ids: readonly bigint[]): Promise<void> {
  // Best effort: leases that are not revoked expire after their TTL anyway.
  await runClosedLoop(
    Math.min(SETUP_CLIENTS, ids.length),
    { kind: 'total', requests: ids.length },
    (clientIndex, sequence, done) =>
      pool.forClient(clientIndex).unary(Methods.leaseRevoke, encodeLeaseRevokeRequest(ids[sequence]), done),
  );
}

interface KeepAliveOutcome {
  latency: LatencyHistogram;
  completed: number;
  errors: ErrorTally;
  elapsedMs: number;
}

function keepAlive(
  pool: ConnectionPool,
  leaseIds: readonly bigint[],
  options: LeaseKeepAliveOptions,
): Promise<KeepAliveOutcome> {
  const latency = new LatencyHistogram();
  const errors = new ErrorTally();
  const startedAt = performance.now();
  const deadline = options.stop.kind === 'duration' ? startedAt + options.stop.ms : Number.POSITIVE_INFINITY;
  const total = options.stop.kind === 'total' ? options.stop.requests : Number.POSITIVE_INFINITY;
  const requests = new Map(leaseIds.map((id) => [id, encodeLeaseKeepAliveRequest(id)]));
  const sentAt = new Map<bigint, number>();
  let issued = 0;
  let completed = 0;
  let lastAnswerAt = startedAt;
  const streams: BidiStream[] = [];

  return new Promise<KeepAliveOutcome>((resolve) => {
    let finished = false;
    const finish = (): void => {
      if (finished) return;
      finished = true;
      clearInterval(watchdog);
      for (const stream of streams) stream.cancel();
      resolve({ latency, completed, errors, elapsedMs: lastAnswerAt - startedAt });
    };
    const stopping = (): boolean => issued >= total || performance.now() >= deadline;
    const send = (stream: BidiStream, id: bigint): void => {
      issued++;
      sentAt.set(id, performance.now());
      stream.write(requests.get(id) ?? encodeLeaseKeepAliveRequest(id));
    };
    const settleIfDone = (): void => {
      if (sentAt.size > 0) return;
      finish();
    };
    const watchdog = setInterval(() => {
      if (performance.now() - lastAnswerAt < STALL_TIMEOUT_MS) return;
      for (let i = 0; i < sentAt.size; i++) {
        errors.add(
          new Error(`keep-alive unanswered for ${STALL_TIMEOUT_MS / 1000} s (the benchmark gave up)`),
        );
      }
      finish();
    }, 1000);

    for (let s = 0; s < options.streams; s++) {
      const stream = pool.forClient(s).bidi(Methods.leaseKeepAlive);
      streams.push(stream);
      stream.on('data', (response: Buffer) => {
        const now = performance.now();
        const answer = decodeLeaseResponse(response);
        const sent = sentAt.get(answer.id);
        if (sent === undefined) return; // an answer we did not ask for
        sentAt.delete(answer.id);
        lastAnswerAt = now;
        if (answer.ttl <= 0) errors.add(new Error('lease expired or not found (TTL <= 0)'));
        else {
          latency.record(now - sent);
          completed++;
        }
        if (stopping() || answer.ttl <= 0) settleIfDone();
        else send(stream, answer.id);
      });
      stream.on('error', (error: Error) => {
        if (finished) return;
        errors.add(error);
        finish();
      });
    }
    if (leaseIds.length === 0) {
      finish();
      return;
    }
    leaseIds.forEach((id, i) => send(streams[i % streams.length], id));
  });
}
