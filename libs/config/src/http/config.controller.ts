// REST API of the config center under /api/config/v1 (OpenAPI at /api/docs). Watch: SSE and long-poll.
import {
  Body,
  Controller,
  Delete,
  Get,
  HttpCode,
  Inject,
  Param,
  Post,
  Put,
  Query,
  Req,
  Res,
  UseFilters,
  UsePipes,
  ValidationPipe,
} from '@nestjs/common';
import { ApiBody, ApiConsumes, ApiOperation, ApiQuery, ApiResponse, ApiTags } from '@nestjs/swagger';
import type { Request, Response } from 'express';
import { strFromU8, strToU8, unzipSync, zipSync } from 'fflate';
import type { ItemRef } from '../checks';
import type { ConfigCenter } from '../config-center';
import { ConfigError } from '../errors';
import type {
  AppView,
  AuditEntryView,
  ConfigBundle,
  ConfigItemView,
  ConfigReleaseView,
  ConfigWatchEvent,
  DraftRecord,
  GrayRecord,
  ImportResult,
  ListenerView,
  LongPollResult,
  NamespaceView,
  ValidationIssue,
} from '../types';
import { configErrorBody, ConfigExceptionFilter } from './config.filter';
import {
  DescriptionDto,
  ImportDto,
  PromoteGrayDto,
  PublishDto,
  PutItemDto,
  ReportDto,
  RollbackDto,
  SaveDraftDto,
  StartGrayDto,
  ValidateDto,
} from './dto';
import { CONFIG_CENTER } from './tokens';
import { Call } from './call-context';
import type { CallContext } from '@cairn/server';
import { SseStream } from '@cairn/edge';

const ITEM = 'namespaces/:ns/apps/:app/items/:name';
const SSE_HEARTBEAT_MS = 15_000;
const MAX_POLL_MS = 60_000;

/** `zone=eu-1,canary=true` → { zone: 'eu-1', canary: 'true' } */
export function parseLabels(text: unknown): Record<string, string> {
  const labels: Record<string, string> = {};
  if (typeof text !== 'string' || text === '') return labels;
  for (const pair of text.split(',')) {
    const eq = pair.indexOf('=');
    if (eq <= 0) throw new ConfigError('bad-request', `label "${pair}" is not key=value`);
    labels[pair.slice(0, eq).trim()] = pair.slice(eq + 1).trim();
  }
  return labels;
}

function intQuery(value: unknown, name: string, fallback = 0): number {
  if (value === undefined || value === '') return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0)
    throw new ConfigError('bad-request', `${name} must be a non-negative integer`);
  return n;
}

/** `?reveal=true`: a secret item's content decrypted (the caller's READ on it was checked by its reads). */
function revealed(value: string | undefined): boolean {
  return value === 'true' || value === '1';
}

function ref(ns: string, app: string, name: string): ItemRef {
  return { namespace: ns, app, name };
}

function bundleZip(bundle: ConfigBundle): Uint8Array {
  const files: Record<string, Uint8Array> = { 'bundle.json': strToU8(JSON.stringify(bundle, null, 2)) };
  for (const app of bundle.apps) {
    for (const item of app.items)
      files[`${bundle.namespace}/${app.name}/${item.name}`] = strToU8(item.content);
  }
  return zipSync(files);
}

/** Subscribers with the same view share an event object (app-feed.ts): its JSON is built once for all. */
const eventJsons = new WeakMap<ConfigWatchEvent, string>();

function eventJson(event: ConfigWatchEvent): string {
  let json = eventJsons.get(event);
  if (json === undefined) {
    json = JSON.stringify(event);
    eventJsons.set(event, json);
  }
  return json;
}

@ApiTags('config')
@Controller('api/config/v1')
@UseFilters(ConfigExceptionFilter)
@UsePipes(new ValidationPipe({ whitelist: true, transform: true, forbidUnknownValues: false }))
export class ConfigController {
  constructor(@Inject(CONFIG_CENTER) private readonly config: ConfigCenter) {}

