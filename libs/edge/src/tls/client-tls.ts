// The TLS of the client URL and the metrics URLs from the member's settings (etcd's flags): the certificate
// files, or with --auto-tls and no files a self-signed pair in <data-dir>/fixtures/client (auto-tls.ts).
import path from 'node:path';
import { selfSignedCertificate } from './auto-tls';
import { TlsTerminator, type TlsTerminatorLog, type TlsVersionName } from './tls-terminator';

/** The client side's files (the shape of the server's TlsFiles settings). */
export interface ClientTlsFiles {
  certFile: string;
  keyFile: string;
  trustedCaFile: string;
  clientCertAuth: boolean;
  crlFile: string;
  autoTls: boolean;
}

/** Settings shared by every TLS listener (the shape of the server's TransportSecuritySettings). */
export interface TlsPolicy {
  cipherSuites: readonly string[];
  minVersion: TlsVersionName;
  maxVersion: TlsVersionName | undefined;
  selfSignedCertValidityYears: number;
}

/**
 * ALPN of the client URL, in the server's order of preference (OpenSSL picks the first the client offers).
 * HTTP/1.1 first: a client that speaks both (a browser, curl) wants the console, REST, SSE or the JSON gateway,
 * all HTTP/1.1 handlers here, while an HTTP/2 connection goes to grpc-js; gRPC clients (grpc-go, grpc-js)
 * offer only h2 and get it.
 */
export const CLIENT_URL_ALPN: readonly string[] = ['http/1.1', 'h2'];

export interface ClientTlsOptions {
  files: ClientTlsFiles;
  policy: TlsPolicy;
  dataDir: string;
  /** Hosts of the https listen URLs: the subject alternative names of an --auto-tls certificate. */
  hosts: readonly string[];
  log?: TlsTerminatorLog;
}

/** The terminator every https client URL (and https metrics URL) of this member shares. */
export async function createClientTls(options: ClientTlsOptions): Promise<TlsTerminator> {
  const { files, policy } = options;
  let { certFile, keyFile } = files;
  if (certFile === '' && files.autoTls) {
    const dir = path.join(options.dataDir, 'fixtures', 'client');
    ({ certFile, keyFile } = await selfSignedCertificate(
      dir,
      options.hosts,
      policy.selfSignedCertValidityYears,
    ));
    options.log?.info(
      { certFile, keyFile },
      '--auto-tls: serving the client URL with a self-signed certificate',
    );
  }
  return TlsTerminator.create(
    {
      certFile,
      keyFile,
      trustedCaFile: files.trustedCaFile,
      clientCertAuth: files.clientCertAuth,
      crlFile: files.crlFile,
      cipherSuites: policy.cipherSuites,
      minVersion: policy.minVersion,
      maxVersion: policy.maxVersion,
      alpnProtocols: CLIENT_URL_ALPN,
    },
    options.log,
  );
}
