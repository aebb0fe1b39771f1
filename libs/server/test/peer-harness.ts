// Shared fixtures of the peer transport tests: members made of a real grpc.Server on 127.0.0.1 and a
// PeerTransport, recording everything the transport reports; a capturing logger; small message builders.
import { createHash } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { EntryType, MessageType, type Message } from '@cairn/raft';
import type { Logger } from '../src/logger';
import {
  PEER_SERVER_OPTIONS,
  PeerTransport,
  registerPeerService,
  routePeerStreams,
  type PeerTransportOptions,
} from '../src/peer';

export const CLUSTER = 0xc1a57e11n;

export interface LogLine {
  level: 'debug' | 'info' | 'warn' | 'error';
  msg: string;
  fields: object;
}

/** A Logger that keeps every line (with its bindings) for assertions. */
export function capturingLogger(lines: LogLine[] = [], bindings: object = {}): Logger & { lines: LogLine[] } {
  const at =
    (level: LogLine['level']) =>
    (fields: object, msg = ''): void => {
      lines.push({ level, msg, fields: { ...bindings, ...fields } });
    };
  return {
    lines,
    debug: at('debug'),
    info: at('info'),
    warn: at('warn'),
    error: at('error'),
    child: (more: object) => capturingLogger(lines, { ...bindings, ...more }),
  };
}

export interface ReceivedSnapshot {
  msg: Message;
  bytes: number;
  sha256: string;
}

export interface Member {
  id: bigint;
  port: number;
  url: string;
  server: grpc.Server;
  transport: PeerTransport;
  received: Message[];
  unreachable: bigint[];
  snapshotStatus: Array<{ id: bigint; ok: boolean }>;
  snapshots: ReceivedSnapshot[];
  log: Logger & { lines: LogLine[] };
  snapshotDir: string;
  /** Close the transport, then the server. */
  stop(): Promise<void>;
}

export interface MemberOptions {
  id: bigint;
  /** Reuse a port (restart); default: one the OS picks. */
  port?: number;
  clusterId?: bigint;
  overrides?: Partial<PeerTransportOptions>;
  /** Leave Stream calls to grpc-js (the fallback when the hand-framed route cannot be installed). */
  grpcJsStreams?: boolean;
}

export async function startServer(
  register: (server: grpc.Server) => void,
  port = 0,
): Promise<{ server: grpc.Server; port: number }> {
  const server = new grpc.Server(PEER_SERVER_OPTIONS);
  register(server);
  const bound = await new Promise<number>((resolve, reject) =>
    server.bindAsync(`127.0.0.1:${port}`, grpc.ServerCredentials.createInsecure(), (err, p) =>
      err ? reject(err) : resolve(p),
    ),
  );
  return { server, port: bound };
}

/**
 * Graceful shutdown, bounded: grpc-js's tryShutdown waits for `session.close()` of every session it tracks, and
 * a session destroyed a moment earlier (the member's session guard ends one on a client GOAWAY, libs/edge
 * session-guards.ts) is not yet 'closed' until its 'close' event, so its close() never calls back and
 * tryShutdown would wait forever. The member itself shuts down with forceShutdown.
 */
export async function stopServer(server: grpc.Server): Promise<void> {
  await new Promise<void>((resolve) => {
    const force = setTimeout(() => {
      server.forceShutdown();
      resolve();
    }, 2000);
    server.tryShutdown(() => {
      clearTimeout(force);
      resolve();
    });
  });
}

/** A port that was free a moment ago (for a member that starts later). */
export async function reservePort(): Promise<number> {
  const { server, port } = await startServer(() => undefined);
  server.forceShutdown();
  return port;
}

