// Pure helpers of the client core: endpoint parsing and prefix range ends.
import { describe, expect, it } from 'vitest';
import { EndpointPool, isHealthyInstance, prefixEnd, toGrpcAddress } from '../src';

describe('endpoints', () => {
  it('dials host:port whatever form the endpoint is written in', () => {
    expect(toGrpcAddress('http://127.0.0.1:2379')).toBe('127.0.0.1:2379');
    expect(toGrpcAddress('https://cairn.example')).toBe('cairn.example:443');
    expect(toGrpcAddress(' 10.0.0.1:2379 ')).toBe('10.0.0.1:2379');
    const pool = new EndpointPool({ endpoints: 'http://a:1,http://b:2' });
    expect(pool.addresses).toEqual(['a:1', 'b:2']);
    expect(pool.current()).toBe('a:1');
    pool.failover('b:2'); // not current: no move
    expect(pool.current()).toBe('a:1');
    pool.failover('a:1');
    expect(pool.current()).toBe('b:2');
    pool.failover('b:2');
    expect(pool.current()).toBe('a:1');
    pool.close();
    expect(() => new EndpointPool({ endpoints: [] })).toThrow(/at least one endpoint/);
  });
});

describe('prefixEnd', () => {
  it("is etcd's GetPrefixRangeEnd", () => {
    expect(prefixEnd('/a/')).toEqual(Buffer.from('/a0'));
    expect(prefixEnd(Buffer.from([0x61, 0xff]))).toEqual(Buffer.from([0x62]));
    expect(prefixEnd(Buffer.from([0xff, 0xff]))).toEqual(Buffer.from([0]));
  });
});

describe('registry view filter', () => {
  it('keeps UP instances that are not critical', () => {
    expect(
      isHealthyInstance({ status: 'UP', health: { status: 'warning', reason: '', checked_at: '' } }),
    ).toBe(true);
    expect(
      isHealthyInstance({ status: 'UP', health: { status: 'critical', reason: '', checked_at: '' } }),
    ).toBe(false);
    expect(
      isHealthyInstance({ status: 'DRAINING', health: { status: 'passing', reason: '', checked_at: '' } }),
    ).toBe(false);
  });
});
