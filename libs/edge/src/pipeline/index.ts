// The one request pipeline (see pipeline.ts) and its policies.
export * from './policies';
export { type ContextDraft, type Policy } from './policy';
export { type PipelineCall, RequestPipeline, grpcCodeName } from './pipeline';
export { type CallKind, type Outcome, type RequestInfo, type Surface } from './request';
export { grpcRequestInfo, pipelinedStream, pipelinedUnary } from './grpc-adapter';
export { type HttpPipelineOptions, callContextOf, httpPipelineMiddleware } from './http-adapter';
