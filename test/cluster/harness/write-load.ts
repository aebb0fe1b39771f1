// A steady write load: one sequential writer per endpoint, each putting <prefix><writer>/<seq> with its own
// etcd3 client and recording every acknowledged put with its revision and the times it was invoked and
// acknowledged (performance.now(), one clock for all writers). A put that fails is retried (same key, a new
// value naming the attempt) until acknowledged, so the acknowledged value is the last one written to its key
// by that writer unless an earlier attempt that failed still landed later; the checks in acks.ts read
// history for that case.
import { noop } from 'cockatiel';
import { Etcd3 } from 'etcd3';
import { sleep, waitFor, type Member } from '../../support';

export interface Ack {
  writer: string;
  endpoint: string;
  key: string;
  value: string;
  revision: bigint;
  invokedAt: number;
  ackedAt: number;
}

export interface WriteFailure {
  writer: string;
  key: string;
  at: number;
  error: string;
}

export interface WriterOptions {
  /** Pause after each acknowledged put (0 = as fast as the writer's round trips allow). */
  pauseMs?: number;
  /** Deadline of one put. */
  deadlineMs?: number;
  /** Pause after a failed put before the retry. */
  retryMs?: number;
}

export class Writer {
  private stopping = false;
  private readonly loop: Promise<void>;
  private readonly client: Etcd3;
  /** The next key's sequence number. */
  seq = 0;

  constructor(
    readonly name: string,
    readonly endpoint: string,
    private readonly prefix: string,
    private readonly sink: WriteLoad,
    private readonly options: Required<WriterOptions>,
  ) {
    this.client = new Etcd3({
      hosts: endpoint,
      dialTimeout: options.deadlineMs,
      faultHandling: { host: () => noop, global: noop },
      grpcOptions: { 'grpc.initial_reconnect_backoff_ms': 50, 'grpc.max_reconnect_backoff_ms': 250 },
    });
    this.loop = this.run();
  }

  keyOf(seq: number): string {
    return `${this.prefix}${this.name}/${String(seq).padStart(7, '0')}`;
  }

  private async run(): Promise<void> {
    for (; !this.stopping; this.seq++) {
      const key = this.keyOf(this.seq);
      let acked = false;
      for (let attempt = 0; !acked && !this.stopping; attempt++) {
        const value = `${this.name}:${this.seq}:a${attempt}`;
        const invokedAt = performance.now();
        try {
          const response = await this.client
            .put(key)
            .value(value)
            .options({ deadline: Date.now() + this.options.deadlineMs });
          acked = true;
          this.sink.recordAck({
            writer: this.name,
            endpoint: this.endpoint,
            key,
            value,
            revision: BigInt(response.header.revision),
            invokedAt,
            ackedAt: performance.now(),
          });
        } catch (error) {
          this.sink.recordFailure({
            writer: this.name,
            key,
            at: performance.now(),
            error: error instanceof Error ? error.message : String(error),
          });
          await sleep(this.options.retryMs);
        }
      }
      if (acked && this.options.pauseMs > 0) await sleep(this.options.pauseMs);
    }
  }

  /** Stops after the put in flight (bounded by its deadline) and closes the client. */
  async stop(): Promise<void> {
    this.stopping = true;
    await this.loop;
    this.client.close();
  }
}

export class WriteLoad {
  readonly acks: Ack[] = [];
  readonly failures: WriteFailure[] = [];
  private readonly writers = new Map<string, Writer>();
  private readonly options: Required<WriterOptions>;
  private generation = 0;

  constructor(
    readonly prefix: string,
    options: WriterOptions = {},
  ) {
    this.options = { pauseMs: 0, deadlineMs: 2000, retryMs: 50, ...options };
  }

  /** Starts a writer on the member's client URL (named after the member, plus a generation number). */
  add(member: Member): Writer {
    const name = `${member.name}-w${++this.generation}`;
    const writer = new Writer(name, member.clientUrl, this.prefix, this, this.options);
    this.writers.set(member.name, writer);
    return writer;
  }

  writerOf(member: Member): Writer | undefined {
    return this.writers.get(member.name);
  }

  /** Stops the member's writer (before the member leaves the cluster). */
  async remove(member: Member): Promise<void> {
    const writer = this.writers.get(member.name);
    this.writers.delete(member.name);
    await writer?.stop();
  }

  async stop(): Promise<void> {
    const writers = [...this.writers.values()];
    this.writers.clear();
    await Promise.all(writers.map((w) => w.stop()));
  }

  recordAck(ack: Ack): void {
    this.acks.push(ack);
  }

  recordFailure(failure: WriteFailure): void {
    this.failures.push(failure);
  }

  acksSince(time: number): Ack[] {
    return this.acks.filter((a) => a.invokedAt >= time);
  }

  maxRevision(): bigint {
    return this.acks.reduce((max, a) => (a.revision > max ? a.revision : max), 0n);
  }

  /** Waits until `count` more puts are acknowledged (by any writer, or by `writerName`'s if given). */
  async waitForAcks(count: number, what: string, options: { timeoutMs?: number; writer?: Writer } = {}) {
    const matches = () =>
      options.writer === undefined
        ? this.acks.length
        : this.acks.filter((a) => a.writer === options.writer!.name).length;
    const target = matches() + count;
    try {
      await waitFor(() => (matches() >= target ? true : undefined), {
        timeoutMs: options.timeoutMs ?? 15_000,
        what: `${count} acknowledged puts ${what}`,
      });
    } catch (error) {
      const recent = this.failures.slice(-5).map((f) => `${f.writer} ${f.key}: ${f.error}`);
      if (error instanceof Error) error.message += `\nlast write failures:\n${recent.join('\n')}`;
      throw error;
    }
  }
}
