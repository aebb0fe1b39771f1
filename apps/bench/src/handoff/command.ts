// `bench handoff`: what it costs to hand compact requests from an I/O thread to the core thread and back, the
// question behind Cairn's multi-core design (docs/architecture.md, "Using more than one core"). A worker
// thread plays the client-facing I/O thread (spending --io-work-us per request, as decoding would), the main
// thread plays the Raft/apply core (--core-work-us per request); `inline` does both on one thread, as Cairn does
// today. Reported per mode and requests in flight: requests/s, CPU µs per request on each thread.
import { Worker } from 'node:worker_threads';
import { join } from 'node:path';
import type { Command } from '../cli/command';
import { flag, parseFlags, UsageError } from '../cli/flags';
import { packFrames, unpackFrames } from './frames';
import type { HandoffMode, HandoffSetup, IoThreadReport } from './protocol';
import { createRingBuffer, RingConsumer, RingProducer } from './shared-ring';
import { spin, threadCpuSeconds } from './spin';

const MODES: readonly HandoffMode[] = ['inline', 'message', 'batch', 'ring'];

const flags = {
  mode: flag.list(
    'inline (one thread), message (one postMessage each), batch (one per turn), ring (SharedArrayBuffer)',
    [...MODES],
    'M,..',
  ),
  inflight: flag.list('requests in flight (closed loop)', ['1', '64', '256'], 'N,..'),
  'request-size': flag.int('bytes per compact request', 300),
  'response-size': flag.int('bytes per answer', 40),
  'io-work-us': flag.int('CPU µs the I/O side spends per request', 0, 0),
  'core-work-us': flag.int('CPU µs the core spends per request', 0, 0),
  chunk: flag.int('batch/ring: requests and answers handed over together at most', 16),
  duration: flag.duration('measured time per run', 3000),
  warmup: flag.duration('unmeasured time before each run', 500),
  json: flag.bool('print the results as JSON'),
};

interface HandoffResult {
  mode: HandoffMode;
  inflight: number;
  requestsPerSecond: number;
  coreCpuUsPerRequest: number;
  ioCpuUsPerRequest: number;
}

export const handoffCommand: Command = {
  name: 'handoff',
  summary: 'cost of handing requests between an I/O thread and the core thread (multi-core design)',
  flags,
  async run(argv, out) {
    const parsed = parseFlags(argv, flags);
    const modes = parsed.mode.map((m) => {
      if (!MODES.includes(m as HandoffMode)) throw new UsageError(`--mode: unknown mode "${m}"`);
      return m as HandoffMode;
    });
    const results: HandoffResult[] = [];
    for (const inflight of parsed.inflight.map(Number)) {
      for (const mode of modes) {
        const options = {
          inflight,
          requestSize: parsed['request-size'],
          answer: new Uint8Array(parsed['response-size']).fill(9),
          ioWorkUs: parsed['io-work-us'],
          coreWorkUs: parsed['core-work-us'],
          chunk: parsed.chunk,
          durationMs: parsed.duration,
          warmupMs: parsed.warmup,
        };
        results.push(mode === 'inline' ? await runInline(options) : await runSplit(mode, options));
      }
    }
    if (parsed.json) {
      out(JSON.stringify(results, null, 2));
      return;
    }
    out(
      `io work ${parsed['io-work-us']} µs, core work ${parsed['core-work-us']} µs per request; handed over ${parsed.chunk} at a time; ${parsed['request-size']} B requests, ${parsed['response-size']} B answers`,
    );
    out('');
    out('| mode | in flight | requests/s | core thread µs/req | I/O thread µs/req | × inline |');
    out('|---|--:|--:|--:|--:|--:|');
    for (const r of results) {
      const inline = results.find((x) => x.mode === 'inline' && x.inflight === r.inflight);
      const ratio = inline ? (r.requestsPerSecond / inline.requestsPerSecond).toFixed(2) : '–';
      out(
        `| ${r.mode} | ${r.inflight} | ${Math.round(r.requestsPerSecond).toLocaleString('en-US')} | ${r.coreCpuUsPerRequest.toFixed(1)} | ${r.mode === 'inline' ? '–' : r.ioCpuUsPerRequest.toFixed(1)} | ${ratio} |`,
      );
    }
  },
};

