// Certificates for the client-URL TLS suite, made by the test with the `openssl` command in a temp dir: a CA,
// a server certificate for 127.0.0.1/localhost (and a second one with a new serial, for rotation), client
// certificates (alice, bob — bob revoked in the CA's CRL), and a client certificate from another CA.
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { makeTempDir } from '../support';

export interface Pair {
  cert: string;
  key: string;
}

export interface Pki {
  dir: string;
  caFile: string;
  server: Pair;
  /** Another server pair signed by the same CA (a new serial): what a rotation installs. */
  server2: Pair;
  alice: Pair;
  /** Revoked: listed in crlFile. */
  bob: Pair;
  /** Signed by a CA the member does not trust. */
  mallory: Pair;
  crlFile: string;
}

function openssl(dir: string, args: string[]): void {
  execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'], timeout: 20_000 });
}

function selfSignedCa(dir: string, name: string): void {
  // prettier-ignore
  openssl(dir, [
    'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes',
    '-keyout', `${name}.key`, '-out', `${name}.pem`, '-days', '2', '-subj', `/CN=${name}`,
    '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign',
  ]);
}

function signedLeaf(dir: string, name: string, ca: string, cn: string, extensions: string): Pair {
  // prettier-ignore
  openssl(dir, [
    'req', '-new', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes',
    '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', `/CN=${cn}`,
  ]);
  writeFileSync(join(dir, `${name}.ext`), extensions);
  // prettier-ignore
  openssl(dir, [
    'x509', '-req', '-in', `${name}.csr`, '-CA', `${ca}.pem`, '-CAkey', `${ca}.key`, '-CAcreateserial',
    '-out', `${name}.pem`, '-days', '1', '-extfile', `${name}.ext`,
  ]);
  return { cert: join(dir, `${name}.pem`), key: join(dir, `${name}.key`) };
}

const SERVER_EXT = 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n';
const CLIENT_EXT = 'extendedKeyUsage=clientAuth\n';

/** Makes the whole set (about a second of openssl). */
export function makePki(): Pki {
  const dir = makeTempDir('cairn-e2e-client-tls-pki-');
  selfSignedCa(dir, 'ca');
  selfSignedCa(dir, 'otherca');
  const pki: Pki = {
    dir,
    caFile: join(dir, 'ca.pem'),
    server: signedLeaf(dir, 'server', 'ca', 'server', SERVER_EXT),
    server2: signedLeaf(dir, 'server2', 'ca', 'server', SERVER_EXT),
    alice: signedLeaf(dir, 'alice', 'ca', 'alice', CLIENT_EXT),
    bob: signedLeaf(dir, 'bob', 'ca', 'bob', CLIENT_EXT),
    mallory: signedLeaf(dir, 'mallory', 'otherca', 'mallory', CLIENT_EXT),
    crlFile: join(dir, 'crl.pem'),
  };
  // A CRL from the CA revoking bob (openssl ca needs its little database).
  writeFileSync(join(dir, 'index.txt'), '');
  writeFileSync(join(dir, 'crlnumber'), '01\n');
  writeFileSync(
    join(dir, 'ca.cnf'),
    `[ca]\ndefault_ca = own\n[own]\ndatabase = ${dir}/index.txt\ncrlnumber = ${dir}/crlnumber\n` +
      'default_md = sha256\ndefault_crl_days = 2\n',
  );
  // prettier-ignore
  openssl(dir, ['ca', '-config', 'ca.cnf', '-keyfile', 'ca.key', '-cert', 'ca.pem', '-revoke', 'bob.pem']);
  // prettier-ignore
  openssl(dir, ['ca', '-config', 'ca.cnf', '-keyfile', 'ca.key', '-cert', 'ca.pem', '-gencrl', '-out', 'crl.pem']);
  return pki;
}

/** The serial number (hex, upper case) of a PEM certificate file. */
export function serialOf(certFile: string): string {
  const text = execFileSync('openssl', ['x509', '-noout', '-serial', '-in', certFile]).toString();
  return text
    .trim()
    .replace(/^serial=/, '')
    .toUpperCase();
}

export function read(file: string): Buffer {
  return readFileSync(file);
}
