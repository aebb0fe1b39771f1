// Binds the peer grpc.Server to the listen peer URLs. http:// URLs are grpc-js's own plaintext ports.
// https:// URLs are our TLS listener: each connection gets the TLS context current at accept time (so
// replaced certificate files serve the next handshake, without a restart), the peer's certificate is
// checked (--peer-client-cert-auth, --peer-cert-allowed-cn/-hostname) before a single HTTP/2 byte is read,
// and only then is the socket handed to grpc-js through its connection injector. The hand-framed Stream
// route (routePeerStreams) covers the injector's HTTP/2 server too, so the bypass works over TLS.
import net from 'node:net';
import tls from 'node:tls';
import * as grpc from '@grpc/grpc-js';
import type { Logger, PeerTlsMaterial } from '@cairn/server';

/** A connection that has not finished its TLS handshake by then is dropped (a stalled or plaintext client). */
const HANDSHAKE_TIMEOUT_MS = 10_000;
const LOG_INTERVAL_MS = 10_000;

export interface PeerListeners {
  /** The addresses bound, in the order of the URLs (port 0 resolved). */
  addresses: { url: URL; port: number }[];
  /** Refused TLS connections since start (handshake failed, certificate not allowed). */
  refusedConnections(): number;
  close(): void;
}

export async function listenPeerUrls(
  server: grpc.Server,
  urls: readonly URL[],
  material: PeerTlsMaterial | undefined,
  logger: Logger,
): Promise<PeerListeners> {
  const addresses: { url: URL; port: number }[] = [];
  const tlsServers: tls.Server[] = [];
  let refused = 0;
  let lastLogAt = -Infinity;
  let heldBack = 0;
  const logRefusal = (socket: net.Socket, reason: string): void => {
    socket.on('error', () => undefined);
    refused++;
    // Strangers can knock as often as they like: one line per interval, with how many were held back.
    const now = Date.now();
    if (now - lastLogAt < LOG_INTERVAL_MS) {
      heldBack++;
      return;
    }
    lastLogAt = now;
    logger.warn(
      { address: `${socket.remoteAddress}:${socket.remotePort}`, reason, suppressed: heldBack },
      'refused a peer connection',
    );
    heldBack = 0;
  };
  let injector: ReturnType<grpc.Server['createConnectionInjector']> | undefined;

  for (const url of urls) {
    const port = Number(url.port || 2380);
    if (url.protocol !== 'https:') {
      const bound = await new Promise<number>((resolve, reject) =>
        server.bindAsync(`${url.hostname}:${port}`, grpc.ServerCredentials.createInsecure(), (err, p) =>
          err ? reject(err) : resolve(p),
        ),
      );
      addresses.push({ url, port: bound });
      continue;
    }
    if (material === undefined)
      throw new Error(`peer URL ${url.href} is https but peer TLS is not configured`);
    // The TLS is ours; grpc-js sees plaintext HTTP/2 on an already authenticated socket.
    injector ??= server.createConnectionInjector(grpc.ServerCredentials.createInsecure());
    const tlsServer = peerTlsServer(material, injector, logRefusal);
    await new Promise<void>((resolve, reject) => {
      tlsServer.once('error', reject);
      tlsServer.listen(port, url.hostname.replace(/^\[(.*)\]$/, '$1'), () => {
        tlsServer.off('error', reject);
        resolve();
      });
    });
    tlsServers.push(tlsServer);
    addresses.push({ url, port: (tlsServer.address() as net.AddressInfo).port });
  }

  return {
    addresses,
    refusedConnections: () => refused,
    close() {
      for (const s of tlsServers) s.close();
      injector?.destroy();
    },
  };
}

/**
 * A tls.Server whose context is swapped (setSecureContext) just before each connection's handshake when the
 * files changed: its 'connection' listener runs first (prependListener), before Node builds the TLSSocket.
 */
function peerTlsServer(
  material: PeerTlsMaterial,
  injector: ReturnType<grpc.Server['createConnectionInjector']>,
  refuse: (socket: net.Socket, reason: string) => void,
): tls.Server {
  const { clientCertAuth, allowedCn, allowedHostname, skipServerVerify } = material.config;
  // allowed-cn/hostname need the peer's certificate, so they ask for one even without client-cert-auth.
  const requestCert = clientCertAuth || allowedCn !== '' || allowedHostname !== '';
  // A certificate is only worth its CN once its chain is verified (etcd checks allowed-cn on verified
  // chains); a self-signed (auto-tls) member has no CA to check a peer's certificate against, as in etcd.
  const verify = requestCert && !skipServerVerify;
  let generation = material.generation();
  const tlsServer = tls.createServer({
    ...material.serverContextOptions(),
    requestCert,
    rejectUnauthorized: verify,
    ALPNProtocols: ['h2'],
    handshakeTimeout: HANDSHAKE_TIMEOUT_MS,
  });
  tlsServer.prependListener('connection', (socket: net.Socket) => {
    socket.setNoDelay(true);
    try {
      const current = material.generation();
      if (current !== generation) {
        tlsServer.setSecureContext(material.serverContextOptions());
        generation = current;
      }
    } catch {
      // Unreadable files mid-rotation: this handshake uses the context we had.
    }
  });
  tlsServer.on('tlsClientError', (err, socket) => refuse(socket, `TLS handshake failed: ${err.message}`));
  tlsServer.on('secureConnection', (socket: tls.TLSSocket) => {
    const cert = socket.getPeerCertificate();
    const present = cert !== undefined && Object.keys(cert).length > 0 ? cert : undefined;
    const reason =
      verify && !socket.authorized
        ? `peer certificate not trusted: ${String(socket.authorizationError ?? 'no certificate')}`
        : material.refusalOf(present);
    if (reason !== undefined) {
      refuse(socket, reason);
      socket.destroy();
      return;
    }
    // grpc-js's HTTP/2 session reports the socket's errors from here; ours is a no-op so that none is unhandled.
    socket.on('error', () => undefined);
    injector.injectConnection(socket);
  });
  return tlsServer;
}
