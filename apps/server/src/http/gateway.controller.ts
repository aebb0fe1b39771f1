// etcd's JSON gateway (grpc-gateway) on the client URL: POST /v3/<service>/<method> with the protobuf JSON
// mapping of the request; streaming calls answer newline-delimited {"result": ...} objects. The unary calls
// and LeaseKeepAlive/Snapshot go through the etcd service layer (EtcdApis, as the gRPC services do); the
// Watch stream's watchers are the member's EtcdPort watches (they live across a snapshot install).
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
import type { EtcdApis, WatchSource } from '@cairn/server';
import { WatchSession } from '@cairn/server';
import { JsonLinesStream } from '@cairn/edge';
import { parseJsonObjects, readRawBody } from './raw-body';
import { ETCD_APIS, MAX_REQUEST_BYTES, WATCH_SOURCE } from './tokens';

type UnaryHandler = (req: never) => Promise<object> | object;

@Controller()
export class GatewayController {
  private readonly unary: Record<string, UnaryHandler>;

  constructor(
    @Inject(ETCD_APIS) private readonly apis: EtcdApis,
    @Inject(WATCH_SOURCE) private readonly watchSource: WatchSource,
    @Inject(MAX_REQUEST_BYTES) private readonly maxRequestBytes: number,
  ) {
    const { kv, lease, maintenance } = apis;
    this.unary = {
      'etcdserverpb.KV/Range': (r) => kv.range(r),
      'etcdserverpb.KV/Put': (r) => kv.put(r),
      'etcdserverpb.KV/DeleteRange': (r) => kv.deleteRange(r),
      'etcdserverpb.KV/Txn': (r) => kv.txn(r),
      'etcdserverpb.KV/Compact': (r) => kv.compact(r),
      'etcdserverpb.Lease/LeaseGrant': (r) => lease.grant(r),
      'etcdserverpb.Lease/LeaseRevoke': (r) => lease.revoke(r),
      'etcdserverpb.Lease/LeaseTimeToLive': (r) => lease.timeToLive(r),
      'etcdserverpb.Lease/LeaseLeases': () => lease.leases(),
      'etcdserverpb.Maintenance/Status': () => maintenance.status(),
      'etcdserverpb.Maintenance/Hash': () => maintenance.hash(),
      'etcdserverpb.Maintenance/HashKV': (r) => maintenance.hashKV(r),
      'etcdserverpb.Maintenance/Defragment': () => maintenance.defragment(),
      'etcdserverpb.Maintenance/Alarm': (r) => maintenance.alarm(r),
      'etcdserverpb.Cluster/MemberList': () => maintenance.memberList(),
      'etcdserverpb.Cluster/MemberAdd': (r) => maintenance.memberAdd(r),
      'etcdserverpb.Cluster/MemberRemove': (r) => maintenance.memberRemove(r),
      'etcdserverpb.Cluster/MemberUpdate': (r) => maintenance.memberUpdate(r),
      'etcdserverpb.Cluster/MemberPromote': (r) => maintenance.memberPromote(r),
      'etcdserverpb.Maintenance/MoveLeader': (r) => maintenance.moveLeader(r),
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
      if (route.streaming === 'unary') await this.handleUnary(route, body, res);
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

  private async handleUnary(route: GatewayRoute, body: Buffer, res: Response): Promise<void> {
    const handler = this.unary[`${route.service}/${route.method}`];
    if (!handler) throw etcdError('not-capable');
    const request = decodeGatewayRequest(route.requestType, parseBody(body));
    const response = await handler(request as never);
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
      for await (const chunk of this.apis.maintenance.snapshot()) {
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
          maxResponseBytes: this.maxRequestBytes,
          progressNotifyIntervalMs: 10 * 60 * 1000,
          ready: () => stream.writable,
        },
      );
      stream.onClose(() => session.close());
      req.on('close', () => session.close());
      for (const raw of requests)
        session.handle(decodeGatewayRequest<WatchRequest__Output>(route.requestType, raw));
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
