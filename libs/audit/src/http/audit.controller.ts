// REST under /api/audit/v1: the archive's history of a key, the changes under a prefix (paged), a key's
// value as of a revision, and the archiver's status.
//
// Permissions: the archive is served from SQL, not through the KV, so each read first proves the caller's
// READ through the port under the request's own context (AuditArchive.checkRead): history and value need
// READ on the key, events READ on the prefix (no prefix: on every archived prefix). Status shows no key or
// value and needs none. Sealed values (secret config items) are shown masked (views.ts).
import {
  BadRequestException,
  Controller,
  Get,
  HttpException,
  Inject,
  NotFoundException,
  Query,
  Req,
  ServiceUnavailableException,
} from '@nestjs/common';
import type { Request } from 'express';
import { EtcdError, prefixEnd, restErrorForEtcdError } from '@cairn/api';
import { callContextOf } from '@cairn/edge';
import { ApiOkResponse, ApiOperation, ApiQuery, ApiTags } from '@nestjs/swagger';
import { AuditUnavailableError, InvalidCursorError } from '../archiver';
import type { AuditArchive, AuditOrder } from '../types';
import { toEventView, toGapView } from '../views';
import { AuditEventDto, AuditEventPageDto, AuditStatusDto } from './dto';
import { AUDIT_ARCHIVE } from './tokens';

type QueryText = string | undefined;

@ApiTags('audit')
@Controller('api/audit/v1')
export class AuditController {
  constructor(@Inject(AUDIT_ARCHIVE) private readonly archive: AuditArchive) {}

  @Get('status')
  @ApiOperation({ summary: 'The archiver of the answering member: backend, progress, gaps' })
  @ApiOkResponse({ type: AuditStatusDto })
  async status(): Promise<AuditStatusDto> {
    const status = this.archive.status();
    const gaps = status.ready ? await this.call(() => this.archive.gaps()) : [];
    return { ...status, gaps: gaps.map(toGapView) };
  }

  @Get('history')
  @ApiOperation({ summary: 'Archived changes of one key (newest first by default), past compaction too' })
  @ApiQuery({ name: 'key', required: true, description: 'The key (UTF-8, or base64 with encoding=base64)' })
  @ApiQuery({ name: 'encoding', required: false, enum: ['utf8', 'base64'], description: 'Of `key`' })
  @ApiQuery({ name: 'fromRevision', required: false, type: Number })
  @ApiQuery({ name: 'toRevision', required: false, type: Number })
  @ApiQuery({ name: 'limit', required: false, type: Number, description: 'Default 100, at most 1000' })
  @ApiQuery({ name: 'order', required: false, enum: ['asc', 'desc'] })
  @ApiQuery({ name: 'cursor', required: false, description: '`next` of the previous page' })
  @ApiOkResponse({ type: AuditEventPageDto })
  async history(
    @Req() req: Request,
    @Query('key') key: QueryText,
    @Query('encoding') encoding: QueryText,
    @Query('fromRevision') fromRevision: QueryText,
    @Query('toRevision') toRevision: QueryText,
    @Query('limit') limit: QueryText,
    @Query('order') order: QueryText,
    @Query('cursor') cursor: QueryText,
  ): Promise<AuditEventPageDto> {
    if (!key) throw new BadRequestException('key is required');
    const bytes = keyParam('key', key, encoding);
    await this.authorize(req, bytes);
    return this.page({
      key: bytes,
      fromRevision: revisionParam('fromRevision', fromRevision),
      toRevision: revisionParam('toRevision', toRevision),
      limit: revisionParam('limit', limit),
      order: orderParam(order) ?? 'desc',
      cursor: cursor || undefined,
    });
  }

  @Get('events')
  @ApiOperation({ summary: 'Archived changes under a key prefix, in revision order, paged' })
  @ApiQuery({
    name: 'prefix',
    required: false,
    description: 'Key prefix (UTF-8, or base64 with encoding=base64); default every key',
  })
  @ApiQuery({ name: 'encoding', required: false, enum: ['utf8', 'base64'], description: 'Of `prefix`' })
  @ApiQuery({ name: 'actor', required: false, description: 'Only changes attributed to this actor' })
  @ApiQuery({ name: 'fromRevision', required: false, type: Number })
  @ApiQuery({ name: 'toRevision', required: false, type: Number })
  @ApiQuery({ name: 'limit', required: false, type: Number, description: 'Default 100, at most 1000' })
  @ApiQuery({ name: 'order', required: false, enum: ['asc', 'desc'] })
  @ApiQuery({ name: 'cursor', required: false, description: '`next` of the previous page' })
  @ApiOkResponse({ type: AuditEventPageDto })
  async events(
    @Req() req: Request,
    @Query('prefix') prefix: QueryText,
    @Query('encoding') encoding: QueryText,
    @Query('actor') actor: QueryText,
    @Query('fromRevision') fromRevision: QueryText,
    @Query('toRevision') toRevision: QueryText,
    @Query('limit') limit: QueryText,
    @Query('order') order: QueryText,
    @Query('cursor') cursor: QueryText,
  ): Promise<AuditEventPageDto> {
    const from = prefix ? keyParam('prefix', prefix, encoding) : undefined;
    await this.authorize(req, from, from ? prefixEnd(from) : undefined);
    return this.page({
      prefix: from,
      ...(actor ? { actor } : {}),
      fromRevision: revisionParam('fromRevision', fromRevision),
      toRevision: revisionParam('toRevision', toRevision),
      limit: revisionParam('limit', limit),
      order: orderParam(order) ?? 'asc',
      cursor: cursor || undefined,
    });
  }

