// `@Call() ctx: CallContext`: the context the request pipeline built for this request (callContextOf) — the
// caller's authenticated identity, deadline and abort signal. Every registry call a handler makes runs under
// it, so the core checks the caller's permissions; an SSE watch keeps the context of the request that opened
// it. (The config center has the same decorator; both are one line over the edge's callContextOf.)
import { type ExecutionContext, createParamDecorator } from '@nestjs/common';
import { callContextOf } from '@cairn/edge';
import type { CallContext } from '@cairn/server';
import type { Request } from 'express';

export const Call = createParamDecorator((_data: unknown, host: ExecutionContext): CallContext =>
  callContextOf(host.switchToHttp().getRequest<Request>()),
);
