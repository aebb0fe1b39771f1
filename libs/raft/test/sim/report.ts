// Turns a failing seed into something a person can debug: replays it with tracing on, writes the full
// trace to a file and returns a message with the invariant, expected vs seen, and the last events.
import { writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describeScenario } from './scenario';
import { runSimulation, type SimulationResult } from './simulation';

/** How many of the last events the failure message shows. */
export const TRACE_TAIL = 300;

export interface FailureReport {
  /** Header, invariant, expected vs seen. */
  summary: string;
  /** The summary plus the last TRACE_TAIL events. */
  message: string;
  traceFile: string;
}

export function reportFailure(failed: SimulationResult): FailureReport {
  const replay = runSimulation(failed.seed, { trace: true });
  const violation = replay.violation ?? failed.violation;
  const deterministic =
    replay.violation?.message === failed.violation?.message && replay.tick === failed.tick;
  const traceFile = join(tmpdir(), `cairn-raft-sim-seed-${failed.seed}.log`);
  const header = [
    `Raft simulation failed: seed ${failed.seed} at tick ${failed.tick} (replay with RAFT_SEED=${failed.seed})`,
    describeScenario(failed.scenario),
    `invariant: ${violation?.invariant}`,
    `expected:  ${violation?.expected}`,
    `seen:      ${violation?.seen}`,
    deterministic ? '' : 'WARNING: the traced replay did not fail the same way: the run is not deterministic',
  ].join('\n');
  writeFileSync(traceFile, `${header}\n\nfull trace:\n${replay.trace.all().join('\n')}\n`);
  const message = [
    header,
    `last ${TRACE_TAIL} events (full trace: ${traceFile}):`,
    ...replay.trace.tail(TRACE_TAIL),
    `=> ${violation?.message}`,
  ].join('\n');
  return { summary: `${header}\nfull trace: ${traceFile}`, message, traceFile };
}
