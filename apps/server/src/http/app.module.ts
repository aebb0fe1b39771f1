// The Nest application of a member: composes the HTTP controllers over the already-running core.
import { type DynamicModule, Module } from '@nestjs/common';
import type { CairnNode, EtcdApis, EtcdPort, WatchSource } from '@cairn/server';
import { DEFAULT_WATCH_PROGRESS_NOTIFY_INTERVAL_MS } from '@cairn/server';
import type { CairnMetrics } from '../metrics';
import { GatewayController } from './gateway.controller';
import { ProbesController } from './probes.controller';
import {
  CAIRN_NODE,
  ETCD_APIS,
  MAX_REQUEST_BYTES,
  METRICS,
  SECURITY_WARNINGS,
  WATCH_PROGRESS_INTERVAL_MS,
  WATCH_SOURCE,
} from './tokens';

@Module({})
export class AppModule {
  /** `features`: the feature modules of the member (config center, registry, ...), built by cairn-app.ts. */
  static forMember(
    node: CairnNode,
    apis: EtcdApis,
    port: EtcdPort,
    metrics: CairnMetrics,
    features: DynamicModule[] = [],
    /** What /health says about a member exposed without TLS or auth (member-auth.ts). */
    securityWarnings: () => string[] = () => [],
  ): DynamicModule {
    return {
      module: AppModule,
      imports: [...features],
      controllers: [ProbesController, GatewayController],
      providers: [
        { provide: CAIRN_NODE, useValue: node },
        { provide: ETCD_APIS, useValue: apis },
        { provide: MAX_REQUEST_BYTES, useValue: node.config.maxRequestBytes },
        {
          provide: WATCH_PROGRESS_INTERVAL_MS,
          useValue: node.config.watchProgressNotifyIntervalMs ?? DEFAULT_WATCH_PROGRESS_NOTIFY_INTERVAL_MS,
        },
        {
          provide: WATCH_SOURCE,
          useValue: { port, header: (revision: number) => node.header(revision) } satisfies WatchSource,
        },
        { provide: METRICS, useValue: metrics },
        { provide: SECURITY_WARNINGS, useValue: securityWarnings },
      ],
    };
  }
}
