// Test PKI made with the `openssl` command line in a temp dir (removed when the test file ends): certificate
// authorities, server certificates (SANs 127.0.0.1 and localhost by default, usable as client certificates
// too, as etcd's peer certificates must be), client certificates with a chosen CN (etcd takes the CN as the
// user name), revocation and CRLs. Keys are EC P-256 (fast to make) unless `keyType: 'rsa'` is asked for.
//
//   const ca = createCertAuthority();                  // or createCertAuthority({ name: 'other-ca' })
//   const server = issueServerCert(ca);                // CN 'localhost', SAN 127.0.0.1 + localhost
//   const alice = issueClientCert(ca, 'alice');        // CN 'alice', extendedKeyUsage clientAuth
//   const crl = revokeCerts(ca, [alice]);              // CRL file listing alice's serial
//   // etcd flags: --cert-file server.certFile --key-file server.keyFile --trusted-ca-file ca.certFile
//   // etcdctl:    --cacert ca.certFile --cert alice.certFile --key alice.keyFile
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { makeTempDir } from './temp-dirs';

export const OPENSSL_BINARY = process.env['CAIRN_TEST_OPENSSL'] ?? 'openssl';

export type KeyType = 'ec' | 'rsa';

export interface CertAuthority {
  /** Label used for file names (unique within its directory). */
  readonly name: string;
  /** PEM of the self-signed CA certificate: --trusted-ca-file / --cacert. */
  readonly certFile: string;
  readonly keyFile: string;
  /** Directory holding the CA and every certificate it issued. */
  readonly dir: string;
  /** Subject CN of the CA certificate. */
  readonly cn: string;
  readonly keyType: KeyType;
}

export interface IssuedCert {
  /** Label used for file names. */
  readonly name: string;
  readonly cn: string;
  /** PEM certificate: --cert-file / --cert. */
  readonly certFile: string;
  /** PEM private key (unencrypted): --key-file / --key. */
  readonly keyFile: string;
  /** Serial number as upper-case hex (what a CRL lists). */
  readonly serial: string;
  /** The CA that signed it. */
  readonly ca: CertAuthority;
}

export interface CertAuthorityOptions {
  /** Label for the files; default 'ca'. Two authorities may share a directory if their names differ. */
  name?: string;
  /** Subject CN; default `Cairn Test CA (<name>)`. */
  cn?: string;
  /** Directory to write into; default a fresh temp dir removed with the test file's temp dirs. */
  dir?: string;
  keyType?: KeyType;
  /** Validity in days; default 30. */
  days?: number;
}

export interface IssueOptions {
  /** Label for the files; default derived from the CN. */
  name?: string;
  /** DNS subjectAltNames. Server certificates default to ['localhost']; client certificates to none. */
  dnsNames?: readonly string[];
  /** IP subjectAltNames. Server certificates default to ['127.0.0.1']; client certificates to none. */
  ips?: readonly string[];
  keyType?: KeyType;
  /** Validity in days; default 30. A negative value makes a certificate that has already expired. */
  days?: number;
}

function openssl(args: readonly string[], cwd: string): string {
  try {
    return execFileSync(OPENSSL_BINARY, args, { cwd, encoding: 'utf8', timeout: 20_000, stdio: 'pipe' });
  } catch (error) {
    const e = error as { stderr?: string; message: string };
    throw new Error(`openssl ${args.join(' ')} failed: ${e.stderr ?? e.message}`, { cause: error });
  }
}

function newKey(file: string, keyType: KeyType, cwd: string): void {
  if (keyType === 'rsa') {
    openssl(['genpkey', '-algorithm', 'RSA', '-pkeyopt', 'rsa_keygen_bits:2048', '-out', file], cwd);
  } else {
    openssl(['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', file], cwd);
  }
}

function safeName(text: string): string {
  return text.replace(/[^A-Za-z0-9._-]/g, '_') || 'cert';
}

/** A subject CN escaped for openssl's `-subj /CN=...`. */
function subject(cn: string): string {
  return `/CN=${cn.replace(/[/\\=+,]/g, (c) => `\\${c}`)}`;
}

