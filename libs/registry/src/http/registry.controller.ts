// REST + SSE under /api/registry/v1.
import {
  type ArgumentsHost,
  Body,
  Catch,
  Controller,
  Delete,
  type ExceptionFilter,
  Get,
  Headers,
  HttpCode,
  Inject,
  Param,
  Patch,
  Post,
  Put,
  Query,
  Req,
  Res,
  UseFilters,
  UsePipes,
  ValidationPipe,
} from '@nestjs/common';
import { ApiHeader, ApiOperation, ApiProduces, ApiQuery, ApiTags } from '@nestjs/swagger';
import type { Request, Response } from 'express';
import { plainToInstance } from 'class-transformer';
import { type ValidationError, validateSync } from 'class-validator';
import { EtcdError } from '@cairn/api';
import { SseStream } from '@cairn/edge';
import { RegistryError, describeError } from '../errors';
import type {
  HeartbeatResult,
  ListInstancesResult,
  ListServicesResult,
  RegisterResult,
  RegistryInstance,
  RegistryWatchEvent,
  SessionResult,
} from '../model';
import { Registry, validateName } from '../registry';
import type { CallContext } from '@cairn/server';
import { Call } from './call';
import {
  BatchInstanceDto,
  KeepAliveDto,
  ListInstancesQuery,
  OpenSessionDto,
  RegisterBatchDto,
  RegisterInstanceDto,
  UpdateInstanceDto,
} from './dto';
import { REGISTRY } from './tokens';

/** The registry's one error filter: its errors and the core's (401/403 for auth, see errors.ts). */
@Catch(RegistryError, EtcdError)
export class RegistryErrorFilter implements ExceptionFilter {
  catch(err: unknown, host: ArgumentsHost): void {
    const res = host.switchToHttp().getResponse<Response>();
    const { status, body } = describeError(err);
    if (res.headersSent) {
      res.end();
      return;
    }
    res.status(status).json(body);
  }
}

const SSE_KEEPALIVE_MS = 15_000;

@ApiTags('registry')
@Controller('api/registry/v1')
@UseFilters(RegistryErrorFilter)
@UsePipes(new ValidationPipe({ whitelist: true, forbidNonWhitelisted: true, transform: true }))
export class RegistryController {
  constructor(@Inject(REGISTRY) private readonly registry: Registry) {}

  @Get('namespaces')
  @ApiOperation({ summary: 'List namespaces that have instances' })
  async namespaces(@Call() ctx: CallContext): Promise<{ namespaces: string[] }> {
    return { namespaces: await this.registry.listNamespaces(ctx) };
  }

  @Get('namespaces/:ns/services')
  @ApiOperation({ summary: 'List services of a namespace with healthy/total instance counts' })
  services(@Call() ctx: CallContext, @Param('ns') ns: string): Promise<ListServicesResult> {
    return this.registry.listServices(ctx, ns);
  }

  @Get('namespaces/:ns/services/:service/instances')
  @ApiOperation({ summary: 'List instances of a service (filter by health, tag, zone, metadata)' })
  instances(
    @Call() ctx: CallContext,
    @Param('ns') ns: string,
    @Param('service') service: string,
    @Query() query: ListInstancesQuery,
  ): Promise<ListInstancesResult> {
    return this.registry.listInstances(ctx, ns, service, {
      ...(query.health ? { health: query.health } : {}),
      ...(query.tag ? { tag: query.tag } : {}),
      ...(query.zone ? { zone: query.zone } : {}),
      ...(query.metadata ? { metadata: parsePairs(query.metadata) } : {}),
    });
  }

  @Put('namespaces/:ns/services/:service/instances/:id')
  @HttpCode(200)
  @ApiOperation({
    summary: 'Register (or idempotently re-register) an instance',
    description:
      'One txn writes the instance record (and its etcd naming key on members started with --registry-etcd-naming), attached to a lease of `ttl` s.',
  })
  register(
    @Call() ctx: CallContext,
    @Param('ns') ns: string,
    @Param('service') service: string,
    @Param('id') id: string,
    @Body() body: RegisterInstanceDto,
  ): Promise<RegisterResult> {
    return this.registry.register(ctx, { ...body, namespace: ns, service, id });
  }

