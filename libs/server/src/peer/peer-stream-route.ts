// The receiving end of the Stream RPC served straight off the HTTP/2 stream (a route in front of grpc-js, see
// grpc-stream-router.ts of @cairn/edge): gRPC messages cut out of DATA chunks and decoded by the hand codec, the hello answered
// with a StreamReply, the call ended with a status in trailers. InboundStreams does everything else, exactly as
// for a call grpc-js carries.
import type http2 from 'node:http2';
import type { GrpcErrorStatus } from '@cairn/api';
import {
  GrpcMessageReader,
  type Http2StreamRoute,
  grpcMessage,
  isPlainGrpcCall,
  trailersOf,
} from '@cairn/edge';
import { PEER_REJECTIONS } from './errors';
import { decodeStreamFrame, encodeStreamReply, type PeerFrame } from './frame-codec';
import type { InboundStreams } from './inbound-streams';
import { PEER_STREAM_PATH } from './proto';

const RESPONSE_HEADERS = { ':status': 200, 'content-type': 'application/grpc+proto' };

/** The route that takes Stream calls off grpc-js's hands and gives them to `inbound`. */
export function peerStreamRoute(inbound: InboundStreams, maxMessageBytes: number): Http2StreamRoute {
  return (stream, headers) => {
    if (headers[':path'] !== PEER_STREAM_PATH || !isPlainGrpcCall(headers)) return false;
    servePeerStream(stream, inbound, maxMessageBytes);
    return true;
  };
}

function servePeerStream(
  stream: http2.ServerHttp2Stream,
  inbound: InboundStreams,
  maxMessageBytes: number,
): void {
  let responded = false;
  let finished = false;
  const gone = (): boolean => stream.destroyed || stream.closed;
  const respond = (): void => {
    if (responded) return;
    responded = true;
    stream.respond(RESPONSE_HEADERS, { waitForTrailers: true });
  };
  const events = inbound.serve({
    accept: (memberId) => {
      if (gone()) return;
      respond();
      stream.write(grpcMessage(encodeStreamReply(memberId)));
    },
    finish: (status?: GrpcErrorStatus) => {
      if (finished || gone()) return;
      finished = true;
      if (!responded) {
        // Trailers-only: the status rides on the one HEADERS frame.
        responded = true;
        stream.respond({ ...RESPONSE_HEADERS, ...trailersOf(status) }, { endStream: true });
        return;
      }
      stream.once('wantTrailers', () => stream.sendTrailers(trailersOf(status)));
      stream.end();
    },
    get gone() {
      return gone();
    },
    peerAddress: () => {
      const socket = stream.session?.socket;
      return socket === undefined ? 'unknown' : `${socket.remoteAddress}:${socket.remotePort}`;
    },
  });

  const reader = new GrpcMessageReader(maxMessageBytes);
  stream.on('data', (chunk: Buffer) => {
    let messages: Buffer[];
    try {
      messages = reader.push(chunk);
    } catch (refusal) {
      events.refuse(refusal as GrpcErrorStatus);
      return;
    }
    for (const message of messages) {
      let frame: PeerFrame;
      try {
        frame = decodeStreamFrame(message);
      } catch {
        events.refuse(PEER_REJECTIONS.malformedFrame);
        return;
      }
      events.frame(frame);
    }
  });
  stream.on('end', () => {
    if (reader.hasPartialMessage()) events.refuse(PEER_REJECTIONS.malformedFrame);
    else events.end();
  });
  // A reset by the sender, or the connection went away: nothing to answer.
  stream.on('error', () => events.gone());
  stream.on('close', () => events.gone());
  stream.on('aborted', () => events.gone());
}