export async function startMember(options: MemberOptions): Promise<Member> {
  const snapshotDir = await mkdtemp(join(tmpdir(), 'cairn-peer-'));
  const log = capturingLogger();
  const member = {
    id: options.id,
    received: [] as Message[],
    unreachable: [] as bigint[],
    snapshotStatus: [] as Array<{ id: bigint; ok: boolean }>,
    snapshots: [] as ReceivedSnapshot[],
    log,
    snapshotDir,
  } as Member;
  member.transport = new PeerTransport({
    localId: options.id,
    clusterId: options.clusterId ?? CLUSTER,
    onMessage: (m) => member.received.push(m),
    onUnreachable: (id) => member.unreachable.push(id),
    onSnapshotStatus: (id, ok) => member.snapshotStatus.push({ id, ok }),
    snapshotSource: () => undefined,
    onSnapshotReceived: async (msg, file) => {
      const data = await readFile(file);
      member.snapshots.push({
        msg,
        bytes: data.length,
        sha256: createHash('sha256').update(data).digest('hex'),
      });
      await rm(file);
    },
    snapshotDir,
    logger: log,
    dialBackoff: { initialMs: 20, maxMs: 200 },
    activeWindowMs: 1_000,
    keepAliveIntervalMs: 100,
    dialTimeoutMs: 2_000,
    ...options.overrides,
  });
  const { server, port } = await startServer((s) => registerPeerService(s, member.transport), options.port);
  if (options.grpcJsStreams !== true && !routePeerStreams(server, member.transport)) {
    throw new Error('the hand-framed Stream route could not be installed');
  }
  member.server = server;
  member.port = port;
  member.url = `http://127.0.0.1:${port}`;
  member.stop = async () => {
    await member.transport.close();
    await stopServer(server);
    await rm(snapshotDir, { recursive: true, force: true });
  };
  return member;
}

/** Every member knows every other. */
export function connectAll(members: Member[]): void {
  for (const a of members) for (const b of members) if (a !== b) a.transport.addPeer(b.id, [b.url]);
}

export async function waitFor(what: string, condition: () => boolean, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for: ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

/** A small MsgApp carrying one entry at `index`. */
export function msgApp(from: bigint, to: bigint, index: number, payloadBytes = 16): Message {
  return {
    type: MessageType.App,
    from,
    to,
    term: 3,
    logTerm: 3,
    index: index - 1,
    commit: index - 1,
    entries: [{ term: 3, index, type: EntryType.Normal, data: Buffer.alloc(payloadBytes, index % 251) }],
    reject: false,
    rejectHint: 0,
  };
}

export function msgHeartbeat(from: bigint, to: bigint): Message {
  return {
    type: MessageType.Heartbeat,
    from,
    to,
    term: 3,
    logTerm: 0,
    index: 0,
    commit: 0,
    entries: [],
    reject: false,
    rejectHint: 0,
  };
}

export function msgSnap(from: bigint, to: bigint, index: number): Message {
  return {
    type: MessageType.Snap,
    from,
    to,
    term: 3,
    logTerm: 0,
    index: 0,
    commit: 0,
    entries: [],
    reject: false,
    rejectHint: 0,
    snapshot: {
      metadata: { index, term: 3, confState: { voters: [from, to], learners: [] } },
      data: Buffer.from('membership'),
    },
  };
}

/** The message with every byte field as a plain Uint8Array, so Buffer and Uint8Array views compare equal. */
export function plainBytes(m: Message): Message {
  const plain = (bytes: Uint8Array): Uint8Array => new Uint8Array(bytes);
  return {
    ...m,
    entries: m.entries.map((e) => ({ ...e, data: plain(e.data) })),
    ...(m.snapshot === undefined ? {} : { snapshot: { ...m.snapshot, data: plain(m.snapshot.data) } }),
    ...(m.context === undefined ? {} : { context: plain(m.context) }),
  };
}

/** The entry indexes a member received from `from`, in arrival order. */
export function indexesFrom(member: Member, from: bigint): number[] {
  return member.received
    .filter((m) => m.from === from && m.type === MessageType.App)
    .map((m) => m.entries[0].index);
}

export function range(from: number, toInclusive: number): number[] {
  return Array.from({ length: toInclusive - from + 1 }, (_, i) => from + i);
}

/** Handles that must not outlive a test: sockets, servers, timers. */
export function openHandleCounts(): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const kind of process.getActiveResourcesInfo()) {
    if (
      ['TCPSocketWrap', 'TCPServerWrap', 'Timeout', 'Immediate', 'FSReqPromise', 'FileHandle'].includes(kind)
    ) {
      counts[kind] = (counts[kind] ?? 0) + 1;
    }
  }
  return counts;
}
