// @cairn/api: etcd v3 wire contract as code: .proto files, loader, TS types, internal Raft entry codec,
// error table and the JSON gateway codec.
export { PROTO_DIR, PROTO_FILES } from './proto-files';
export {
  LOADER_OPTIONS,
  TO_OBJECT_OPTIONS,
  loadEtcdPackageDefinition,
  loadEtcdPackage,
  loadEtcdServices,
  etcdRoot,
  messageType,
} from './loader';
export { encodeInternalRequest, decodeInternalRequest } from './internal-codec';
export { prefixEnd } from './key-range';
export {
  ETCD_ERRORS,
  EtcdError,
  etcdError,
  etcdErrorFromMessage,
  toGrpcStatus,
  httpStatusForGrpcCode,
  restErrorForEtcdError,
  GrpcStatus,
} from './errors';
export type { EtcdErrorCode, EtcdErrorSpec, GrpcErrorStatus, RestErrorBody } from './errors';
export * from './types';
export { GATEWAY_ROUTES, normalizeGatewayPath } from './gateway-routes';
export type { GatewayRoute, GatewayStreaming } from './gateway-routes';
export {
  decodeBase64Strict,
  decodeGatewayRequest,
  encodeGatewayResponse,
  encodeGatewayStreamResult,
  encodeGatewayStreamError,
  gatewayError,
  GatewayDecodeError,
} from './gateway-codec';
export type { GatewayErrorResponse, JsonObject, JsonValue } from './gateway-codec';
