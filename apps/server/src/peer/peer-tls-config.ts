// The peer URL's TLS settings (--peer-* flags, --cipher-suites, --tls-min/max-version) as the material the
// peer listener and the member's dialer share; undefined when the peer URL runs plaintext.
import { PeerTlsMaterial, type PeerTlsVersion, openSslCipherName } from '@cairn/server';
import type { TlsVersion, TransportSecuritySettings } from '../config/security-settings';
import { makeSelfSignedPeerCert } from './peer-auto-tls';

const NODE_VERSION: Record<TlsVersion, PeerTlsVersion> = { 'TLS1.2': 'TLSv1.2', 'TLS1.3': 'TLSv1.3' };

export function peerTlsMaterial(
  tls: TransportSecuritySettings,
  dataDir: string,
  listenPeerUrls: readonly URL[],
): PeerTlsMaterial | undefined {
  const peer = tls.peer;
  let files = { certFile: peer.certFile, keyFile: peer.keyFile };
  const auto = files.certFile === '' && peer.autoTls;
  if (auto) {
    const hosts = listenPeerUrls.map((url) => url.hostname);
    files = makeSelfSignedPeerCert(dataDir, hosts, tls.selfSignedCertValidityYears);
  }
  if (files.certFile === '') return undefined;
  return new PeerTlsMaterial({
    ...files,
    trustedCaFile: peer.trustedCaFile,
    clientCertAuth: peer.clientCertAuth,
    crlFile: peer.crlFile,
    skipServerVerify: auto,
    allowedCn: peer.allowedCn,
    allowedHostname: peer.allowedHostname,
    ciphers: tls.cipherSuites.map(openSslCipherName),
    minVersion: NODE_VERSION[tls.minVersion],
    maxVersion: tls.maxVersion === undefined ? undefined : NODE_VERSION[tls.maxVersion],
  });
}
