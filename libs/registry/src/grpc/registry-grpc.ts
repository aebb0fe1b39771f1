// cairn.registry.v1.Registry on the member's grpc-js server: the same operations as the REST API, with a
// server-streaming Watch. Proto field names equal the REST JSON names, so records pass through as they are.
// Every call runs under the context the request pipeline built for it (grpcCallContext: the caller's identity
// from metadata `token` or its client certificate); a Watch under the context of its call.
import * as grpc from '@grpc/grpc-js';
import {
  loadEtcdServices,
  type RegistryCloseSessionRequest__Output,
  type RegistryInstanceRef__Output,
  type RegistryKeepAliveRequest__Output,
  type RegistryOpenSessionRequest__Output,
  type RegistryListInstancesRequest__Output,
  type RegistryListServicesRequest__Output,
  type RegistryRegisterBatchRequest__Output,
  type RegistryRegisterRequest__Output,
  type RegistryUpdateRequest__Output,
  type RegistryWatchRequest__Output,
} from '@cairn/api';
import { GrpcStreamFlow, grpcCallContext } from '@cairn/edge';
import type { CallContext } from '@cairn/server';
import { describeError } from '../errors';
import type { CheckType, HealthStatus, InstanceStatus, RegisterInput } from '../model';
import type { Registry } from '../registry';

type Callback = (error: grpc.ServiceError | null, response?: object) => void;

function fail(callback: Callback, err: unknown): void {
  const { grpcCode, body } = describeError(err);
  const message = (body as { message?: string }).message ?? 'error';
  callback(
    Object.assign(new Error(message), { code: grpcCode, details: message, metadata: new grpc.Metadata() }),
  );
}

function unary<Req>(fn: (req: Req, ctx: CallContext) => Promise<object>) {
  return (call: grpc.ServerUnaryCall<Req, object>, callback: Callback) => {
    fn(call.request, grpcCallContext(call)).then(
      (response) => callback(null, response),
      (err: unknown) => fail(callback, err),
    );
  };
}

function ref(req: RegistryInstanceRef__Output) {
  return { namespace: req.namespace || 'default', service: req.service, id: req.id };
}

export function toRegisterInput(req: RegistryRegisterRequest__Output): RegisterInput {
  const i = req.instance;
  const check = i?.check;
  return {
    namespace: i?.namespace || 'default',
    service: i?.service ?? '',
    id: i?.id ?? '',
    address: {
      host: i?.address?.host ?? '',
      port: i?.address?.port ?? 0,
      ...(i?.address?.scheme ? { scheme: i.address.scheme } : {}),
    },
    metadata: { ...(i?.metadata ?? {}) },
    tags: [...(i?.tags ?? [])],
    // proto3 cannot tell 0 from unset: a gRPC weight of 0 means the default (1).
    weight: i?.weight || 1,
    zone: i?.zone ?? '',
    version: i?.version ?? '',
    ...(i?.status ? { status: i.status as InstanceStatus } : {}),
    ...(check?.type
      ? {
          check: {
            type: check.type as CheckType,
            target: check.target,
            grpc_service: check.grpc_service,
            interval_ms: check.interval_ms,
            timeout_ms: check.timeout_ms,
            failures_before_critical: check.failures_before_critical,
            successes_before_passing: check.successes_before_passing,
            deregister_critical_after_ms: check.deregister_critical_after_ms,
          },
        }
      : {}),
    ...(req.ttl ? { ttl: req.ttl } : {}),
    ...(req.session && req.session !== '0' ? { session: req.session } : {}),
  };
}