  // ---- namespaces and apps ----

  @Get('namespaces')
  @ApiOperation({ summary: 'List namespaces with their apps' })
  listNamespaces(@Call() ctx: CallContext): Promise<NamespaceView[]> {
    return this.config.listNamespaces(ctx);
  }

  @Put('namespaces/:ns')
  @ApiOperation({ summary: 'Create or describe a namespace' })
  putNamespace(
    @Call() ctx: CallContext,
    @Param('ns') ns: string,
    @Body() body: DescriptionDto,
  ): Promise<NamespaceView> {
    return this.config.putNamespace(ctx, ns, body.description ?? '');
  }

  @Get('namespaces/:ns/apps')
  @ApiOperation({ summary: 'List the apps of a namespace with their item names' })
  listApps(@Call() ctx: CallContext, @Param('ns') ns: string): Promise<AppView[]> {
    return this.config.listApps(ctx, ns);
  }

  @Put('namespaces/:ns/apps/:app')
  @ApiOperation({ summary: 'Create or describe an app' })
  putApp(
    @Call() ctx: CallContext,
    @Param('ns') ns: string,
    @Param('app') app: string,
    @Body() body: DescriptionDto,
  ): Promise<AppView> {
    return this.config.putApp(ctx, ns, app, body.description ?? '');
  }

  // ---- items ----

  @Get('namespaces/:ns/apps/:app/items')
  @ApiOperation({ summary: "List an app's items (live content, version, draft and gray state)" })
  listItems(
    @Call() ctx: CallContext,
    @Param('ns') ns: string,
    @Param('app') app: string,
    @Query('reveal') reveal?: string,
  ): Promise<ConfigItemView[]> {
    return this.config.listItems(ctx, ns, app, revealed(reveal));
  }

  @Get(ITEM)
  @ApiOperation({
    summary: 'Get an item: live content, version, modRevision (for expectedRevision), draft, gray',
  })
  @ApiResponse({ status: 404, description: 'no such item' })
  getItem(
    @Call() ctx: CallContext,
    @Param('ns') ns: string,
    @Param('app') app: string,
    @Param('name') name: string,
    @Query('reveal') reveal?: string,
  ): Promise<ConfigItemView> {
    return this.config.getItem(ctx, ref(ns, app, name), revealed(reveal));
  }

  @Put(ITEM)
  @ApiOperation({ summary: 'Create an item or change its format, description or JSON Schema' })
  putItem(
    @Call() ctx: CallContext,
    @Param('ns') ns: string,
    @Param('app') app: string,
    @Param('name') name: string,
    @Body() body: PutItemDto,
  ): Promise<ConfigItemView> {
    return this.config.putItem(ctx, ref(ns, app, name), body);
  }

  @Delete(ITEM)
  @ApiOperation({
    summary: 'Delete an item, its draft, gray release and releases (the audit archive keeps them)',
  })
  async deleteItem(
    @Call() ctx: CallContext,
    @Param('ns') ns: string,
    @Param('app') app: string,
    @Param('name') name: string,
  ): Promise<{ deleted: boolean }> {
    return { deleted: await this.config.deleteItem(ctx, ref(ns, app, name)) };
  }

  // ---- drafts ----

  @Get(`${ITEM}/draft`)
  @ApiOperation({ summary: "Get the item's draft" })
  getDraft(
    @Call() ctx: CallContext,
    @Param('ns') ns: string,
    @Param('app') app: string,
    @Param('name') name: string,
    @Query('reveal') reveal?: string,
  ): Promise<DraftRecord> {
    return this.config.getDraft(ctx, ref(ns, app, name), revealed(reveal));
  }

