// The port context of one REST request: anonymous until authentication fills it, and cancelled when the
// client goes away before its answer (a write already proposed still applies).
import { type ExecutionContext, createParamDecorator } from '@nestjs/common';
import { ANONYMOUS, type CallContext } from '@cairn/server';
import type { Request, Response } from 'express';

export function httpCallContext(_req: Request, res: Response): CallContext {
  const abort = new AbortController();
  res.on('close', () => {
    if (!res.writableFinished) abort.abort();
  });
  return { identity: ANONYMOUS, signal: abort.signal };
}

/** `@Call() ctx: CallContext` in a handler's parameters. */
export const Call = createParamDecorator((_data: unknown, host: ExecutionContext): CallContext => {
  const http = host.switchToHttp();
  return httpCallContext(http.getRequest<Request>(), http.getResponse<Response>());
});
