// TLS on the client URL and the metrics URLs (see client-listener.ts and metrics-listener.ts).
export { CipherSuiteError, openSslCipherList } from './cipher-suites';
export {
  CertificateFiles,
  type CertificateFilePaths,
  type CertificateLog,
  type CertificateMaterial,
} from './certificate-files';
export {
  TlsTerminator,
  type TlsServerConfig,
  type TlsTerminatorLog,
  type TlsVersionName,
} from './tls-terminator';
export { AutoTlsError, selfSignedCertificate, subjectAltNames, type SelfSignedCertificate } from './auto-tls';
export { commonNameOf, grpcCallCommonName, verifiedCommonName } from './peer-certificate';
export {
  CLIENT_URL_ALPN,
  createClientTls,
  type ClientTlsFiles,
  type ClientTlsOptions,
  type TlsPolicy,
} from './client-tls';
