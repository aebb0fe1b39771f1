// The I/O worker thread (io-worker-listener.ts starts it): it owns the plaintext client listeners, decides each
// connection's protocol, frames the hot unary calls with the gRPC front, and passes the rest of every
// connection's bytes to the main thread (worker-connections.ts). Its edge counters reach the main thread's
// EdgeStats as deltas, in the same chunks as the records (so a connection's CLOSE and its count arrive together).
import { parentPort, workerData } from 'node:worker_threads';
import type { Duplex } from 'node:stream';
import { ClientListener } from '../client-listener';
import { EdgeStats } from '../edge-stats';
import { GrpcFrontSocket } from '../grpc-front/front-connection';
import type { IoWorkerSettings, MainMessage, WorkerMessage } from './worker-messages';
import { FromWorker } from './bridge-records';
import { WorkerConnections } from './worker-connections';
import { markingChanges, statsDelta } from './stats-delta';

const port = parentPort;
if (port === null) throw new Error('io-worker/worker-entry must run in a worker thread');
const settings = workerData as IoWorkerSettings;
const post = (message: WorkerMessage, transfer?: ArrayBuffer[]): void => port.postMessage(message, transfer);

let reported = new EdgeStats();
const counted = new EdgeStats();
const connections = new WorkerConnections(
  (chunk) => post({ records: chunk }, [chunk]),
  new Set(settings.frontPaths),
  settings.maxReceiveBytes,
  (out) => {
    const delta = statsDelta(counted, reported);
    if (delta === undefined) return;
    reported = delta.snapshot;
    out.addJson(FromWorker.STATS, 0, delta.changes);
  },
);
// Every change to a counter makes sure a chunk leaves this turn (with the delta in it).
const stats = markingChanges(counted, () => connections.out.poke());
const firstRequests = new Set([...settings.frontPaths, ...settings.alsoFirst]);
const log = {
  warn(fields: { err?: unknown; [key: string]: unknown }, message: string): void {
    const err =
      fields.err instanceof Error ? { message: fields.err.message, stack: fields.err.stack } : fields.err;
    post({ log: { level: 'warn', fields: { ...fields, err }, message } });
  },
};

const listeners: ClientListener[] = [];

function newListener(): ClientListener {
  return new ClientListener(
    {
      grpc: (socket, connection) =>
        connections.open(
          connection,
          socket,
          connection instanceof GrpcFrontSocket ? 'front' : 'grpc',
          connection instanceof GrpcFrontSocket ? connection : undefined,
        ),
      http: {
        emit: (_event: 'connection', socket: Duplex) => {
          connections.open(socket, socket, 'http');
          return true;
        },
      },
      normalizeAuthority: settings.normalizeAuthority,
      front:
        settings.frontPaths.length === 0
          ? undefined
          : {
              takes: (path) => path !== undefined && firstRequests.has(path),
              wrap: (socket) =>
                new GrpcFrontSocket(socket, {
                  calls: connections,
                  maxConcurrentStreams: settings.maxConcurrentStreams,
                  stats,
                }),
            },
      log,
    },
    { ...settings.limits, stats },
  );
}

port.on('message', (message: MainMessage) => {
  if ('records' in message) {
    connections.receive(message.records);
    return;
  }
  if ('listen' in message) {
    const listener = newListener();
    listener.listen(message.listen.host, message.listen.port).then(
      (address) => {
        listeners.push(listener);
        post({ listening: { id: message.listen.id, port: address.port } });
      },
      (err: Error) => post({ listening: { id: message.listen.id, error: err.message } }),
    );
    return;
  }
  if ('close' in message) {
    void Promise.all(listeners.map((l) => l.close())).then(() => {
      connections.out.flush();
      post({ closed: true });
    });
  }
});
