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

export function runClosedLoop(
  clients: number,
  stop: StopCondition,
  issue: IssueRequest,
): Promise<LoopOutcome> {
  const latency = new LatencyHistogram();
  const errors = new ErrorTally();
  const startedAt = performance.now();
  const deadline = stop.kind === 'duration' ? startedAt + stop.ms : Number.POSITIVE_INFINITY;
  const total = stop.kind === 'total' ? stop.requests : Number.POSITIVE_INFINITY;
  let issued = 0;
  let completed = 0;
  let running = clients;
  let lastAnswerAt = startedAt;

  return new Promise((resolve) => {
    const finishClient = (): void => {
      running--;
      if (running === 0) {
        resolve({ latency, completed, errors, elapsedMs: lastAnswerAt - startedAt });
      }
    };

    const next = (clientIndex: number): void => {
      if (issued >= total || performance.now() >= deadline) {
        finishClient();
        return;
      }
      const sequence = issued++;
      const sentAt = performance.now();
      issue(clientIndex, sequence, (error) => {
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
      resolve({ latency, completed, errors, elapsedMs: 0 });
      return;
    }
    for (let client = 0; client < clients; client++) next(client);
  });
}
