// The gRPC server of the client URL: etcd's KV, Watch, Lease, Cluster, Maintenance, Auth, Lock and Election
// services plus the standard health service, all over one CairnNode (Lock and Election over its EtcdPort). The server is a PipelinedGrpcServer: every method of every
// service on it (these, the registry's and the config center's) goes through the member's request pipeline,
// and so do the KV calls served on the fast path.
import * as grpc from '@grpc/grpc-js';
import { type WatchRequest__Output, etcdError, loadEtcdServices, toGrpcStatus } from '@cairn/api';
import type { CairnNode } from '@cairn/server';
import type { EtcdApis, EtcdPort } from '@cairn/server';
import {
  DEFAULT_WATCH_PROGRESS_NOTIFY_INTERVAL_MS,
  type LeaderRequestWire,
  WatchSession,
  createRecipeApis,
  encodePutResponse,
  toEtcdError,
} from '@cairn/server';
import {
  type CallContext,
  type FastUnaryMethod,
  type Http2StreamRoute,
  PipelinedGrpcServer,
  type RequestPipeline,
  fastUnaryRoute,
  grpcCallContext,
  passEncodedResponses,
} from '@cairn/edge';
import { directWatchWriter } from './watch-stream-writer';

const GRPC_OVERHEAD_BYTES = 512 * 1024;
/** Unsent bytes a Watch stream may hold before its watchers are parked (as the gateway's watch: 1 MiB). */
const WATCH_STREAM_MAX_QUEUED_BYTES = 1024 * 1024;

/** Unary methods that wait by design (or for long): bounded by the client's deadline only, as in etcd. */
const BLOCKING_UNARY: ReadonlySet<string> = new Set([
  'etcdserverpb.Maintenance/Defragment',
  'v3lockpb.Lock/Lock',
  'v3electionpb.Election/Campaign',
]);

type ContextHandler = (req: unknown, ctx: CallContext) => unknown;

/** etcd's KV calls that have a fast path, by method name. */
function kvHandlersOf({ kv }: EtcdApis): Record<'Range' | 'Put' | 'DeleteRange' | 'Txn', ContextHandler> {
  return {
    Range: (req, ctx) => kv.range(req as never, ctx),
    Put: (req, ctx) => kv.put(req as never, ctx),
    DeleteRange: (req, ctx) => kv.deleteRange(req as never, ctx),
    Txn: (req, ctx) => kv.txn(req as never, ctx),
  };
}

/** etcd's KV calls served without grpc-js's call machinery (fast-unary.ts and the gRPC front of @cairn/edge). */
export function etcdKvFastMethods(apis: EtcdApis): FastUnaryMethod[] {
  const kvService = loadEtcdServices().etcdserverpb.KV.service as unknown as Record<
    string,
    FastUnaryMethod['definition']
  >;
  return Object.entries(kvHandlersOf(apis)).map(([method, handler]) => ({
    definition: method === 'Put' ? withHandEncodedPutResponse(kvService[method]) : kvService[method],
    handler,
  }));
}

/** Put's answers without prev_kv encoded by hand (put-response-codec.ts of @cairn/server), the rest as before. */
function withHandEncodedPutResponse(
  definition: FastUnaryMethod['definition'],
): FastUnaryMethod['definition'] {
  const generic = definition.responseSerialize;
  return { ...definition, responseSerialize: (response) => encodePutResponse(response) ?? generic(response) };
}

/** The largest KV request message the fast paths read (as grpc-js's max receive length on this server). */
export function etcdKvMaxReceiveBytes(maxRequestBytes: number): number {
  return maxRequestBytes + GRPC_OVERHEAD_BYTES;
}

/**
 * The KV calls served straight off the HTTP/2 stream (fast-unary.ts of @cairn/edge), through the same pipeline
 * as on grpc-js. Installed by an explicit call, right after the server's createConnectionInjector:
 * `routeGrpcStreams(server, etcdKvFastRoute(...))` (grpc-stream-router.ts; probeGrpcStreamRouter first).
 */
export function etcdKvFastRoute(
  apis: EtcdApis,
  pipeline: RequestPipeline,
  maxRequestBytes: number,
): Http2StreamRoute {
  return fastUnaryRoute(etcdKvFastMethods(apis), etcdKvMaxReceiveBytes(maxRequestBytes), pipeline);
}

/**
 * A grpc-js unary handler from a promise-returning function, given the call's context (who calls: the
 * pipeline's authentication); the server maps a rejection to etcd's status.
 */
function answer<Req, Res>(
  fn: (request: Req, ctx: CallContext) => Promise<Res> | Res,
): grpc.handleUnaryCall<Req, Res> {
  return (call, callback) => {
    Promise.resolve()
      .then(() => fn(call.request, grpcCallContext(call)))
      .then(
        (response) => callback(null, response),
        // PipelinedGrpcServer turns whatever was thrown into etcd's gRPC status (toGrpcStatus).
        (err: unknown) => callback(err as grpc.ServerErrorResponse),
      );
  };
}

