// @cairn/edge: everything between a socket and a handler (see README.md).
export * from './call-context';
export * from './http-guards';
export * from './sse-stream';
export * from './pipeline';
export * from './http2-frames';
export {
  AuthorityNormalizer,
  AuthorityNormalizingSocket,
  type AuthorityNormalizerOptions,
  stripScheme,
} from './authority-normalizer';
export { EMPTY_SETTINGS_FRAME, FirstRequestSniffer, type SniffVerdict } from './first-request-sniffer';
export { HpackDecoder } from './hpack/decoder';
export { literalHeaderBlock } from './grpc-front/header-blocks';
export { ClientListener, type ClientListenerTargets } from './client-listener';
export {
  routeGrpcStreams,
  isPlainGrpcCall,
  type Http2StreamRoute,
  type StreamRouterLog,
} from './grpc-stream-router';
export * from './bypass-probes';
export {
  GRPC_MESSAGE_REFUSALS,
  GrpcMessageReader,
  grpcMessage,
  percentEncodeGrpcMessage,
  statusOfTrailers,
  trailersOf,
} from './grpc-wire';
export { answerInOneFlush, probeOneFlushAnswers } from './one-flush-answer';
export { type FastUnaryMethod, fastUnaryRoute } from './fast-unary';
export { GrpcFront, type GrpcFrontOptions, frontDataWriter } from './grpc-front';
export { IoWorkerListener, type IoWorkerOptions } from './io-worker';
export {
  EdgeStats,
  type ConnectionCloseReason,
  type ConnectionProtocol,
  type ConnectionRefusal,
} from './edge-stats';
export { type ClientListenerLimits } from './client-listener';
export { type Http1Timeouts, applyHttp1Timeouts, tracksConnections } from './http1-timeouts';
export {
  type GrpcConnectionPolicy,
  grpcKeepaliveServerOptions,
  installGrpcConnectionPolicy,
} from './grpc-connection-policy';
export {
  BLOCKING_UNARY_METHODS,
  boundRequestBody,
  readBodyWithin,
  requestBodyBoundInterceptor,
  requestBodyTimeout,
} from './request-body-bound';
export { GrpcStreamFlow, type GrpcServerStreamLike } from './grpc-stream-flow';
export * from './tls';
export { METRICS_URL_PATHS, MetricsListener, type MetricsListenerOptions } from './metrics-listener';
export { passEncodedResponses } from './pre-encoded-responses';
