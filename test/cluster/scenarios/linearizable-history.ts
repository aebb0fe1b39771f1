// Clients on every member put and get a few shared keys while the leader is killed and restarted; the
// recorded history (with puts of unknown outcome left open) must be linearizable as a key-value register
// (support/linearizability.ts). Gets are etcd's default linearizable reads.
import type { Etcd3 } from 'etcd3';
import { expect } from 'vitest';
import { killMember, restartMember, seededRandom, sleep, startCluster, type Member } from '../../support';
import {
  checkLinearizable,
  describeViolation,
  kvModel,
  type KvInput,
  type KvOutput,
  type Operation,
} from '../../support/linearizability';
import { ClusterView, memberClient } from '../harness/cluster-view';

export interface HistoryOptions {
  size: number;
  clientsPerMember: number;
  keys: number;
  /** Load before the first kill and after each recovery. */
  phaseMs: number;
  kills: number;
  seed: number;
  /** Give up checking after this (a 'timed-out' verdict fails the test). */
  checkTimeoutMs: number;
}

export interface HistoryReport {
  operations: number;
  puts: number;
  gets: number;
  /** Puts whose outcome is unknown (they failed or timed out after being sent). */
  unknownPuts: number;
  /** Calls dropped from the history because they never reached a server (connection refused). */
  neverSent: number;
  checkMs: number;
}

type Op = Operation<KvInput, KvOutput>;

/** A call that failed before reaching any server cannot have taken effect. */
function neverSent(error: unknown): boolean {
  const message = error instanceof Error ? error.message : String(error);
  return /ECONNREFUSED|No connection established/.test(message);
}

class HistoryClient {
  private stopping = false;
  private readonly loop: Promise<void>;
  private n = 0;

  constructor(
    readonly name: string,
    private readonly client: Etcd3,
    private readonly keys: number,
    private readonly random: () => number,
    private readonly history: Op[],
    private readonly counters: { neverSent: number },
  ) {
    this.loop = this.run();
  }

  private async run(): Promise<void> {
    while (!this.stopping) {
      const key = `lin/k${Math.floor(this.random() * this.keys)}`;
      const isPut = this.random() < 0.5;
      const invokedAt = performance.now();
      const deadline = { deadline: Date.now() + 1000 };
      try {
        if (isPut) {
          const value = `${this.name}-${this.n++}`;
          const op: Op = {
            client: this.name,
            input: { op: 'put', key, value },
            output: {},
            invokedAt,
            returnedAt: Infinity,
          };
          try {
            await this.client.put(key).value(value).options(deadline);
            op.returnedAt = performance.now();
            this.history.push(op);
          } catch (error) {
            if (neverSent(error)) this.counters.neverSent++;
            else this.history.push(op); // may or may not have taken effect
            throw error;
          }
        } else {
          const value = await this.client.get(key).options(deadline).string();
          this.history.push({
            client: this.name,
            input: { op: 'get', key },
            output: { value },
            invokedAt,
            returnedAt: performance.now(),
          });
        }
        await sleep(Math.floor(this.random() * 5));
      } catch {
        // A failed get tells nothing; back off so a dead member does not flood the history.
        await sleep(200);
      }
    }
  }

  async stop(): Promise<void> {
    this.stopping = true;
    await this.loop;
    this.client.close();
  }
}

export async function runLinearizableHistory(options: HistoryOptions): Promise<HistoryReport> {
  const members = await startCluster({ size: options.size });
  const view = new ClusterView([...members]);
  const history: Op[] = [];
  const counters = { neverSent: 0 };
  const random = seededRandom(options.seed);
  const clients: HistoryClient[] = [];
  try {
    members.forEach((member: Member) => {
      for (let c = 1; c <= options.clientsPerMember; c++) {
        const name = `${member.name}c${c}`;
        clients.push(
          new HistoryClient(
            name,
            memberClient(member),
            options.keys,
            seededRandom(options.seed + clients.length + 1),
            history,
            counters,
          ),
        );
      }
    });
    await sleep(options.phaseMs);
    for (let kill = 1; kill <= options.kills; kill++) {
      const { leader } = await view.waitForLeader();
      await sleep(Math.floor(random() * 300));
      await killMember(leader);
      await view.waitForLeader({
        among: members.filter((m) => m !== leader),
        not: leader,
        timeoutMs: 15_000,
      });
      await sleep(options.phaseMs / 2);
      await restartMember(leader);
      await sleep(options.phaseMs / 2);
    }
  } finally {
    await Promise.all(clients.map((c) => c.stop()));
    view.close();
  }

  const started = performance.now();
  const result = checkLinearizable(kvModel, history, options.checkTimeoutMs);
  const checkMs = performance.now() - started;
  const puts = history.filter((op) => op.input.op === 'put');
  const report: HistoryReport = {
    operations: history.length,
    puts: puts.length,
    gets: history.length - puts.length,
    unknownPuts: puts.filter((op) => !Number.isFinite(op.returnedAt)).length,
    neverSent: counters.neverSent,
    checkMs,
  };
  expect(report.gets, 'successful gets in the history').toBeGreaterThan(0);
  expect(
    result.verdict,
    `linearizability of ${history.length} operations (${JSON.stringify(report)})\n${describeViolation(kvModel, result)}`,
  ).toBe('linearizable');
  return report;
}
