// etcd's corruption-check flags (docs/operations.md, "Corruption checks"): their specs, parsing and
// validation. Names, forms and defaults are etcd 3.4's: a bool and a Go duration (0 = off).
import { parseGoDurationMs } from '@cairn/server';
import { FlagError, type FlagSpec } from './flag-spec';

export interface CorruptionSettings {
  /** Compare HashKV with the peers before starting; refuse to start on a mismatch. */
  initialCorruptCheck: boolean;
  /** How often the leader compares HashKV with its peers (ms); 0 = never. */
  corruptCheckTimeMs: number;
}

export const CORRUPTION_FLAGS: FlagSpec[] = [
  {
    name: 'experimental-initial-corrupt-check',
    type: 'bool',
    default: 'false',
    help: "Check the member's data against its peers' (HashKV) before serving; a mismatch stops it from starting.",
  },
  {
    name: 'experimental-corrupt-check-time',
    type: 'string',
    default: '0s',
    help: "Duration between the leader's corruption checks of its peers; a mismatch raises the CORRUPT alarm (0 = off).",
  },
];

export function toCorruptionSettings(get: (flag: string) => string): CorruptionSettings {
  const initial = get('experimental-initial-corrupt-check');
  if (initial !== 'true' && initial !== 'false') {
    throw new FlagError(
      `invalid value "${initial}" for flag --experimental-initial-corrupt-check: expected true or false`,
    );
  }
  const timeText = get('experimental-corrupt-check-time');
  const corruptCheckTimeMs = parseGoDurationMs(timeText);
  if (corruptCheckTimeMs === undefined || corruptCheckTimeMs < 0) {
    throw new FlagError(
      `invalid value "${timeText}" for flag --experimental-corrupt-check-time: expected a duration like 5m or 30s`,
    );
  }
  return { initialCorruptCheck: initial === 'true', corruptCheckTimeMs };
}