  @Put(`${ITEM}/draft`)
  @ApiOperation({ summary: 'Save a draft (not visible to subscribers until published)' })
  saveDraft(
    @Call() ctx: CallContext,
    @Param('ns') ns: string,
    @Param('app') app: string,
    @Param('name') name: string,
    @Body() body: SaveDraftDto,
  ): Promise<DraftRecord> {
    return this.config.saveDraft(ctx, ref(ns, app, name), body);
  }

  @Delete(`${ITEM}/draft`)
  @ApiOperation({ summary: 'Discard the draft' })
  async discardDraft(
    @Call() ctx: CallContext,
    @Param('ns') ns: string,
    @Param('app') app: string,
    @Param('name') name: string,
  ): Promise<{ discarded: boolean }> {
    return { discarded: await this.config.discardDraft(ctx, ref(ns, app, name)) };
  }

  @Post(`${ITEM}/validate`)
  @HttpCode(200)
  @ApiOperation({ summary: 'Validate content (format, JSON Schema) without publishing' })
  async validate(
    @Call() ctx: CallContext,
    @Param('ns') ns: string,
    @Param('app') app: string,
    @Param('name') name: string,
    @Body() body: ValidateDto,
  ): Promise<{ valid: boolean; issues: ValidationIssue[] }> {
    const issues = await this.config.validate(ctx, ref(ns, app, name), body.content, body.format);
    return { valid: issues.length === 0, issues };
  }

  // ---- publish, releases, rollback ----

  @Post(`${ITEM}/publish`)
  @ApiOperation({ summary: 'Publish content (or the draft) as a new release, guarded by expectedRevision' })
  @ApiResponse({ status: 201, description: 'the new release' })
  @ApiResponse({ status: 400, description: 'invalid content: issues[] with line and column' })
  @ApiResponse({ status: 409, description: 'the live release changed: base and current releases' })
  publish(
    @Call() ctx: CallContext,
    @Param('ns') ns: string,
    @Param('app') app: string,
    @Param('name') name: string,
    @Body() body: PublishDto,
  ): Promise<ConfigReleaseView> {
    return this.config.publish(ctx, ref(ns, app, name), body);
  }

  @Get(`${ITEM}/releases`)
  @ApiOperation({ summary: 'Releases, newest first' })
  @ApiQuery({ name: 'limit', required: false })
  listReleases(
    @Call() ctx: CallContext,
    @Param('ns') ns: string,
    @Param('app') app: string,
    @Param('name') name: string,
    @Query('limit') limit?: string,
    @Query('reveal') reveal?: string,
  ): Promise<ConfigReleaseView[]> {
    return this.config.listReleases(ctx, ref(ns, app, name), intQuery(limit, 'limit'), revealed(reveal));
  }

  @Get(`${ITEM}/releases/:version`)
  @ApiOperation({ summary: 'One release' })
  getRelease(
    @Call() ctx: CallContext,
    @Param('ns') ns: string,
    @Param('app') app: string,
    @Param('name') name: string,
    @Param('version') version: string,
    @Query('reveal') reveal?: string,
  ): Promise<ConfigReleaseView> {
    return this.config.getRelease(ctx, ref(ns, app, name), intQuery(version, 'version'), revealed(reveal));
  }

  @Get(`${ITEM}/diff`)
  @ApiOperation({ summary: 'Unified diff between two releases (to omitted: the live content)' })
  @ApiQuery({ name: 'from', required: true })
  @ApiQuery({ name: 'to', required: false })
  async diff(
    @Call() ctx: CallContext,
    @Param('ns') ns: string,
    @Param('app') app: string,
    @Param('name') name: string,
    @Query('from') from?: string,
    @Query('to') to?: string,
  ): Promise<{ from: number; to: number; unified: string }> {
    const f = intQuery(from, 'from');
    const t = intQuery(to, 'to');
    return { from: f, to: t, unified: await this.config.diff(ctx, ref(ns, app, name), f, t) };
  }

