// Scheduled backups on the member (docs/operations.md, "Back up"): their flags, parsing and validation. A
// backup is a snapshot as `etcdctl snapshot save` writes it, taken every --backup-interval into --backup-dir.
import { parseGoDurationMs } from '@cairn/server';
import { FlagError, type FlagSpec } from './flag-spec';

export interface BackupSettings {
  /** Where backups go ('' = no backups). */
  dir: string;
  /** Time between backups (ms); 0 = off. */
  intervalMs: number;
  /** Backups kept, the newest; 0 = keep every one. */
  retention: number;
}

export const BACKUP_FLAGS: FlagSpec[] = [
  {
    name: 'backup-dir',
    type: 'string',
    default: '',
    help: 'Directory of the scheduled backups (snapshots as etcdctl snapshot save writes them; needs --backup-interval).',
  },
  {
    name: 'backup-interval',
    type: 'string',
    default: '0',
    help: 'Duration between scheduled backups, e.g. 1h or 30m (0 = off).',
  },
  {
    name: 'backup-retention',
    type: 'int',
    default: '5',
    help: 'Scheduled backups kept in --backup-dir, the newest (0 = keep every one).',
  },
];

export function toBackupSettings(get: (flag: string) => string): BackupSettings {
  const dir = get('backup-dir');
  const intervalText = get('backup-interval');
  const intervalMs = parseGoDurationMs(intervalText);
  if (intervalMs === undefined || intervalMs < 0) {
    throw new FlagError(
      `invalid value "${intervalText}" for flag --backup-interval: expected a duration like 1h or 30m`,
    );
  }
  const retentionText = get('backup-retention');
  const retention = Number(retentionText);
  if (!/^\d+$/.test(retentionText) || !Number.isSafeInteger(retention)) {
    throw new FlagError(`invalid value "${retentionText}" for flag --backup-retention: expected a count`);
  }
  if (intervalMs > 0 && dir === '') throw new FlagError('--backup-interval needs --backup-dir');
  return { dir, intervalMs, retention };
}
