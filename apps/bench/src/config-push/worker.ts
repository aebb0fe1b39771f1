// A child process of `bench config-push`: N config subscribers (cairn.config.v1.Config/Watch, one gRPC
// connection each), spread over the endpoints. Each applies an event (parses its JSON) and notes the
// monotonic time (process.hrtime, CLOCK_MONOTONIC: comparable across processes on one machine). For each
// version the parent asks about, it answers when all its subscribers applied it, with their times.
//
// Subscribers connect `connectConcurrency` at a time (each opens the next once its first event arrived).
// One process opening thousands of connections at once is not a client fleet: on the 2-core machine its event
// loop then took longer than the member's protocol decision timeout (5 s) to send many connections' HTTP/2
// preface after their TCP connect, and the member rightly closed them (`14 UNAVAILABLE: ... read ECONNRESET`).
import * as grpc from '@grpc/grpc-js';
import { type ConfigWatchEvent__Output, loadEtcdServices } from '@cairn/api';

interface Start {
  type: 'start';
  endpoints: string[];
  count: number;
  connectConcurrency: number;
  idPrefix: string;
  namespace: string;
  app: string;
}
interface Await {
  type: 'await';
  version: number;
}
type ParentMessage = Start | Await;

const applied = new Map<number, bigint[]>();
const waiting = new Set<number>();
let count = 0;
const clients: grpc.Client[] = [];

function send(message: object): void {
  // After the parent is gone (it failed, or finished), there is no one to tell.
  if (process.connected) process.send?.(message);
}

function check(version: number): void {
  const times = applied.get(version) ?? [];
  if (!waiting.has(version) || times.length < count) return;
  waiting.delete(version);
  send({ type: 'applied', version, times: times.map((t) => t.toString()) });
  applied.delete(version);
}

function start(msg: Start): void {
  count = msg.count;
  const Config = loadEtcdServices().cairn.config.v1.Config;
  let ready = 0;
  let opened = 0;
  const openNext = (): void => {
    if (opened >= msg.count) return;
    const i = opened++;
    const endpoint = msg.endpoints[i % msg.endpoints.length];
    const client = new Config(endpoint, grpc.credentials.createInsecure(), {
      'grpc.use_local_subchannel_pool': 1,
    });
    clients.push(client);
    const call = client.Watch({
      namespace: msg.namespace,
      app: msg.app,
      subscriber_id: `${msg.idPrefix}-${i}`,
    });
    let first = true;
    call.on('data', (event: ConfigWatchEvent__Output) => {
      const now = process.hrtime.bigint();
      for (const item of event.items) {
        JSON.parse(item.json); // apply
        if (first) continue;
        const version = Number(item.version);
        const list = applied.get(version) ?? [];
        list.push(now);
        applied.set(version, list);
        check(version);
      }
      if (first) {
        first = false;
        if (++ready === msg.count) send({ type: 'ready' });
        openNext();
      }
    });
    call.on('error', (err: Error) => {
      if ((err as { code?: number }).code !== grpc.status.CANCELLED)
        send({ type: 'error', message: `subscriber ${i}: ${err.message}` });
    });
  };
  for (let k = 0; k < Math.min(msg.connectConcurrency, msg.count); k++) openNext();
}

process.on('message', (msg: ParentMessage) => {
  if (msg.type === 'start') start(msg);
  else {
    waiting.add(msg.version);
    check(msg.version);
  }
});
process.on('disconnect', () => {
  for (const c of clients) c.close();
  process.exit(0);
});
