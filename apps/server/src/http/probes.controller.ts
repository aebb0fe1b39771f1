// etcd's plain HTTP endpoints: /health (a linearizable read must succeed and no alarm be raised), /livez,
// /readyz, /version and /metrics.
import { Controller, Get, Inject, Res } from '@nestjs/common';
import type { Response } from 'express';
import type { CairnNode } from '@cairn/server';
import type { CairnMetrics } from '../metrics';
import { CAIRN_VERSION, ETCD_API_VERSION, ETCD_CLUSTER_VERSION } from '@cairn/server';
import { CAIRN_NODE, METRICS, SECURITY_WARNINGS } from './tokens';

const HEALTH_TIMEOUT_MS = 2000;

@Controller()
export class ProbesController {
  constructor(
    @Inject(CAIRN_NODE) private readonly node: CairnNode,
    @Inject(METRICS) private readonly metrics: CairnMetrics,
    @Inject(SECURITY_WARNINGS) private readonly securityWarnings: () => string[],
  ) {}

  @Get('health')
  async health(@Res() res: Response): Promise<void> {
    const reason = await this.unhealthyReason();
    // etcd's body, plus Cairn's warnings when the member is reachable from other hosts without TLS or auth.
    const warnings = this.securityWarnings();
    const details = warnings.length > 0 ? { warnings } : {};
    if (reason) res.status(503).json({ health: 'false', reason, ...details });
    else res.status(200).json({ health: 'true', ...details });
  }

  @Get('livez')
  livez(@Res() res: Response): void {
    res.status(200).type('text/plain').send('ok');
  }

  @Get('readyz')
  async readyz(@Res() res: Response): Promise<void> {
    const reason = await this.unhealthyReason();
    if (reason) res.status(503).type('text/plain').send(`[-]${reason}\nreadyz check failed`);
    else res.status(200).type('text/plain').send('ok');
  }

  // etcd's two fields (the API level Cairn implements, which clients key features on) plus Cairn's own release.
  @Get('version')
  version(@Res() res: Response): void {
    res
      .status(200)
      .json({ etcdserver: ETCD_API_VERSION, etcdcluster: ETCD_CLUSTER_VERSION, cairn: CAIRN_VERSION });
  }

  @Get('metrics')
  async scrape(@Res() res: Response): Promise<void> {
    res
      .status(200)
      .type(this.metrics.registry.contentType)
      .send(await this.metrics.registry.metrics());
  }

  private async unhealthyReason(): Promise<string | undefined> {
    if (!this.node.hasLeader()) return 'RAFT NO LEADER';
    if (this.node.alarms.list().length > 0) return 'ALARM ACTIVE';
    let timer: NodeJS.Timeout | undefined;
    try {
      await Promise.race([
        this.node.linearizableReadBarrier(),
        new Promise(
          (_, reject) => (timer = setTimeout(() => reject(new Error('timeout')), HEALTH_TIMEOUT_MS)),
        ),
      ]);
      return undefined;
    } catch {
      return 'QGET ERROR';
    } finally {
      clearTimeout(timer);
    }
  }
}
