// How this member reaches a peer URL: plaintext for http://, TLS with its peer certificate for https:// (as
// etcd picks by the URL's scheme). One dialer serves every outgoing peer connection: the hand-framed message
// streams, snapshot transfers, the cluster-view fetch of a joining member and forwarded lease calls. Each
// connection is made with the material current at dial time, so a rotated certificate is used from the next
// connection on (PeerTlsMaterial.generation() tells long-lived clients to rebuild).
import net from 'node:net';
import tls from 'node:tls';
import * as grpc from '@grpc/grpc-js';
import type { PeerTlsMaterial } from './peer-tls';

export interface PeerDialer {
  /** grpc-js credentials for a channel to `peerUrl`. */
  channelCredentials(peerUrl: string): grpc.ChannelCredentials;
  /** A socket to `host:port` of `peerUrl` for the hand-framed stream (TLS already started for https://). */
  connect(peerUrl: string, host: string, port: number): net.Socket;
  /** Bumps when the TLS material changed: clients made on an older one are closed and made again. */
  generation(): number;
}

const isHttps = (peerUrl: string): boolean => peerUrl.startsWith('https://');

/** http:// only; an https:// peer URL without peer TLS settings fails its dials with a clear error. */
export const PLAINTEXT_PEER_DIALER: PeerDialer = {
  channelCredentials(peerUrl) {
    if (isHttps(peerUrl)) throw new Error(`peer URL ${peerUrl} is https but no peer TLS is configured`);
    return grpc.credentials.createInsecure();
  },
  connect(peerUrl, host, port) {
    if (isHttps(peerUrl)) throw new Error(`peer URL ${peerUrl} is https but no peer TLS is configured`);
    return net.connect({ host, port, noDelay: true });
  },
  generation: () => 0,
};

export class TlsPeerDialer implements PeerDialer {
  private credentials: { generation: number; value: grpc.ChannelCredentials } | undefined;

  constructor(private readonly material: PeerTlsMaterial) {}

  generation(): number {
    return this.material.generation();
  }

  channelCredentials(peerUrl: string): grpc.ChannelCredentials {
    if (!isHttps(peerUrl)) return grpc.credentials.createInsecure();
    const generation = this.material.generation();
    if (this.credentials?.generation !== generation) {
      this.credentials = {
        generation,
        value: grpc.credentials.createFromSecureContext(this.material.clientContext(), {
          rejectUnauthorized: !this.material.config.skipServerVerify,
          // After Node's own host name check: the CN/host name etcd's allowed-cn/hostname flags demand.
          checkServerIdentity: (_host, cert) => this.refusal(cert),
        }),
      };
    }
    return this.credentials.value;
  }

  connect(peerUrl: string, host: string, port: number): net.Socket {
    if (!isHttps(peerUrl)) return net.connect({ host, port, noDelay: true });
    const skip = this.material.config.skipServerVerify;
    const socket = tls.connect({
      host,
      port,
      secureContext: this.material.clientContext(),
      ALPNProtocols: ['h2'],
      // SNI only carries host names, never addresses.
      ...(net.isIP(host) === 0 ? { servername: host } : {}),
      rejectUnauthorized: !skip,
      checkServerIdentity: (hostname, cert) =>
        (skip ? undefined : tls.checkServerIdentity(hostname, cert)) ?? this.refusal(cert),
    });
    socket.setNoDelay(true);
    return socket;
  }

  private refusal(cert: tls.PeerCertificate): Error | undefined {
    const refusal = this.material.refusalOf(cert);
    return refusal === undefined ? undefined : new Error(`peer certificate refused: ${refusal}`);
  }
}
