// The peer URL's TLS settings (--peer-* flags, --cipher-suites, --tls-min/max-version) as the material the
// peer listener and the member's dialer share; undefined when the peer URL runs plaintext. --peer-auto-tls
// makes (or reuses, as etcd does) a self-signed pair in <data-dir>/fixtures/peer with the client URL's
// generator: it encrypts, it authenticates nothing (every member has its own; dialers skip verification as
// etcd's do), which is why the member check on every peer RPC matters most there.
import path from 'node:path';
import { PeerTlsMaterial, type PeerTlsVersion } from '@cairn/server';
import { openSslCipherList, selfSignedCertificate } from '@cairn/edge';
import type { TlsVersion, TransportSecuritySettings } from '../config/security-settings';

const NODE_VERSION: Record<TlsVersion, PeerTlsVersion> = { 'TLS1.2': 'TLSv1.2', 'TLS1.3': 'TLSv1.3' };

export async function peerTlsMaterial(
  tls: TransportSecuritySettings,
  dataDir: string,
  listenPeerUrls: readonly URL[],
): Promise<PeerTlsMaterial | undefined> {
  const peer = tls.peer;
  let files = { certFile: peer.certFile, keyFile: peer.keyFile };
  const auto = files.certFile === '' && peer.autoTls;
  if (auto) {
    files = await selfSignedCertificate(
      path.join(dataDir, 'fixtures', 'peer'),
      listenPeerUrls.map((url) => url.hostname),
      tls.selfSignedCertValidityYears,
    );
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
    ciphers: openSslCipherList(tls.cipherSuites),
    minVersion: NODE_VERSION[tls.minVersion],
    maxVersion: tls.maxVersion === undefined ? undefined : NODE_VERSION[tls.maxVersion],
  });
}
