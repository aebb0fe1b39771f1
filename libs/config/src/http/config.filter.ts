// The config center's one error filter: its errors and the core's EtcdError onto Nest's standard error body;
// authentication and authorisation failures as 401/403 with etcd's message and gRPC code (auth-errors.ts).
import { type ArgumentsHost, Catch, type ExceptionFilter, HttpException } from '@nestjs/common';
import type { Response } from 'express';
import { EtcdError, restErrorForEtcdError } from '@cairn/api';
import { ConfigError, HTTP_STATUS } from '../errors';

const ERROR_NAMES: Record<number, string> = {
  400: 'Bad Request',
  404: 'Not Found',
  409: 'Conflict',
  500: 'Internal Server Error',
  503: 'Service Unavailable',
};

export function configErrorBody(err: unknown): { status: number; body: Record<string, unknown> } {
  if (err instanceof ConfigError) {
    const status = HTTP_STATUS[err.kind];
    const body: Record<string, unknown> = {
      statusCode: status,
      error: ERROR_NAMES[status],
      message: err.message,
    };
    if (err.issues.length > 0) body.issues = err.issues;
    if (err.conflict) Object.assign(body, err.conflict);
    return { status, body };
  }
  if (err instanceof EtcdError) return restErrorForEtcdError(err);
  if (err instanceof HttpException) {
    const response = err.getResponse();
    return {
      status: err.getStatus(),
      body:
        typeof response === 'string'
          ? { statusCode: err.getStatus(), message: response }
          : (response as Record<string, unknown>),
    };
  }
  return {
    status: 500,
    body: { statusCode: 500, error: ERROR_NAMES[500], message: (err as Error)?.message ?? String(err) },
  };
}

@Catch()
export class ConfigExceptionFilter implements ExceptionFilter {
  catch(err: unknown, host: ArgumentsHost): void {
    const res = host.switchToHttp().getResponse<Response>();
    if (res.headersSent) {
      res.end();
      return;
    }
    const { status, body } = configErrorBody(err);
    res.status(status).json(body);
  }
}
