// @cairn/registry: the service registry over the replicated KV (framework-free core, Nest module with
// REST + SSE, gRPC service, leader-only health checks). The model types are what the REST API returns:
// the console imports them with `import type`.
export * from './model';
export { RegistryError, describeError, type RegistryErrorKind } from './errors';
export {
  Registry,
  type RegistryOptions,
  type InstanceRef,
  type UpdateInput,
  validateRegister,
  normalizeCheck,
} from './registry';
export {
  RegistryWatch,
  type RegistryWatchFlow,
  type RegistryWatchOptions,
  type RegistryWatchSink,
} from './watch';
export { HealthChecker, type HealthCheckerOptions } from './health/health-checker';
export { httpProbe, tcpProbe, grpcProbe, type Probe, type ProbeResult } from './health/probes';
export { RegistryModule, registryJsonBody } from './http/registry.module';
export { RegistryController } from './http/registry.controller';
export { registerRegistryService, toRegisterInput } from './grpc/registry-grpc';
export { createRegistryFeature, type RegistryFeature } from './feature';
