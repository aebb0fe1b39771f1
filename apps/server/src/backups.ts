// Scheduled backups (--backup-dir, --backup-interval, --backup-retention) and their metrics: every outcome is
// counted by result, so an alert can fire on failures or on a last success that grows old.
import { BackupScheduler, type Logger } from '@cairn/server';
import { Counter, Gauge, type Registry } from 'prom-client';
import type { BackupSettings } from './config/backup-settings';

export function startBackups(
  source: ConstructorParameters<typeof BackupScheduler>[0],
  settings: BackupSettings,
  registry: Registry,
  logger: Logger,
): BackupScheduler | undefined {
  if (settings.intervalMs <= 0 || settings.dir === '') return undefined;
  const scheduler = new BackupScheduler(source, {
    dir: settings.dir,
    intervalMs: settings.intervalMs,
    retention: settings.retention,
    logger: logger.child({ component: 'backup' }),
  });
  const outcomes = new Counter({
    name: 'cairn_backups_total',
    help: 'Scheduled backups by result (success or failure).',
    labelNames: ['result'],
    registers: [registry],
  });
  outcomes.inc({ result: 'success' }, 0);
  outcomes.inc({ result: 'failure' }, 0);
  new Gauge({
    name: 'cairn_backup_last_success_timestamp_seconds',
    help: 'Unix time of the last scheduled backup written (0 = none yet).',
    registers: [registry],
    collect() {
      this.set(scheduler.stats.lastSuccessSeconds);
    },
  });
  scheduler.onResult((ok) => outcomes.inc({ result: ok ? 'success' : 'failure' }));
  scheduler.start();
  logger.info(
    { dir: settings.dir, intervalMs: settings.intervalMs, retention: settings.retention },
    'scheduled backups on',
  );
  return scheduler;
}