  @Get('value')
  @ApiOperation({
    summary:
      'The last archived change of a key at or before a revision (a PUT holds the value then; a DELETE means absent)',
  })
  @ApiQuery({ name: 'key', required: true })
  @ApiQuery({ name: 'encoding', required: false, enum: ['utf8', 'base64'], description: 'Of `key`' })
  @ApiQuery({ name: 'revision', required: true, type: Number })
  @ApiOkResponse({ type: AuditEventDto })
  async value(
    @Req() req: Request,
    @Query('key') key: QueryText,
    @Query('encoding') encoding: QueryText,
    @Query('revision') revision: QueryText,
  ): Promise<AuditEventDto> {
    if (!key) throw new BadRequestException('key is required');
    const bytes = keyParam('key', key, encoding);
    await this.authorize(req, bytes);
    const at = revisionParam('revision', revision);
    if (at === undefined) throw new BadRequestException('revision is required');
    const record = await this.call(() => this.archive.valueAsOf(bytes, at));
    if (!record) throw new NotFoundException(`no archived change of "${key}" at or before revision ${at}`);
    return toEventView(record);
  }

  private async page(options: Parameters<AuditArchive['listEvents']>[0]): Promise<AuditEventPageDto> {
    const page = await this.call(() => this.archive.listEvents(options));
    const lastArchivedRevision = await this.call(() => this.archive.lastArchivedRevision());
    return {
      events: page.records.map(toEventView),
      ...(page.next !== undefined ? { next: page.next } : {}),
      lastArchivedRevision,
    };
  }

  /** The caller's READ on what it asks for, checked by the core under the request's context. */
  private async authorize(req: Request, key?: Uint8Array, rangeEnd?: Uint8Array): Promise<void> {
    try {
      await this.archive.checkRead(callContextOf(req), key, rangeEnd);
    } catch (error) {
      if (!(error instanceof EtcdError)) throw error;
      const { status, body } = restErrorForEtcdError(error);
      throw new HttpException(body, status);
    }
  }

  private async call<T>(work: () => Promise<T>): Promise<T> {
    try {
      return await work();
    } catch (error) {
      if (error instanceof HttpException) throw error;
      if (error instanceof AuditUnavailableError) throw new ServiceUnavailableException(error.message);
      if (error instanceof InvalidCursorError) throw new BadRequestException(error.message);
      throw new ServiceUnavailableException(
        `audit database error: ${error instanceof Error ? error.message : String(error)}`,
      );
    }
  }
}

function revisionParam(name: string, text: QueryText): number | undefined {
  if (text === undefined || text === '') return undefined;
  const value = Number(text);
  if (!Number.isSafeInteger(value) || value < 0) {
    throw new BadRequestException(`${name} must be a non-negative integer, got "${text}"`);
  }
  return value;
}

/** A key or prefix from the query: UTF-8 text, or base64 for binary keys. */
function keyParam(name: string, text: string, encoding: QueryText): Buffer {
  if (encoding === undefined || encoding === '' || encoding === 'utf8') return Buffer.from(text, 'utf8');
  if (encoding !== 'base64')
    throw new BadRequestException(`encoding must be utf8 or base64, got "${encoding}"`);
  const bytes = Buffer.from(text, 'base64');
  if (bytes.length === 0 || bytes.toString('base64').replace(/=+$/, '') !== text.replace(/=+$/, '')) {
    throw new BadRequestException(`${name} is not valid base64`);
  }
  return bytes;
}

function orderParam(text: QueryText): AuditOrder | undefined {
  if (text === undefined || text === '') return undefined;
  if (text !== 'asc' && text !== 'desc')
    throw new BadRequestException(`order must be asc or desc, got "${text}"`);
  return text;
}
