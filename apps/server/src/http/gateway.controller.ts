// etcd's JSON gateway (grpc-gateway) on the client URL: POST /v3/<service>/<method> with the protobuf JSON
// mapping of the request; streaming calls answer newline-delimited {"result": ...} objects. The unary calls
// and LeaseKeepAlive/Snapshot go through the etcd service layer (EtcdApis, as the gRPC services do); the
// Watch stream's watchers are the member's EtcdPort watches (they live across a snapshot install), and so are
// the Lock and Election recipes' reads, writes and watches.
import { Controller, Get, Inject, Post, Req, Res } from '@nestjs/common';
import type { Request, Response } from 'express';
import {
  GATEWAY_ROUTES,
  type GatewayRoute,
  type WatchRequest__Output,
  decodeGatewayRequest,
  encodeGatewayResponse,
  encodeGatewayStreamError,
  encodeGatewayStreamResult,
  etcdError,
  gatewayError,
  normalizeGatewayPath,
} from '@cairn/api';
import type { EtcdApis, LeaderRequestWire, RecipeApis, WatchSource } from '@cairn/server';
import { WatchSession, createRecipeApis } from '@cairn/server';
import { type CallContext, JsonLinesStream, callContextOf } from '@cairn/edge';
import { parseJsonObjects, readRawBody } from './raw-body';
import { ETCD_APIS, MAX_REQUEST_BYTES, WATCH_PROGRESS_INTERVAL_MS, WATCH_SOURCE } from './tokens';

type UnaryHandler = (req: never, ctx: CallContext) => Promise<object> | object;

@Controller()
export class GatewayController {
  private readonly unary: Record<string, UnaryHandler>;
  private readonly recipes: RecipeApis;

  constructor(
    @Inject(ETCD_APIS) private readonly apis: EtcdApis,
    @Inject(WATCH_SOURCE) private readonly watchSource: WatchSource,
    @Inject(MAX_REQUEST_BYTES) private readonly maxRequestBytes: number,
    @Inject(WATCH_PROGRESS_INTERVAL_MS) private readonly progressNotifyIntervalMs: number,
  ) {
    const { kv, lease, maintenance, auth } = apis;
    this.recipes = createRecipeApis(watchSource);
    const { lock, election } = this.recipes;
    this.unary = {
      'etcdserverpb.KV/Range': (r, c) => kv.range(r, c),
      'etcdserverpb.KV/Put': (r, c) => kv.put(r, c),
      'etcdserverpb.KV/DeleteRange': (r, c) => kv.deleteRange(r, c),
      'etcdserverpb.KV/Txn': (r, c) => kv.txn(r, c),
      'etcdserverpb.KV/Compact': (r, c) => kv.compact(r, c),
      'etcdserverpb.Lease/LeaseGrant': (r, c) => lease.grant(r, c),
      'etcdserverpb.Lease/LeaseRevoke': (r, c) => lease.revoke(r, c),
      'etcdserverpb.Lease/LeaseTimeToLive': (r) => lease.timeToLive(r),
      'etcdserverpb.Lease/LeaseLeases': () => lease.leases(),
      'etcdserverpb.Maintenance/Status': () => maintenance.status(),
      'etcdserverpb.Maintenance/Hash': (_r, c) => maintenance.hash(c),
      'etcdserverpb.Maintenance/HashKV': (r, c) => maintenance.hashKV(r, c),
      'etcdserverpb.Maintenance/Defragment': (_r, c) => maintenance.defragment(c),
      'etcdserverpb.Maintenance/Alarm': (r, c) => maintenance.alarm(r, c),
      'etcdserverpb.Cluster/MemberList': () => maintenance.memberList(),
      'etcdserverpb.Cluster/MemberAdd': (r, c) => maintenance.memberAdd(r, c),
      'etcdserverpb.Cluster/MemberRemove': (r, c) => maintenance.memberRemove(r, c),
      'etcdserverpb.Cluster/MemberUpdate': (r, c) => maintenance.memberUpdate(r, c),
      'etcdserverpb.Cluster/MemberPromote': (r, c) => maintenance.memberPromote(r, c),
      'etcdserverpb.Maintenance/MoveLeader': (r, c) => maintenance.moveLeader(r, c),
      'etcdserverpb.Auth/AuthEnable': (_r, c) => auth.authEnable(c),
      'etcdserverpb.Auth/AuthDisable': (_r, c) => auth.authDisable(c),
      'etcdserverpb.Auth/AuthStatus': () => auth.authStatus(),
      'etcdserverpb.Auth/Authenticate': (r, c) => auth.authenticate(r, c),
      'etcdserverpb.Auth/UserAdd': (r, c) => auth.userAdd(r, c),
      'etcdserverpb.Auth/UserGet': (r, c) => auth.userGet(r, c),
      'etcdserverpb.Auth/UserList': (_r, c) => auth.userList(c),
      'etcdserverpb.Auth/UserDelete': (r, c) => auth.userDelete(r, c),
      'etcdserverpb.Auth/UserChangePassword': (r, c) => auth.userChangePassword(r, c),
      'etcdserverpb.Auth/UserGrantRole': (r, c) => auth.userGrantRole(r, c),
      'etcdserverpb.Auth/UserRevokeRole': (r, c) => auth.userRevokeRole(r, c),
      'etcdserverpb.Auth/RoleAdd': (r, c) => auth.roleAdd(r, c),
      'etcdserverpb.Auth/RoleGet': (r, c) => auth.roleGet(r, c),
      'etcdserverpb.Auth/RoleList': (_r, c) => auth.roleList(c),
      'etcdserverpb.Auth/RoleDelete': (r, c) => auth.roleDelete(r, c),
      'etcdserverpb.Auth/RoleGrantPermission': (r, c) => auth.roleGrantPermission(r, c),
      'etcdserverpb.Auth/RoleRevokePermission': (r, c) => auth.roleRevokePermission(r, c),
      'v3lockpb.Lock/Lock': (r, c) => lock.lock(r, c),
      'v3lockpb.Lock/Unlock': (r, c) => lock.unlock(r, c),
      'v3electionpb.Election/Campaign': (r, c) => election.campaign(r, c),
      'v3electionpb.Election/Proclaim': (r, c) => election.proclaim(r, c),
      'v3electionpb.Election/Leader': (r, c) => election.leader(r, c),
      'v3electionpb.Election/Resign': (r, c) => election.resign(r, c),
    };
  }

