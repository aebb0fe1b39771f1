/** How a gateway call streams: unary, server-stream (snapshot, observe) or bidi (watch, keepalive). */
export type GatewayStreaming = 'unary' | 'server' | 'bidi';

export interface GatewayRoute {
  /** Fully-qualified gRPC service, e.g. 'etcdserverpb.KV'. */
  readonly service: string;
  /** RPC name within the service, e.g. 'Range'. */
  readonly method: string;
  /** Fully-qualified request message, e.g. 'etcdserverpb.RangeRequest'. */
  readonly requestType: string;
  /** Fully-qualified response message, e.g. 'etcdserverpb.RangeResponse'. */
  readonly responseType: string;
  /**
   * Streaming kind. On the gateway a streaming call takes one JSON request body (bidi calls read several
   * JSON objects from the body) and answers with newline-delimited `{"result": ...}` objects.
   */
  readonly streaming: GatewayStreaming;
}

const rpc = (
  service: string,
  method: string,
  request: string,
  response: string,
  streaming: GatewayStreaming = 'unary',
): GatewayRoute => {
  const pkg = service.slice(0, service.lastIndexOf('.'));
  return { service, method, requestType: `${pkg}.${request}`, responseType: `${pkg}.${response}`, streaming };
};

const kv = (method: string, request: string, response: string): GatewayRoute =>
  rpc('etcdserverpb.KV', method, request, response);
const lease = (method: string, streaming: GatewayStreaming = 'unary'): GatewayRoute =>
  rpc('etcdserverpb.Lease', method, `${method}Request`, `${method}Response`, streaming);
const cluster = (method: string): GatewayRoute =>
  rpc('etcdserverpb.Cluster', method, `${method}Request`, `${method}Response`);
const maintenance = (method: string, streaming: GatewayStreaming = 'unary'): GatewayRoute =>
  rpc('etcdserverpb.Maintenance', method, `${method}Request`, `${method}Response`, streaming);
const auth = (method: string, message: string = method): GatewayRoute =>
  rpc('etcdserverpb.Auth', method, `${message}Request`, `${message}Response`);

/**
 * Every POST path of etcd's grpc-gateway (the google.api.http bindings of etcd's protos, plus the
 * additional /v3/kv/lease/* bindings), mapped to the RPC it calls. etcd 3.3 served the same paths under
 * /v3beta and 3.2 under /v3alpha; see normalizeGatewayPath.
 */
export const GATEWAY_ROUTES: Readonly<Record<string, GatewayRoute>> = {
  '/v3/kv/range': kv('Range', 'RangeRequest', 'RangeResponse'),
  '/v3/kv/put': kv('Put', 'PutRequest', 'PutResponse'),
  '/v3/kv/deleterange': kv('DeleteRange', 'DeleteRangeRequest', 'DeleteRangeResponse'),
  '/v3/kv/txn': kv('Txn', 'TxnRequest', 'TxnResponse'),
  '/v3/kv/compaction': kv('Compact', 'CompactionRequest', 'CompactionResponse'),

  '/v3/watch': rpc('etcdserverpb.Watch', 'Watch', 'WatchRequest', 'WatchResponse', 'bidi'),

  '/v3/lease/grant': lease('LeaseGrant'),
  '/v3/lease/revoke': lease('LeaseRevoke'),
  '/v3/kv/lease/revoke': lease('LeaseRevoke'),
  '/v3/lease/keepalive': lease('LeaseKeepAlive', 'bidi'),
  '/v3/lease/timetolive': lease('LeaseTimeToLive'),
  '/v3/kv/lease/timetolive': lease('LeaseTimeToLive'),
  '/v3/lease/leases': lease('LeaseLeases'),
  '/v3/kv/lease/leases': lease('LeaseLeases'),

  '/v3/cluster/member/add': cluster('MemberAdd'),
  '/v3/cluster/member/remove': cluster('MemberRemove'),
  '/v3/cluster/member/update': cluster('MemberUpdate'),
  '/v3/cluster/member/list': cluster('MemberList'),
  '/v3/cluster/member/promote': cluster('MemberPromote'),

  '/v3/maintenance/alarm': maintenance('Alarm'),
  '/v3/maintenance/status': maintenance('Status'),
  '/v3/maintenance/defragment': maintenance('Defragment'),
  '/v3/maintenance/hash': maintenance('Hash'),
  '/v3/maintenance/hashkv': maintenance('HashKV'),
  '/v3/maintenance/snapshot': maintenance('Snapshot', 'server'),
  '/v3/maintenance/transfer-leadership': maintenance('MoveLeader'),
  '/v3/maintenance/downgrade': maintenance('Downgrade'),

  '/v3/auth/enable': auth('AuthEnable'),
  '/v3/auth/disable': auth('AuthDisable'),
  '/v3/auth/status': auth('AuthStatus'),
  '/v3/auth/authenticate': auth('Authenticate'),
  '/v3/auth/user/add': auth('UserAdd', 'AuthUserAdd'),
  '/v3/auth/user/get': auth('UserGet', 'AuthUserGet'),
  '/v3/auth/user/list': auth('UserList', 'AuthUserList'),
  '/v3/auth/user/delete': auth('UserDelete', 'AuthUserDelete'),
  '/v3/auth/user/changepw': auth('UserChangePassword', 'AuthUserChangePassword'),
  '/v3/auth/user/grant': auth('UserGrantRole', 'AuthUserGrantRole'),
  '/v3/auth/user/revoke': auth('UserRevokeRole', 'AuthUserRevokeRole'),
  '/v3/auth/role/add': auth('RoleAdd', 'AuthRoleAdd'),
  '/v3/auth/role/get': auth('RoleGet', 'AuthRoleGet'),
  '/v3/auth/role/list': auth('RoleList', 'AuthRoleList'),
  '/v3/auth/role/delete': auth('RoleDelete', 'AuthRoleDelete'),
  '/v3/auth/role/grant': auth('RoleGrantPermission', 'AuthRoleGrantPermission'),
  '/v3/auth/role/revoke': auth('RoleRevokePermission', 'AuthRoleRevokePermission'),

  '/v3/lock/lock': rpc('v3lockpb.Lock', 'Lock', 'LockRequest', 'LockResponse'),
  '/v3/lock/unlock': rpc('v3lockpb.Lock', 'Unlock', 'UnlockRequest', 'UnlockResponse'),

  '/v3/election/campaign': rpc('v3electionpb.Election', 'Campaign', 'CampaignRequest', 'CampaignResponse'),
  '/v3/election/proclaim': rpc('v3electionpb.Election', 'Proclaim', 'ProclaimRequest', 'ProclaimResponse'),
  '/v3/election/leader': rpc('v3electionpb.Election', 'Leader', 'LeaderRequest', 'LeaderResponse'),
  '/v3/election/observe': rpc(
    'v3electionpb.Election',
    'Observe',
    'LeaderRequest',
    'LeaderResponse',
    'server',
  ),
  '/v3/election/resign': rpc('v3electionpb.Election', 'Resign', 'ResignRequest', 'ResignResponse'),
};

/**
 * Maps an older gateway prefix to /v3 (etcd itself rewrites /v3beta/; /v3alpha/ was 3.2's prefix), so
 * `GATEWAY_ROUTES[normalizeGatewayPath(url.pathname)]` finds the route. Other paths come back unchanged.
 */
export function normalizeGatewayPath(path: string): string {
  for (const legacy of ['/v3beta/', '/v3alpha/']) {
    if (path.startsWith(legacy)) return '/v3/' + path.slice(legacy.length);
  }
  return path;
}
