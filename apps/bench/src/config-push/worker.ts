// A child process of `bench config-push`: N config subscribers (cairn.config.v1.Config/Watch streams),
// `perConnection` of them on one gRPC connection (as an SDK process shares one), connections spread over
// the endpoints. Each applies an event (parses its JSON) and notes the
// monotonic time (process.hrtime, CLOCK_MONOTONIC: comparable across processes on one machine). For each
// version the parent asks about, it answers when all its subscribers applied it, with their times.
//
// Subscribers connect `connectConcurrency` at a time (each opens the next once its first event arrived).
// One process opening thousands of connections at once is not a client fleet: on the 2-core machine its event
// loop then took longer than the member's protocol decision timeout (5 s) to send many connections' HTTP/2
// preface after their TCP connect, and the member rightly closed them (`14 UNAVAILABLE: ... read ECONNRESET`).
import * as grpc from '@grpc/grpc-js';
import { type ConfigWatchEvent__Output, loadEtcdServices } from '@cairn/api';
import { RawConnection } from './raw-watch';

interface Start {
  type: 'start';
  endpoints: string[];
  count: number;
  connectConcurrency: number;
  perConnection: number;
  /** grpc-js (as the SDK) or plain node:http2 (cheaper per message: raw-watch.ts). */
  client: 'grpc-js' | 'http2';
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
type ConfigClient = InstanceType<ReturnType<typeof loadEtcdServices>['cairn']['config']['v1']['Config']>;
const clients: ConfigClient[] = [];
const raws: RawConnection[] = [];

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
    const connection = Math.floor(i / msg.perConnection);
    const endpoint = msg.endpoints[connection % msg.endpoints.length];
    const request = { namespace: msg.namespace, app: msg.app, subscriber_id: `${msg.idPrefix}-${i}` };
    let first = true;
    const onEvent = (event: ConfigWatchEvent__Output): void => {
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
    };
    const onError = (err: Error): void => {
      if ((err as { code?: number }).code !== grpc.status.CANCELLED)
        send({ type: 'error', message: `subscriber ${i}: ${err.message}` });
    };
    if (msg.client === 'http2') {
      raws[connection] ??= new RawConnection(endpoint, onError);
      raws[connection].watch(request, onEvent, onError);
      return;
    }
    let client = clients[connection];
    if (!client) {
      // A subchannel of its own: one TCP connection per client, never shared with the next one.
      client = new Config(endpoint, grpc.credentials.createInsecure(), {
        'grpc.use_local_subchannel_pool': 1,
      });
      clients[connection] = client;
    }
    const call = client.Watch(request);
    call.on('data', onEvent);
    call.on('error', onError);
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
  for (const r of raws) r.close();
  process.exit(0);
});
