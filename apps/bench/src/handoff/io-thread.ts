// The simulated I/O thread of `bench handoff`: keeps `inflight` compact requests outstanding with the core
// (the main thread), spending `ioWorkUs` of CPU on each (what decoding it off a connection would cost), and
// counts the answers. Requests cross as the mode says: one message each, one packed message per turn, or a
// shared ring.
import { parentPort, workerData } from 'node:worker_threads';
import { packFrames, unpackFrames } from './frames';
import { RingConsumer, RingProducer } from './shared-ring';
import { spin, threadCpuSeconds } from './spin';
import type { HandoffSetup, IoThreadReport } from './protocol';

const setup = workerData as HandoffSetup;
const port = parentPort;
if (!port) throw new Error('io-thread.ts runs as a worker thread');

const request = new Uint8Array(setup.requestSize).fill(7);
let answered = 0;
let measuring = false;
let stopped = false;

/**
 * Decode (spin) `count` new requests, handing them over every `chunk`: a whole turn's worth in one message
 * would leave the core idle while this thread decodes and this one idle while the core applies.
 */
function sendNewRequests(count: number, send: (requests: Uint8Array[]) => void): void {
  let out: Uint8Array[] = [];
  for (let i = 0; i < count; i++) {
    spin(setup.ioWorkUs);
    out.push(request);
    if (out.length >= setup.chunk) {
      send(out);
      out = [];
    }
  }
  send(out);
}

function onAnswers(count: number, send: (requests: Uint8Array[]) => void): void {
  if (measuring) answered += count;
  if (!stopped) sendNewRequests(count, send);
}

let producer: RingProducer | undefined;
let consumer: RingConsumer | undefined;
const pending: Uint8Array[] = [];

function sendOverRing(requests: Uint8Array[]): void {
  pending.push(packFrames(requests));
  while (pending.length > 0 && producer!.publish(pending[0]!)) pending.shift();
  if (pending.length > 0) setImmediate(() => sendOverRing([]));
}

const send = (requests: Uint8Array[]): void => {
  if (requests.length === 0) return;
  if (setup.mode === 'message') for (const r of requests) port.postMessage(r);
  else if (setup.mode === 'batch') {
    const packed = packFrames(requests);
    port.postMessage(packed, [packed.buffer as ArrayBuffer]);
  } else sendOverRing(requests);
};

if (setup.mode === 'ring') {
  producer = new RingProducer(setup.toCore!);
  consumer = new RingConsumer(setup.toIo!);
  void consumer.consume((record) => onAnswers(unpackFrames(record).length, send));
}

port.on('message', (message: unknown) => {
  if (message instanceof Uint8Array) {
    onAnswers(setup.mode === 'message' ? 1 : unpackFrames(message).length, send);
    return;
  }
  const control = message as { kind: 'start' | 'measure' | 'stop' };
  if (control.kind === 'start') sendNewRequests(setup.inflight, send);
  else if (control.kind === 'measure') {
    measuring = true;
    answered = 0;
    port.postMessage({ kind: 'cpu', seconds: threadCpuSeconds() });
  } else {
    measuring = false;
    stopped = true;
    consumer?.stop();
    const report: IoThreadReport = { kind: 'report', answered, cpuSeconds: threadCpuSeconds() };
    port.postMessage(report);
  }
});
