// What a process that is not a member can try on a member's peer URL: a raw grpc-js client of the peer proto
// (libs/server/proto/cairn/peer/v1/peer.proto) that forges frames with any cluster and member ID, plus the
// JSON-gateway reads the peer-port tests check the cluster with.
import { createHash } from 'node:crypto';
import http from 'node:http';
import https from 'node:https';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { encodeInternalRequest } from '@cairn/api';
import { EntryType, MessageType, type Message } from '@cairn/raft';
import { encodeMessage, encodeMessages } from '@cairn/storage';
import { repoRoot } from '../support';

interface Outcome {
  /** The member answered the hello (the stream was accepted). */
  accepted: boolean;
  code: number;
  details: string;
}

type Callback<T> = (err: grpc.ServiceError | null, reply?: T) => void;

/* eslint-disable @typescript-eslint/no-explicit-any -- proto-loader builds the stubs at run time; the
   helpers below give every call its shape. */
interface PeerPackage {
  Peer: new (target: string, creds: grpc.ChannelCredentials, options?: object) => any;
  Membership: new (target: string, creds: grpc.ChannelCredentials, options?: object) => any;
}
/* eslint-enable @typescript-eslint/no-explicit-any */

let loaded: PeerPackage | undefined;

function peerPackage(): PeerPackage {
  if (loaded === undefined) {
    const definition = protoLoader.loadSync(join(repoRoot, 'libs/server/proto/cairn/peer/v1/peer.proto'), {
      keepCase: true,
      longs: String,
      enums: Number,
      bytes: Buffer,
      defaults: true,
      oneofs: true,
    });
    const pkg = grpc.loadPackageDefinition(definition) as unknown as { cairn: { peer: { v1: PeerPackage } } };
    loaded = pkg.cairn.peer.v1;
  }
  return loaded;
}

export interface Forged {
  clusterId: bigint;
  from: bigint;
  to: bigint;
}

/** A forged MsgApp that, if stepped, would make `to` follow a leader of `term` and commit a put of `key`. */
export function forgedAppend(f: Forged, term: number, lastIndex: number, key: string): Message {
  const data = encodeInternalRequest({
    header: { ID: '77' },
    put: { key: Buffer.from(key), value: Buffer.from('forged') },
  });
  return {
    type: MessageType.App,
    to: f.to,
    from: f.from,
    term,
    logTerm: term,
    index: lastIndex,
    entries: [{ term, index: lastIndex + 1, type: EntryType.Normal, data }],
    commit: lastIndex + 1,
    reject: false,
    rejectHint: 0,
  };
}

export class RawPeerClient {
  private readonly peer: grpc.Client & Record<string, (...args: unknown[]) => unknown>;
  private readonly membership: grpc.Client & Record<string, (...args: unknown[]) => unknown>;

  constructor(target: string, credentials: grpc.ChannelCredentials = grpc.credentials.createInsecure()) {
    const { Peer, Membership } = peerPackage();
    const options = { 'grpc.use_local_subchannel_pool': 1, 'grpc.enable_retries': 0 };
    this.peer = new Peer(target, credentials, options) as typeof this.peer;
    this.membership = new Membership(target, credentials, options) as typeof this.membership;
  }

  close(): void {
    this.peer.close();
    this.membership.close();
  }

  /** Opens a Stream with a hello, then sends `messages`; how the member answered within `waitMs`. */
  stream(f: Forged, messages: Message[], waitMs = 1500): Promise<Outcome> {
    return new Promise((resolve) => {
      const call = this.peer['Stream']!({ deadline: Date.now() + 10_000 }) as grpc.ClientDuplexStream<
        object,
        object
      >;
      let accepted = false;
      const done = (code: number, details: string): void => {
        clearTimeout(timer);
        resolve({ accepted, code, details });
      };
      const timer = setTimeout(() => {
        call.cancel();
      }, waitMs);
      call.on('data', () => (accepted = true));
      call.on('error', (err: grpc.ServiceError) => done(err.code, err.details));
      call.on('status', (status: grpc.StatusObject) => {
        if (status.code === grpc.status.OK) done(0, '');
      });
      const frame = (bytes: Buffer): object => ({
        cluster_id: f.clusterId.toString(),
        from: f.from.toString(),
        to: f.to.toString(),
        messages: bytes,
      });
      call.write(frame(Buffer.alloc(0)));
      if (messages.length > 0) call.write(frame(Buffer.from(encodeMessages(messages))));
    });
  }

