// Counts every call as it starts and as it ends, by surface, method and code (the sink names the metrics:
// grpc_server_started_total / grpc_server_handled_total for gRPC, as etcd's go-grpc-prometheus does).
import type { Policy } from '../policy';
import type { Outcome, RequestInfo } from '../request';

export interface PipelineMetricsSink {
  started(request: RequestInfo): void;
  handled(request: RequestInfo, outcome: Outcome): void;
}

export function metricsPolicy(sink: PipelineMetricsSink): Policy {
  return {
    name: 'metrics',
    admit(request) {
      sink.started(request);
    },
    complete(request, outcome) {
      sink.handled(request, outcome);
    },
  };
}
