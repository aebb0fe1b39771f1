// The member's one request pipeline: every gRPC call (grpc-js services and the KV fast path) and every HTTP
// request (JSON gateway, REST, SSE, console, probes) passes these policies, in this order. A policy added
// here covers every surface (apps/server/test/pipeline-coverage.test.ts proves it). Request sizes are bounded
// where the bytes are read, for every surface alike (gRPC: the message limit of grpc-js and the fast path;
// HTTP: the body guard, declared or chunked) — see docs/api.md "Limits".
import {
  type IdentitySource,
  type PipelineMetricsSink,
  type Policy,
  RequestPipeline,
  accessLogPolicy,
  authenticationPolicy,
  deadlinePolicy,
  leaderPolicy,
  metricsPolicy,
} from '@cairn/edge';
import { normalizeGatewayPath } from '@cairn/api';
import type { CairnNode, Logger } from '@cairn/server';
import type { CairnMetrics } from './metrics';

export interface PipelineDeps {
  node: CairnNode;
  metrics: CairnMetrics;
  /** The metrics history's counts (metrics-history/metrics-sampler.ts), fed as the metrics are. */
  history?: PipelineMetricsSink;
  logger: Logger;
  /** The server's bound on a unary call that does not wait by design (--unary-request-timeout). */
  unaryRequestTimeoutMs: number;
  /** Who calls: tokens and client certificates (member-auth.ts). */
  authenticator: IdentitySource;
  /** Policies a test (or a later feature) appends after the member's own. */
  extraPolicies?: Policy[];
}

export function createRequestPipeline(deps: PipelineDeps): RequestPipeline {
  return new RequestPipeline([
    metricsPolicy(deps.metrics.pipelineSink),
    ...(deps.history ? [metricsPolicy(deps.history)] : []),
    accessLogPolicy(deps.logger),
    // Before anything that answers: a request with a bad token gets "invalid auth token" and nothing else.
    authenticationPolicy(deps.authenticator),
    leaderPolicy(() => deps.node.hasLeader()),
    deadlinePolicy({ unaryBoundMs: deps.unaryRequestTimeoutMs }),
    ...(deps.extraPolicies ?? []),
  ]);
}

/** HTTP requests that wait by design: only the client bounds them. */
export function isBlockingHttpRequest(_verb: string, rawPath: string, accept: string | undefined): boolean {
  if (accept?.includes('text/event-stream')) return true;
  // The gateway serves /v3beta/ and /v3alpha/ as /v3/ (as etcd 3.4 does): a lock there waits just the same.
  const path = normalizeGatewayPath(rawPath);
  return (
    path === '/v3/watch' ||
    path === '/v3/lease/keepalive' ||
    path === '/v3/lock/lock' ||
    path === '/v3/election/campaign' ||
    path === '/v3/election/observe' ||
    path === '/v3/maintenance/snapshot' ||
    path.endsWith('/watch')
  );
}