  @Post(`${ITEM}/rollback`)
  @ApiOperation({ summary: "Roll back: a new release with release N's content (history is never rewritten)" })
  rollback(
    @Call() ctx: CallContext,
    @Param('ns') ns: string,
    @Param('app') app: string,
    @Param('name') name: string,
    @Body() body: RollbackDto,
  ): Promise<ConfigReleaseView> {
    return this.config.rollback(ctx, ref(ns, app, name), body);
  }

  @Get(`${ITEM}/history`)
  @ApiOperation({ summary: 'Who changed the item when, from the audit archive (survives compaction)' })
  history(
    @Call() ctx: CallContext,
    @Param('ns') ns: string,
    @Param('app') app: string,
    @Param('name') name: string,
    @Query('limit') limit?: string,
  ): Promise<AuditEntryView[]> {
    return this.config.history(ctx, ref(ns, app, name), intQuery(limit, 'limit', 100) || 100);
  }

  // ---- gray release ----

  @Get(`${ITEM}/gray`)
  @ApiOperation({ summary: 'The active gray release' })
  getGray(
    @Call() ctx: CallContext,
    @Param('ns') ns: string,
    @Param('app') app: string,
    @Param('name') name: string,
    @Query('reveal') reveal?: string,
  ): Promise<GrayRecord> {
    return this.config.getGray(ctx, ref(ns, app, name), revealed(reveal));
  }

  @Post(`${ITEM}/gray`)
  @ApiOperation({
    summary: 'Start (or replace) a gray release for subscribers matching labels and/or a percentage',
  })
  startGray(
    @Call() ctx: CallContext,
    @Param('ns') ns: string,
    @Param('app') app: string,
    @Param('name') name: string,
    @Body() body: StartGrayDto,
  ): Promise<GrayRecord> {
    return this.config.startGray(ctx, ref(ns, app, name), {
      content: body.content,
      rule: { labels: body.rule.labels ?? {}, percentage: body.rule.percentage ?? 100 },
      author: body.author,
      comment: body.comment,
    });
  }

  @Post(`${ITEM}/gray/promote`)
  @ApiOperation({ summary: 'Promote the gray release to everyone (a new main release)' })
  promoteGray(
    @Call() ctx: CallContext,
    @Param('ns') ns: string,
    @Param('app') app: string,
    @Param('name') name: string,
    @Body() body: PromoteGrayDto,
  ): Promise<ConfigReleaseView> {
    return this.config.promoteGray(ctx, ref(ns, app, name), body);
  }

  @Post(`${ITEM}/gray/abandon`)
  @HttpCode(200)
  @ApiOperation({ summary: 'Abandon the gray release: its subscribers go back to the main release' })
  async abandonGray(
    @Call() ctx: CallContext,
    @Param('ns') ns: string,
    @Param('app') app: string,
    @Param('name') name: string,
  ): Promise<{ abandoned: boolean }> {
    return { abandoned: await this.config.abandonGray(ctx, ref(ns, app, name)) };
  }

  // ---- listeners ----

  @Get(`${ITEM}/listeners`)
  @ApiOperation({ summary: 'Who listens to this item and which version each holds (and should hold)' })
  itemListeners(
    @Call() ctx: CallContext,
    @Param('ns') ns: string,
    @Param('app') app: string,
    @Param('name') name: string,
  ): Promise<ListenerView[]> {
    return this.config.listListeners(ctx, ns, app, name);
  }

  @Get('namespaces/:ns/apps/:app/listeners')
  @ApiOperation({ summary: "The app's subscribers with their labels and applied versions" })
  appListeners(
    @Call() ctx: CallContext,
    @Param('ns') ns: string,
    @Param('app') app: string,
  ): Promise<ListenerView[]> {
    return this.config.listListeners(ctx, ns, app, '');
  }