export function createEtcdGrpcServer(
  node: CairnNode,
  apis: EtcdApis,
  /** The member's EtcdPort: the Watch service's watchers are port watches. */
  port: EtcdPort,
  pipeline: RequestPipeline,
  maxRequestBytes: number,
  /** Keepalive pings and interceptors of the client URL (client-edge.ts). */
  edgeOptions: grpc.ServerOptions = {},
): grpc.Server {
  const server = new PipelinedGrpcServer(
    pipeline,
    {
      'grpc.max_receive_message_length': maxRequestBytes + GRPC_OVERHEAD_BYTES,
      'grpc.max_send_message_length': 2 ** 31 - 1,
      // channelz keeps per-call statistics nobody here reads; it costs CPU on every request.
      'grpc.enable_channelz': 0,
      // The client ping rule (--grpc-keepalive-min-time) is not a grpc-js server option: grpc-connection-policy.ts.
      ...edgeOptions,
    },
    { blockingUnary: BLOCKING_UNARY },
  );
  const pkg = loadEtcdServices();
  const { kv, lease, maintenance, auth } = apis;
  const kvHandlers = kvHandlersOf(apis);
  server.addService(pkg.etcdserverpb.KV.service, {
    Range: answer(kvHandlers.Range),
    Put: answer(kvHandlers.Put),
    DeleteRange: answer(kvHandlers.DeleteRange),
    Txn: answer(kvHandlers.Txn),
    Compact: answer((req, ctx) => kv.compact(req as never, ctx)),
  });
  // The KV calls above also take the short road: etcdKvFastRoute, installed by cairn-app.ts.

  server.addService(pkg.etcdserverpb.Lease.service, {
    LeaseGrant: answer((req, ctx) => lease.grant(req as never, ctx)),
    LeaseRevoke: answer((req, ctx) => lease.revoke(req as never, ctx)),
    LeaseTimeToLive: answer((req) => lease.timeToLive(req as never)),
    LeaseLeases: answer(() => lease.leases()),
    LeaseKeepAlive: (call: grpc.ServerDuplexStream<{ ID: string }, object>) => {
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

  // Events responses come from WatchSession already encoded (binary mode); everything else is an object.
  const watchService = passEncodedResponses(pkg.etcdserverpb.Watch.service, 'Watch');
  const serializeWatch = watchService.Watch.responseSerialize as (value: unknown) => Buffer;
  server.addService(watchService, {
    Watch: (call: grpc.ServerDuplexStream<WatchRequest__Output, object>) => {
      const context = grpcCallContext(call);
      // Responses go straight to the HTTP/2 stream when grpc-js's internals allow (watch-stream-writer.ts).
      const direct = directWatchWriter(call as grpc.ServerDuplexStream<unknown, unknown>, serializeWatch);
      const needsLeader = context.requireLeader === true;
      // Bytes written to the call and not yet let out by HTTP/2 flow control (a client not reading). Past
      // WATCH_STREAM_MAX_QUEUED_BYTES an events response is refused before it is built and the store parks the
      // watcher; once the queue is back under the bound the store retries. Acks, cancels, progress and
      // compaction notices always go out (refusing them lost the created acks of a burst of creates).
      let queuedBytes = 0;
      let refused = false;
      const session = new WatchSession(
        { port, header: (revision) => node.header(revision) },
        (response, bytes) => {
          queuedBytes += bytes;
          const written = (): void => {
            queuedBytes -= bytes;
            if (refused && queuedBytes < WATCH_STREAM_MAX_QUEUED_BYTES) {
              refused = false;
              node.watchable.retryVictims(session.storeWatchIds());
            }
          };
          if (direct) direct(response, written);
          else call.write(response, written);
          return true;
        },
        {
          context,
          ready: () => {
            refused = queuedBytes >= WATCH_STREAM_MAX_QUEUED_BYTES;
            return !refused;
          },
          binary: true,
          maxResponseBytes: maxRequestBytes,
          progressNotifyIntervalMs:
            node.config.watchProgressNotifyIntervalMs ?? DEFAULT_WATCH_PROGRESS_NOTIFY_INTERVAL_MS,
        },
      );
      const stopLeaderWatch = node.onLeaderChange((leader) => {
        if (needsLeader && leader === 0n) {
          session.close();
          direct?.flush();
          call.emit('error', toGrpcStatus(etcdError('no-leader')));
        }
      });
      // An exception here would leave the process (an event handler): it ends this stream instead.
      call.on('data', (req: WatchRequest__Output) => {
        try {
          session.handle(req);
        } catch (err) {
          session.close();
          direct?.flush();
          call.emit('error', toGrpcStatus(toEtcdError(err)));
        }
      });
      const finish = (): void => {
        stopLeaderWatch();
        session.close();
      };
      call.on('end', () => {
        finish();
        direct?.flush();
        call.end();
      });
      call.on('cancelled', finish);
      call.on('error', finish);
      call.on('close', finish);
    },
  });

  server.addService(pkg.etcdserverpb.Maintenance.service, {
    Status: answer(() => maintenance.status()),
    Hash: answer((_req, ctx) => maintenance.hash(ctx)),
    HashKV: answer((req, ctx) => maintenance.hashKV(req as never, ctx)),
    Defragment: answer((_req, ctx) => maintenance.defragment(ctx)),
    Alarm: answer((req, ctx) => maintenance.alarm(req as never, ctx)),
    Snapshot: (call: grpc.ServerWritableStream<object, object>) => {
      void (async () => {
        try {
          for await (const chunk of maintenance.snapshot(grpcCallContext(call))) {
            if (call.cancelled) return;
            if (!call.write(chunk)) await new Promise((resolve) => call.once('drain', resolve));
          }
          call.end();
        } catch (err) {
          call.emit('error', toGrpcStatus(err));
        }
      })();
    },
    MoveLeader: answer((req, ctx) => maintenance.moveLeader(req as never, ctx)),
    Downgrade: answer(() => Promise.reject(etcdError('not-capable'))),
  });

  server.addService(pkg.etcdserverpb.Cluster.service, {
    MemberList: answer(() => maintenance.memberList()),
    MemberAdd: answer((req, ctx) => maintenance.memberAdd(req as never, ctx)),
    MemberRemove: answer((req, ctx) => maintenance.memberRemove(req as never, ctx)),
    MemberUpdate: answer((req, ctx) => maintenance.memberUpdate(req as never, ctx)),
    MemberPromote: answer((req, ctx) => maintenance.memberPromote(req as never, ctx)),
  });

  server.addService(pkg.etcdserverpb.Auth.service, {
    AuthEnable: answer((_req, ctx) => auth.authEnable(ctx)),
    AuthDisable: answer((_req, ctx) => auth.authDisable(ctx)),
    AuthStatus: answer(() => auth.authStatus()),
    Authenticate: answer((req, ctx) => auth.authenticate(req as never, ctx)),
    UserAdd: answer((req, ctx) => auth.userAdd(req as never, ctx)),
    UserGet: answer((req, ctx) => auth.userGet(req as never, ctx)),
    UserList: answer((_req, ctx) => auth.userList(ctx)),
    UserDelete: answer((req, ctx) => auth.userDelete(req as never, ctx)),
    UserChangePassword: answer((req, ctx) => auth.userChangePassword(req as never, ctx)),
    UserGrantRole: answer((req, ctx) => auth.userGrantRole(req as never, ctx)),
    UserRevokeRole: answer((req, ctx) => auth.userRevokeRole(req as never, ctx)),
    RoleAdd: answer((req, ctx) => auth.roleAdd(req as never, ctx)),
    RoleGet: answer((req, ctx) => auth.roleGet(req as never, ctx)),
    RoleList: answer((_req, ctx) => auth.roleList(ctx)),
    RoleDelete: answer((req, ctx) => auth.roleDelete(req as never, ctx)),
    RoleGrantPermission: answer((req, ctx) => auth.roleGrantPermission(req as never, ctx)),
    RoleRevokePermission: answer((req, ctx) => auth.roleRevokePermission(req as never, ctx)),
  });

  // Recipes over the port with the caller's context: its permissions apply to every key they touch. Lock and
  // Campaign wait by design (BLOCKING_UNARY); their waits end with the call (its signal or deadline).
  const { lock, election } = createRecipeApis({ port, header: (revision) => node.header(revision) });
  server.addService(pkg.v3lockpb.Lock.service, {
    Lock: answer((req, ctx) => lock.lock(req as never, ctx)),
    Unlock: answer((req, ctx) => lock.unlock(req as never, ctx)),
  });
  server.addService(pkg.v3electionpb.Election.service, {
    Campaign: answer((req, ctx) => election.campaign(req as never, ctx)),
    Proclaim: answer((req, ctx) => election.proclaim(req as never, ctx)),
    Leader: answer((req, ctx) => election.leader(req as never, ctx)),
    Resign: answer((req, ctx) => election.resign(req as never, ctx)),
    Observe: (call: grpc.ServerWritableStream<LeaderRequestWire, object>) => {
      const context = grpcCallContext(call);
      election
        .observe(call.request, context, (response) => {
          if (!call.cancelled) call.write(response);
        })
        .then(
          () => call.end(),
          (err: unknown) => {
            // A client that went away is owed nothing; any other end is etcd's status.
            if (!call.cancelled) call.emit('error', toGrpcStatus(err));
          },
        );
    },
  });

  server.addService(pkg.grpc.health.v1.Health.service, {
    Check: answer(() => ({ status: node.hasLeader() ? 1 : 2 })),
    Watch: (call: grpc.ServerWritableStream<object, object>) => {
      call.write({ status: node.hasLeader() ? 1 : 2 });
      const stop = node.onLeaderChange((leader) => call.write({ status: leader !== 0n ? 1 : 2 }));
      call.on('cancelled', stop);
      call.on('close', stop);
    },
  });

  return server;
}