const usedNames = new Map<string, Set<string>>();

function uniqueName(dir: string, wanted: string): string {
  const names = usedNames.get(dir) ?? new Set<string>();
  usedNames.set(dir, names);
  let name = safeName(wanted);
  for (let i = 2; names.has(name); i++) name = `${safeName(wanted)}-${i}`;
  names.add(name);
  return name;
}

/** openssl `ca` configuration: only used to revoke certificates and write CRLs. */
function caConfig(ca: CertAuthority): string {
  const base = join(ca.dir, ca.name);
  return [
    '[ ca ]',
    'default_ca = test_ca',
    '[ test_ca ]',
    `database = ${base}.index.txt`,
    `crlnumber = ${base}.crlnumber`,
    `certificate = ${ca.certFile}`,
    `private_key = ${ca.keyFile}`,
    'default_md = sha256',
    'default_crl_days = 30',
    '',
  ].join('\n');
}

/** Creates a self-signed certificate authority. */
export function createCertAuthority(options: CertAuthorityOptions = {}): CertAuthority {
  const dir = options.dir ?? makeTempDir('cairn-e2e-pki-');
  mkdirSync(dir, { recursive: true });
  const name = uniqueName(dir, options.name ?? 'ca');
  const keyType = options.keyType ?? 'ec';
  const cn = options.cn ?? `Cairn Test CA (${name})`;
  const ca: CertAuthority = {
    name,
    cn,
    keyType,
    dir,
    certFile: join(dir, `${name}.crt`),
    keyFile: join(dir, `${name}.key`),
  };
  newKey(ca.keyFile, keyType, dir);
  // prettier-ignore
  openssl([
    'req', '-x509', '-new', '-key', ca.keyFile, '-sha256', '-days', String(options.days ?? 30),
    '-subj', subject(cn),
    '-addext', 'basicConstraints=critical,CA:TRUE',
    '-addext', 'keyUsage=critical,keyCertSign,cRLSign,digitalSignature',
    '-addext', 'subjectKeyIdentifier=hash',
    '-out', ca.certFile,
  ], dir);
  writeFileSync(join(dir, `${name}.index.txt`), '');
  writeFileSync(join(dir, `${name}.crlnumber`), '1000\n');
  writeFileSync(join(dir, `${name}.cnf`), caConfig(ca));
  return ca;
}

function issue(
  ca: CertAuthority,
  cn: string,
  options: IssueOptions,
  defaults: { dnsNames: readonly string[]; ips: readonly string[]; extendedKeyUsage: string },
): IssuedCert {
  const name = uniqueName(ca.dir, options.name ?? cn);
  const keyFile = join(ca.dir, `${name}.key`);
  const csrFile = join(ca.dir, `${name}.csr`);
  const certFile = join(ca.dir, `${name}.crt`);
  const extFile = join(ca.dir, `${name}.ext`);
  newKey(keyFile, options.keyType ?? ca.keyType, ca.dir);
  openssl(['req', '-new', '-key', keyFile, '-subj', subject(cn), '-out', csrFile], ca.dir);
  const dns = options.dnsNames ?? defaults.dnsNames;
  const ips = options.ips ?? defaults.ips;
  const san = [...dns.map((d) => `DNS:${d}`), ...ips.map((ip) => `IP:${ip}`)];
  writeFileSync(
    extFile,
    [
      'basicConstraints=critical,CA:FALSE',
      'keyUsage=critical,digitalSignature,keyEncipherment',
      `extendedKeyUsage=${defaults.extendedKeyUsage}`,
      'authorityKeyIdentifier=keyid',
      ...(san.length > 0 ? [`subjectAltName=${san.join(',')}`] : []),
      '',
    ].join('\n'),
  );
  // A random positive 63-bit serial, so two certificates of one CA never share one.
  const serialBytes = randomBytes(8);
  serialBytes[0] = (serialBytes[0]! & 0x7f) | 0x10;
  const serial = serialBytes.toString('hex').toUpperCase();
  const days = options.days ?? 30;
  // prettier-ignore
  const args = [
    'x509', '-req', '-in', csrFile, '-CA', ca.certFile, '-CAkey', ca.keyFile, '-set_serial', `0x${serial}`,
    '-sha256', '-extfile', extFile, '-out', certFile,
  ];
  if (days >= 0) {
    openssl([...args, '-days', String(days)], ca.dir);
  } else {
    // Expired: valid from 2 days before the expiry date, which lies |days| days in the past.
    const end = new Date(Date.now() + days * 86_400_000);
    const start = new Date(end.getTime() - 2 * 86_400_000);
    openssl([...args, '-not_before', asn1Time(start), '-not_after', asn1Time(end)], ca.dir);
  }
  return { name, cn, certFile, keyFile, serial, ca };
}