  /** Sends a MsgSnap with a small db file; the member's answer. */
  snapshot(f: Forged, term: number, index: number): Promise<Outcome> {
    return new Promise((resolve) => {
      const call = this.peer['Snapshot']!(((err: grpc.ServiceError | null) =>
        resolve({
          accepted: err === null,
          code: err?.code ?? 0,
          details: err?.details ?? '',
        })) as Callback<object>) as grpc.ClientWritableStream<object>;
      const id = { cluster_id: f.clusterId.toString(), from: f.from.toString(), to: f.to.toString() };
      const msg: Message = {
        type: MessageType.Snap,
        to: f.to,
        from: f.from,
        term,
        logTerm: 0,
        index: 0,
        entries: [],
        commit: 0,
        reject: false,
        rejectHint: 0,
        snapshot: {
          data: new Uint8Array(),
          metadata: { index, term, confState: { voters: [f.from], learners: [] } },
        },
      };
      const db = Buffer.alloc(4096, 7);
      call.on('error', () => undefined);
      call.write({ ...id, header: { message: Buffer.from(encodeMessage(msg)) } });
      call.write({ ...id, chunk: db });
      call.write({
        ...id,
        trailer: { size: String(db.length), sha256: createHash('sha256').update(db).digest() },
      });
      call.end();
    });
  }

  /** A unary Membership call with the given metadata (identity claims). */
  unary(
    method: 'Members' | 'LeaseRenew' | 'LeaseRenewBatch' | 'LeaseTimeToLive' | 'LearnerReady',
    request: object,
    metadata: Record<string, string>,
  ): Promise<Outcome & { reply?: Record<string, unknown> }> {
    const md = new grpc.Metadata();
    for (const [key, value] of Object.entries(metadata)) md.set(key, value);
    return new Promise((resolve) =>
      this.membership[method]!(
        request,
        md,
        { deadline: Date.now() + 5000 },
        (err: grpc.ServiceError | null, reply?: Record<string, unknown>) =>
          resolve({ accepted: err === null, code: err?.code ?? 0, details: err?.details ?? '', reply }),
      ),
    );
  }
}

/** Metadata a member's forwarded calls carry (peer-call-identity.ts), here with whatever IDs a test forges. */
export function claim(clusterId: bigint, memberId: bigint): Record<string, string> {
  return { 'cairn-cluster-id': clusterId.toString(), 'cairn-member-id': memberId.toString() };
}

/** CA and client certificate for an https client URL (PEM contents). */
export interface GatewayTls {
  ca: Buffer;
  cert?: Buffer;
  key?: Buffer;
}

/** POST to a member's JSON gateway (https when the client URL is, trusting `tls.ca`). */
export function gateway<T>(clientUrl: string, path: string, body: object, tls?: GatewayTls): Promise<T> {
  const url = new URL(path, clientUrl);
  const payload = Buffer.from(JSON.stringify(body));
  const send = url.protocol === 'https:' ? https.request : http.request;
  return new Promise<T>((resolve, reject) => {
    const request = send(
      url,
      {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'content-length': payload.length },
        timeout: 5000,
        ...(tls ?? {}),
      },
      (response) => {
        const chunks: Buffer[] = [];
        response.on('data', (chunk: Buffer) => chunks.push(chunk));
        response.on('end', () => {
          const text = Buffer.concat(chunks).toString();
          if (response.statusCode !== 200) reject(new Error(`${path}: ${response.statusCode} ${text}`));
          else resolve(JSON.parse(text) as T);
        });
        response.on('error', reject);
      },
    );
    request.on('timeout', () => request.destroy(new Error(`${path}: no answer within 5 s`)));
    request.on('error', reject);
    request.end(payload);
  });
}

export interface MemberStatus {
  clusterId: bigint;
  memberId: bigint;
  leader: bigint;
  term: number;
  raftIndex: number;
}

export async function status(clientUrl: string, tls?: GatewayTls): Promise<MemberStatus> {
  const s = await gateway<{
    header: { cluster_id: string; member_id: string; raft_term: string };
    leader: string;
    raftIndex: string;
    raftTerm: string;
  }>(clientUrl, '/v3/maintenance/status', {}, tls);
  return {
    clusterId: BigInt(s.header.cluster_id),
    memberId: BigInt(s.header.member_id),
    leader: BigInt(s.leader),
    term: Number(s.raftTerm ?? s.header.raft_term),
    raftIndex: Number(s.raftIndex),
  };
}

/** The value of `key` on this member (serializable read: what this member applied), or undefined. */
export async function localValue(
  clientUrl: string,
  key: string,
  tls?: GatewayTls,
): Promise<string | undefined> {
  const r = await gateway<{ kvs?: { value: string }[] }>(
    clientUrl,
    '/v3/kv/range',
    { key: Buffer.from(key).toString('base64'), serializable: true },
    tls,
  );
  const kv = r.kvs?.[0];
  return kv === undefined ? undefined : Buffer.from(kv.value, 'base64').toString();
}
