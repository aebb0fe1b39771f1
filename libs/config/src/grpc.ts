// gRPC cairn.config.v1.Config on the server's grpc-js server: the same operations as REST, over one
// ConfigCenter. Errors: ConfigError kinds map to gRPC codes (errors.ts); a publish conflict is ABORTED
// with the trailer `cairn-conflict` holding JSON {expectedRevision, currentRevision, base, current}.
import * as grpc from '@grpc/grpc-js';
import type { CallContext } from '@cairn/server';
import { GrpcStreamFlow, grpcCallContext, passEncodedResponses } from '@cairn/edge';
import {
  type ConfigHandlers,
  type ConfigItemRef__Output,
  EtcdError,
  loadEtcdServices,
  toGrpcStatus,
} from '@cairn/api';
import type { ItemRef } from './checks';
import type { ConfigCenter } from './config-center';
import { ConfigError, GRPC_CODE } from './errors';
import type {
  AppliedItem,
  ConfigBundle,
  ConfigItemView,
  ConfigReleaseView,
  ConfigWatchEvent,
  DraftRecord,
  GrayRecord,
  ListenerView,
} from './types';

function refOf(ref: ConfigItemRef__Output | null): ItemRef {
  return { namespace: ref?.namespace ?? '', app: ref?.app ?? '', name: ref?.name ?? '' };
}

function grpcError(err: unknown): Partial<grpc.StatusObject> {
  if (err instanceof ConfigError) {
    const metadata = new grpc.Metadata();
    if (err.conflict) metadata.set('cairn-conflict', JSON.stringify(err.conflict));
    if (err.issues.length > 0) metadata.set('cairn-issues', JSON.stringify(err.issues));
    return { code: GRPC_CODE[err.kind], details: err.message, metadata };
  }
  if (err instanceof EtcdError) return toGrpcStatus(err) as Partial<grpc.StatusObject>;
  return { code: grpc.status.INTERNAL, details: (err as Error)?.message ?? String(err) };
}

// Each call's port context is the one the request pipeline built for it (grpcCallContext): the caller's
// identity (metadata `token` or its client certificate), the call's deadline, and a signal that fires when the
// client cancels (a write already proposed still applies). A Watch runs under the context of its call.

function unary<Req, Res>(fn: (req: Req, ctx: CallContext) => Promise<Res>): grpc.handleUnaryCall<Req, Res> {
  return (call, callback) => {
    fn(call.request, grpcCallContext(call)).then(
      (res) => callback(null, res),
      (err: unknown) => callback(grpcError(err) as grpc.ServiceError),
    );
  };
}

const itemMsg = (i: ConfigItemView) => ({
  namespace: i.namespace,
  app: i.app,
  name: i.name,
  format: i.format,
  description: i.description,
  schema: i.schema,
  version: i.version,
  content: i.content,
  mod_revision: i.modRevision,
  latest_release: i.latestRelease,
  has_draft: i.draft !== null,
  has_gray: i.gray !== null,
  updated_at: i.updatedAt,
});

const releaseMsg = (r: ConfigReleaseView) => ({
  namespace: r.namespace,
  app: r.app,
  name: r.name,
  version: r.version,
  format: r.format,
  content: r.content,
  author: r.author,
  comment: r.comment,
  time: r.time,
  revision: r.revision,
  kind: r.kind,
  source_version: r.sourceVersion,
});

const draftMsg = (d: DraftRecord) => ({
  content: d.content,
  author: d.author,
  updated_at: d.updatedAt,
  base_revision: d.baseRevision,
});

const grayMsg = (g: GrayRecord) => ({
  version: g.version,
  content: g.content,
  rule: { labels: g.rule.labels, percentage: g.rule.percentage },
  author: g.author,
  comment: g.comment,
  time: g.time,
  base_version: g.baseVersion,
});

const listenerMsg = (l: ListenerView) => ({
  listener: {
    subscriber_id: l.subscriberId,
    namespace: l.namespace,
    app: l.app,
    labels: l.labels,
    versions: l.versions,
    host: l.host,
    connected_at: l.connectedAt,
    reported_at: l.reportedAt,
    member: l.member,
  },
  applied_version: l.appliedVersion,
  expected_version: l.expectedVersion,
});

type AppliedItemMsg = {
  name: string;
  format: string;
  version: number;
  content: string;
  json: string;
  gray: boolean;
  revision: number;
};

/** AppliedItems are shared between subscribers (subscription.ts): encode each once. */
const encoded = new WeakMap<AppliedItem, AppliedItemMsg>();

