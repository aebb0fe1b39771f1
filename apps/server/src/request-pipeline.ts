// The member's one request pipeline: every gRPC call (grpc-js services and the KV fast path) and every HTTP
// request (JSON gateway, REST, SSE, console, probes) passes these policies, in this order. A policy added
// here covers every surface (apps/server/test/pipeline-coverage.test.ts proves it).
import {
  type Policy,
  RequestPipeline,
  accessLogPolicy,
  deadlinePolicy,
  leaderPolicy,
  metricsPolicy,
  requestSizePolicy,
} from '@cairn/edge';
import type { CairnNode, Logger } from '@cairn/server';
import type { CairnMetrics } from './metrics';

export interface PipelineDeps {
  node: CairnNode;
  metrics: CairnMetrics;
  logger: Logger;
  maxRequestBytes: number;
  /** The server's bound on a unary call that does not wait by design (--unary-request-timeout). */
  unaryRequestTimeoutMs: number;
  /** Policies a test (or a later feature) appends after the member's own. */
  extraPolicies?: Policy[];
}

export function createRequestPipeline(deps: PipelineDeps): RequestPipeline {
  return new RequestPipeline([
    metricsPolicy(deps.metrics.pipelineSink),
    accessLogPolicy(deps.logger),
    // gRPC's own message limit (grpc-js) already bounds messages; this refuses a declared HTTP body early.
    requestSizePolicy(deps.maxRequestBytes + REQUEST_ENVELOPE_BYTES),
    leaderPolicy(() => deps.node.hasLeader()),
    deadlinePolicy({ unaryBoundMs: deps.unaryRequestTimeoutMs }),
    ...(deps.extraPolicies ?? []),
  ]);
}

/** Room for JSON/base64 framing around a request of --max-request-bytes (base64 grows data by a third). */
const REQUEST_ENVELOPE_BYTES = 1024 * 1024;

/** HTTP requests that wait by design: only the client bounds them. */
export function isBlockingHttpRequest(_verb: string, path: string, accept: string | undefined): boolean {
  if (accept?.includes('text/event-stream')) return true;
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
