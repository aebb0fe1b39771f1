// The web console: the built single-page app (web/dist) at `/` and its console-only API at /api/console/v1.
// Until the console has a login, both answer loopback clients only unless --console-allow-remote is set.
import {
  type DynamicModule,
  Inject,
  type MiddlewareConsumer,
  Module,
  type NestModule,
  RequestMethod,
} from '@nestjs/common';
import type { NextFunction, Request, Response } from 'express';
import type { EtcdPort } from '@cairn/server';
import type { ConsoleMemberInfo } from './cluster-overview';
import { ConsoleController } from './console.controller';
import { consoleStaticHandler, findConsoleDir, isLoopback } from './console-static';
import { CONSOLE_MEMBER, CONSOLE_OPTIONS, CONSOLE_PORT } from './tokens';

export interface ConsoleOptions {
  /** Serve non-loopback clients too (default false). */
  allowRemote?: boolean;
  /** Directory of the built console (default: web/dist of this checkout). */
  dir?: string;
}

@Module({})
export class ConsoleModule implements NestModule {
  /** `member`: consoleMemberInfo(node, port) (cluster-overview.ts); `port`: the member's EtcdPort. */
  static forMember(member: ConsoleMemberInfo, port: EtcdPort, options: ConsoleOptions = {}): DynamicModule {
    return {
      module: ConsoleModule,
      controllers: [ConsoleController],
      providers: [
        { provide: CONSOLE_MEMBER, useValue: member },
        { provide: CONSOLE_PORT, useValue: port },
        { provide: CONSOLE_OPTIONS, useValue: options },
      ],
    };
  }

  constructor(@Inject(CONSOLE_OPTIONS) private readonly options: ConsoleOptions) {}

  configure(consumer: MiddlewareConsumer): void {
    const allowRemote = this.options.allowRemote ?? false;
    consumer
      .apply(consoleStaticHandler(findConsoleDir(this.options.dir), { allowRemote }))
      .forRoutes({ path: '{*path}', method: RequestMethod.GET });
    if (!allowRemote) {
      consumer
        .apply((req: Request, res: Response, next: NextFunction) => {
          if (isLoopback(req)) return next();
          res.status(403).json({
            statusCode: 403,
            message:
              'the console API answers loopback clients only (start the server with --console-allow-remote)',
            error: 'Forbidden',
          });
        })
        .forRoutes(ConsoleController);
    }
  }
}
