// The client URL's timeout and limit flags: etcd's names and defaults where etcd has the flag
// (--grpc-keepalive-*, --max-concurrent-streams), Go durations, the unary bound derived from the election
// timeout as etcd's request timeout is, and each invalid value as a FlagError naming the flag.
import { describe, expect, it } from 'vitest';
import { FlagError, readFlags } from '../src/config/flags';
import { toSettings } from '../src/config/settings';

const edge = (argv: string[], env: Record<string, string | undefined> = {}) =>
  toSettings(readFlags(argv, env)).clientEdge;

describe('client edge flags', () => {
  it('default to etcd’s keepalive and stream limits and to 5 s + 2 election timeouts for unary calls', () => {
    const s = edge([]);
    expect(s.grpcKeepAliveMinTimeMs).toBe(5000);
    expect(s.grpcKeepAliveIntervalMs).toBe(7_200_000);
    expect(s.grpcKeepAliveTimeoutMs).toBe(20_000);
    expect(s.maxConcurrentStreams).toBe(2 ** 32 - 1);
    expect(s.unaryRequestTimeoutMs).toBe(7000);
    expect(edge(['--election-timeout', '2500']).unaryRequestTimeoutMs).toBe(10_000);
  });

  it('read Go durations from flags and CAIRN_* variables, flags winning', () => {
    const s = edge(
      [
        '--protocol-decision-timeout=300ms',
        '--http-headers-timeout=1s',
        '--http-request-timeout=1.5s',
        '--http-keepalive-timeout=2s',
        '--grpc-keepalive-min-time=0',
        '--grpc-keepalive-interval=1m30s',
        '--unary-request-timeout=750ms',
        '--max-client-connections=10',
        '--max-concurrent-streams',
        '3',
      ],
      { CAIRN_GRPC_KEEPALIVE_TIMEOUT: '400ms', CAIRN_MAX_CLIENT_CONNECTIONS: '99' },
    );
    expect(s).toEqual({
      protocolDecisionTimeoutMs: 300,
      httpHeadersTimeoutMs: 1000,
      httpRequestTimeoutMs: 1500,
      httpKeepAliveTimeoutMs: 2000,
      grpcKeepAliveMinTimeMs: 0,
      grpcKeepAliveIntervalMs: 90_000,
      grpcKeepAliveTimeoutMs: 400,
      unaryRequestTimeoutMs: 750,
      maxConcurrentStreams: 3,
      maxClientConnections: 10,
      grpcFront: true,
      ioWorker: false,
    });
  });

  it.each([
    [['--protocol-decision-timeout=5'], /--protocol-decision-timeout: expected a duration/],
    [['--protocol-decision-timeout=0'], /--protocol-decision-timeout: must be > 0/],
    [
      ['--http-headers-timeout=40s'],
      /--http-headers-timeout \(40000ms\) must not exceed --http-request-timeout/,
    ],
    [['--unary-request-timeout=0'], /--unary-request-timeout: must be > 0/],
    [['--max-concurrent-streams=0'], /--max-concurrent-streams: expected an integer in \[1, 4294967295\]/],
    [['--max-concurrent-streams=4294967296'], /--max-concurrent-streams/],
    [['--max-client-connections=-1'], /--max-client-connections/],
    [['--grpc-keepalive-interval=soon'], /--grpc-keepalive-interval/],
  ])('refuse %j', (argv, message) => {
    expect(() => edge(argv)).toThrow(FlagError);
    expect(() => edge(argv)).toThrow(message);
  });
});
