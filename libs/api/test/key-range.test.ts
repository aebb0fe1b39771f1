// prefixEnd: the one copy of etcd's GetPrefixRangeEnd (libs, the client SDK and the bench import it).
import { describe, expect, it } from 'vitest';
import { prefixEnd } from '../src';

describe('prefixEnd', () => {
  it('increments the last byte', () => {
    expect(prefixEnd(Buffer.from('aa')).toString()).toBe('ab');
    expect(prefixEnd('/cairn/registry/').toString()).toBe('/cairn/registry0');
  });

  it('drops trailing 0xff bytes before incrementing', () => {
    expect(prefixEnd(Buffer.from([0x61, 0xff])).toString()).toBe('b');
  });

  it('gives "\\0" (every key from the prefix on) when every byte is 0xff or the prefix is empty', () => {
    expect([...prefixEnd(Buffer.from([0xff, 0xff]))]).toEqual([0]);
    expect([...prefixEnd('')]).toEqual([0]);
  });

  it('never changes its argument', () => {
    const prefix = Buffer.from('ab');
    prefixEnd(prefix);
    expect(prefix.toString()).toBe('ab');
  });
});
