// One call that builds the registry feature of a member: the core, the leader-only health checker, the
// Nest module (REST + SSE) and the gRPC service registration.
import type * as grpc from '@grpc/grpc-js';
import type { DynamicModule } from '@nestjs/common';
import { registerRegistryService } from './grpc/registry-grpc';
import { HealthChecker } from './health/health-checker';
import { RegistryModule } from './http/registry.module';
import { Registry, type RegistryOptions } from './registry';

export interface RegistryFeature {
  registry: Registry;
  checker: HealthChecker;
  /** Import into the member's Nest app. */
  module: DynamicModule;
  /** Adds cairn.registry.v1.Registry to a grpc-js server. */
  addGrpcService(server: grpc.Server): void;
  close(): void;
}

export function createRegistryFeature(
  options: RegistryOptions & { healthChecks?: boolean },
): RegistryFeature {
  const registry = new Registry(options);
  const checker = new HealthChecker(registry, { ...(options.logger ? { logger: options.logger } : {}) });
  if (options.healthChecks ?? true) checker.start();
  return {
    registry,
    checker,
    module: RegistryModule.forRegistry(registry),
    addGrpcService: (server) => registerRegistryService(server, registry),
    close() {
      checker.close();
      registry.close();
    },
  };
}