  @Get('namespaces/:ns/services/:service/instances/:id')
  @ApiOperation({ summary: 'Get one instance' })
  instance(
    @Call() ctx: CallContext,
    @Param('ns') ns: string,
    @Param('service') service: string,
    @Param('id') id: string,
  ): Promise<RegistryInstance> {
    return this.registry.get(ctx, { namespace: ns, service, id });
  }

  @Put('namespaces/:ns/services/:service/instances/:id/heartbeat')
  @HttpCode(200)
  @ApiOperation({ summary: 'Heartbeat: one keep-alive of the instance lease' })
  heartbeat(
    @Call() ctx: CallContext,
    @Param('ns') ns: string,
    @Param('service') service: string,
    @Param('id') id: string,
  ): Promise<HeartbeatResult> {
    return this.registry.heartbeat(ctx, { namespace: ns, service, id });
  }

  @Patch('namespaces/:ns/services/:service/instances/:id')
  @ApiOperation({ summary: 'Merge metadata and/or set the status (UP, DRAINING, DOWN)' })
  update(
    @Call() ctx: CallContext,
    @Param('ns') ns: string,
    @Param('service') service: string,
    @Param('id') id: string,
    @Body() body: UpdateInstanceDto,
  ): Promise<RegistryInstance> {
    return this.registry.update(ctx, { namespace: ns, service, id, ...body });
  }

  @Delete('namespaces/:ns/services/:service/instances/:id')
  @ApiOperation({ summary: 'Deregister: delete the record (and naming key), revoke the lease' })
  deregister(
    @Call() ctx: CallContext,
    @Param('ns') ns: string,
    @Param('service') service: string,
    @Param('id') id: string,
  ): Promise<{ revision: string }> {
    return this.registry.deregister(ctx, { namespace: ns, service, id });
  }

  @Post('namespaces/:ns/sessions')
  @HttpCode(200)
  @ApiOperation({
    summary: 'Open a session: one lease for a client process, shared by the instances it registers',
    description:
      'Register with `session` to attach an instance to it; renew it with keepalive; when it expires or is closed, every instance on it is deregistered.',
  })
  openSession(
    @Call() ctx: CallContext,
    @Param('ns') ns: string,
    @Body() body: OpenSessionDto,
  ): Promise<SessionResult> {
    return this.registry.openSession(ctx, ns, body.ttl);
  }

  @Post('namespaces/:ns/sessions/:session/instances')
  @HttpCode(200)
  @ApiOperation({
    summary: 'RegisterBatch: register many instances on a session, one result each',
    description:
      'Each instance is checked as a Register body is; they are written in txns of at most max-txn-ops / 2 instances (one Raft entry each). A result is `{registered}` or `{status, error}`.',
  })
  async registerBatch(
    @Call() ctx: CallContext,
    @Param('ns') ns: string,
    @Param('session') session: string,
    @Body() body: RegisterBatchDto,
  ): Promise<{ results: object[] }> {
    // The edge checks of a Register body, instance by instance: a bad one answers alone.
    const refused = new Map<number, string>();
    const inputs = body.instances.map((raw, index) => {
      const item = plainToInstance(BatchInstanceDto, raw);
      const errors = validateSync(item, { whitelist: true, forbidNonWhitelisted: true });
      if (raw.ttl !== undefined || raw.session !== undefined) {
        refused.set(index, "ttl and session are the batch's, not an instance's");
      } else if (errors.length > 0) refused.set(index, messages(errors).join(', '));
      return item;
    });
    const accepted = inputs.filter((_, index) => !refused.has(index));
    const answers = await this.registry.registerBatch(ctx, ns, session, accepted);
    let next = 0;
    return {
      results: inputs.map((_, index) => {
        const message = refused.get(index);
        if (message !== undefined) return { status: 400, error: message };
        const answer = answers[next++]!;
        if (answer.ok) return { registered: answer.ok };
        const { status, body: described } = describeError(answer.error);
        return { status, error: (described as { message?: string }).message ?? 'error' };
      }),
    };
  }

  @Delete('namespaces/:ns/sessions/:session')
  @ApiOperation({ summary: 'Close a session: revokes its lease and deregisters every instance on it' })
  closeSession(
    @Call() ctx: CallContext,
    @Param('ns') ns: string,
    @Param('session') session: string,
  ): Promise<{ revision: string }> {
    return this.registry.closeSession(ctx, ns, session);
  }