export function appliedItemMsg(a: AppliedItem): AppliedItemMsg {
  let msg = encoded.get(a);
  if (!msg) {
    msg = {
      name: a.name,
      format: a.format,
      version: a.version,
      content: a.content,
      json: JSON.stringify(a.value ?? null),
      gray: a.gray,
      revision: a.revision,
    };
    encoded.set(a, msg);
  }
  return msg;
}

const watchEventMsg = (e: ConfigWatchEvent) => ({
  kind: e.kind,
  revision: e.revision,
  items: e.items.map(appliedItemMsg),
  deleted: e.deleted,
});

/**
 * A subscription's events are shared by every subscriber with the same view (app-feed.ts): each is encoded
 * once and the same bytes go to all of them, through a Watch serializer that passes a Buffer through.
 */
const encodedEvents = new WeakMap<ConfigWatchEvent, Buffer>();

export function watchEventBytes(e: ConfigWatchEvent, serialize: (value: object) => Buffer): Buffer {
  let bytes = encodedEvents.get(e);
  if (!bytes) {
    bytes = serialize(watchEventMsg(e));
    encodedEvents.set(e, bytes);
  }
  return bytes;
}

function int(value: string | number): number {
  return Number(value);
}

/**
 * Writes a server stream's messages straight to its HTTP/2 stream, gRPC-framed (the server's
 * watch-stream-writer): grpc-js's per-message path costs more than the rest of a fan-out to one subscriber.
 * Returns undefined when it cannot (then the call writes through grpc-js).
 */
export type DirectStreamWriter = (
  call: grpc.ServerWritableStream<unknown, unknown>,
  serialize: (value: unknown) => Buffer,
) => (((response: unknown, written: () => void) => void) & { flush(): void }) | undefined;

export interface ConfigServiceOptions {
  directWriter?: DirectStreamWriter;
}

/** Unsent bytes a Watch stream may hold before its subscription leaves the feed (as an etcd Watch stream). */
const WATCH_MAX_QUEUED_BYTES = 1024 * 1024;

