// Loads cairn.peer.v1 (proto/cairn/peer/v1/peer.proto at the package root) and names the shapes of its frames
// as proto-loader hands them over: uint64 fields are decimal strings, bytes are Buffers.
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';

const PEER_PROTO = join('proto', 'cairn', 'peer', 'v1', 'peer.proto');

/** The Stream RPC's path, which its hand-framed ends (peer-stream-call.ts, peer-stream-route.ts) use. */
export const PEER_STREAM_PATH = '/cairn.peer.v1.Peer/Stream';

/** uint64 on the wire; proto-loader gives decimal strings (never rounded) and accepts them back. */
export type WireUint64 = string;

export interface StreamFrame {
  cluster_id: WireUint64;
  from: WireUint64;
  to: WireUint64;
  messages: Buffer;
}

export interface StreamReply {
  member_id: WireUint64;
}

export interface SnapshotHeader {
  message: Buffer;
}

export interface SnapshotTrailer {
  size: WireUint64;
  sha256: Buffer;
}

/** Exactly one of header, chunk, trailer is set; `part` names it. */
export interface SnapshotFrame {
  cluster_id: WireUint64;
  from: WireUint64;
  to: WireUint64;
  part?: 'header' | 'chunk' | 'trailer';
  header?: SnapshotHeader | null;
  chunk?: Buffer;
  trailer?: SnapshotTrailer | null;
}

export type SnapshotAck = Record<string, never>;

/** The client stub proto-loader builds for the Peer service. */
export interface PeerClient extends grpc.Client {
  Stream(options?: grpc.CallOptions): grpc.ClientDuplexStream<StreamFrame, StreamReply>;
  Snapshot(callback: grpc.requestCallback<SnapshotAck>): grpc.ClientWritableStream<SnapshotFrame>;
}

type PeerClientConstructor = grpc.ServiceClientConstructor;

/** The package root holds proto/; walking up finds it from src/peer (tests) and from dist/peer (build). */
export function findPeerProto(startDir: string = __dirname): string {
  for (let dir = startDir; ; dir = dirname(dir)) {
    const candidate = join(dir, PEER_PROTO);
    if (existsSync(candidate)) return candidate;
    if (dirname(dir) === dir) throw new Error(`peer transport: ${PEER_PROTO} not found above ${startDir}`);
  }
}

type PeerServiceName = 'Peer' | 'Membership' | 'Integrity';

let peerPackage: Record<PeerServiceName, PeerClientConstructor> | undefined;

/** One of cairn.peer.v1's services, from one load of peer.proto shared by all of them. */
export function peerServiceConstructor(name: PeerServiceName): PeerClientConstructor {
  if (peerPackage === undefined) {
    const definition = protoLoader.loadSync(findPeerProto(), {
      keepCase: true,
      longs: String,
      enums: Number,
      bytes: Buffer,
      defaults: true,
      oneofs: true,
    });
    const pkg = grpc.loadPackageDefinition(definition) as unknown as {
      cairn: { peer: { v1: Record<PeerServiceName, PeerClientConstructor> } };
    };
    peerPackage = pkg.cairn.peer.v1;
  }
  return peerPackage[name];
}

function loadPeerService(): PeerClientConstructor {
  return peerServiceConstructor('Peer');
}

/** The service definition to add to a grpc.Server. */
export function peerServiceDefinition(): grpc.ServiceDefinition {
  return loadPeerService().service;
}

/** A client stub for one peer URL on its own connection. */
export function createPeerClient(
  target: string,
  credentials: grpc.ChannelCredentials,
  options: grpc.ClientOptions,
): PeerClient {
  const Peer = loadPeerService();
  // proto-loader builds the methods at run time; PeerClient names the two this service has.
  return new Peer(target, credentials, options) as unknown as PeerClient;
}
