// Key-range permissions (etcd's authpb.Permission) and the one question asked of them: does the union of a
// user's granted ranges cover the range a request touches? Ranges are byte strings [key, rangeEnd) compared
// as unsigned bytes; an empty rangeEnd is the single key; rangeEnd "\0" means every key from `key` on (etcd's
// --from-key), in grants as in requests.

export enum PermissionType {
  READ = 0,
  WRITE = 1,
  READWRITE = 2,
}

export interface KeyPermission {
  permType: PermissionType;
  key: Buffer;
  /** Empty: the single key. "\0": every key >= key. */
  rangeEnd: Buffer;
}

/** An interval [start, end) of keys; end undefined = no upper bound. */
interface KeyInterval {
  start: Buffer;
  end: Buffer | undefined;
}

const ZERO = Buffer.from([0]);

/** The interval a (key, rangeEnd) pair names, as etcd reads it for grants and for requests alike. */
export function intervalOf(key: Buffer, rangeEnd: Buffer): KeyInterval {
  if (rangeEnd.length === 0) return { start: key, end: Buffer.concat([key, ZERO]) };
  if (rangeEnd.length === 1 && rangeEnd[0] === 0) return { start: key, end: undefined };
  return { start: key, end: rangeEnd };
}

/** A user's merged grants of one kind (read or write): sorted, non-overlapping intervals. */
export class KeyRangeSet {
  private readonly intervals: KeyInterval[];

  constructor(intervals: KeyInterval[]) {
    this.intervals = merge(intervals);
  }

  /** True when every key of [key, rangeEnd) lies in a granted interval. */
  covers(key: Buffer, rangeEnd: Buffer): boolean {
    const wanted = intervalOf(key, rangeEnd);
    // An empty request range ([a, b) with b <= a) touches no key: etcd still checks its start key.
    if (wanted.end !== undefined && Buffer.compare(wanted.end, wanted.start) <= 0) {
      return this.covers(key, Buffer.alloc(0));
    }
    // After merging, the range is covered only if one interval holds all of it.
    for (const interval of this.intervals) {
      if (Buffer.compare(interval.start, wanted.start) > 0) return false;
      if (interval.end === undefined) return true;
      if (wanted.end !== undefined && Buffer.compare(interval.end, wanted.end) >= 0) return true;
    }
    return false;
  }
}

/** Sorts by start and joins touching or overlapping intervals. */
function merge(intervals: KeyInterval[]): KeyInterval[] {
  const sorted = [...intervals]
    .filter((interval) => interval.end === undefined || Buffer.compare(interval.end, interval.start) > 0)
    .sort((a, b) => Buffer.compare(a.start, b.start));
  const merged: KeyInterval[] = [];
  for (const interval of sorted) {
    const last = merged[merged.length - 1];
    if (last && (last.end === undefined || Buffer.compare(interval.start, last.end) <= 0)) {
      if (
        last.end !== undefined &&
        (interval.end === undefined || Buffer.compare(interval.end, last.end) > 0)
      ) {
        last.end = interval.end;
      }
      continue;
    }
    merged.push({ ...interval });
  }
  return merged;
}

/** The READ and WRITE range sets of a list of grants (READWRITE counts for both). */
export function rangeSetsOf(permissions: readonly KeyPermission[]): {
  read: KeyRangeSet;
  write: KeyRangeSet;
} {
  const read: KeyInterval[] = [];
  const write: KeyInterval[] = [];
  for (const permission of permissions) {
    const interval = intervalOf(permission.key, permission.rangeEnd);
    if (permission.permType !== PermissionType.WRITE) read.push(interval);
    if (permission.permType !== PermissionType.READ) write.push(interval);
  }
  return { read: new KeyRangeSet(read), write: new KeyRangeSet(write) };
}
