// The web console: the built single-page app (web/dist) at `/` and its console-only API at /api/console/v1.
// With auth disabled (no login: anyone reaching the console could read and write every key) both answer
// loopback clients only, unless --console-allow-remote is set. With auth enabled the console has a login and
// every API call needs the caller's permissions, so remote clients are served (decided per request: auth can
// be enabled or disabled while the member runs).
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

  constructor(
    @Inject(CONSOLE_OPTIONS) private readonly options: ConsoleOptions,
    @Inject(CONSOLE_MEMBER) private readonly member: ConsoleMemberInfo,
  ) {}

  configure(consumer: MiddlewareConsumer): void {
    const always = this.options.allowRemote ?? false;
    const allowRemote = (): boolean => always || this.member.authEnabled();
    consumer
      .apply(consoleStaticHandler(findConsoleDir(this.options.dir), { allowRemote }))
      .forRoutes({ path: '{*path}', method: RequestMethod.GET });
    if (!always) {
      consumer
        .apply((req: Request, res: Response, next: NextFunction) => {
          if (allowRemote() || isLoopback(req)) return next();
          res.status(403).json({
            statusCode: 403,
            message:
              'the console API answers loopback clients only while auth is disabled (enable auth, or start the server with --console-allow-remote)',
            error: 'Forbidden',
          });
        })
        .forRoutes(ConsoleController);
    }
  }
}
