// The one request pipeline (see pipeline.ts) and its policies.
export * from './policies';
export { type ContextDraft, type Policy } from './policy';
export {
  type PipelineCall,
  RequestPipeline,
  bounded,
  deadlineError,
  grpcCodeName,
  whenAdmitted,
} from './pipeline';
export { type CallKind, type Outcome, type RequestInfo, type Surface } from './request';
export {
  PipelinedGrpcServer,
  type PipelinedGrpcServerOptions,
  grpcCallContext,
  grpcRequestInfo,
} from './grpc-adapter';
export { type HttpPipelineOptions, callContextOf, httpPipelineMiddleware } from './http-adapter';
