// The web console: the built single-page app (web/dist) at `/` and its console-only API at /api/console/v1.
import {
  type DynamicModule,
  type MiddlewareConsumer,
  Module,
  type NestModule,
  RequestMethod,
} from '@nestjs/common';
import type { CairnNode, EtcdApis } from '@cairn/server';
import { ConsoleController } from './console.controller';
import { consoleStaticHandler, findConsoleDir } from './console-static';
import { CONSOLE_APIS, CONSOLE_NODE } from './tokens';

@Module({})
export class ConsoleModule implements NestModule {
  static forMember(node: CairnNode, apis: EtcdApis): DynamicModule {
    return {
      module: ConsoleModule,
      controllers: [ConsoleController],
      providers: [
        { provide: CONSOLE_NODE, useValue: node },
        { provide: CONSOLE_APIS, useValue: apis },
      ],
    };
  }

  configure(consumer: MiddlewareConsumer): void {
    consumer
      .apply(consoleStaticHandler(findConsoleDir()))
      .forRoutes({ path: '{*path}', method: RequestMethod.GET });
  }
}
