// When a load phase ends: after a number of requests, or after a length of time.
export type StopCondition = { kind: 'total'; requests: number } | { kind: 'duration'; ms: number };

export function describeStop(stop: StopCondition): string {
  return stop.kind === 'total' ? `${stop.requests} requests` : `${stop.ms / 1000} s`;
}
