// The request pipeline: policies admit in order and see every call end once; a refusal is the answer and is
// reported; the deadline, leader and size policies build the context or refuse with etcd's errors; the HTTP
// middleware admits before routing, answers refusals with etcd's JSON error and labels calls by route.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { etcdError } from '@cairn/api';
import { afterEach, describe, expect, it } from 'vitest';
import {
  type Outcome,
  type PipelineCall,
  type Policy,
  type RequestInfo,
  RequestPipeline,
  accessLogPolicy,
  callContextOf,
  deadlinePolicy,
  httpPipelineMiddleware,
  leaderPolicy,
} from '../src';

function request(overrides: Partial<RequestInfo> & { headers?: Record<string, string> } = {}): RequestInfo {
  const { headers = {}, ...rest } = overrides;
  return {
    surface: 'grpc',
    method: 'etcdserverpb.KV/Range',
    kind: 'unary',
    header: (name) => headers[name],
    blocking: false,
    ...rest,
  };
}

/** A policy that records what it saw. */
function recorder(name: string, log: string[]): Policy {
  return {
    name,
    admit: (req) => void log.push(`${name} admit ${req.method}`),
    complete: (req, outcome) => void log.push(`${name} complete ${req.method} ${outcome.code}`),
  };
}

/** The call of a pipeline whose policies all admit synchronously (these tests' policies do). */
function admitNow(pipeline: RequestPipeline, info: RequestInfo): PipelineCall {
  const call = pipeline.begin(info);
  if (call instanceof Promise) throw new Error('admission was expected to be synchronous');
  return call;
}

describe('RequestPipeline', () => {
  it('admits through every policy in order, runs the handler, and reports the outcome to each once', async () => {
    const log: string[] = [];
    const pipeline = new RequestPipeline([recorder('a', log), recorder('b', log)]);
    const answer = await pipeline.unary(request(), () => 'ok');
    expect(answer).toBe('ok');
    expect(log).toEqual([
      'a admit etcdserverpb.KV/Range',
      'b admit etcdserverpb.KV/Range',
      'a complete etcdserverpb.KV/Range OK',
      'b complete etcdserverpb.KV/Range OK',
    ]);
  });

  it('reports a handler error with its gRPC code name and rethrows it unchanged', async () => {
    const outcomes: Outcome[] = [];
    const pipeline = new RequestPipeline([
      { name: 'r', complete: (_req, outcome) => void outcomes.push(outcome) },
    ]);
    const failure = etcdError('key-not-found');
    await expect(pipeline.unary(request(), () => Promise.reject(failure))).rejects.toBe(failure);
    expect(outcomes.map((o) => o.code)).toEqual(['InvalidArgument']);
    await expect(pipeline.unary(request(), () => Promise.reject(new Error('boom')))).rejects.toThrow('boom');
    expect(outcomes.map((o) => o.code)).toEqual(['InvalidArgument', 'Unknown']);
  });

  it('stops at a refusing policy: later policies and the handler do not run, the refusal is reported', async () => {
    const log: string[] = [];
    const refuse: Policy = {
      name: 'refuse',
      admit: () => {
        throw etcdError('permission-denied');
      },
    };
    const pipeline = new RequestPipeline([recorder('first', log), refuse, recorder('last', log)]);
    let ran = false;
    await expect(
      pipeline.unary(request(), () => {
        ran = true;
      }),
    ).rejects.toThrow('etcdserver: permission denied');
    expect(ran).toBe(false);
    expect(log).toEqual([
      'first admit etcdserverpb.KV/Range',
      'first complete etcdserverpb.KV/Range PermissionDenied',
      'last complete etcdserverpb.KV/Range PermissionDenied',
    ]);
  });

  it('a policy that throws while reporting does not change the answer', async () => {
    const pipeline = new RequestPipeline([
      {
        name: 'broken',
        complete: () => {
          throw new Error('reporting failed');
        },
      },
    ]);
    await expect(pipeline.unary(request(), () => 7)).resolves.toBe(7);
  });
});

describe('a policy that has to wait', () => {
  it('admits later (the next policies run after it), or refuses later with its error, reported once', async () => {
    const order: string[] = [];
    const outcomes: string[] = [];
    const waiting = (refuse: boolean): Policy => ({
      name: 'waiting',
      admit: (_request, draft) =>
        new Promise<void>((resolve, reject) =>
          setTimeout(() => {
            order.push('waited');
            if (refuse) reject(etcdError('invalid-auth-token'));
            else {
              draft.identity = { user: 'alice', authRevision: 3 };
              resolve();
            }
          }, 5),
        ),
      complete: (_request, outcome) => outcomes.push(outcome.code),
    });
    const after: Policy = { name: 'after', admit: () => void order.push('after') };
    const admitted = await new RequestPipeline([waiting(false), after]).begin(request());
    expect(order).toEqual(['waited', 'after']);
    expect(admitted.context.identity).toEqual({ user: 'alice', authRevision: 3 });
    admitted.end();
    await expect(new RequestPipeline([waiting(true), after]).begin(request())).rejects.toThrow(
      'etcdserver: invalid auth token',
    );
    expect(order).toEqual(['waited', 'after', 'waited']);
    expect(outcomes).toEqual(['OK', 'Unauthenticated']);
  });
});