function asn1Time(date: Date): string {
  return date.toISOString().replace(/[-:T]/g, '').slice(0, 14) + 'Z';
}

/**
 * A server certificate (CN default 'localhost'; SANs default DNS:localhost and IP:127.0.0.1). Its
 * extendedKeyUsage is serverAuth and clientAuth, so the same pair serves as a peer certificate.
 */
export function issueServerCert(ca: CertAuthority, cn = 'localhost', options: IssueOptions = {}): IssuedCert {
  return issue(ca, cn, options, {
    dnsNames: ['localhost'],
    ips: ['127.0.0.1'],
    extendedKeyUsage: 'serverAuth,clientAuth',
  });
}

/** A client certificate whose subject CN is `cn` (etcd's user name for a request without a token). */
export function issueClientCert(ca: CertAuthority, cn: string, options: IssueOptions = {}): IssuedCert {
  return issue(ca, cn, options, { dnsNames: [], ips: [], extendedKeyUsage: 'clientAuth' });
}

/**
 * Marks `certs` revoked in the CA's database and writes the CA's CRL (every certificate revoked so far);
 * returns the CRL file (PEM): --client-crl-file / --peer-crl-file. Call with [] for an empty CRL.
 */
export function revokeCerts(ca: CertAuthority, certs: readonly IssuedCert[]): string {
  const config = join(ca.dir, `${ca.name}.cnf`);
  for (const cert of certs) {
    if (cert.ca !== ca) throw new Error(`${cert.name} was not issued by ${ca.name}`);
    openssl(['ca', '-config', config, '-revoke', cert.certFile, '-crl_reason', 'keyCompromise'], ca.dir);
  }
  const crlFile = join(ca.dir, `${ca.name}.crl`);
  openssl(['ca', '-config', config, '-gencrl', '-out', crlFile], ca.dir);
  return crlFile;
}

/** Reads a PEM file (for Node's tls options: `ca: readPem(ca.certFile)`). */
export function readPem(file: string): Buffer {
  return readFileSync(file);
}

/** The subject CN of a certificate file, as openssl prints it (for assertions). */
export function certificateCn(certFile: string): string {
  const out = openssl(['x509', '-in', certFile, '-noout', '-subject', '-nameopt', 'multiline'], '.');
  const match = /commonName\s*=\s*(.*)/.exec(out);
  if (match === null) throw new Error(`no CN in ${certFile}`);
  return match[1]!.trim();
}

export interface JwtKeyPair {
  /** PEM private key: `--auth-token jwt,priv-key=<this>,...`. */
  privateKeyFile: string;
  /** PEM public key: `--auth-token jwt,pub-key=<this>,...`. */
  publicKeyFile: string;
}

/** An RSA-2048 key pair for etcd's JWT tokens (sign-method RS256/PS256), in `dir` or a fresh temp dir. */
export function createJwtKeyPair(dir: string = makeTempDir('cairn-e2e-jwt-'), name = 'jwt'): JwtKeyPair {
  mkdirSync(dir, { recursive: true });
  const privateKeyFile = join(dir, `${name}.key`);
  const publicKeyFile = join(dir, `${name}.pub`);
  openssl(['genpkey', '-algorithm', 'RSA', '-pkeyopt', 'rsa_keygen_bits:2048', '-out', privateKeyFile], dir);
  openssl(['pkey', '-in', privateKeyFile, '-pubout', '-out', publicKeyFile], dir);
  return { privateKeyFile, publicKeyFile };
}
