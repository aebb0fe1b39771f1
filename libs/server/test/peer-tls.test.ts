// PeerTlsMaterial: certificate files re-read when they change (a new generation, new contexts), a half-written
// set keeps the previous one, and the allowed CN / host name checks on a peer's certificate.
import { execFileSync } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import tls from 'node:tls';
import { afterAll, describe, expect, it } from 'vitest';
import { PeerTlsMaterial, type PeerTlsConfig } from '../src/peer';

const dir = mkdtempSync(join(tmpdir(), 'cairn-peer-tls-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function openssl(args: string[]): void {
  execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'], timeout: 20_000 });
}

// prettier-ignore
openssl(['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes',
  '-keyout', 'ca.key', '-out', 'ca.pem', '-days', '2', '-subj', '/CN=peer-ca']);

/** A peer certificate of the CA with this CN, valid for peer-1.example and 127.0.0.1. */
function peerCert(name: string, cn: string): { cert: string; key: string } {
  // prettier-ignore
  openssl(['req', '-new', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes',
    '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', `/CN=${cn}`]);
  writeFileSync(
    join(dir, `${name}.ext`),
    'subjectAltName=DNS:peer-1.example,IP:127.0.0.1\nextendedKeyUsage=serverAuth,clientAuth\n',
  );
  // prettier-ignore
  openssl(['x509', '-req', '-in', `${name}.csr`, '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial',
    '-out', `${name}.pem`, '-days', '1', '-extfile', `${name}.ext`]);
  return { cert: join(dir, `${name}.pem`), key: join(dir, `${name}.key`) };
}

const first = peerCert('first', 'cairn-peer');
const second = peerCert('second', 'cairn-peer');
const intruder = peerCert('intruder', 'intruder');

function config(overrides: Partial<PeerTlsConfig> = {}): PeerTlsConfig {
  return {
    certFile: join(dir, 'live.pem'),
    keyFile: join(dir, 'live.key'),
    trustedCaFile: join(dir, 'ca.pem'),
    clientCertAuth: true,
    crlFile: '',
    skipServerVerify: false,
    allowedCn: '',
    allowedHostname: '',
    ciphers: undefined,
    minVersion: 'TLSv1.2',
    maxVersion: undefined,
    ...overrides,
  };
}

function install(pair: { cert: string; key: string }): void {
  copyFileSync(pair.key, join(dir, 'live.key'));
  copyFileSync(pair.cert, join(dir, 'live.pem'));
}

/** The certificate a context built from the material presents, as a PeerCertificate-like subject. */
function asPeerCertificate(file: string): tls.PeerCertificate {
  const x509 = new X509Certificate(readFileSync(file));
  const cn = /CN=([^\n,]+)/.exec(x509.subject)?.[1];
  return { subject: { CN: cn }, subjectaltname: x509.subjectAltName } as unknown as tls.PeerCertificate;
}

describe('PeerTlsMaterial', () => {
  it('rebuilds its contexts when the files change, and keeps the last good set over a half-written one', () => {
    install(first);
    let now = 0;
    const material = new PeerTlsMaterial(config(), () => now);
    const generation = material.generation();
    const options = material.serverContextOptions();
    expect(String(options.cert)).toBe(readFileSync(first.cert, 'utf8'));

    install(second);
    // Looked at again only after the recheck interval (lease forwarding asks many times a second).
    expect(material.generation()).toBe(generation);
    now += 1000;
    expect(material.generation()).toBe(generation + 1);
    expect(String(material.serverContextOptions().cert)).toBe(readFileSync(second.cert, 'utf8'));

    // A key that does not match the certificate (the rename of one file landed, not the other's yet).
    copyFileSync(first.key, join(dir, 'live.key'));
    now += 1000;
    expect(material.generation()).toBe(generation + 1);
    expect(String(material.serverContextOptions().cert)).toBe(readFileSync(second.cert, 'utf8'));
    copyFileSync(first.cert, join(dir, 'live.pem'));
    now += 1000;
    expect(material.generation()).toBe(generation + 2);
  });

  it('fails at start on files that do not load', () => {
    expect(() => new PeerTlsMaterial(config({ certFile: join(dir, 'missing.pem') }))).toThrow(/missing\.pem/);
  });

  it('checks the allowed CN and host name', () => {
    install(first);
    const any = new PeerTlsMaterial(config());
    expect(any.refusalOf(asPeerCertificate(intruder.cert))).toBeUndefined();
    const byCn = new PeerTlsMaterial(config({ allowedCn: 'cairn-peer' }));
    expect(byCn.refusalOf(asPeerCertificate(first.cert))).toBeUndefined();
    expect(byCn.refusalOf(asPeerCertificate(intruder.cert))).toMatch(/CN intruder is not cairn-peer/);
    expect(byCn.refusalOf(undefined)).toBe('no peer certificate');
    const byHost = new PeerTlsMaterial(config({ allowedHostname: 'peer-1.example' }));
    expect(byHost.refusalOf(asPeerCertificate(first.cert))).toBeUndefined();
    const otherHost = new PeerTlsMaterial(config({ allowedHostname: 'peer-9.example' }));
    expect(otherHost.refusalOf(asPeerCertificate(first.cert))).toMatch(/not valid for peer-9\.example/);
  });
});
