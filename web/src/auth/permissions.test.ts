import { describe, expect, it } from 'vitest';
import {
  allows,
  allowsKey,
  allowsPrefix,
  bytes,
  fromWire,
  grantsOf,
  prefixEnd,
  type Permission,
} from './permissions';

const perm = (type: Permission['type'], key: string, rangeEnd = ''): Permission => ({
  type,
  key: bytes(key),
  rangeEnd: rangeEnd === '\0' ? new Uint8Array([0]) : bytes(rangeEnd),
});
const prefix = (type: Permission['type'], p: string): Permission => ({
  type,
  key: bytes(p),
  rangeEnd: prefixEnd(bytes(p)),
});

describe('permissions', () => {
  it('prefixEnd is etcd GetPrefixRangeEnd (last byte + 1, trailing 0xff dropped, all 0xff = "\\0")', () => {
    expect(prefixEnd(bytes('/a/'))).toEqual(bytes('/a0'));
    expect(prefixEnd(new Uint8Array([0x61, 0xff]))).toEqual(new Uint8Array([0x62]));
    expect(prefixEnd(new Uint8Array([0xff, 0xff]))).toEqual(new Uint8Array([0]));
  });

  it('root may do anything; no roles may do nothing', () => {
    expect(allowsKey(grantsOf(['root'], []), 'write', '/anything')).toBe(true);
    const none = grantsOf([], []);
    expect(allowsKey(none, 'read', '/a')).toBe(false);
    expect(allowsPrefix(none, 'write', '/')).toBe(false);
  });

  it('READ gives read only, WRITE write only, READWRITE both', () => {
    const g = grantsOf(['r'], [perm('READ', '/r'), perm('WRITE', '/w'), perm('READWRITE', '/rw')]);
    expect([allowsKey(g, 'read', '/r'), allowsKey(g, 'write', '/r')]).toEqual([true, false]);
    expect([allowsKey(g, 'read', '/w'), allowsKey(g, 'write', '/w')]).toEqual([false, true]);
    expect([allowsKey(g, 'read', '/rw'), allowsKey(g, 'write', '/rw')]).toEqual([true, true]);
  });

  it('a single-key permission covers that key only, not its prefix or a longer key', () => {
    const g = grantsOf(['r'], [perm('READWRITE', '/cairn/config/shop/')]);
    expect(allowsKey(g, 'write', '/cairn/config/shop/')).toBe(true);
    expect(allowsKey(g, 'write', '/cairn/config/shop/payments')).toBe(false);
    expect(allowsPrefix(g, 'write', '/cairn/config/shop/')).toBe(false);
  });

  it('a prefix permission covers every key and sub-prefix under it, nothing beside it', () => {
    const g = grantsOf(['cfg'], [prefix('READWRITE', '/cairn/config/shop/payments/')]);
    expect(allowsPrefix(g, 'write', '/cairn/config/shop/payments/')).toBe(true);
    expect(allowsKey(g, 'write', '/cairn/config/shop/payments/config.yaml')).toBe(true);
    expect(allowsPrefix(g, 'write', '/cairn/config/shop/payments/~draft/')).toBe(true);
    expect(allowsPrefix(g, 'write', '/cairn/config/shop/')).toBe(false);
    expect(allowsPrefix(g, 'write', '/cairn/config/shop/payments2/')).toBe(false);
    expect(allowsKey(g, 'write', '/cairn/config/shop/payments')).toBe(false);
  });

  it('a from-key permission covers everything from its key on', () => {
    const g = grantsOf(['fk'], [perm('READ', '/m', '\0')]);
    expect(allowsKey(g, 'read', '/m')).toBe(true);
    expect(allowsPrefix(g, 'read', '/z/')).toBe(true);
    expect(allows(g, 'read', bytes('/n'), new Uint8Array([0]))).toBe(true);
    expect(allowsKey(g, 'read', '/a')).toBe(false);
    expect(allows(g, 'read', bytes('/a'), new Uint8Array([0]))).toBe(false);
  });

  it('a range [key, end) allows requests inside it only; an open-ended request needs an open-ended grant', () => {
    const g = grantsOf(['r'], [perm('READ', '/b', '/d')]);
    expect(allows(g, 'read', bytes('/b'), bytes('/d'))).toBe(true);
    expect(allows(g, 'read', bytes('/bb'), bytes('/c'))).toBe(true);
    expect(allows(g, 'read', bytes('/a'), bytes('/c'))).toBe(false);
    expect(allows(g, 'read', bytes('/c'), bytes('/e'))).toBe(false);
    expect(allows(g, 'read', bytes('/c'), new Uint8Array([0]))).toBe(false);
    expect(allowsKey(g, 'read', '/d')).toBe(false);
  });

  it('the union of roles: touching or overlapping ranges of different roles join', () => {
    const g = grantsOf(['a', 'b'], [perm('READ', '/a', '/c'), perm('READWRITE', '/c', '/e')]);
    expect(allows(g, 'read', bytes('/b'), bytes('/d'))).toBe(true);
    expect(allows(g, 'write', bytes('/b'), bytes('/d'))).toBe(false);
    expect(allows(g, 'write', bytes('/c'), bytes('/d'))).toBe(true);
  });

  it('compares keys as bytes (UTF-8), not as UTF-16 strings', () => {
    // U+FF5E (ef bd be) sorts before U+10000 (f0 90 80 80) in bytes, after it in UTF-16 code units.
    const g = grantsOf(['u'], [perm('READ', '\uff5e', '\u{10000}')]);
    expect(allowsKey(g, 'read', '\uff5f')).toBe(true);
  });

  it('reads the gateway JSON: base64 bytes, permType omitted = READ', () => {
    const p = fromWire({ key: btoa('/a/'), range_end: btoa('/a0') });
    expect(p.type).toBe('READ');
    expect(allowsPrefix(grantsOf(['r'], [p]), 'read', '/a/')).toBe(true);
    expect(fromWire({ permType: 'WRITE', key: btoa('k') }).rangeEnd).toEqual(new Uint8Array());
  });
});
