// @cairn/config: the config center (docs/config.md). The app creates one ConfigCenter per member, mounts
// ConfigCenterModule.forCenter(center) in Nest (REST /api/config/v1) and registerConfigService(grpcServer,
// center) (gRPC cairn.config.v1). The types are the JSON shapes of the REST API (import type from web/).
export * from './types';
export { ConfigCenter, type ConfigCenterOptions } from './config-center';
export type { ConfigAuditSource } from './audit-history';
export type { ItemRef } from './checks';
export type { PublishOptions } from './release-workflow';
export type { SubscriptionHandle } from './subscribers';
export { ANONYMOUS_ACTOR, actorOf } from './actor';
export { KeyRing } from './secrets/key-ring';
export { SECRET_MASK, SecretBox } from './secrets/secret-box';
export { ConfigError, type ConfigErrorKind, type ConflictDetails, HTTP_STATUS, GRPC_CODE } from './errors';
export {
  CONFIG_FORMATS,
  isConfigFormat,
  validateContent,
  parseContent,
  parseProperties,
  lineColumn,
} from './formats';
export { unifiedDiff } from './diff';
export * as configKeys from './keys';
export { CONFIG_ROOT, LEGACY_LISTENER_ROOT } from './keys';
export { grayApplies, grayBucket } from './app-view';
export type { SubscribeParams } from './subscription';
export { registerConfigService } from './grpc';
export { ConfigCenterModule } from './http/config.module';
export { ConfigController, parseLabels } from './http/config.controller';
export { CONFIG_CENTER } from './http/tokens';