  @Put('namespaces/:ns/keepalive')
  @HttpCode(200)
  @ApiOperation({
    summary: 'Batched renewal: one keep-alive of each lease (sessions or instances); ttl 0 = gone',
  })
  keepAlive(
    @Call() ctx: CallContext,
    @Param('ns') ns: string,
    @Body() body: KeepAliveDto,
  ): Promise<{ ttls: string[] }> {
    return this.registry.keepAlive(ctx, ns, body.leases);
  }

  @Get('namespaces/:ns/services/:service/watch')
  @ApiOperation({
    summary: 'Watch a service (Server-Sent Events)',
    description:
      'Events: snapshot {revision, instances}, then added/updated/removed {revision, instance}; each SSE id is the revision. Last-Event-ID (or ?revision=) resumes after that revision; a compacted one gets a fresh snapshot.',
  })
  @ApiProduces('text/event-stream')
  @ApiHeader({ name: 'Last-Event-ID', required: false })
  @ApiQuery({ name: 'revision', required: false, description: 'resume after this revision' })
  watchService(
    @Call() ctx: CallContext,
    @Param('ns') ns: string,
    @Param('service') service: string,
    @Headers('last-event-id') lastEventId: string | undefined,
    @Query('revision') revision: string | undefined,
    @Req() req: Request,
    @Res() res: Response,
  ): Promise<void> {
    return this.stream(ctx, ns, service, lastEventId ?? revision, req, res);
  }

  @Get('namespaces/:ns/watch')
  @ApiOperation({ summary: 'Watch every service of a namespace (Server-Sent Events)' })
  @ApiProduces('text/event-stream')
  @ApiHeader({ name: 'Last-Event-ID', required: false })
  @ApiQuery({ name: 'revision', required: false, description: 'resume after this revision' })
  watchNamespace(
    @Call() ctx: CallContext,
    @Param('ns') ns: string,
    @Headers('last-event-id') lastEventId: string | undefined,
    @Query('revision') revision: string | undefined,
    @Req() req: Request,
    @Res() res: Response,
  ): Promise<void> {
    return this.stream(ctx, ns, '', lastEventId ?? revision, req, res);
  }

  /** An SSE watch under the context of the request that opened it (its READ is checked at creation). */
  private async stream(
    ctx: CallContext,
    ns: string,
    service: string,
    after: string | undefined,
    req: Request,
    res: Response,
  ): Promise<void> {
    let startRevision = 0;
    if (after !== undefined && after !== '') {
      if (!/^\d+$/.test(after)) throw new RegistryError('invalid', `invalid resume revision "${after}"`);
      startRevision = Number(after) + 1;
    }
    // Names are checked before any header is sent (a bad name is a 400, not a broken stream).
    validateName('namespace', ns);
    if (service) validateName('service', service);
    // ...and so is a refusal (401/403): the caller's READ is checked before the stream opens.
    await this.registry.checkWatch(ctx, ns, service);
    // Bounded: past STREAM_MAX_BUFFERED_BYTES unsent the watch parks (the stream is its RegistryWatchFlow).
    const stream = new SseStream(res);
    stream.open({ comment: 'cairn registry watch', retryMs: 1000, heartbeatMs: SSE_KEEPALIVE_MS });
    // The watch calls the sink only when the stream has room (the event was taken from the store).
    const send = (event: RegistryWatchEvent): void => {
      const { type, ...data } = event;
      stream.send({ id: event.revision, event: type, data }, { always: true });
    };
    const watch = this.registry.watch(ctx, { namespace: ns, service, startRevision }, send, stream);
    stream.onClose(() => watch.close());
    req.on('close', () => watch.close());
  }
}

function parsePairs(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const pair of text.split(',')) {
    if (!pair) continue;
    const at = pair.indexOf('=');
    if (at <= 0) throw new RegistryError('invalid', `metadata filter "${pair}" is not key=value`);
    out[pair.slice(0, at)] = pair.slice(at + 1);
  }
  return out;
}

/** class-validator's messages, nested ones included (address.port, check.type...). */
function messages(errors: ValidationError[]): string[] {
  return errors.flatMap((e) => [...Object.values(e.constraints ?? {}), ...messages(e.children ?? [])]);
}
