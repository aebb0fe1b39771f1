// A closed loop: each of N clients sends a request, waits for its answer, and sends the next,
// so exactly N requests are in flight. Callbacks rather than async/await keep the client's own
// CPU per request low, which matters because it shares the cores with the server.

import { LatencyHistogram } from '../stats/latency-histogram';
import { ErrorTally } from './error-tally';
import type { StopCondition } from './stop-condition';

/** Sends request number `sequence` for a client and calls `done` when it is answered. */
export type IssueRequest = (
  clientIndex: number,
  sequence: number,
  done: (error: Error | null) => void,
) => void;

export interface LoopOutcome {
  latency: LatencyHistogram;
  completed: number;
  errors: ErrorTally;
  elapsedMs: number;
}

export interface ClosedLoopOptions {
  /**
   * Give up when no answer at all has come for this long: a hung server must not hang the
   * benchmark. The requests still out are counted as errors. No per-request deadline is set,
   * because a timer per request would cost the client CPU it is meant to save.
   */
  stallTimeoutMs?: number;
}

const DEFAULT_STALL_TIMEOUT_MS = 30_000;

export function runClosedLoop(
  clients: number,
  stop: StopCondition,
  issue: IssueRequest,
  options: ClosedLoopOptions = {},
): Promise<LoopOutcome> {
  const latency = new LatencyHistogram();
  const errors = new ErrorTally();
  const startedAt = performance.now();
  const deadline = stop.kind === 'duration' ? startedAt + stop.ms : Number.POSITIVE_INFINITY;
  const total = stop.kind === 'total' ? stop.requests : Number.POSITIVE_INFINITY;
  const stallTimeoutMs = options.stallTimeoutMs ?? DEFAULT_STALL_TIMEOUT_MS;
  let issued = 0;
  let completed = 0;
  let inFlight = 0;
  let running = clients;
  let lastAnswerAt = startedAt;
  let settled = false;

  return new Promise((resolve) => {
    const settle = (): void => {
      settled = true;
      clearInterval(watchdog);
      resolve({ latency, completed, errors, elapsedMs: lastAnswerAt - startedAt });
    };

    const watchdog = setInterval(
      () => {
        if (settled || performance.now() - lastAnswerAt < stallTimeoutMs) return;
        for (let i = 0; i < inFlight; i++) {
          errors.add(new Error(`no answer within ${stallTimeoutMs / 1000} s (the benchmark gave up)`));
        }
        settle();
      },
      Math.min(1000, stallTimeoutMs),
    );

    const next = (clientIndex: number): void => {
      if (issued >= total || performance.now() >= deadline) {
        if (--running === 0) settle();
        return;
      }
      const sequence = issued++;
      const sentAt = performance.now();
      inFlight++;
      issue(clientIndex, sequence, (error) => {
        if (settled) return; // answered after the watchdog gave up: already counted
        inFlight--;
        lastAnswerAt = performance.now();
        if (error) errors.add(error);
        else {
          latency.record(lastAnswerAt - sentAt);
          completed++;
        }
        next(clientIndex);
      });
    };

    if (clients <= 0) {
      settle();
      return;
    }
    for (let client = 0; client < clients; client++) next(client);
  });
}
