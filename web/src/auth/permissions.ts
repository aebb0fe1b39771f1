// What a signed-in user may do, computed from its roles' permissions as etcd's auth store does
// (server/auth/range_perm_cache.go): a user's READ ranges are the union of its roles' READ and READWRITE
// ranges (WRITE likewise); a request on [key, end) is allowed when one merged range contains it all. Keys are
// compared as bytes. The console only hides or disables what the server would refuse; the server decides.
import type { PermType, WirePermission } from './auth-api';

export type Access = 'read' | 'write';

/** [start, end) in bytes; end undefined = to the end of the key space (etcd's range_end "\0"). */
interface Interval {
  start: Uint8Array;
  end: Uint8Array | undefined;
}

export interface Grants {
  /** The root role: everything, including user and role management. */
  root: boolean;
  read: Interval[];
  write: Interval[];
}

/** What a user who may do anything has: auth off, or root. */
export const ALL: Grants = { root: true, read: [], write: [] };

export interface Permission {
  type: PermType;
  key: Uint8Array;
  /** Empty = the single key; [0] = every key from `key` on (etcd's --from-key). */
  rangeEnd: Uint8Array;
}

const utf8 = new TextEncoder();
export const bytes = (s: string): Uint8Array => utf8.encode(s);

export function compareBytes(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return a[i]! - b[i]!;
  return a.length - b.length;
}

/** etcd's GetPrefixRangeEnd: the first key after every key that starts with `prefix` ([0] = none). */
export function prefixEnd(prefix: Uint8Array): Uint8Array {
  for (let i = prefix.length - 1; i >= 0; i--) {
    if (prefix[i]! < 0xff) {
      const end = prefix.slice(0, i + 1);
      end[i]! += 1;
      return end;
    }
  }
  return new Uint8Array([0]);
}

/** The key right after `key` (key + "\0"): [key, next) holds `key` alone. */
const next = (key: Uint8Array): Uint8Array => {
  const out = new Uint8Array(key.length + 1);
  out.set(key);
  return out;
};

const isFromKey = (end: Uint8Array): boolean => end.length === 1 && end[0] === 0;

function intervalOf(key: Uint8Array, rangeEnd: Uint8Array): Interval {
  if (rangeEnd.length === 0) return { start: key, end: next(key) };
  return { start: key, end: isFromKey(rangeEnd) ? undefined : rangeEnd };
}

/** Sorted, with overlapping and touching intervals joined (so a request spanning two grants is allowed). */
function merge(intervals: Interval[]): Interval[] {
  const sorted = [...intervals].sort((a, b) => compareBytes(a.start, b.start));
  const out: Interval[] = [];
  for (const iv of sorted) {
    const last = out[out.length - 1];
    if (last && (last.end === undefined || compareBytes(iv.start, last.end) <= 0)) {
      if (last.end !== undefined && (iv.end === undefined || compareBytes(iv.end, last.end) > 0)) {
        last.end = iv.end;
      }
    } else {
      out.push({ ...iv });
    }
  }
  return out;
}

const b64 = (s: string | undefined): Uint8Array =>
  s ? Uint8Array.from(atob(s), (c) => c.charCodeAt(0)) : new Uint8Array();

/** A permission as the gateway sends it (permType omitted = READ, etcd's default value). */
export function fromWire(p: WirePermission): Permission {
  return { type: p.permType ?? 'READ', key: b64(p.key), rangeEnd: b64(p.range_end) };
}

/** The grants of a user with these roles; `permissions` are those of every role but root. */
export function grantsOf(roles: string[], permissions: Permission[]): Grants {
  if (roles.includes('root')) return ALL;
  const read: Interval[] = [];
  const write: Interval[] = [];
  for (const p of permissions) {
    const iv = intervalOf(p.key, p.rangeEnd);
    if (p.type !== 'WRITE') read.push(iv);
    if (p.type !== 'READ') write.push(iv);
  }
  return { root: false, read: merge(read), write: merge(write) };
}

/**
 * May these grants `access` the key `key` (rangeEnd omitted or empty), or the range [key, rangeEnd)
 * (rangeEnd [0] = from key on)?
 */
export function allows(grants: Grants, access: Access, key: Uint8Array, rangeEnd?: Uint8Array): boolean {
  if (grants.root) return true;
  const want = intervalOf(key, rangeEnd ?? new Uint8Array());
  return (access === 'read' ? grants.read : grants.write).some(
    (iv) =>
      compareBytes(iv.start, want.start) <= 0 &&
      (iv.end === undefined || (want.end !== undefined && compareBytes(want.end, iv.end) <= 0)),
  );
}

/** May these grants `access` every key under `prefix` (a string, as the console's key spaces are)? */
export const allowsPrefix = (grants: Grants, access: Access, prefix: string): boolean =>
  allows(grants, access, bytes(prefix), prefixEnd(bytes(prefix)));

/** May these grants `access` the single key `key`? */
export const allowsKey = (grants: Grants, access: Access, key: string): boolean =>
  allows(grants, access, bytes(key));
