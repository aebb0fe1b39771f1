// Certificates for the edge's TLS tests, made with the openssl command in a temp dir: a CA, two server
// certificates for 127.0.0.1 (distinct serials), a client certificate (CN alice) and one from another CA.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface TlsFixtures {
  dir: string;
  ca: string;
  server: { cert: string; key: string };
  server2: { cert: string; key: string };
  alice: { cert: string; key: string };
  mallory: { cert: string; key: string };
  remove(): void;
}

function openssl(dir: string, args: string[]): void {
  execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'], timeout: 20_000 });
}

function ca(dir: string, name: string): void {
  // prettier-ignore
  openssl(dir, ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes',
    '-keyout', `${name}.key`, '-out', `${name}.pem`, '-days', '2', '-subj', `/CN=${name}`]);
}

function leaf(
  dir: string,
  name: string,
  signer: string,
  cn: string,
  ext: string,
): { cert: string; key: string } {
  // prettier-ignore
  openssl(dir, ['req', '-new', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes',
    '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', `/CN=${cn}`]);
  writeFileSync(join(dir, `${name}.ext`), ext);
  // prettier-ignore
  openssl(dir, ['x509', '-req', '-in', `${name}.csr`, '-CA', `${signer}.pem`, '-CAkey', `${signer}.key`,
    '-CAcreateserial', '-out', `${name}.pem`, '-days', '1', '-extfile', `${name}.ext`]);
  return { cert: join(dir, `${name}.pem`), key: join(dir, `${name}.key`) };
}

export function makeTlsFixtures(): TlsFixtures {
  const dir = mkdtempSync(join(tmpdir(), 'cairn-edge-tls-'));
  ca(dir, 'ca');
  ca(dir, 'otherca');
  const serverExt = 'subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\n';
  return {
    dir,
    ca: join(dir, 'ca.pem'),
    server: leaf(dir, 'server', 'ca', 'server', serverExt),
    server2: leaf(dir, 'server2', 'ca', 'server', serverExt),
    alice: leaf(dir, 'alice', 'ca', 'alice', 'extendedKeyUsage=clientAuth\n'),
    mallory: leaf(dir, 'mallory', 'otherca', 'mallory', 'extendedKeyUsage=clientAuth\n'),
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
}
