// What the core (main thread) and the simulated I/O thread of `bench handoff` tell each other.

export type HandoffMode = 'inline' | 'message' | 'batch' | 'ring';

export interface HandoffSetup {
  mode: Exclude<HandoffMode, 'inline'>;
  inflight: number;
  requestSize: number;
  ioWorkUs: number;
  /** Requests (and answers) handed over together at most; batch and ring modes. */
  chunk: number;
  /** Ring mode: requests, I/O thread → core. */
  toCore?: SharedArrayBuffer;
  /** Ring mode: answers, core → I/O thread. */
  toIo?: SharedArrayBuffer;
}

export interface IoThreadReport {
  kind: 'report';
  answered: number;
  cpuSeconds: number;
}
