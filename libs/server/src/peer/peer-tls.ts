// The peer URL's TLS material: this member's certificate and key (served to connecting peers and presented
// when it dials them), the CA that signs peers' certificates, the CRL, and the checks etcd applies to a
// peer's certificate (--peer-cert-allowed-cn, --peer-cert-allowed-hostname). Files are re-read when their
// mtime or size changes, so replacing them rotates the certificate without a restart (etcd loads them per
// handshake): every new connection, inbound or outbound, asks for the current contexts.
import { X509Certificate, createPrivateKey } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';
import tls from 'node:tls';

export type PeerTlsVersion = 'TLSv1.2' | 'TLSv1.3';

export interface PeerTlsConfig {
  certFile: string;
  keyFile: string;
  /** '' = no CA of our own: peers' certificates are checked against Node's default roots (or not at all). */
  trustedCaFile: string;
  /** A connecting peer must present a certificate signed by trustedCaFile (mTLS). */
  clientCertAuth: boolean;
  crlFile: string;
  /** Dialers accept any server certificate (etcd's --peer-auto-tls: self-signed, nothing to verify against). */
  skipServerVerify: boolean;
  allowedCn: string;
  allowedHostname: string;
  /** Node's `ciphers` list (openSslCipherList of @cairn/edge maps etcd's names); undefined = Node's defaults. */
  ciphers: string | undefined;
  minVersion: PeerTlsVersion;
  maxVersion: PeerTlsVersion | undefined;
}

interface Loaded {
  stamp: string;
  generation: number;
  options: tls.SecureContextOptions;
  client: tls.SecureContext;
}

/** How stale a look at the files may be: forwarded lease calls ask for the material many times a second. */
const RECHECK_MS = 250;

export class PeerTlsMaterial {
  private loaded: Loaded | undefined;
  private generationCounter = 0;
  private checkedAt = -Infinity;

  constructor(
    readonly config: PeerTlsConfig,
    private readonly now: () => number = Date.now,
  ) {
    // Fail at start, with the file named, rather than at the first handshake.
    this.current();
  }

  /** Changes whenever the files changed: long-lived clients built on older material are replaced. */
  generation(): number {
    return this.current().generation;
  }

  /**
   * What a connecting peer's handshake uses (our certificate; the CA and CRL to check theirs), as options
   * for tls.Server#setSecureContext (which builds its context from options only).
   */
  serverContextOptions(): tls.SecureContextOptions {
    return this.current().options;
  }

  /** The context this member dials with (our certificate as the client one; CA and CRL to check the server). */
  clientContext(): tls.SecureContext {
    return this.current().client;
  }

  /** Why a peer's certificate is refused by --peer-cert-allowed-cn/--peer-cert-allowed-hostname, or undefined. */
  refusalOf(cert: tls.PeerCertificate | undefined): string | undefined {
    const { allowedCn, allowedHostname } = this.config;
    if (allowedCn === '' && allowedHostname === '') return undefined;
    if (cert === undefined || cert.subject === undefined) return 'no peer certificate';
    if (allowedCn !== '') {
      // subject.CN is an array when the subject has several CNs.
      const cns = ([] as string[]).concat(cert.subject.CN ?? []);
      if (!cns.includes(allowedCn)) return `certificate CN ${cns.join(',') || '(none)'} is not ${allowedCn}`;
    }
    if (allowedHostname !== '') {
      const err = tls.checkServerIdentity(allowedHostname, cert);
      if (err !== undefined) return `certificate is not valid for ${allowedHostname}: ${err.message}`;
    }
    return undefined;
  }

  private current(): Loaded {
    const now = this.now();
    if (this.loaded !== undefined && now - this.checkedAt < RECHECK_MS) return this.loaded;
    this.checkedAt = now;
    const files = [this.config.certFile, this.config.keyFile, this.config.trustedCaFile, this.config.crlFile];
    const stamp = files.map(stampOf).join('|');
    if (this.loaded?.stamp === stamp) return this.loaded;
    try {
      const built = this.build();
      this.loaded = { stamp, generation: ++this.generationCounter, ...built };
    } catch (err) {
      // Half-written files during a rotation: keep serving what we had; the next handshake tries again.
      if (this.loaded !== undefined) return this.loaded;
      throw err;
    }
    return this.loaded;
  }

  private build(): Pick<Loaded, 'options' | 'client'> {
    const { certFile, keyFile, trustedCaFile, crlFile, ciphers, minVersion, maxVersion } = this.config;
    const read = (file: string): Buffer | undefined => (file === '' ? undefined : readFileSync(file));
    const options: tls.SecureContextOptions = {
      cert: read(certFile),
      key: read(keyFile),
      ca: read(trustedCaFile),
      crl: read(crlFile),
      minVersion,
      ...(maxVersion !== undefined ? { maxVersion } : {}),
      ...(ciphers !== undefined ? { ciphers } : {}),
    };
    // OpenSSL quietly drops a key that does not match the certificate (no error, then every handshake fails):
    // the state between the two renames of a rotation. Refuse it here, so the previous pair stays in service.
    if (options.cert !== undefined && options.key !== undefined) {
      const cert = new X509Certificate(options.cert as Buffer);
      if (!cert.checkPrivateKey(createPrivateKey(options.key as Buffer))) {
        throw new Error(`${keyFile} is not the key of ${certFile}`);
      }
    }
    // Building the client context also proves the files make a valid context before the server gets them.
    return { options, client: tls.createSecureContext(options) };
  }
}

function stampOf(file: string): string {
  if (file === '') return '-';
  try {
    const stat = statSync(file);
    return `${stat.mtimeMs}:${stat.size}:${stat.ino}`;
  } catch {
    return 'missing';
  }
}
