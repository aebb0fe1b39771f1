// The CallContext of one REST request is the one the request pipeline built for it (callContextOf): the
// caller's authenticated identity (token or client certificate), its deadline, and an abort signal that fires
// when the client goes away. Handlers never build a context of their own, so every port call they make runs
// under the caller's identity and the core checks its permissions.
import { type ExecutionContext, createParamDecorator } from '@nestjs/common';
import { callContextOf } from '@cairn/edge';
import type { CallContext } from '@cairn/server';
import type { Request } from 'express';

/** `@Call() ctx: CallContext` in a handler's parameters. */
export const Call = createParamDecorator((_data: unknown, host: ExecutionContext): CallContext =>
  callContextOf(host.switchToHttp().getRequest<Request>()),
);
