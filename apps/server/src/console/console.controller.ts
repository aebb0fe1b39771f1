// Console-only REST endpoints (/api/console/v1): cluster overview, key tree, key value and history, put and
// delete, and an SSE watch feed under a prefix. Response types live in console-types.ts (shared with web/).
import {
  BadRequestException,
  Controller,
  Delete,
  Get,
  HttpException,
  Inject,
  NotFoundException,
  Optional,
  Put,
  Query,
  Req,
  Res,
} from '@nestjs/common';
import type { Request, Response } from 'express';
import { EtcdError, restErrorForEtcdError } from '@cairn/api';
import { SseStream, callContextOf } from '@cairn/edge';
import { AUDIT_ARCHIVE, type AuditArchive } from '@cairn/audit';
import { decodeBase64Strict, prefixEnd } from '@cairn/api';
import { type EtcdPort, type PortWatch, type WatchResponse, toEtcdError } from '@cairn/server';
import type { ConsoleMemberInfo } from './cluster-overview';
import type {
  ClusterOverview,
  KeyHistoryResponse,
  KeyTreePage,
  KeyValueResponse,
  PutKeyRequest,
  WatchFeedEvent,
  WatchFeedStatus,
  WriteResult,
} from './console-types';
import type { MemberMetricsHistory } from '../metrics-history/history-types';
import { classifyValue, keyHistory, keyTree, keyValue } from './key-browser';
import { CONSOLE_MEMBER, CONSOLE_PORT } from './tokens';
import { readRawBody } from '../http/raw-body';

const MAX_TREE_PAGE = 1000;
const SSE_KEEPALIVE_MS = 15_000;

@Controller('api/console/v1')
export class ConsoleController {
  constructor(
    @Inject(CONSOLE_MEMBER) private readonly member: ConsoleMemberInfo,
    @Inject(CONSOLE_PORT) private readonly port: EtcdPort,
    @Optional() @Inject(AUDIT_ARCHIVE) private readonly audit?: AuditArchive,
  ) {}

  @Get('cluster')
  cluster(): Promise<ClusterOverview> {
    return this.member.overview();
  }

  /**
   * One member's metrics history for the Cluster page's charts (?member=<hex id>&since=<ms, that member's
   * clock>). With auth enabled it needs an authenticated user, as GET /api/metrics/v1/history does; a member
   * that cannot be asked or refuses is reported in `error` (the page shows it under that member's charts).
   */
  @Get('metrics')
  async metrics(
    @Req() req: Request,
    @Query('member') member?: string,
    @Query('since') since?: string,
  ): Promise<MemberMetricsHistory> {
    if (this.member.authEnabled()) {
      const { identity } = callContextOf(req);
      if (identity.user === '') throw httpErrorFor(new EtcdError('user-empty'));
    }
    if (!member || !/^[0-9a-f]{16}$/.test(member)) {
      throw new BadRequestException('member must be a member ID (16 hex digits)');
    }
    const answer = await this.member.metricsHistory(
      member,
      intParam('since', since, 0, 0),
      req.header('authorization'),
    );
    if (!answer) throw new NotFoundException(`no member ${member} in this cluster`);
    return answer;
  }

  @Get('keys/tree')
  tree(
    @Req() req: Request,
    @Query('prefix') prefix = '',
    @Query('after') after?: string,
    @Query('limit') limit?: string,
    @Query('revision') revision?: string,
  ): Promise<KeyTreePage> {
    return mapErrors(() =>
      keyTree(this.port, callContextOf(req), prefix, {
        after: after || undefined,
        limit: intParam('limit', limit, 100, 1, MAX_TREE_PAGE),
        revision: intParam('revision', revision, 0, 0),
      }),
    );
  }

  @Get('keys/value')
  value(
    @Req() req: Request,
    @Query('key') key?: string,
    @Query('revision') revision?: string,
  ): Promise<KeyValueResponse> {
    return mapErrors(() =>
      keyValue(
        this.port,
        callContextOf(req),
        requireKey(key),
        intParam('revision', revision, 0, 0),
        this.audit,
      ),
    );
  }

  @Get('keys/history')
  history(@Req() req: Request, @Query('key') key?: string): Promise<KeyHistoryResponse> {
    return mapErrors(() => keyHistory(this.port, callContextOf(req), requireKey(key), this.audit));
  }

  @Put('keys/value')
  async put(@Req() req: Request): Promise<WriteResult> {
    const body = await readJsonBody<PutKeyRequest>(req, this.member.maxRequestBytes);
    const key = requireKey(body?.key);
    if (body?.value !== undefined && typeof body.value !== 'string') {
      throw new BadRequestException('value must be a string');
    }
    let value: Buffer;
    if (body?.valueBase64 !== undefined) {
      // Invalid base64 is an error, never a silently empty value (Node's decoder skips bad characters).
      const decoded = typeof body.valueBase64 === 'string' ? decodeBase64Strict(body.valueBase64) : undefined;
      if (decoded === undefined) throw new BadRequestException('valueBase64 must be valid base64');
      value = decoded;
    } else {
      value = Buffer.from(body?.value ?? '', 'utf8');
    }
    const lease = body?.lease && /^\d+$/.test(body.lease) ? BigInt(body.lease) : 0n;
    return await mapErrors(async () => {
      const res = await this.port.put(callContextOf(req), { key: Buffer.from(key, 'utf8'), value, lease });
      return { revision: res.revision };
    });
  }

