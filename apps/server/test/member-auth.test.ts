// Secure by default without being in the way: a member serving plaintext to other hosts says so at start and
// in /health, and refuses AuthEnable (passwords and tokens would cross the network in clear) unless
// --auth-allow-plaintext; loopback-only and https members are quiet. The member always starts.
import { describe, expect, it } from 'vitest';
import { readFlags } from '../src/config/flags';
import { toSettings } from '../src/config/settings';
import {
  authApiOptions,
  createTokenProvider,
  exposedPlaintextUrls,
  insecurityWarnings,
} from '../src/member-auth';

const settings = (...argv: string[]) => toSettings(readFlags(argv, {}));

describe('secure by default', () => {
  it('is quiet for a loopback member, and for one serving https to other hosts', () => {
    expect(exposedPlaintextUrls(settings())).toEqual([]);
    expect(insecurityWarnings(settings(), false)).toEqual([]);
    const https = settings(
      '--listen-client-urls',
      'https://10.1.2.3:2379',
      '--auto-tls',
      '--listen-peer-urls',
      'http://[::1]:2380',
    );
    expect(exposedPlaintextUrls(https)).toEqual([]);
  });

  it('warns about plaintext URLs other hosts reach, and about auth being off', () => {
    const exposed = settings('--listen-client-urls', 'http://0.0.0.0:2379,http://127.0.0.1:12379');
    expect(exposedPlaintextUrls(exposed)).toEqual(['http://0.0.0.0:2379/']);
    expect(insecurityWarnings(exposed, false)).toEqual([
      'plaintext URLs reachable from other hosts: http://0.0.0.0:2379/',
      'authentication is off: anyone who reaches a client URL can read and write every key',
    ]);
    expect(insecurityWarnings(exposed, true)).toHaveLength(1);
  });

  it('refuses AuthEnable on an exposed plaintext member unless --auth-allow-plaintext', () => {
    const exposed = settings('--listen-client-urls', 'http://0.0.0.0:2379');
    const tokens = createTokenProvider(exposed);
    try {
      expect(authApiOptions(exposed, tokens).refuseEnable).toBe(true);
      const allowed = settings('--listen-client-urls', 'http://0.0.0.0:2379', '--auth-allow-plaintext');
      expect(authApiOptions(allowed, tokens).refuseEnable).toBe(false);
      expect(authApiOptions(settings(), tokens).refuseEnable).toBe(false);
    } finally {
      tokens.close();
    }
  });
});