  @Post('namespaces/:ns/apps/:app/listeners')
  @HttpCode(204)
  @ApiOperation({ summary: 'A subscriber reports its labels and applied versions' })
  async report(
    @Call() ctx: CallContext,
    @Param('ns') ns: string,
    @Param('app') app: string,
    @Body() body: ReportDto,
  ): Promise<void> {
    await this.config.report(ctx, { ...body, namespace: ns, app });
  }

  // ---- watch ----

  @Get('namespaces/:ns/apps/:app/watch')
  @ApiOperation({
    summary:
      'SSE stream of ConfigWatchEvent (event: snapshot|change, id: revision); resumes after ?revision= or Last-Event-ID',
  })
  @ApiQuery({ name: 'labels', required: false, example: 'zone=eu-1,canary=true' })
  @ApiQuery({ name: 'subscriber', required: false })
  @ApiQuery({ name: 'revision', required: false })
  async watch(
    @Call() ctx: CallContext,
    @Param('ns') ns: string,
    @Param('app') app: string,
    @Query() query: Record<string, string>,
    @Req() req: Request,
    @Res() res: Response,
  ): Promise<void> {
    const lastEventId = req.header('last-event-id');
    const revision = intQuery(lastEventId || query.revision, 'revision');
    const params = {
      namespace: ns,
      app,
      labels: parseLabels(query.labels),
      subscriberId: query.subscriber || undefined,
      revision,
      trackListener: true,
    };
    // Bounded: past STREAM_MAX_BUFFERED_BYTES unsent the subscription parks its watcher (`ready`) until the
    // stream drains. Headers go out with the first event, so a subscribe that fails is a JSON error.
    const stream = new SseStream(res);
    const openSse = (): void =>
      stream.open({ comment: 'connected', heartbeatMs: SSE_HEARTBEAT_MS, heartbeatText: 'ping' });
    let handle: { close(): void } | undefined;
    const end = (): void => {
      handle?.close();
      handle = undefined;
    };
    req.on('close', end);
    stream.onClose(end);
    try {
      // The context of the request that opened the stream: its identity's READ on the app is checked when the
      // subscription starts, and its abort signal (the client going away) ends the subscription.
      const opened = await this.config.subscribe(
        ctx,
        { ...params, ready: () => stream.writable },
        // A response the subscription took (it asked `ready` first) goes out whole.
        (event) => {
          openSse();
          stream.send({ id: event.revision, event: event.kind, data: eventJson(event) }, { always: true });
        },
        (err) => {
          if (err) {
            openSse();
            stream.send({ event: 'error', data: configErrorBody(err).body }, { always: true });
          }
          end();
          stream.end();
        },
      );
      if (req.destroyed || stream.closed) {
        opened.close();
        return;
      }
      handle = opened;
      openSse();
    } catch (err) {
      end();
      const { status, body } = configErrorBody(err);
      if (!res.headersSent) res.status(status).json(body);
      else res.end();
    }
  }

  @Get('namespaces/:ns/apps/:app/poll')
  @ApiOperation({
    summary:
      'Long-poll: events after ?revision= (a snapshot when 0), waiting up to timeoutMs (default 30000) for one',
  })
  @ApiQuery({ name: 'labels', required: false })
  @ApiQuery({ name: 'subscriber', required: false })
  @ApiQuery({ name: 'revision', required: false })
  @ApiQuery({ name: 'timeoutMs', required: false })
  poll(
    @Call() ctx: CallContext,
    @Param('ns') ns: string,
    @Param('app') app: string,
    @Query() query: Record<string, string>,
  ): Promise<LongPollResult> {
    return this.config.poll(
      ctx,
      {
        namespace: ns,
        app,
        labels: parseLabels(query.labels),
        subscriberId: query.subscriber || undefined,
        revision: intQuery(query.revision, 'revision'),
      },
      Math.min(MAX_POLL_MS, intQuery(query.timeoutMs, 'timeoutMs', 30_000)),
    );
  }

  // ---- import / export ----

