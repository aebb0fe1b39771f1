// The Common Name of the client certificate a TLS handshake verified (against --trusted-ca-file), for the
// request pipeline (RequestInfo.certificateCommonName): etcd takes it as the user name of a request that
// carries no token. Only a verified certificate counts (`authorized`); a connection whose certificate was
// merely presented, or a plaintext one, has none.
import type tls from 'node:tls';

/** What a verified TLS connection offers: a TLSSocket, Node's HTTP/2 proxy of one, or the :authority normaliser. */
interface PeerCertificateSource {
  readonly authorized?: unknown;
  getPeerCertificate?(detailed?: boolean): tls.PeerCertificate | object | null;
}

/** The CN of `certificate`'s subject; undefined if it has none or several (ambiguous: no identity). */
export function commonNameOf(certificate: unknown): string | undefined {
  const subject = (certificate as { subject?: { CN?: unknown } } | null | undefined)?.subject;
  const cn = subject?.CN;
  return typeof cn === 'string' && cn !== '' ? cn : undefined;
}

/** The CN of the verified client certificate on `socket`; undefined for plaintext or unverified connections. */
export function verifiedCommonName(socket: unknown): string | undefined {
  if (socket === null || typeof socket !== 'object') return undefined;
  let source = socket as PeerCertificateSource & { stream?: unknown };
  if (source.authorized !== true && source.stream !== null && typeof source.stream === 'object') {
    // Node's HTTP/2 wraps a connection that is not a net.Socket (the :authority normaliser) in its internal
    // JSStreamSocket, which keeps the wrapped stream as `stream`.
    source = source.stream as PeerCertificateSource;
  }
  if (source.authorized !== true || typeof source.getPeerCertificate !== 'function') return undefined;
  return commonNameOf(source.getPeerCertificate(false));
}

/** What every grpc-js server call has for this (1.10+). */
interface GrpcCallWithAuthContext {
  getAuthContext?(): { transportSecurityType?: string; sslPeerCertificate?: unknown };
}

/**
 * The CN of the verified client certificate a grpc-js call came with. grpc-js's public getAuthContext() sees
 * it when the HTTP/2 session sits on the TLS socket itself; for a connection served through the :authority
 * normaliser (a JS stream over the TLS socket, which grpc-js does not recognise as TLS) the session's socket is
 * found through grpc-js's call chain (call → ServerInterceptingCall.nextCall… → stream.session.socket, grpc-js
 * 1.14) and asked directly; if that shape ever changes the call simply has no CN (never a wrong one).
 */
export function grpcCallCommonName(call: object): string | undefined {
  let fromContext: unknown;
  try {
    fromContext = (call as GrpcCallWithAuthContext).getAuthContext?.().sslPeerCertificate;
  } catch {
    fromContext = undefined;
  }
  const cn = commonNameOf(fromContext);
  if (cn !== undefined) return cn;
  return verifiedCommonName(grpcSessionSocket(call));
}

/** grpc-js internals: the HTTP/2 session socket under a server call, or undefined. */
function grpcSessionSocket(call: object): unknown {
  let link: unknown = (call as { call?: unknown }).call;
  for (let depth = 0; depth < 8 && link !== null && typeof link === 'object'; depth++) {
    const stream = (link as { stream?: { session?: { socket?: unknown } } }).stream;
    if (stream !== undefined) return stream.session?.socket;
    link = (link as { nextCall?: unknown }).nextCall;
  }
  return undefined;
}
