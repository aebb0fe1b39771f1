// The small parts of the peer transport: dial back-off, log rate limiting, re-chunking, peer URL parsing,
// locating the proto file from src and from dist.
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { Backoff } from '../src/peer/backoff';
import { inChunks } from '../src/peer/chunks';
import { LogLimiter } from '../src/peer/log-limiter';
import { grpcTargetOf } from '../src/peer/peer-urls';
import { findPeerProto } from '../src/peer/proto';

describe('Backoff', () => {
  it('doubles up to the cap with jitter in [half, full] of each step, and starts over on reset', () => {
    const top = new Backoff({ initialMs: 100, maxMs: 1000 }, () => 1);
    expect([1, 2, 3, 4, 5, 6].map(() => top.next())).toEqual([100, 200, 400, 800, 1000, 1000]);
    top.reset();
    expect(top.next()).toBe(100);
    const bottom = new Backoff({ initialMs: 100, maxMs: 1000 }, () => 0);
    expect([1, 2, 3, 4, 5].map(() => bottom.next())).toEqual([50, 100, 200, 400, 500]);
  });

  it('refuses a back-off that cannot work', () => {
    expect(() => new Backoff({ initialMs: 0, maxMs: 10 })).toThrow(RangeError);
    expect(() => new Backoff({ initialMs: 100, maxMs: 10 })).toThrow(RangeError);
  });
});

describe('LogLimiter', () => {
  it('lets one line per key through per interval and counts the rest', () => {
    let now = 0;
    const limiter = new LogLimiter(1000, () => now);
    expect(limiter.allow('a')).toEqual({ allowed: true, suppressed: 0 });
    expect(limiter.allow('a')).toEqual({ allowed: false });
    expect(limiter.allow('b')).toEqual({ allowed: true, suppressed: 0 });
    now = 500;
    expect(limiter.allow('a')).toEqual({ allowed: false });
    now = 1000;
    expect(limiter.allow('a')).toEqual({ allowed: true, suppressed: 2 });
    limiter.reset('a');
    expect(limiter.allow('a')).toEqual({ allowed: true, suppressed: 0 });
  });
});

describe('inChunks', () => {
  async function collect(sizes: number[], chunkBytes: number): Promise<{ lengths: number[]; same: boolean }> {
    let next = 0;
    const input = sizes.map((n) => Buffer.from(Array.from({ length: n }, () => next++ % 256)));
    async function* source(): AsyncGenerator<Buffer> {
      yield* input;
    }
    const out: Buffer[] = [];
    for await (const chunk of inChunks(source(), chunkBytes)) out.push(chunk);
    return { lengths: out.map((c) => c.length), same: Buffer.concat(out).equals(Buffer.concat(input)) };
  }

  it('re-cuts any piece sizes into full chunks and a shorter last one, bytes unchanged', async () => {
    expect(await collect([3, 3, 3, 3], 5)).toEqual({ lengths: [5, 5, 2], same: true });
    expect(await collect([23], 5)).toEqual({ lengths: [5, 5, 5, 5, 3], same: true });
    expect(await collect([5, 0, 5], 5)).toEqual({ lengths: [5, 5], same: true });
    expect(await collect([], 5)).toEqual({ lengths: [], same: true });
  });
});

describe('peer URLs and proto', () => {
  it('turns peer URLs into gRPC targets', () => {
    expect(grpcTargetOf('http://10.0.0.7:2380')).toBe('10.0.0.7:2380');
    expect(grpcTargetOf('https://node-1.example:12380/')).toBe('node-1.example:12380');
    expect(grpcTargetOf('http://[::1]:2380')).toBe('[::1]:2380');
    expect(grpcTargetOf('http://10.0.0.7')).toBe('10.0.0.7:2380');
    expect(grpcTargetOf('127.0.0.1:5000')).toBe('127.0.0.1:5000');
    expect(() => grpcTargetOf('ftp://10.0.0.7:2380')).toThrow(/scheme/);
  });

  it('finds peer.proto walking up from src/peer and from dist/peer', () => {
    const packageRoot = join(__dirname, '..');
    const expected = join(packageRoot, 'proto', 'cairn', 'peer', 'v1', 'peer.proto');
    expect(findPeerProto(join(packageRoot, 'src', 'peer'))).toBe(expected);
    expect(findPeerProto(join(packageRoot, 'dist', 'peer'))).toBe(expected);
    expect(() => findPeerProto('/')).toThrow(/not found/);
  });
});