export function registerRegistryService(server: grpc.Server, registry: Registry): void {
  const service = loadEtcdServices().cairn.registry.v1.Registry.service;
  server.addService(service, {
    Register: unary((req: RegistryRegisterRequest__Output, ctx) =>
      registry.register(ctx, toRegisterInput(req)),
    ),
    Heartbeat: unary((req: RegistryInstanceRef__Output, ctx) => registry.heartbeat(ctx, ref(req))),
    Update: unary((req: RegistryUpdateRequest__Output, ctx) =>
      registry.update(ctx, {
        ...ref(req),
        ...(Object.keys(req.metadata).length > 0 ? { metadata: req.metadata } : {}),
        ...(req.status ? { status: req.status as InstanceStatus } : {}),
      }),
    ),
    Deregister: unary((req: RegistryInstanceRef__Output, ctx) => registry.deregister(ctx, ref(req))),
    Get: unary((req: RegistryInstanceRef__Output, ctx) => registry.get(ctx, ref(req))),
    ListNamespaces: unary(async (_req: unknown, ctx) => ({ namespaces: await registry.listNamespaces(ctx) })),
    ListServices: unary((req: RegistryListServicesRequest__Output, ctx) =>
      registry.listServices(ctx, req.namespace || 'default'),
    ),
    ListInstances: unary((req: RegistryListInstancesRequest__Output, ctx) =>
      registry.listInstances(ctx, req.namespace || 'default', req.service, {
        ...(req.health ? { health: req.health as HealthStatus } : {}),
        ...(req.tag ? { tag: req.tag } : {}),
        ...(req.zone ? { zone: req.zone } : {}),
        ...(Object.keys(req.metadata).length > 0 ? { metadata: req.metadata } : {}),
      }),
    ),
    OpenSession: unary((req: RegistryOpenSessionRequest__Output, ctx) =>
      registry.openSession(ctx, req.namespace || 'default', req.ttl || undefined),
    ),
    KeepAlive: unary((req: RegistryKeepAliveRequest__Output, ctx) =>
      registry.keepAlive(ctx, req.namespace || 'default', req.leases),
    ),
    RegisterBatch: unary(async (req: RegistryRegisterBatchRequest__Output, ctx) => {
      const inputs = req.instances.map((instance) => {
        const {
          namespace: _ns,
          session: _s,
          ttl: _t,
          ...input
        } = toRegisterInput({
          instance,
          ttl: 0,
          session: '0',
        });
        return input;
      });
      const results = await registry.registerBatch(ctx, req.namespace || 'default', req.session, inputs);
      return {
        results: results.map((r) => {
          if (r.ok) return { registered: r.ok };
          const { grpcCode, body } = describeError(r.error);
          return { code: grpcCode, error: (body as { message?: string }).message ?? 'error' };
        }),
      };
    }),
    CloseSession: unary((req: RegistryCloseSessionRequest__Output, ctx) =>
      registry.closeSession(ctx, req.namespace || 'default', req.session),
    ),
    Watch: (call: grpc.ServerWritableStream<RegistryWatchRequest__Output, object>) => {
      const req = call.request;
      const ctx = grpcCallContext(call);
      const namespace = req.namespace || 'default';
      // grpc-js ends a server stream with a status on its 'error' event (destroy() sends none).
      const refuse = (err: unknown): void => {
        if (call.cancelled) return;
        const { grpcCode, body } = describeError(err);
        const details = (body as { message?: string }).message ?? 'error';
        call.emit('error', { code: grpcCode, details, metadata: new grpc.Metadata() });
      };
      // The caller's READ first: a refusal is PermissionDenied on the call, not a stream that just ends.
      registry
        .checkWatch(ctx, namespace, req.service)
        .then(() => {
          if (call.cancelled) return;
          const watch = registry.watch(
            ctx,
            {
              namespace,
              service: req.service,
              startRevision: Number(req.start_revision),
            },
            (event) => {
              if (!call.cancelled) call.write(event);
            },
            // Bounded as every stream: past the bound unsent the watch parks until the client reads.
            new GrpcStreamFlow(call),
          );
          call.on('cancelled', () => watch.close());
          call.on('close', () => watch.close());
          call.on('error', () => watch.close());
        })
        .catch(refuse);
    },
  } as grpc.UntypedServiceImplementation);
}
