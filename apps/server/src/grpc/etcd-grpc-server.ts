// The gRPC server of the client URL: etcd's KV, Watch, Lease, Cluster and Maintenance services plus the
// standard health service, all over one CairnNode.
import * as grpc from '@grpc/grpc-js';
import { type WatchRequest__Output, etcdError, loadEtcdServices, toGrpcStatus } from '@cairn/api';
import type { CairnNode } from '@cairn/server';
import type { EtcdApis, EtcdPort } from '@cairn/server';
import { WatchSession, toEtcdError } from '@cairn/server';
import type { CairnMetrics } from '../metrics';
import { type FastUnaryMethod, fastUnaryRoute, routeGrpcStreams } from '@cairn/edge';
import { type RpcContext, codeName, requiresLeader, trackStream, unary } from './handlers';

const GRPC_OVERHEAD_BYTES = 512 * 1024;

export function createEtcdGrpcServer(
  node: CairnNode,
  apis: EtcdApis,
  /** The member's EtcdPort: the Watch service's watchers are port watches. */
  port: EtcdPort,
  metrics: CairnMetrics,
  maxRequestBytes: number,
): grpc.Server {
  const server = new grpc.Server({
    'grpc.max_receive_message_length': maxRequestBytes + GRPC_OVERHEAD_BYTES,
    'grpc.max_send_message_length': 2 ** 31 - 1,
    'grpc.keepalive_permit_without_calls': 1,
    'grpc.http2.min_ping_interval_without_data_ms': 5000,
    // channelz keeps per-call statistics nobody here reads; it costs CPU on every request.
    'grpc.enable_channelz': 0,
  });
  const pkg = loadEtcdServices();
  const { kv, lease, maintenance } = apis;
  const ctx = (service: string): RpcContext => ({ node, metrics, service });
  const kvCtx = ctx('etcdserverpb.KV');
  const leaseCtx = ctx('etcdserverpb.Lease');
  const watchCtx = ctx('etcdserverpb.Watch');
  const maintCtx = ctx('etcdserverpb.Maintenance');
  const clusterCtx = ctx('etcdserverpb.Cluster');
  const healthCtx = ctx('grpc.health.v1.Health');

  const kvHandlers = {
    Range: (req: unknown) => kv.range(req as never),
    Put: (req: unknown) => kv.put(req as never),
    DeleteRange: (req: unknown) => kv.deleteRange(req as never),
    Txn: (req: unknown) => kv.txn(req as never),
  };
  server.addService(pkg.etcdserverpb.KV.service, {
    Range: unary(kvCtx, 'Range', kvHandlers.Range),
    Put: unary(kvCtx, 'Put', kvHandlers.Put),
    DeleteRange: unary(kvCtx, 'DeleteRange', kvHandlers.DeleteRange),
    Txn: unary(kvCtx, 'Txn', kvHandlers.Txn),
    Compact: unary(kvCtx, 'Compact', (req) => kv.compact(req as never)),
  });
  // The KV calls above also take the short road (fast-unary.ts of @cairn/edge) on connections given to the
  // injector, counted and refused without a leader exactly as unary() does.
  const kvService = pkg.etcdserverpb.KV.service as unknown as Record<string, FastUnaryMethod['definition']>;
  const fastMethods: FastUnaryMethod[] = Object.entries(kvHandlers).map(([method, handler]) => ({
    definition: kvService[method],
    started: () => metrics.rpcStarted('unary', kvCtx.service, method),
    handled: (code) => metrics.rpcHandled('unary', kvCtx.service, method, codeName(code)),
    refuse: (headers) =>
      headers.hasleader === 'true' && !node.hasLeader() ? etcdError('no-leader') : undefined,
    handler,
  }));
  const fastRoute = fastUnaryRoute(fastMethods, maxRequestBytes + GRPC_OVERHEAD_BYTES);
  const createInjector = server.createConnectionInjector.bind(server);
  server.createConnectionInjector = (credentials) => {
    const injector = createInjector(credentials);
    routeGrpcStreams(server, fastRoute);
    return injector;
  };

  server.addService(pkg.etcdserverpb.Lease.service, {
    LeaseGrant: unary(leaseCtx, 'LeaseGrant', (req) => lease.grant(req as never)),
    LeaseRevoke: unary(leaseCtx, 'LeaseRevoke', (req) => lease.revoke(req as never)),
    LeaseTimeToLive: unary(leaseCtx, 'LeaseTimeToLive', (req) => lease.timeToLive(req as never)),
    LeaseLeases: unary(leaseCtx, 'LeaseLeases', () => lease.leases()),
    LeaseKeepAlive: (call: grpc.ServerDuplexStream<{ ID: string }, object>) => {
      const handled = trackStream(leaseCtx, 'bidi_stream', 'LeaseKeepAlive');
      call.on('close', () => handled(0));
      if (requiresLeader(call.metadata) && !node.hasLeader()) {
        handled(14);
        call.emit('error', toGrpcStatus(etcdError('no-leader')));
        return;
      }
      call.on('data', (req: { ID: string }) => {
        lease.keepAlive(req.ID).then(
          (reply) => call.write(reply),
          (err: unknown) => call.emit('error', toGrpcStatus(err)),
        );
      });
      call.on('end', () => call.end());
      call.on('error', () => undefined);
    },
  });

  server.addService(pkg.etcdserverpb.Watch.service, {
    Watch: (call: grpc.ServerDuplexStream<WatchRequest__Output, object>) => {
      const handled = trackStream(watchCtx, 'bidi_stream', 'Watch');
      call.on('close', () => handled(0));
      const needsLeader = requiresLeader(call.metadata);
      if (needsLeader && !node.hasLeader()) {
        handled(14);
        call.emit('error', toGrpcStatus(etcdError('no-leader')));
        return;
      }
      const session = new WatchSession(
        { port, header: (revision) => node.header(revision) },
        (response) => {
          if (call.writableLength > 4 * 1024 * 1024) return false;
          call.write(response);
          return true;
        },
        { maxResponseBytes: maxRequestBytes, progressNotifyIntervalMs: 10 * 60 * 1000 },
      );
      const stopLeaderWatch = node.onLeaderChange((leader) => {
        if (needsLeader && leader === 0n) {
          session.close();
          call.emit('error', toGrpcStatus(etcdError('no-leader')));
        }
      });
      call.on('drain', () => node.watchable.retryVictims());
      // An exception here would leave the process (an event handler): it ends this stream instead.
      call.on('data', (req: WatchRequest__Output) => {
        try {
          session.handle(req);
        } catch (err) {
          session.close();
          call.emit('error', toGrpcStatus(toEtcdError(err)));
        }
      });
      const finish = (): void => {
        stopLeaderWatch();
        session.close();
      };
      call.on('end', () => {
        finish();
        call.end();
      });
      call.on('cancelled', finish);
      call.on('error', finish);
      call.on('close', finish);
    },
  });

  server.addService(pkg.etcdserverpb.Maintenance.service, {
    Status: unary(maintCtx, 'Status', () => maintenance.status()),
    Hash: unary(maintCtx, 'Hash', () => maintenance.hash()),
    HashKV: unary(maintCtx, 'HashKV', (req) => maintenance.hashKV(req as never)),
    Defragment: unary(maintCtx, 'Defragment', () => maintenance.defragment()),
    Alarm: unary(maintCtx, 'Alarm', (req) => maintenance.alarm(req as never)),
    Snapshot: (call: grpc.ServerWritableStream<object, object>) => {
      const handled = trackStream(maintCtx, 'server_stream', 'Snapshot');
      call.on('close', () => handled(0));
      void (async () => {
        try {
          for await (const chunk of maintenance.snapshot()) {
            if (call.cancelled) return;
            if (!call.write(chunk)) await new Promise((resolve) => call.once('drain', resolve));
          }
          call.end();
        } catch (err) {
          call.emit('error', toGrpcStatus(err));
        }
      })();
    },
    MoveLeader: unary(maintCtx, 'MoveLeader', (req) => maintenance.moveLeader(req as never)),
    Downgrade: unary(maintCtx, 'Downgrade', () => Promise.reject(etcdError('not-capable'))),
  });

  server.addService(pkg.etcdserverpb.Cluster.service, {
    MemberList: unary(clusterCtx, 'MemberList', () => maintenance.memberList()),
    MemberAdd: unary(clusterCtx, 'MemberAdd', (req) => maintenance.memberAdd(req as never)),
    MemberRemove: unary(clusterCtx, 'MemberRemove', (req) => maintenance.memberRemove(req as never)),
    MemberUpdate: unary(clusterCtx, 'MemberUpdate', (req) => maintenance.memberUpdate(req as never)),
    MemberPromote: unary(clusterCtx, 'MemberPromote', (req) => maintenance.memberPromote(req as never)),
  });

  server.addService(pkg.grpc.health.v1.Health.service, {
    Check: unary(healthCtx, 'Check', () => ({ status: node.hasLeader() ? 1 : 2 })),
    Watch: (call: grpc.ServerWritableStream<object, object>) => {
      call.write({ status: node.hasLeader() ? 1 : 2 });
      const stop = node.onLeaderChange((leader) => call.write({ status: leader !== 0n ? 1 : 2 }));
      call.on('cancelled', stop);
      call.on('close', stop);
    },
  });

  return server;
}
