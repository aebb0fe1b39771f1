// Certificates and keys for secured benchmark runs, made with the `openssl` command line: a CA, a server
// certificate for 127.0.0.1/localhost (also usable as a client certificate), and an RSA key pair for JWT
// auth tokens. Every target gets the same files, so etcd and Cairn do the same cryptography.

import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export interface BenchPki {
  caFile: string;
  /** Server certificate (SANs 127.0.0.1, localhost; serverAuth + clientAuth). */
  certFile: string;
  keyFile: string;
  /** Client certificate (CN "bench"). */
  clientCertFile: string;
  clientKeyFile: string;
}

export interface JwtKeys {
  privateKeyFile: string;
  publicKeyFile: string;
}

function openssl(args: readonly string[], cwd: string): void {
  execFileSync('openssl', args, { cwd, stdio: 'pipe', timeout: 30_000 });
}

function ecKey(file: string, cwd: string): void {
  openssl(['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', file], cwd);
}

function sign(dir: string, name: string, cn: string, extensions: string[]): void {
  ecKey(`${name}.key`, dir);
  openssl(['req', '-new', '-key', `${name}.key`, '-subj', `/CN=${cn}`, '-out', `${name}.csr`], dir);
  writeFileSync(join(dir, `${name}.ext`), extensions.join('\n') + '\n');
  // prettier-ignore
  openssl([
    'x509', '-req', '-in', `${name}.csr`, '-CA', 'ca.crt', '-CAkey', 'ca.key', '-CAcreateserial',
    '-days', '7', '-sha256', '-extfile', `${name}.ext`, '-out', `${name}.crt`,
  ], dir);
}

/** EC P-256 certificates (what a modern deployment uses; TLS 1.3 with ECDHE either way). */
export function makeBenchPki(dir: string): BenchPki {
  mkdirSync(dir, { recursive: true });
  ecKey('ca.key', dir);
  // prettier-ignore
  openssl([
    'req', '-x509', '-new', '-key', 'ca.key', '-sha256', '-days', '7', '-subj', '/CN=cairn bench CA',
    '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign',
    '-out', 'ca.crt',
  ], dir);
  sign(dir, 'server', 'localhost', [
    'basicConstraints=critical,CA:FALSE',
    'keyUsage=critical,digitalSignature,keyEncipherment',
    'extendedKeyUsage=serverAuth,clientAuth',
    'subjectAltName=IP:127.0.0.1,DNS:localhost',
  ]);
  sign(dir, 'client', 'bench', [
    'basicConstraints=critical,CA:FALSE',
    'keyUsage=critical,digitalSignature,keyEncipherment',
    'extendedKeyUsage=clientAuth',
  ]);
  return {
    caFile: join(dir, 'ca.crt'),
    certFile: join(dir, 'server.crt'),
    keyFile: join(dir, 'server.key'),
    clientCertFile: join(dir, 'client.crt'),
    clientKeyFile: join(dir, 'client.key'),
  };
}

/** An RSA-2048 key pair for `--auth-token jwt,...,sign-method=RS256`. */
export function makeJwtKeys(dir: string): JwtKeys {
  mkdirSync(dir, { recursive: true });
  openssl(['genpkey', '-algorithm', 'RSA', '-pkeyopt', 'rsa_keygen_bits:2048', '-out', 'jwt.key'], dir);
  openssl(['pkey', '-in', 'jwt.key', '-pubout', '-out', 'jwt.pub'], dir);
  return { privateKeyFile: join(dir, 'jwt.key'), publicKeyFile: join(dir, 'jwt.pub') };
}

/** etcd's flags serving `pki` on the client URL with client certificates required. */
export function clientTlsFlags(pki: BenchPki): string[] {
  // prettier-ignore
  return [
    '--cert-file', pki.certFile, '--key-file', pki.keyFile,
    '--trusted-ca-file', pki.caFile, '--client-cert-auth',
  ];
}

/** etcd's --auth-token for JWT with `keys` (RS256; a TTL long enough for a whole compare run). */
export function jwtTokenFlags(keys: JwtKeys, ttl = '60m'): string[] {
  return [
    '--auth-token',
    `jwt,pub-key=${keys.publicKeyFile},priv-key=${keys.privateKeyFile},sign-method=RS256,ttl=${ttl}`,
  ];
}
