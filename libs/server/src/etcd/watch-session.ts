// One Watch stream (etcd's serverWatchStream): many watchers multiplexed on one stream, each with a
// stream-local ID (auto IDs start at 0, or chosen by the client), created/canceled acks, compaction
// notices, progress requests and notifications, and fragmentation of big revisions. Its watchers are
// the member's EtcdPort watches, so they live across a snapshot install.
import { EtcdError, type WatchRequest__Output, toGrpcStatus } from '@cairn/api';
import type { WatchEvent, WatchResponse as StoreResponse } from '@cairn/mvcc';
import { wireKv } from '../kv-codec';
import { grpcCodeName } from '@cairn/edge';
import type { CallContext, EtcdPort, PortWatch } from '../port/etcd-port';
import {
  type WireHeader,
  encodeResponseHeader,
  encodeWatchEvents,
  encodeWatchEventsResponse,
  eventSize,
} from './watch-response-codec';

/** Where a session's watchers live, and the header its responses carry. */
export interface WatchSource {
  readonly port: EtcdPort;
  /** The response header at `revision` (cluster, member, revision, raft term). */
  header(revision: number): WireHeader;
}

export interface WatchSessionOptions {
  /** The context of the request that opened the stream: whose permissions each watch is created with. */
  context: CallContext;
  /** Responses above this size with >= 2 events are split when the watcher asked for fragments. */
  maxResponseBytes: number;
  progressNotifyIntervalMs: number;
  /**
   * False while the stream is full: a response with events is refused before it is converted (the store
   * keeps it and offers it again), so a parked watcher costs nothing per retry. Compaction notices still go.
   */
  ready?: () => boolean;
  /**
   * Events responses go out as encoded WatchResponse bytes (a Buffer) instead of objects: each event is encoded
   * once for every watcher and stream (watch-response-codec.ts). For a transport whose serializer passes
   * Buffers through (the gRPC Watch service).
   */
  binary?: boolean;
}

/** Sends one response on the stream; false = the stream is full and the response was NOT sent. */
export type WatchSend = (response: object, approxBytes: number) => boolean;

interface SessionWatcher {
  /** Undefined until the port's watch is open. */
  watch: PortWatch | undefined;
  fragment: boolean;
  progressNotify: boolean;
  sentSinceProgress: boolean;
}

const INVALID_WATCH_ID = -1;
const COMPACTED_REASON = 'etcdserver: mvcc: required revision has been compacted';

export class WatchSession {
  private readonly watchers = new Map<number, SessionWatcher>();
  private nextAutoId = 0;
  private progressTimer?: NodeJS.Timeout;
  private closed = false;
  /**
   * The encoded header of the revision being fanned out, kept until the end of the turn: a turn offers one
   * revision to every watcher of the stream, and nothing in a synchronous turn changes the term.
   */
  private turnHeader: { revision: number; bytes: Buffer } | undefined;

  constructor(
    private readonly source: WatchSource,
    private readonly send: WatchSend,
    private readonly opts: WatchSessionOptions,
  ) {
    this.progressTimer = setInterval(() => this.notifyProgress(), opts.progressNotifyIntervalMs);
    this.progressTimer.unref();
  }

  handle(req: WatchRequest__Output): void {
    if (this.closed) return;
    if (req.create_request) this.create(req.create_request);
    else if (req.cancel_request) this.cancel(Number(req.cancel_request.watch_id));
    else if (req.progress_request) this.requestProgress();
  }