  @Get('namespaces/:ns/export')
  @ApiOperation({
    summary: 'Export a namespace as a JSON bundle (?format=zip: bundle.json plus one file per item)',
  })
  @ApiQuery({ name: 'format', required: false, enum: ['json', 'zip'] })
  async exportNamespace(
    @Call() ctx: CallContext,
    @Param('ns') ns: string,
    @Query('format') format: string | undefined,
    @Res() res: Response,
  ): Promise<void> {
    this.sendBundle(res, await this.config.exportBundle(ctx, ns, ''), format);
  }

  @Get('namespaces/:ns/apps/:app/export')
  @ApiOperation({ summary: 'Export one app as a JSON bundle (?format=zip for a zip)' })
  @ApiQuery({ name: 'format', required: false, enum: ['json', 'zip'] })
  async exportApp(
    @Call() ctx: CallContext,
    @Param('ns') ns: string,
    @Param('app') app: string,
    @Query('format') format: string | undefined,
    @Res() res: Response,
  ): Promise<void> {
    this.sendBundle(res, await this.config.exportBundle(ctx, ns, app), format);
  }

  private sendBundle(res: Response, bundle: ConfigBundle, format: string | undefined): void {
    const base = `cairn-config-${bundle.namespace}${bundle.apps.length === 1 ? `-${bundle.apps[0].name}` : ''}`;
    if (format === 'zip') {
      res.setHeader('content-type', 'application/zip');
      res.setHeader('content-disposition', `attachment; filename="${base}.zip"`);
      res.end(Buffer.from(bundleZip(bundle)));
      return;
    }
    res.json(bundle);
  }

  @Post('import/zip')
  @ApiConsumes('application/zip')
  @ApiBody({ schema: { type: 'string', format: 'binary' } })
  @ApiQuery({ name: 'author', required: false })
  @ApiQuery({ name: 'publish', required: false, enum: ['true', 'false'] })
  @ApiOperation({ summary: 'Import a zip export (bundle.json; edited item files override its content)' })
  importZip(
    @Call() ctx: CallContext,
    @Req() req: Request,
    @Query('author') author?: string,
    @Query('publish') publish?: string,
  ): Promise<ImportResult> {
    const body = req.body as unknown;
    if (!Buffer.isBuffer(body) || body.length === 0) {
      throw new ConfigError('bad-request', 'send the zip as the body with content-type application/zip');
    }
    return this.config.importBundle(ctx, bundleFromZip(new Uint8Array(body)), {
      author: author ?? '',
      publish: publish === 'true',
    });
  }

  @Post('import')
  @ApiOperation({
    summary: 'Import a JSON bundle: changed items become drafts, or releases with publish: true',
  })
  importBundle(@Call() ctx: CallContext, @Body() body: ImportDto): Promise<ImportResult> {
    return this.config.importBundle(ctx, body.bundle as unknown as ConfigBundle, {
      author: body.author,
      publish: body.publish,
    });
  }
}

/** A zip export (bundle.json plus one file per item) back into a bundle; edited item files win. */
export function bundleFromZip(zip: Uint8Array): ConfigBundle {
  let files: Record<string, Uint8Array>;
  try {
    files = unzipSync(zip);
  } catch (err) {
    throw new ConfigError('bad-request', `not a zip file: ${(err as Error).message}`);
  }
  const manifest = files['bundle.json'];
  if (!manifest) throw new ConfigError('bad-request', 'the zip has no bundle.json');
  let bundle: ConfigBundle;
  try {
    bundle = JSON.parse(strFromU8(manifest)) as ConfigBundle;
  } catch {
    throw new ConfigError('bad-request', 'bundle.json is not JSON');
  }
  for (const app of bundle.apps ?? []) {
    for (const item of app.items ?? []) {
      const file = files[`${bundle.namespace}/${app.name}/${item.name}`];
      if (file) item.content = strFromU8(file);
    }
  }
  return bundle;
}
