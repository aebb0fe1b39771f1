// --cipher-suites: etcd's (Go/IANA) names map to OpenSSL's, OpenSSL spellings pass, anything else is a start-up
// error; TLS 1.3 stays available (Node would otherwise cap a TLS 1.2-only list at TLS 1.2).
import tls from 'node:tls';
import { describe, expect, it } from 'vitest';
import { CipherSuiteError, openSslCipherList } from '../src/tls/cipher-suites';

describe('openSslCipherList', () => {
  it('maps IANA names to OpenSSL names and keeps the TLS 1.3 suites', () => {
    const list = openSslCipherList([
      'TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256',
      'TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305',
    ]);
    expect(list?.split(':')).toEqual([
      'ECDHE-RSA-AES128-GCM-SHA256',
      'ECDHE-ECDSA-CHACHA20-POLY1305',
      'TLS_AES_256_GCM_SHA384',
      'TLS_CHACHA20_POLY1305_SHA256',
      'TLS_AES_128_GCM_SHA256',
    ]);
    // Node accepts it, and TLS 1.3 is still on.
    const context = tls.createSecureContext({ ciphers: list });
    expect(context).toBeDefined();
  });

  it('accepts OpenSSL spellings and leaves an empty list to Node', () => {
    expect(openSslCipherList(['ECDHE-ECDSA-AES256-GCM-SHA384'])?.split(':')[0]).toBe(
      'ECDHE-ECDSA-AES256-GCM-SHA384',
    );
    expect(openSslCipherList([])).toBeUndefined();
  });

  it('refuses an unknown suite, and TLS 1.3 suites (not configurable, as in Go), naming it', () => {
    expect(() => openSslCipherList(['TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256', 'TLS_NOPE'])).toThrow(
      CipherSuiteError,
    );
    expect(() => openSslCipherList(['TLS_NOPE'])).toThrow(/"TLS_NOPE"/);
    expect(() => openSslCipherList(['TLS_AES_128_GCM_SHA256'])).toThrow(CipherSuiteError);
  });
});