describe('policies', () => {
  const now = () => 1_000_000;

  it('deadline: a unary call gets the server bound (or the earlier client deadline); a blocking one only the client’s', () => {
    const pipeline = new RequestPipeline([deadlinePolicy({ unaryBoundMs: 5000, now })]);
    expect(admitNow(pipeline, request()).context.deadline).toBe(1_005_000);
    expect(admitNow(pipeline, request({ clientDeadline: 1_002_000 })).context.deadline).toBe(1_002_000);
    expect(admitNow(pipeline, request({ clientDeadline: 1_009_000 })).context.deadline).toBe(1_005_000);
    expect(admitNow(pipeline, request({ blocking: true })).context.deadline).toBeUndefined();
    expect(admitNow(pipeline, request({ blocking: true, clientDeadline: 1_009_000 })).context.deadline).toBe(
      1_009_000,
    );
    expect(() => pipeline.begin(request({ clientDeadline: 999_000 }))).toThrow('context deadline exceeded');
  });

  it('leader: hasleader=true is refused without a leader and marks the context with one', () => {
    let leader = false;
    const pipeline = new RequestPipeline([leaderPolicy(() => leader)]);
    expect(() => pipeline.begin(request({ headers: { hasleader: 'true' } }))).toThrow(
      'etcdserver: no leader',
    );
    expect(admitNow(pipeline, request()).context.requireLeader).toBe(false);
    leader = true;
    expect(admitNow(pipeline, request({ headers: { hasleader: 'true' } })).context.requireLeader).toBe(true);
  });
});

describe('httpPipelineMiddleware', () => {
  let server: http.Server | undefined;
  let routed = 0;
  afterEach(async () => {
    await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
    server = undefined;
  });

  async function serve(pipeline: RequestPipeline): Promise<string> {
    const middleware = httpPipelineMiddleware(pipeline, {
      isBlocking: (_verb, path) => path.endsWith('/watch'),
    });
    server = http.createServer((req, res) => {
      middleware(req, res, () => {
        routed++;
        // A stand-in for Express routing: the matched route's pattern.
        Object.assign(req, { route: { path: '/items/:id' }, baseUrl: '/api' });
        const ctx = callContextOf(req);
        res.setHeader('Content-Type', 'application/json');
        res.end(JSON.stringify({ deadline: ctx.deadline ?? null, user: ctx.identity.user }));
      });
    });
    await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
    return `http://127.0.0.1:${(server!.address() as AddressInfo).port}`;
  }

  it('admits every request, gives the handler its context, and reports it under its route pattern', async () => {
    const seen: string[] = [];
    const url = await serve(
      new RequestPipeline([
        deadlinePolicy({ unaryBoundMs: 5000 }),
        { name: 'r', complete: (req, outcome) => void seen.push(`${req.method} ${outcome.code}`) },
      ]),
    );
    const res = await fetch(`${url}/api/items/42?x=1`);
    const body = (await res.json()) as { deadline: number | null };
    expect(res.status).toBe(200);
    expect(body.deadline).toBeGreaterThan(Date.now());
    await expect.poll(() => seen).toEqual(['GET /api/items/:id 200']);
    const stream = (await (await fetch(`${url}/api/watch`)).json()) as { deadline: number | null };
    expect(stream.deadline).toBeNull(); // a blocking request gets no server bound
  });

  it('answers a refusal with etcd’s JSON error and the HTTP status of its gRPC code, without routing', async () => {
    routed = 0;
    const pipeline = new RequestPipeline([
      {
        name: 'refuse',
        admit: (req) => {
          if (req.header('x-refuse')) throw etcdError('permission-denied');
        },
      },
    ]);
    const url = await serve(pipeline);
    const res = await fetch(`${url}/api/items/1`, { headers: { 'x-refuse': '1' } });
    expect(res.status).toBe(403);
    expect(await res.json()).toEqual({
      error: 'etcdserver: permission denied',
      code: 7,
      message: 'etcdserver: permission denied',
    });
    expect(routed).toBe(0);
  });
});

describe('the access log', () => {
  function logged(error: unknown): Array<{ level: string; fields: Record<string, unknown> }> {
    const lines: Array<{ level: string; fields: Record<string, unknown> }> = [];
    const policy = accessLogPolicy({
      debug: (fields) => lines.push({ level: 'debug', fields: fields as Record<string, unknown> }),
      warn: (fields) => lines.push({ level: 'warn', fields: fields as Record<string, unknown> }),
    });
    const call = new RequestPipeline([policy]).begin(request()) as PipelineCall;
    call.end(error);
    return lines;
  }

  it('warns of an unexpected error with its stack, and of a status with its code and details', () => {
    const [thrown] = logged(new TypeError('x is undefined'));
    expect(thrown?.level).toBe('warn');
    expect(String(thrown?.fields['err'])).toContain('TypeError: x is undefined');
    const [status] = logged({ code: 13, details: 'Error serializing response' });
    expect([status?.level, status?.fields['err']]).toEqual(['warn', '13 Error serializing response']);
  });

  it("logs a malformed request the client sent at debug level: the client's fault, not a defect", () => {
    const [line] = logged({ code: 13, details: 'Error deserializing request', clientFault: true });
    expect([line?.level, line?.fields['code']]).toEqual(['debug', 'Internal']);
  });
});
