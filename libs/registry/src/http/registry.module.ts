// The registry's Nest module: the REST/SSE controller over an already-built Registry, and a JSON body
// parser for its routes only (the member's app runs with the global body parser off).
import {
  type DynamicModule,
  type MiddlewareConsumer,
  Module,
  type NestModule,
  RequestMethod,
} from '@nestjs/common';
import type { NextFunction, Request, Response } from 'express';
import { json } from 'express';
import type { Registry } from '../registry';
import { RegistryController } from './registry.controller';
import { REGISTRY } from './tokens';

const parseJson = json({ limit: '1mb', type: () => true });

/** express.json() whose failures answer a Nest-style 400 instead of an HTML 500. */
export function registryJsonBody(req: Request, res: Response, next: NextFunction): void {
  if (req.method === 'GET' || req.method === 'DELETE' || req.method === 'HEAD') return next();
  parseJson(req, res, (err?: unknown) => {
    if (err) {
      const message = err instanceof Error ? err.message : String(err);
      res
        .status(400)
        .json({ statusCode: 400, message: `invalid JSON body: ${message}`, error: 'Bad Request' });
      return;
    }
    next();
  });
}

@Module({})
export class RegistryModule implements NestModule {
  static forRegistry(registry: Registry): DynamicModule {
    return {
      module: RegistryModule,
      controllers: [RegistryController],
      providers: [{ provide: REGISTRY, useValue: registry }],
    };
  }

  configure(consumer: MiddlewareConsumer): void {
    consumer.apply(registryJsonBody).forRoutes({ path: 'api/registry/v1/*path', method: RequestMethod.ALL });
  }
}
