// Certificate rotation without restart: the files are re-read when they change; a new set that does not load
// (a key that does not match its certificate, a file half written) keeps the old one in service, reported
// once; a file briefly missing (replaced by rename) too.
import { X509Certificate } from 'node:crypto';
import { copyFileSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import tls from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CertificateFiles, type CertificateMaterial } from '../src/tls/certificate-files';
import { type TlsFixtures, makeTlsFixtures } from './tls-fixtures';

let fx: TlsFixtures;
beforeAll(() => {
  fx = makeTlsFixtures();
});
afterAll(() => fx?.remove());

function logSpy(): {
  errors: string[];
  infos: string[];
  info(d: object, m: string): void;
  error(d: object, m: string): void;
} {
  const spy = {
    errors: [] as string[],
    infos: [] as string[],
    info: (_d: object, m: string) => spy.infos.push(m),
    error: (_d: object, m: string) => spy.errors.push(m),
  };
  return spy;
}

const validate = (material: CertificateMaterial): void => void tls.createSecureContext(material);
const serial = (material: CertificateMaterial): string =>
  new X509Certificate(material.cert as Buffer).serialNumber;

describe('CertificateFiles', () => {
  it('serves the loaded files until they change, then the new ones', async () => {
    const cert = join(fx.dir, 'rot1.pem');
    const key = join(fx.dir, 'rot1.key');
    copyFileSync(fx.server.cert, cert);
    copyFileSync(fx.server.key, key);
    const log = logSpy();
    const files = new CertificateFiles(
      { certFile: cert, keyFile: key, trustedCaFile: fx.ca, crlFile: '' },
      validate,
      log,
    );
    const first = await files.load();
    expect(await files.current(), 'unchanged files: the same material').toBe(first);
    copyFileSync(fx.server2.key, `${key}.new`);
    copyFileSync(fx.server2.cert, `${cert}.new`);
    renameSync(`${key}.new`, key);
    renameSync(`${cert}.new`, cert);
    const second = await files.current();
    expect(serial(second)).not.toBe(serial(first));
    expect(log.infos).toHaveLength(1);
  });

  it('keeps the old set while the new one does not load, reports once, and takes it once it does', async () => {
    const cert = join(fx.dir, 'rot2.pem');
    const key = join(fx.dir, 'rot2.key');
    copyFileSync(fx.server.cert, cert);
    copyFileSync(fx.server.key, key);
    const log = logSpy();
    const files = new CertificateFiles(
      { certFile: cert, keyFile: key, trustedCaFile: '', crlFile: '' },
      validate,
      log,
    );
    const first = await files.load();
    // Key replaced, certificate not yet: the pair does not match.
    copyFileSync(fx.server2.key, key);
    expect(await files.current()).toBe(first);
    expect(await files.current()).toBe(first);
    expect(log.errors, 'one report for one broken set').toHaveLength(1);
    // A garbage certificate: still the old one.
    writeFileSync(cert, '-----BEGIN CERTIFICATE-----\nnot a certificate\n');
    expect(await files.current()).toBe(first);
    // Missing for a moment.
    rmSync(cert);
    expect(await files.current()).toBe(first);
    copyFileSync(fx.server2.cert, cert);
    const fixed = await files.current();
    expect(serial(fixed)).toBe(new X509Certificate(readFileSync(fx.server2.cert)).serialNumber);
  });

  it('concurrent handshakes share one look at the files', async () => {
    const files = new CertificateFiles(
      { certFile: fx.server.cert, keyFile: fx.server.key, trustedCaFile: '', crlFile: '' },
      validate,
    );
    await files.load();
    const [a, b] = [files.current(), files.current()];
    expect(a).toBe(b);
    await a;
  });

  it('load() refuses unusable files at start-up', async () => {
    const files = new CertificateFiles(
      { certFile: fx.server.cert, keyFile: fx.alice.key, trustedCaFile: '', crlFile: '' },
      validate,
    );
    await expect(files.load()).rejects.toThrow();
  });
});
