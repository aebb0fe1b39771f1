// etcd's --cipher-suites takes Go's (IANA) names; Node's TLS takes OpenSSL's. This maps the one to the other
// and refuses a name neither knows, at start-up, as etcd does ("unexpected TLS cipher suite").
import tls from 'node:tls';

/** Go's crypto/tls names (the ones etcd accepts) → OpenSSL names. TLS 1.2 and below only, as in Go. */
const IANA_TO_OPENSSL: Readonly<Record<string, string>> = {
  TLS_RSA_WITH_RC4_128_SHA: 'RC4-SHA',
  TLS_RSA_WITH_3DES_EDE_CBC_SHA: 'DES-CBC3-SHA',
  TLS_RSA_WITH_AES_128_CBC_SHA: 'AES128-SHA',
  TLS_RSA_WITH_AES_256_CBC_SHA: 'AES256-SHA',
  TLS_RSA_WITH_AES_128_CBC_SHA256: 'AES128-SHA256',
  TLS_RSA_WITH_AES_128_GCM_SHA256: 'AES128-GCM-SHA256',
  TLS_RSA_WITH_AES_256_GCM_SHA384: 'AES256-GCM-SHA384',
  TLS_ECDHE_ECDSA_WITH_RC4_128_SHA: 'ECDHE-ECDSA-RC4-SHA',
  TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA: 'ECDHE-ECDSA-AES128-SHA',
  TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA: 'ECDHE-ECDSA-AES256-SHA',
  TLS_ECDHE_RSA_WITH_RC4_128_SHA: 'ECDHE-RSA-RC4-SHA',
  TLS_ECDHE_RSA_WITH_3DES_EDE_CBC_SHA: 'ECDHE-RSA-DES-CBC3-SHA',
  TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA: 'ECDHE-RSA-AES128-SHA',
  TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA: 'ECDHE-RSA-AES256-SHA',
  TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256: 'ECDHE-ECDSA-AES128-SHA256',
  TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256: 'ECDHE-RSA-AES128-SHA256',
  TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256: 'ECDHE-RSA-AES128-GCM-SHA256',
  TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256: 'ECDHE-ECDSA-AES128-GCM-SHA256',
  TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384: 'ECDHE-RSA-AES256-GCM-SHA384',
  TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384: 'ECDHE-ECDSA-AES256-GCM-SHA384',
  TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305: 'ECDHE-RSA-CHACHA20-POLY1305',
  TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256: 'ECDHE-RSA-CHACHA20-POLY1305',
  TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305: 'ECDHE-ECDSA-CHACHA20-POLY1305',
  TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256: 'ECDHE-ECDSA-CHACHA20-POLY1305',
};

/**
 * TLS 1.3's suites, appended to a configured list: Go (and so etcd) applies --cipher-suites to TLS 1.2 only,
 * while Node, given a list without any TLS 1.3 suite, silently caps the version at TLS 1.2.
 */
const TLS13_SUITES = ['TLS_AES_256_GCM_SHA384', 'TLS_CHACHA20_POLY1305_SHA256', 'TLS_AES_128_GCM_SHA256'];

export class CipherSuiteError extends Error {}

/**
 * The `ciphers` option for Node's TLS from etcd-style names (IANA or OpenSSL spelling); undefined for an
 * empty list (Node's defaults). Throws CipherSuiteError naming the first unknown suite.
 */
export function openSslCipherList(names: readonly string[]): string | undefined {
  if (names.length === 0) return undefined;
  const known = new Set(tls.getCiphers().map((name) => name.toUpperCase()));
  const mapped = names.map((name) => {
    const openSsl = IANA_TO_OPENSSL[name] ?? (known.has(name.toUpperCase()) ? name.toUpperCase() : undefined);
    if (openSsl === undefined || name.startsWith('TLS_AES_') || name.startsWith('TLS_CHACHA20_')) {
      throw new CipherSuiteError(
        `unexpected TLS cipher suite "${name}" (--cipher-suites takes TLS 1.2 suites by their IANA names, e.g. TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256)`,
      );
    }
    return openSsl;
  });
  return [...new Set(mapped), ...TLS13_SUITES].join(':');
}