  @Delete('keys/value')
  remove(
    @Req() req: Request,
    @Query('key') key?: string,
    @Query('prefix') prefix?: string,
  ): Promise<WriteResult> {
    const keyBytes = Buffer.from(requireKey(key), 'utf8');
    return mapErrors(async () => {
      const res = await this.port.deleteRange(callContextOf(req), {
        key: keyBytes,
        ...(prefix === 'true' ? { rangeEnd: prefixEnd(keyBytes) } : {}),
      });
      return { revision: res.revision, deleted: res.deleted };
    });
  }

  /**
   * Server-Sent Events: `status` first, then one `change` per event under the prefix (id = revision).
   * `Last-Event-ID` (or ?start=) resumes after/at a revision; a compacted one restarts with a status, right after its revision.
   */
  @Get('watch')
  async watch(
    @Req() req: Request,
    @Res() res: Response,
    @Query('prefix') prefix = '',
    @Query('start') start?: string,
  ): Promise<void> {
    const lastEventId = req.header('last-event-id');
    const startRevision = lastEventId
      ? intParam('Last-Event-ID', lastEventId, 0, 0) + 1
      : intParam('start', start, 0, 0);
    const key = prefix === '' ? Buffer.of(0) : Buffer.from(prefix, 'utf8');
    const rangeEnd = prefix === '' ? Buffer.of(0) : prefixEnd(key);
    // A refusal (401/403 JSON) is answered before the stream opens, as the registry's watch does: the port
    // ends a denied watch without a word, which left the page 'live' with an empty feed. One key, keys only:
    // the check costs the same for a prefix of a million keys.
    await mapErrors(() =>
      this.port.range(callContextOf(req), { key, rangeEnd, limit: 1, keysOnly: true, serializable: true }),
    );
    // Bounded: past STREAM_MAX_BUFFERED_BYTES unsent the sink refuses and the store parks the watcher until
    // the reader reads again (then it resumes from the parked revision, or gets the compaction).
    const stream = new SseStream(res);
    stream.open({ comment: 'cairn watch feed', heartbeatMs: SSE_KEEPALIVE_MS });
    // Status and a response the sink took (it checked for room first) go out whole.
    const send = (event: string, data: object, id?: number): void => {
      stream.send({ id, event, data }, { always: true });
    };
    let watch: PortWatch | undefined;
    let closed = false;
    const status = (compacted?: boolean): WatchFeedStatus => {
      const { current, compact } = this.port.revisions();
      return { prefix, revision: current, compactRevision: compact, ...(compacted ? { compacted } : {}) };
    };
    const sink = (response: WatchResponse): boolean => {
      if (closed) return true;
      if (!stream.writable) return false;
      if (response.compactRevision !== undefined) {
        // The feed goes on right after the revision this status names: "from now" a turn later would lose
        // the writes made in between.
        const restart = status(true);
        send('status', restart);
        setImmediate(() => {
          if (!closed) watch = open(restart.revision + 1);
        });
        return true;
      }
      for (const event of response.events) {
        const { text } = classifyValue(event.kv.value);
        const feed: WatchFeedEvent = {
          revision: event.kv.modRevision,
          type: event.type,
          key: event.kv.key.toString('utf8'),
          value: event.type === 'put' ? text : null,
          valueBase64: event.kv.value.toString('base64'),
          version: event.kv.version,
          lease: event.kv.lease.toString(),
          prevValue: event.prevKv ? classifyValue(event.prevKv.value).text : null,
        };
        send('change', feed, feed.revision);
      }
      return true;
    };
    const open = (from: number): PortWatch =>
      this.port.watch(callContextOf(req), { key, rangeEnd, startRevision: from, prevKv: true }, sink);
    send('status', status());
    watch = open(startRevision);
    const close = (): void => {
      if (closed) return;
      closed = true;
      watch?.cancel();
    };
    req.on('close', close);
    stream.onClose(close);
  }
}

/** The JSON body, whether or not a body parser already read it (the app runs with bodyParser off). */
async function readJsonBody<T>(req: Request, limit: number): Promise<Partial<T> | undefined> {
  const parsed: unknown = req.body;
  if (parsed !== undefined && parsed !== null && typeof parsed === 'object' && !Buffer.isBuffer(parsed)) {
    return parsed as Partial<T>;
  }
  const raw = await readRawBody(req, limit);
  if (raw.length === 0) return undefined;
  try {
    const value: unknown = JSON.parse(raw.toString('utf8'));
    if (typeof value !== 'object' || value === null) throw new Error('not an object');
    return value as Partial<T>;
  } catch (err) {
    throw new BadRequestException(
      `the body must be a JSON object: ${err instanceof Error ? err.message : String(err)}`,
    );
  }
}

function requireKey(key: unknown): string {
  if (typeof key !== 'string' || key === '') throw new BadRequestException('key is required');
  return key;
}

function intParam(
  name: string,
  text: string | undefined,
  fallback: number,
  min: number,
  max?: number,
): number {
  if (text === undefined || text === '') return fallback;
  const value = Number(text);
  if (!Number.isSafeInteger(value) || value < min || (max !== undefined && value > max)) {
    throw new BadRequestException(
      `${name} must be an integer >= ${min}${max === undefined ? '' : ` and <= ${max}`}, got "${text}"`,
    );
  }
  return value;
}

async function mapErrors<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    if (err instanceof HttpException) throw err;
    const mapped = toEtcdError(err);
    if (mapped instanceof EtcdError) throw httpErrorFor(mapped);
    throw err;
  }
}

/** The house REST shape of an etcd error (auth refusals: etcd's message as `error`, and its gRPC `code`). */
function httpErrorFor(err: EtcdError): HttpException {
  const { status, body } = restErrorForEtcdError(err);
  return new HttpException(body, status);
}
