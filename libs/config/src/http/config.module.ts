// The config center's Nest module: the REST controller over one ConfigCenter (created by the app, which
// also registers the gRPC service on the same instance).
import {
  type DynamicModule,
  type MiddlewareConsumer,
  Module,
  type NestModule,
  RequestMethod,
} from '@nestjs/common';
import { json, raw } from 'express';
import type { ConfigCenter } from '../config-center';
import { ConfigController } from './config.controller';
import { CONFIG_CENTER } from './tokens';

const MAX_BODY = '16mb';

@Module({})
export class ConfigCenterModule implements NestModule {
  static forCenter(center: ConfigCenter): DynamicModule {
    return {
      module: ConfigCenterModule,
      controllers: [ConfigController],
      providers: [{ provide: CONFIG_CENTER, useValue: center }],
      exports: [CONFIG_CENTER],
    };
  }

  configure(consumer: MiddlewareConsumer): void {
    // The app runs without Nest's global body parser (the etcd gateway reads raw bodies).
    consumer.apply(json({ limit: MAX_BODY })).forRoutes(ConfigController);
    consumer
      .apply(raw({ type: 'application/zip', limit: MAX_BODY }))
      .forRoutes({ path: 'api/config/v1/import/zip', method: RequestMethod.POST });
  }
}