interface RunOptions {
  inflight: number;
  requestSize: number;
  answer: Uint8Array;
  ioWorkUs: number;
  coreWorkUs: number;
  chunk: number;
  durationMs: number;
  warmupMs: number;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Today's shape: the same thread decodes and applies, one event-loop turn per batch of `inflight`. */
async function runInline(o: RunOptions): Promise<HandoffResult> {
  let measuring = false;
  let stopped = false;
  let answered = 0;
  const request = new Uint8Array(o.requestSize).fill(7);
  const turn = (): void => {
    if (stopped) return;
    for (let i = 0; i < o.inflight; i++) {
      spin(o.ioWorkUs);
      request.slice(); // one copy of the request, as the split modes' hand-off makes at least
      spin(o.coreWorkUs);
    }
    if (measuring) answered += o.inflight;
    setImmediate(turn);
  };
  turn();
  await sleep(o.warmupMs);
  measuring = true;
  const cpu0 = threadCpuSeconds();
  await sleep(o.durationMs);
  measuring = false;
  stopped = true;
  const cpu = threadCpuSeconds() - cpu0;
  return {
    mode: 'inline',
    inflight: o.inflight,
    requestsPerSecond: answered / (o.durationMs / 1000),
    coreCpuUsPerRequest: (cpu * 1e6) / Math.max(answered, 1),
    ioCpuUsPerRequest: 0,
  };
}

/** The core on this thread, the I/O side in a worker; requests and answers cross as `mode` says. */
async function runSplit(mode: HandoffSetup['mode'], o: RunOptions): Promise<HandoffResult> {
  const setup: HandoffSetup = {
    mode,
    inflight: o.inflight,
    requestSize: o.requestSize,
    ioWorkUs: o.ioWorkUs,
    chunk: o.chunk,
  };
  // Room for every request and answer in flight several times over, so a producer never waits on a full ring.
  const ringBytes = Math.max(1 << 20, 8 * o.inflight * (o.requestSize + 64));
  if (mode === 'ring') {
    setup.toCore = createRingBuffer(ringBytes);
    setup.toIo = createRingBuffer(ringBytes);
  }
  const worker = new Worker(join(__dirname, 'io-thread.js'), { workerData: setup });
  const answerAll = (requests: Uint8Array[]): Uint8Array[] =>
    requests.map(() => {
      spin(o.coreWorkUs);
      return o.answer;
    });

  let ring: { consumer: RingConsumer; producer: RingProducer } | undefined;
  if (mode === 'ring') {
    ring = { consumer: new RingConsumer(setup.toCore!), producer: new RingProducer(setup.toIo!) };
    const producer = ring.producer;
    void ring.consumer.consume((record) => {
      if (!producer.publish(packFrames(answerAll(unpackFrames(record))))) throw new Error('answer ring full');
    });
  }

  let ioCpuAtStart = 0;
  const report = new Promise<IoThreadReport>((resolve, reject) => {
    worker.on('error', reject);
    worker.on('message', (message: unknown) => {
      if (message instanceof Uint8Array) {
        if (mode === 'message') {
          worker.postMessage(answerAll([message])[0]);
        } else {
          const packed = packFrames(answerAll(unpackFrames(message)));
          worker.postMessage(packed, [packed.buffer as ArrayBuffer]);
        }
        return;
      }
      const control = message as { kind: string; seconds?: number };
      if (control.kind === 'cpu') ioCpuAtStart = control.seconds ?? 0;
      else if (control.kind === 'report') resolve(message as IoThreadReport);
    });
  });
  try {
    worker.postMessage({ kind: 'start' });
    await sleep(o.warmupMs);
    worker.postMessage({ kind: 'measure' });
    const cpu0 = threadCpuSeconds();
    await sleep(o.durationMs);
    worker.postMessage({ kind: 'stop' });
    const cpu = threadCpuSeconds() - cpu0;
    const final = await report;
    const answered = Math.max(final.answered, 1);
    return {
      mode,
      inflight: o.inflight,
      requestsPerSecond: final.answered / (o.durationMs / 1000),
      coreCpuUsPerRequest: (cpu * 1e6) / answered,
      ioCpuUsPerRequest: ((final.cpuSeconds - ioCpuAtStart) * 1e6) / answered,
    };
  } finally {
    ring?.consumer.stop();
    await worker.terminate();
  }
}
