// Adds the cairn.peer.v1.Peer service, backed by a PeerTransport, to a grpc.Server the app owns and binds to
// its peer URL (create it with PEER_SERVER_OPTIONS); once bound, routePeerStreams serves the Stream calls
// hand-framed, before grpc-js.
import type * as grpc from '@grpc/grpc-js';
import { routeGrpcStreams } from '@cairn/edge';
import { decodeStreamFrame, encodeStreamFrame, encodeStreamReply, decodeStreamReply } from './frame-codec';
import type { PeerTransport } from './peer-transport';
import { peerServiceDefinition } from './proto';

export function registerPeerService(server: grpc.Server, transport: PeerTransport): void {
  server.addService(handCodecPeerService(), transport.serviceHandlers());
}

/**
 * After the server is bound: Stream calls skip grpc-js (peer-stream-route.ts). False when grpc-js's internals
 * are not what the router expects; grpc-js then serves them, with the same codec and the same checks.
 */
export function routePeerStreams(server: grpc.Server, transport: PeerTransport): boolean {
  return routeGrpcStreams(server, transport.streamRoute());
}

/** The Peer service with Stream's messages in the hand codec (frame-codec.ts); Snapshot as proto-loader has it. */
function handCodecPeerService(): grpc.ServiceDefinition {
  const service = peerServiceDefinition();
  return {
    ...service,
    Stream: {
      ...service.Stream,
      requestSerialize: encodeStreamFrame,
      requestDeserialize: decodeStreamFrame,
      responseSerialize: encodeStreamReply,
      responseDeserialize: decodeStreamReply,
    },
  };
}
