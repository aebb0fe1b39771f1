import { describe, expect, it } from 'vitest';
import {
  connectionFlags,
  loadFlags,
  loadPlanFrom,
  normalizeEndpoint,
  parsePids,
} from '../src/cli/common-flags';
import { describeFlags, flag, parseDuration, parseFlags, UsageError } from '../src/cli/flags';

const specs = {
  ...connectionFlags,
  ...loadFlags,
  'key-size': flag.int('key size', 16),
  'seq-keys': flag.bool('sequential'),
  consistency: flag.choice('l or s', ['l', 's'] as const, 'l'),
};

describe('parseFlags', () => {
  it('fills in defaults when nothing is given', () => {
    const parsed = parseFlags([], specs);
    expect(parsed.endpoints).toEqual(['127.0.0.1:2379']);
    expect(parsed.clients).toBe(64);
    expect(parsed['key-size']).toBe(16);
    expect(parsed['seq-keys']).toBe(false);
    expect(parsed.total).toBeUndefined();
    expect(parsed.given.size).toBe(0);
  });

  it('accepts "--name value", "--name=value" and bare switches', () => {
    const parsed = parseFlags(
      ['--endpoints', 'a:1,b:2', '--clients=256', '--seq-keys', '--duration', '1.5s', '--consistency=s'],
      specs,
    );
    expect(parsed.endpoints).toEqual(['a:1', 'b:2']);
    expect(parsed.clients).toBe(256);
    expect(parsed['seq-keys']).toBe(true);
    expect(parsed.duration).toBe(1500);
    expect(parsed.consistency).toBe('s');
    expect([...parsed.given].sort()).toEqual(['clients', 'consistency', 'duration', 'endpoints', 'seq-keys']);
  });

  it('lets a switch be turned off explicitly', () => {
    expect(parseFlags(['--seq-keys=false'], specs)['seq-keys']).toBe(false);
  });

  it.each([
    [['--nope'], /unknown flag --nope/],
    [['--clients'], /needs a value/],
    [['--clients', 'many'], /wants an integer/],
    [['--clients', '0'], />= 1/],
    [['--duration', '10 parsecs'], /wants a duration/],
    [['--consistency', 'x'], /one of l, s/],
    [['put'], /unexpected argument "put"/],
  ])('rejects %j with a usage error', (argv, message) => {
    expect(() => parseFlags(argv, specs)).toThrow(UsageError);
    expect(() => parseFlags(argv, specs)).toThrow(message);
  });

  it('lists every flag with its default in the help text', () => {
    const help = describeFlags({
      duration: flag.duration('run length', 10_000),
      clients: flag.int('clients', 64),
    });
    expect(help[0]).toMatch(/--duration DURATION +run length \(default 10s\)/);
    expect(help[1]).toMatch(/--clients N +clients \(default 64\)/);
  });
});

describe('parseDuration', () => {
  it.each([
    ['10s', 10_000],
    ['500ms', 500],
    ['1.5m', 90_000],
    ['1h', 3_600_000],
    ['2', 2000],
    ['0', 0],
  ])('reads %s as %d ms', (raw, ms) => {
    expect(parseDuration(raw)).toBe(ms);
  });
});

describe('load plan', () => {
  it('defaults to 10000 requests and no warm-up', () => {
    expect(loadPlanFrom({ total: undefined, duration: undefined, warmup: undefined })).toEqual({
      stop: { kind: 'total', requests: 10_000 },
      warmupMs: 0,
    });
  });

  it('warms up for 1 s before a timed run unless told otherwise', () => {
    expect(loadPlanFrom({ total: undefined, duration: 5000, warmup: undefined })).toEqual({
      stop: { kind: 'duration', ms: 5000 },
      warmupMs: 1000,
    });
    expect(loadPlanFrom({ total: undefined, duration: 5000, warmup: 0 }).warmupMs).toBe(0);
  });

  it('refuses --total together with --duration', () => {
    expect(() => loadPlanFrom({ total: 5, duration: 5000, warmup: undefined })).toThrow(
      /either --total or --duration/,
    );
  });
});

describe('endpoints and PIDs', () => {
  it('strips a URL scheme and trailing slash, since gRPC wants host:port', () => {
    expect(normalizeEndpoint('http://127.0.0.1:2379/')).toBe('127.0.0.1:2379');
    expect(normalizeEndpoint('127.0.0.1:2379')).toBe('127.0.0.1:2379');
  });

  it('parses PIDs and rejects anything else', () => {
    expect(parsePids(['12', '345'])).toEqual([12, 345]);
    expect(() => parsePids(['abc'])).toThrow(UsageError);
  });
});
