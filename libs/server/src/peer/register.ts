// Adds the cairn.peer.v1.Peer service, backed by a PeerTransport, to a grpc.Server the app owns and binds to
// its peer URL (create it with PEER_SERVER_OPTIONS).
import type * as grpc from '@grpc/grpc-js';
import type { PeerTransport } from './peer-transport';
import { peerServiceDefinition } from './proto';

export function registerPeerService(server: grpc.Server, transport: PeerTransport): void {
  server.addService(peerServiceDefinition(), transport.serviceHandlers());
}
