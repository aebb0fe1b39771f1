// The steady write load of a failover round: open loop, `ratePerSecond` puts in all, sent round-robin
// to every member's endpoint whether or not earlier ones have been answered. Open loop matters here:
// a closed-loop client whose put is stuck on a dead leader (a forwarded proposal is lost and only times
// out after etcd's 7 s request timeout) or waiting out a retry back-off would measure its own waiting,
// not the cluster. With new puts leaving every few milliseconds, the first put that succeeds after a
// kill marks when the cluster can take writes again, to within one send interval.

import { randomBytes } from 'node:crypto';
import type { Connection } from '../grpc/transport';
import { Methods } from '../grpc/methods';
import { decodeResponseHeader, encodePutRequest } from '../proto/etcd-messages';

export interface WriteProbeOptions {
  ratePerSecond: number;
  valueSize: number;
  /** Key prefix; each put gets the next sequence number after it. */
  keyPrefix: string;
  /** Sending pauses while this many puts are unanswered (a dead member's puts can pile up). */
  maxInFlight: number;
}

export interface AckedPut {
  endpoint: string;
  invokedAt: number;
  ackedAt: number;
  revision: number;
}

const TICK_MS = 2;

export class WriteProbe {
  private readonly value: Buffer;
  private readonly timer: NodeJS.Timeout;
  private readonly startedAt = performance.now();
  private sent = 0;
  private inFlight = 0;
  private stopped = false;
  /** Called for every acknowledged put. */
  onAck?: (put: AckedPut) => void;
  acks = 0;
  failures = 0;
  skipped = 0;
  maxRevision = 0;
  readonly failureMessages = new Map<string, number>();

  constructor(
    private readonly connections: readonly Connection[],
    private readonly options: WriteProbeOptions,
  ) {
    if (connections.length === 0) throw new Error('no endpoints to write to');
    this.value = randomBytes(options.valueSize);
    this.timer = setInterval(() => this.sendDue(), TICK_MS);
  }

  /** Stops sending; puts still unanswered are left to the connections' fate (close them after). */
  stop(): void {
    this.stopped = true;
    clearInterval(this.timer);
  }

  private sendDue(): void {
    const due = Math.floor(((performance.now() - this.startedAt) * this.options.ratePerSecond) / 1000);
    while (this.sent < due && !this.stopped) {
      const connection = this.connections[this.sent % this.connections.length];
      this.sent++;
      if (this.inFlight >= this.options.maxInFlight) this.skipped++;
      else this.send(connection);
    }
  }

  private send(connection: Connection): void {
    const key = Buffer.from(`${this.options.keyPrefix}${this.sent}`);
    const invokedAt = performance.now();
    this.inFlight++;
    connection.unary(Methods.put, encodePutRequest(key, this.value), (error, response) => {
      this.inFlight--;
      if (error || !response) {
        this.failures++;
        const message = normalizeError(error);
        this.failureMessages.set(message, (this.failureMessages.get(message) ?? 0) + 1);
        return;
      }
      const ackedAt = performance.now();
      const revision = decodeResponseHeader(response).revision;
      this.acks++;
      if (revision > this.maxRevision) this.maxRevision = revision;
      this.onAck?.({ endpoint: connection.endpoint, invokedAt, ackedAt, revision });
    });
  }
}

/** Error text without the parts that differ per call (ports, stream ids), so that tallies group. */
function normalizeError(error: Error | null): string {
  const text = error?.message ?? 'empty answer';
  return text.replace(/127\.0\.0\.1:\d+/g, '<endpoint>').replace(/\d{3,}/g, 'N');
}
