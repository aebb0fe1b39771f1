// The certificate files of one TLS listener, re-read when they change: etcd loads its certificates on every
// handshake, so an operator rotates them by replacing the files, without a restart. Here every new connection
// first asks `current()`, which stats the files (a few microseconds, off the main thread; concurrent
// connections share one look) and rebuilds the secure-context options only when a file's identity, size or
// mtime changed. A new set that does not load (a half-written file, a key that does not match its
// certificate) keeps the last good one in service and is reported once; the next handshake tries again.
import { promises as fs } from 'node:fs';
import tls from 'node:tls';

export interface CertificateFilePaths {
  certFile: string;
  keyFile: string;
  /** '' = none. */
  trustedCaFile: string;
  /** '' = none. */
  crlFile: string;
}

/** Where a rotation that failed is reported (pino's signature). */
export interface CertificateLog {
  info(details: object, message: string): void;
  error(details: object, message: string): void;
}

/** The file contents Node's TLS needs, as tls.SecureContextOptions. */
export type CertificateMaterial = Pick<tls.SecureContextOptions, 'cert' | 'key' | 'ca' | 'crl'>;

export class CertificateFiles {
  private material: CertificateMaterial | undefined;
  /** Identity of the files `material` was read from. */
  private loadedStamp = '';
  /** Identity of the last set that failed to load (reported once). */
  private failedStamp = '';
  private pending: Promise<CertificateMaterial> | undefined;

  constructor(
    private readonly paths: CertificateFilePaths,
    /** Throws if the material does not make a usable context (the listener's own check, with its options). */
    private readonly validate: (material: CertificateMaterial) => void,
    private readonly log?: CertificateLog,
  ) {}

  /** Loads the files once; throws (a start-up error) if they cannot be used. */
  async load(): Promise<CertificateMaterial> {
    const stamp = await this.stamp();
    const material = await this.read();
    this.validate(material);
    this.material = material;
    this.loadedStamp = stamp;
    return material;
  }

  /** The material to handshake with now: re-read if the files changed and the new set loads. */
  current(): Promise<CertificateMaterial> {
    this.pending ??= this.refresh().finally(() => (this.pending = undefined));
    return this.pending;
  }

  private async refresh(): Promise<CertificateMaterial> {
    const material = this.material;
    if (material === undefined) return this.load();
    let stamp: string;
    try {
      stamp = await this.stamp();
    } catch (err) {
      // A file briefly missing (replaced by rename): keep serving with what was loaded.
      this.reportOnce(`missing:${String(err)}`, err);
      return material;
    }
    if (stamp === this.loadedStamp) return material;
    try {
      const next = await this.read();
      this.validate(next);
      this.material = next;
      this.loadedStamp = stamp;
      this.failedStamp = '';
      this.log?.info({ certFile: this.paths.certFile }, 'TLS certificate files changed: reloaded');
      return next;
    } catch (err) {
      this.reportOnce(stamp, err);
      return material;
    }
  }

  private reportOnce(stamp: string, err: unknown): void {
    if (stamp === this.failedStamp) return;
    this.failedStamp = stamp;
    this.log?.error(
      { err, certFile: this.paths.certFile, keyFile: this.paths.keyFile },
      'TLS certificate files changed but do not load: still serving the previous certificate',
    );
  }

  private files(): string[] {
    const { certFile, keyFile, trustedCaFile, crlFile } = this.paths;
    return [certFile, keyFile, trustedCaFile, crlFile].filter((file) => file !== '');
  }

  private async stamp(): Promise<string> {
    const stats = await Promise.all(this.files().map((file) => fs.stat(file)));
    return stats.map((s) => `${s.dev}:${s.ino}:${s.size}:${s.mtimeMs}:${s.ctimeMs}`).join('|');
  }

  private async read(): Promise<CertificateMaterial> {
    const { certFile, keyFile, trustedCaFile, crlFile } = this.paths;
    const [cert, key, ca, crl] = await Promise.all(
      [certFile, keyFile, trustedCaFile, crlFile].map((file) =>
        file === '' ? Promise.resolve(undefined) : fs.readFile(file),
      ),
    );
    return { cert, key, ...(ca ? { ca } : {}), ...(crl ? { crl } : {}) };
  }
}
