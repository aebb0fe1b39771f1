// Terminates TLS on sockets a listener accepted itself (the client listener, the metrics listener), with
// etcd's client-URL semantics: the server certificate from --cert-file/--key-file (re-read when the files
// change: certificate-files.ts), a client certificate signed by --trusted-ca-file required when that file or
// --client-cert-auth is given (etcd 3.4's ServerConfig: RequireAndVerifyClientCert), certificates listed in
// --client-crl-file refused, --cipher-suites and --tls-min/max-version applied, ALPN offered.
//
// A never-listening tls.Server does the handshake (socket emitted as 'connection', as https.Server does), so
// Node's own checks decide `authorized` and refuse an unverified client certificate; the terminator only
// chooses the secure context per connection and hands the decrypted socket on.
import type net from 'node:net';
import tls from 'node:tls';
import { type CertificateLog, CertificateFiles, type CertificateMaterial } from './certificate-files';
import { openSslCipherList } from './cipher-suites';

export type TlsVersionName = 'TLS1.2' | 'TLS1.3';

export interface TlsServerConfig {
  certFile: string;
  keyFile: string;
  /** '' = none; given, a verified client certificate is required (as etcd 3.4). */
  trustedCaFile: string;
  /** Require a client certificate (verified against trustedCaFile, or Node's roots without it). */
  clientCertAuth: boolean;
  /** '' = none. */
  crlFile: string;
  /** etcd names (IANA) or OpenSSL names; empty = Node's defaults. */
  cipherSuites: readonly string[];
  minVersion: TlsVersionName;
  /** undefined = the newest Node has. */
  maxVersion?: TlsVersionName;
  /** ALPN protocols offered, in preference order (the client URL: h2, http/1.1). */
  alpnProtocols: readonly string[];
}

/** Where certificate reloads and failed handshakes (debug) are reported. */
export interface TlsTerminatorLog extends CertificateLog {
  debug?(details: object, message: string): void;
}

const NODE_VERSION: Record<TlsVersionName, tls.SecureVersion> = { 'TLS1.2': 'TLSv1.2', 'TLS1.3': 'TLSv1.3' };

/** A socket's identity while its handshake runs: the 4-tuple (the TLS socket reads the same handle). */
function connectionKey(socket: net.Socket): string {
  return `${socket.remoteAddress}|${socket.remotePort}|${socket.localAddress}|${socket.localPort}`;
}

/** What to do when a connection's handshake ends. */
interface Handshake {
  onSecure(socket: tls.TLSSocket): void;
}

export class TlsTerminator {
  private readonly server: tls.Server;
  private readonly waiting = new Map<string, Handshake>();
  private contextMaterial: CertificateMaterial | undefined;

  private constructor(
    private readonly config: TlsServerConfig,
    private readonly files: CertificateFiles,
    private readonly contextOptions: (material: CertificateMaterial) => tls.SecureContextOptions,
    private readonly log?: TlsTerminatorLog,
  ) {
    const requireClientCert = config.trustedCaFile !== '' || config.clientCertAuth;
    this.server = tls.createServer({
      requestCert: requireClientCert,
      rejectUnauthorized: requireClientCert,
      ALPNProtocols: [...config.alpnProtocols],
      // The listener's protocol decision timeout bounds the handshake; this is only a backstop.
      handshakeTimeout: 120_000,
    });
    this.server.on('secureConnection', (socket: tls.TLSSocket) => {
      const key = connectionKey(socket);
      const handshake = this.waiting.get(key);
      this.waiting.delete(key);
      if (handshake) handshake.onSecure(socket);
      else socket.destroy();
    });
    this.server.on('tlsClientError', (err, socket) => {
      // The socket's addresses are gone by now: its terminate() call learns of it from the 'close'.
      this.log?.debug?.({ err: err.message }, 'TLS handshake failed');
      socket.destroy();
    });
  }

  /** Loads the certificate files and checks the whole configuration; throws a start-up error if unusable. */
  static async create(config: TlsServerConfig, log?: TlsTerminatorLog): Promise<TlsTerminator> {
    const ciphers = openSslCipherList(config.cipherSuites);
    const contextOptions = (material: CertificateMaterial): tls.SecureContextOptions => ({
      ...material,
      ...(ciphers !== undefined ? { ciphers } : {}),
      minVersion: NODE_VERSION[config.minVersion],
      ...(config.maxVersion !== undefined ? { maxVersion: NODE_VERSION[config.maxVersion] } : {}),
    });
    const files = new CertificateFiles(
      config,
      (material) => void tls.createSecureContext(contextOptions(material)),
      log,
    );
    const terminator = new TlsTerminator(config, files, contextOptions, log);
    terminator.use(await files.load());
    return terminator;
  }

  /**
   * Handshakes on `socket` with the certificates current now; `onSecure` gets the decrypted socket
   * (verified when client certificates are required). A failed handshake destroys the socket; `onFailure` is
   * called when it closes before its handshake completed (for whatever reason).
   */
  terminate(socket: net.Socket, onSecure: (socket: tls.TLSSocket) => void, onFailure?: () => void): void {
    const key = connectionKey(socket);
    // Closed before the handshake completed: refused (certificate, version, cipher) or abandoned.
    socket.once('close', () => {
      if (this.waiting.delete(key)) onFailure?.();
    });
    // The raw socket must not lose bytes while the files are looked at.
    socket.pause();
    this.files.current().then(
      (material) => {
        if (socket.destroyed) return;
        this.use(material);
        this.waiting.set(key, { onSecure });
        this.server.emit('connection', socket);
      },
      (err: unknown) => {
        this.log?.error({ err }, 'TLS certificates unavailable: connection closed');
        socket.destroy();
      },
    );
  }

  /**
   * Options for dialling another member's https client URL in-process (the console's cluster overview): trust
   * --trusted-ca-file and present this member's own certificate (etcd members' certificates usually carry
   * clientAuth too). Without a trusted CA (--auto-tls, or a public CA) the system roots apply.
   */
  dialOptions(): Pick<tls.ConnectionOptions, 'ca' | 'cert' | 'key'> {
    const material = this.contextMaterial;
    if (material === undefined) return {};
    return { ...(material.ca ? { ca: material.ca } : {}), cert: material.cert, key: material.key };
  }

  private use(material: CertificateMaterial): void {
    if (material === this.contextMaterial) return;
    this.server.setSecureContext(this.contextOptions(material));
    this.contextMaterial = material;
  }
}
