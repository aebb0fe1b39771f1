// GET /api/metrics/v1/history?since=<ms>: this member's own samples of the last 15 minutes (the console's
// charts ask every member for it). Like /metrics it is open while auth is disabled (and to every client,
// loopback or not, since members ask each other); with auth enabled it needs an authenticated user — any
// user: it shows counts and sizes, never keys or values. Anonymous callers get 401.
import {
  BadRequestException,
  Controller,
  Get,
  HttpException,
  type DynamicModule,
  Inject,
  Module,
  Query,
  Req,
} from '@nestjs/common';
import { ApiOperation, ApiQuery, ApiTags } from '@nestjs/swagger';
import type { Request } from 'express';
import { etcdError, restErrorForEtcdError } from '@cairn/api';
import { callContextOf } from '@cairn/edge';
import type { MetricsHistory } from './history-types';
import type { MetricsSampler } from './metrics-sampler';

export const HISTORY_SOURCE = Symbol('HISTORY_SOURCE');

/** What the route needs of its member. */
export interface HistorySource {
  sampler: MetricsSampler;
  member(): { memberId: string; name: string };
  authEnabled(): boolean;
}

@ApiTags('metrics')
@Controller('api/metrics/v1')
export class MetricsHistoryController {
  constructor(@Inject(HISTORY_SOURCE) private readonly source: HistorySource) {}

  @Get('history')
  @ApiOperation({
    summary:
      "This member's metrics sampled every second over the last 15 minutes (columnar); with auth enabled, any authenticated user",
  })
  @ApiQuery({
    name: 'since',
    required: false,
    description: "Only samples taken after this time (ms since the epoch, the member's clock)",
  })
  history(@Req() req: Request, @Query('since') since?: string): MetricsHistory {
    if (this.source.authEnabled()) {
      const { identity } = callContextOf(req);
      if (identity.user === '' && !identity.memberDuty) {
        const { status, body } = restErrorForEtcdError(etcdError('user-empty'));
        throw new HttpException(body, status);
      }
    }
    const from = since === undefined || since === '' ? 0 : Number(since);
    if (!Number.isFinite(from) || from < 0) {
      throw new BadRequestException(`since must be a time in ms since the epoch, got "${since}"`);
    }
    return this.source.sampler.history(this.source.member(), from);
  }
}

@Module({})
export class MetricsHistoryModule {
  static forSource(source: HistorySource): DynamicModule {
    return {
      module: MetricsHistoryModule,
      controllers: [MetricsHistoryController],
      providers: [{ provide: HISTORY_SOURCE, useValue: source }],
    };
  }
}