  /** The store IDs of this stream's watchers (to retry just their parked responses once the stream drains). */
  *storeWatchIds(): Generator<number> {
    for (const watcher of this.watchers.values()) if (watcher.watch) yield watcher.watch.id;
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.progressTimer);
    for (const watcher of this.watchers.values()) watcher.watch?.cancel();
    this.watchers.clear();
  }

  private header(revision = this.source.port.revisions().current): object {
    return this.source.header(revision);
  }

  private create(req: NonNullable<WatchRequest__Output['create_request']>): void {
    const startRevision = Number(req.start_revision);
    if (startRevision < 0) {
      this.send(
        {
          header: this.header(),
          watch_id: INVALID_WATCH_ID,
          created: true,
          canceled: true,
          cancel_reason: COMPACTED_REASON,
        },
        64,
      );
      return;
    }
    let id = Number(req.watch_id);
    if (id !== 0) {
      // A client-chosen ID (etcd 3.4+): it must not be in use on this stream. 0 is etcd's AutoWatchID.
      if (this.watchers.has(id)) {
        this.send(
          {
            header: this.header(),
            watch_id: INVALID_WATCH_ID,
            created: true,
            canceled: true,
            cancel_reason: 'mvcc: duplicate watch ID provided on the WatchStream',
          },
          64,
        );
        return;
      }
    } else {
      while (this.watchers.has(this.nextAutoId)) this.nextAutoId++;
      id = this.nextAutoId++;
    }
    const filters = new Set(req.filters.map(Number));
    // An empty key watches from "\0" (etcd), i.e. with range_end "\0" every key.
    const key = req.key.length === 0 ? Buffer.from([0]) : req.key;
    const watcher: SessionWatcher = {
      watch: undefined,
      fragment: req.fragment,
      progressNotify: req.progress_notify,
      sentSinceProgress: false,
    };
    this.watchers.set(id, watcher);
    // The created ack goes out before any event of this watcher, and only once the watch exists: a watch
    // refused (no READ permission) is answered created + canceled in one response, as etcd does.
    let acked = false;
    const ack = (): void => {
      if (acked) return;
      acked = true;
      this.send({ header: this.header(), watch_id: id, created: true }, 64);
    };
    try {
      watcher.watch = this.source.port.watch(
        this.opts.context,
        {
          key,
          rangeEnd: req.range_end.length > 0 ? req.range_end : undefined,
          startRevision,
          prevKv: req.prev_kv,
          filters: { noPut: filters.has(0), noDelete: filters.has(1) },
        },
        (response) => {
          ack();
          return this.deliver(id, watcher, response);
        },
      );
    } catch (err) {
      if (!(err instanceof EtcdError)) throw err;
      this.watchers.delete(id);
      const status = toGrpcStatus(err);
      this.send(
        {
          header: this.header(),
          watch_id: Number(req.watch_id),
          created: true,
          canceled: true,
          // etcd sends the gRPC error's text: "rpc error: code = PermissionDenied desc = etcdserver: ...".
          cancel_reason: `rpc error: code = ${grpcCodeName(status.code)} desc = ${status.details}`,
        },
        64,
      );
      return;
    }
    ack();
  }

  private deliver(id: number, watcher: SessionWatcher, response: StoreResponse): boolean {
    if (this.closed || this.watchers.get(id) !== watcher) return true; // canceled: drop silently
    if (response.compactRevision !== undefined) {
      this.watchers.delete(id);
      return (
        this.send(
          {
            header: this.header(response.revision),
            watch_id: id,
            canceled: true,
            // etcd sends no cancel_reason here: clients derive "compacted" from compact_revision.
            compact_revision: response.compactRevision,
          },
          64,
        ) || true
      );
    }
    if (this.opts.ready && !this.opts.ready()) return false;
    if (this.opts.binary) return this.deliverBinary(id, watcher, response);
    const events = response.events.map(wireEvent);
    const sizes = response.events.map(eventSize);
    const size = sizes.reduce((sum, bytes) => sum + bytes, 64);
    watcher.sentSinceProgress = true;
    if (!watcher.fragment || size <= this.opts.maxResponseBytes || events.length < 2) {
      return this.send({ header: this.header(response.revision), watch_id: id, events }, size);
    }
    // Fragments: every part but the last is marked `fragment`, the client joins them.
    const parts: ReturnType<typeof wireEvent>[][] = [[]];
    let partSize = 0;
    for (const [i, event] of events.entries()) {
      const bytes = sizes[i];
      if (partSize + bytes > this.opts.maxResponseBytes && parts[parts.length - 1].length > 0) {
        parts.push([]);
        partSize = 0;
      }
      parts[parts.length - 1].push(event);
      partSize += bytes;
    }
    let sent = true;
    parts.forEach((part, i) => {
      const last = i === parts.length - 1;
      sent =
        this.send(
          { header: this.header(response.revision), watch_id: id, events: part, fragment: !last },
          partSize,
        ) && sent;
    });
    // Fragments were all written (a full buffer only delays them); report the stream's state.
    return true;
  }

  /** deliver() for binary sessions: the same responses and fragments, as encoded bytes. */
  private deliverBinary(id: number, watcher: SessionWatcher, response: StoreResponse): boolean {
    const header = this.encodedHeader(response.revision);
    const { events, sizes, size } = encodeWatchEvents(response.events);
    watcher.sentSinceProgress = true;
    if (!watcher.fragment || size <= this.opts.maxResponseBytes || events.length < 2) {
      const bytes = encodeWatchEventsResponse(header, id, events);
      return this.send(bytes, bytes.length);
    }
    // Split where deliver() splits; every part but the last is marked `fragment`.
    const parts: Buffer[][] = [[]];
    let partSize = 0;
    for (const [i, event] of events.entries()) {
      if (partSize + sizes[i] > this.opts.maxResponseBytes && parts[parts.length - 1].length > 0) {
        parts.push([]);
        partSize = 0;
      }
      parts[parts.length - 1].push(event);
      partSize += sizes[i];
    }
    parts.forEach((part, i) => {
      const bytes = encodeWatchEventsResponse(header, id, part, i < parts.length - 1);
      this.send(bytes, bytes.length);
    });
    return true;
  }

  private encodedHeader(revision: number): Buffer {
    const cached = this.turnHeader;
    if (cached && cached.revision === revision) return cached.bytes;
    if (!cached) queueMicrotask(() => (this.turnHeader = undefined));
    const bytes = encodeResponseHeader(this.source.header(revision));
    this.turnHeader = { revision, bytes };
    return bytes;
  }

  private cancel(id: number): void {
    const watcher = this.watchers.get(id);
    // etcd answers only the cancel of a watcher that exists on this stream.
    if (!watcher) return;
    watcher.watch?.cancel();
    this.watchers.delete(id);
    this.send({ header: this.header(), watch_id: id, canceled: true }, 64);
  }

  /** A progress request: if every watcher is synced, one response tells the current revision. */
  private requestProgress(): void {
    const allSynced = [...this.watchers.values()].every((w) => w.watch?.isSynced() ?? false);
    if (allSynced) this.send({ header: this.header(), watch_id: INVALID_WATCH_ID }, 64);
  }

  private notifyProgress(): void {
    for (const [id, watcher] of this.watchers) {
      if (!watcher.progressNotify) continue;
      if (!watcher.sentSinceProgress && watcher.watch?.isSynced()) {
        this.send({ header: this.header(), watch_id: id }, 64);
      }
      watcher.sentSinceProgress = false;
    }
  }
}

function wireEvent(event: WatchEvent) {
  return {
    type: event.type === 'put' ? 0 : 1,
    kv: wireKv(event.kv),
    prev_kv: event.prevKv ? wireKv(event.prevKv) : null,
  };
}