/** Registers cairn.config.v1.Config on `server`; returns a function that ends every open watch. */
export function registerConfigService(
  server: grpc.Server,
  config: ConfigCenter,
  options: ConfigServiceOptions = {},
): () => void {
  const pkg = loadEtcdServices();
  const service = pkg.cairn.config.v1.Config.service;
  const serializeEvent = service.Watch.responseSerialize as (value: object) => Buffer;
  const open = new Set<() => void>();
  const handlers: ConfigHandlers = {
    GetItem: unary(async (req, ctx) => itemMsg(await config.getItem(ctx, refOf(req.ref)))),
    ListItems: unary(async (req, ctx) => ({
      items: (await config.listItems(ctx, req.namespace, req.app)).map(itemMsg),
    })),
    PutItem: unary(async (req, ctx) =>
      itemMsg(
        await config.putItem(ctx, refOf(req.ref), {
          format: req.format || undefined,
          description: req.description,
          schema: req.schema,
        }),
      ),
    ),
    DeleteItem: unary(async (req, ctx) => ({ deleted: await config.deleteItem(ctx, refOf(req.ref)) })),
    SaveDraft: unary(async (req, ctx) =>
      draftMsg(
        await config.saveDraft(ctx, refOf(req.ref), {
          content: req.content,
          author: req.author,
          baseRevision: int(req.base_revision),
        }),
      ),
    ),
    GetDraft: unary(async (req, ctx) => draftMsg(await config.getDraft(ctx, refOf(req.ref)))),
    DiscardDraft: unary(async (req, ctx) => ({ discarded: await config.discardDraft(ctx, refOf(req.ref)) })),
    Validate: unary(async (req, ctx) => {
      const issues = await config.validate(ctx, refOf(req.ref), req.content, req.format || undefined);
      return { valid: issues.length === 0, errors: issues };
    }),
    Publish: unary(async (req, ctx) => {
      const expected = int(req.expected_revision);
      return releaseMsg(
        await config.publish(ctx, refOf(req.ref), {
          content: req.from_draft ? undefined : req.content,
          fromDraft: req.from_draft,
          author: req.author,
          comment: req.comment,
          expectedRevision: req.require_expected || expected > 0 ? expected : undefined,
        }),
      );
    }),
    ListReleases: unary(async (req, ctx) => ({
      releases: (await config.listReleases(ctx, refOf(req.ref), req.limit)).map(releaseMsg),
    })),
    GetRelease: unary(async (req, ctx) =>
      releaseMsg(await config.getRelease(ctx, refOf(req.ref), int(req.version))),
    ),
    Diff: unary(async (req, ctx) => ({
      unified: await config.diff(ctx, refOf(req.ref), int(req.from_version), int(req.to_version)),
    })),
    Rollback: unary(async (req, ctx) => {
      const expected = int(req.expected_revision);
      return releaseMsg(
        await config.rollback(ctx, refOf(req.ref), {
          version: int(req.version),
          author: req.author,
          comment: req.comment,
          expectedRevision: expected > 0 ? expected : undefined,
        }),
      );
    }),
    StartGray: unary(async (req, ctx) =>
      grayMsg(
        await config.startGray(ctx, refOf(req.ref), {
          content: req.content,
          rule: { labels: req.rule?.labels ?? {}, percentage: req.rule?.percentage || 100 },
          author: req.author,
          comment: req.comment,
        }),
      ),
    ),
    GetGray: unary(async (req, ctx) => grayMsg(await config.getGray(ctx, refOf(req.ref)))),
    PromoteGray: unary(async (req, ctx) =>
      releaseMsg(await config.promoteGray(ctx, refOf(req.ref), { author: req.author, comment: req.comment })),
    ),
    AbandonGray: unary(async (req, ctx) => ({
      abandoned: await config.abandonGray(ctx, refOf(req.ref)),
    })),
    ListListeners: unary(async (req, ctx) => ({
      listeners: (await config.listListeners(ctx, req.namespace, req.app, req.name)).map(listenerMsg),
    })),
    Report: unary(async (req, ctx) => {
      const versions: Record<string, number> = {};
      for (const [k, v] of Object.entries(req.versions)) versions[k] = int(v);
      await config.report(ctx, {
        subscriberId: req.subscriber_id,
        namespace: req.namespace,
        app: req.app,
        labels: req.labels,
        versions,
        host: req.host,
      });
      return {};
    }),
    Export: unary(async (req, ctx) => ({
      json: JSON.stringify(await config.exportBundle(ctx, req.namespace, req.app)),
    })),
    Import: unary(async (req, ctx) => {
      let bundle: ConfigBundle;
      try {
        bundle = JSON.parse(req.json) as ConfigBundle;
      } catch {
        throw new ConfigError('bad-request', 'the bundle is not JSON');
      }
      const result = await config.importBundle(ctx, bundle, { author: req.author, publish: req.publish });
      return { items: result.items, published: result.published, drafts: result.drafts };
    }),
    Watch: (call) => {
      const req = call.request;
      let handle: { close(): void } | undefined;
      let ended = false;
      const direct = options.directWriter?.(
        call as grpc.ServerWritableStream<unknown, unknown>,
        serializeEvent as (value: unknown) => Buffer,
      );
      // Bytes handed to the direct writer and not yet out of the process.
      let queuedBytes = 0;
      const fail = (err: unknown): void => {
        ended = true;
        open.delete(end);
        direct?.flush();
        call.emit('error', grpcError(err));
      };
      const end = (): void => {
        if (ended) return;
        ended = true;
        open.delete(end);
        handle?.close();
        // What this turn queued goes out before the status.
        direct?.flush();
        if (!call.writableEnded) call.end();
      };
      open.add(end);
      call.on('cancelled', end);
      call.on('close', end);
      // After `end` is attached: a cancel ends the stream before the port reports its watch cancelled.
      const ctx = grpcCallContext(call);
      const flow = new GrpcStreamFlow(call);
      config
        .subscribe(
          ctx,
          {
            namespace: req.namespace,
            app: req.app,
            labels: req.labels,
            subscriberId: req.subscriber_id || undefined,
            revision: int(req.revision),
            host: req.host,
            trackListener: true,
            // Bounded as every stream: past the bound unsent the subscription parks until the client reads.
            ready: direct ? () => queuedBytes < WATCH_MAX_QUEUED_BYTES : () => flow.writable,
          },
          (event) => {
            if (ended) return;
            const bytes = watchEventBytes(event, serializeEvent);
            if (direct) {
              queuedBytes += bytes.length;
              direct(bytes, () => (queuedBytes -= bytes.length));
              // The Buffer passes the serializer as the message (passEncodedResponses).
            } else call.write(bytes as never);
          },
          (err) => {
            if (err && !ended) {
              fail(err);
              return;
            }
            end();
          },
        )
        .then(
          (h) => {
            if (ended) h.close();
            else handle = h;
          },
          (err: unknown) => {
            if (!ended) fail(err);
          },
        );
    },
  };
  server.addService(passEncodedResponses(service, 'Watch'), handlers);
  return () => {
    for (const end of [...open]) end();
  };
}