  /** Every gateway route is POST-only, as grpc-gateway registers them. */
  @Get(['v3/*path', 'v3beta/*path', 'v3alpha/*path'])
  methodNotAllowed(@Res() res: Response): void {
    res.status(405).json({ error: 'Method Not Allowed', code: 12, message: 'Method Not Allowed' });
  }

  @Post(['v3/*path', 'v3beta/*path', 'v3alpha/*path'])
  async handle(@Req() req: Request, @Res() res: Response): Promise<void> {
    const route = GATEWAY_ROUTES[normalizeGatewayPath(req.path)];
    if (!route) {
      res.status(404).json({ error: 'Not Found', code: 5, message: 'Not Found' });
      return;
    }
    try {
      const body = await readRawBody(req, this.maxRequestBytes);
      if (route.streaming === 'unary') await this.handleUnary(route, body, req, res);
      else await this.handleStream(route, body, req, res);
    } catch (err) {
      if (res.headersSent) {
        res.end(JSON.stringify(encodeGatewayStreamError(err)) + '\n');
        return;
      }
      const { httpStatus, body } = gatewayError(err);
      res.status(httpStatus).json(body);
    }
  }

  private async handleUnary(route: GatewayRoute, body: Buffer, req: Request, res: Response): Promise<void> {
    const handler = this.unary[`${route.service}/${route.method}`];
    if (!handler) throw etcdError('not-capable');
    const request = decodeGatewayRequest(route.requestType, parseBody(body));
    const response = await handler(request as never, callContextOf(req));
    res.status(200).json(encodeGatewayResponse(route.responseType, response));
  }

  private async handleStream(route: GatewayRoute, body: Buffer, req: Request, res: Response): Promise<void> {
    const requests = parseJsonObjects(body.toString('utf8'));
    const writeLine = (message: object): boolean =>
      res.write(JSON.stringify(encodeGatewayStreamResult(route.responseType, message)) + '\n');
    const key = `${route.service}/${route.method}`;
    if (key === 'etcdserverpb.Lease/LeaseKeepAlive') {
      res.status(200).type('application/json');
      for (const raw of requests) {
        const request = decodeGatewayRequest<{ ID: string }>(route.requestType, raw);
        writeLine(await this.apis.lease.keepAlive(request.ID));
      }
      res.end();
      return;
    }
    if (key === 'etcdserverpb.Maintenance/Snapshot') {
      res.status(200).type('application/json');
      for await (const chunk of this.apis.maintenance.snapshot(callContextOf(req))) {
        if (!writeLine(chunk)) await new Promise((resolve) => res.once('drain', resolve));
      }
      res.end();
      return;
    }
    if (key === 'etcdserverpb.Watch/Watch') {
      res.status(200).type('application/json');
      res.flushHeaders();
      // Bounded as the gRPC watch: past STREAM_MAX_BUFFERED_BYTES unsent an events response is refused,
      // the store parks the watcher and offers it again once the reader reads (from the parked revision, or
      // the compaction). Acks, cancels, compaction notices and progress carry no events and always go out.
      const stream = new JsonLinesStream(res);
      const session = new WatchSession(
        this.watchSource,
        (message) =>
          stream.sendJson(encodeGatewayStreamResult(route.responseType, message), {
            always: !('events' in message),
          }),
        {
          context: callContextOf(req),
          maxResponseBytes: this.maxRequestBytes,
          progressNotifyIntervalMs: this.progressNotifyIntervalMs,
          ready: () => stream.writable,
        },
      );
      stream.onClose(() => session.close());
      req.on('close', () => session.close());
      for (const raw of requests)
        session.handle(decodeGatewayRequest<WatchRequest__Output>(route.requestType, raw));
      return;
    }
    if (key === 'v3electionpb.Election/Observe') {
      const context = callContextOf(req);
      const request = decodeGatewayRequest<LeaderRequestWire>(route.requestType, requests[0] ?? {});
      res.status(200).type('application/json');
      res.flushHeaders();
      try {
        await this.recipes.election.observe(request, context, (message) => {
          if (!res.destroyed) writeLine(message);
        });
      } catch (err) {
        // The client went away: nobody to tell. Anything else ends the stream with etcd's error line.
        if (context.signal?.aborted || res.destroyed) return;
        throw err;
      }
      res.end();
      return;
    }
    throw etcdError('not-capable');
  }
}

function parseBody(body: Buffer): unknown {
  const text = body.toString('utf8').trim();
  if (text === '') return {};
  try {
    return JSON.parse(text) as unknown;
  } catch (err) {
    // grpc-gateway answers a malformed body with InvalidArgument.
    throw { code: 3, details: err instanceof Error ? err.message : String(err) };
  }
}
