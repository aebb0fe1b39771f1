// etcd's --peer-auto-tls: a self-signed certificate made at start under <data-dir>/fixtures/peer, valid for
// the host names and addresses of the listen peer URLs. It encrypts the peer traffic; it authenticates
// nothing (every member has its own, so dialers skip verification, as etcd's do), which is why the member
// check on every peer RPC matters most here. Node has no X.509 writer, so `openssl` makes it.
import { execFileSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';

export interface SelfSignedFiles {
  certFile: string;
  keyFile: string;
}

export function makeSelfSignedPeerCert(
  dataDir: string,
  hosts: readonly string[],
  validityYears: number,
): SelfSignedFiles {
  const dir = path.join(dataDir, 'fixtures', 'peer');
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const certFile = path.join(dir, 'cert.pem');
  const keyFile = path.join(dir, 'key.pem');
  const names = [...new Set(hosts.map((h) => h.replace(/^\[(.*)\]$/, '$1')))].map((h) =>
    net.isIP(h) !== 0 ? `IP:${h}` : `DNS:${h}`,
  );
  // prettier-ignore
  execFileSync('openssl', [
    'req', '-x509', '-nodes', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256',
    '-keyout', keyFile, '-out', certFile, '-days', String(365 * validityYears),
    '-subj', '/O=cairn/CN=cairn-peer-auto-tls',
    '-addext', `subjectAltName=${names.join(',') || 'DNS:localhost'}`,
    '-addext', 'extendedKeyUsage=serverAuth,clientAuth',
  ], { stdio: ['ignore', 'ignore', 'pipe'] });
  return { certFile, keyFile };
}
