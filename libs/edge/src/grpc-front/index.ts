// The gRPC front (front-connection.ts): the client URL's hot unary calls framed by the edge itself, in front of
// Node's HTTP/2 server.
import type http2 from 'node:http2';
import type net from 'node:net';
import type { Duplex } from 'node:stream';
import type { EdgeStats } from '../edge-stats';
import type { RequestPipeline } from '../pipeline';
import { type FastUnaryMethod, UnaryCall } from '../unary-call';
import { socketProxyUnder } from '../socket-proxy';
import { type FrontCalls, GrpcFrontSocket } from './front-connection';

export { type FrontCalls, GrpcFrontSocket } from './front-connection';
export type { FrontCall, FrontStream } from './front-stream';

export interface GrpcFrontOptions {
  methods: readonly FastUnaryMethod[];
  pipeline: RequestPipeline;
  maxReceiveBytes: number;
  /** Streams the front serves at once on one connection (--max-concurrent-streams); 0: no limit. */
  maxConcurrentStreams: number;
  stats?: EdgeStats;
  /**
   * First requests (paths) that also put a connection on the front although the front does not serve them
   * (etcd's Authenticate, which a client sends before its KV calls).
   */
  alsoFirst?: readonly string[];
}

/** The front's calls served on this thread: a UnaryCall each, through the request pipeline. */
export function localFrontCalls(
  methods: readonly FastUnaryMethod[],
  pipeline: RequestPipeline,
  maxReceiveBytes: number,
): FrontCalls & { readonly paths: readonly string[] } {
  const byPath = new Map(methods.map((m) => [m.definition.path, m]));
  return {
    paths: [...byPath.keys()],
    serves: (path) => byPath.has(path),
    start: (path, stream) => new UnaryCall(byPath.get(path)!, stream, maxReceiveBytes, pipeline),
  };
}

export class GrpcFront {
  private readonly calls: ReturnType<typeof localFrontCalls>;
  private readonly firstRequests: ReadonlySet<string>;

  constructor(private readonly options: GrpcFrontOptions) {
    this.calls = localFrontCalls(options.methods, options.pipeline, options.maxReceiveBytes);
    this.firstRequests = new Set([...this.calls.paths, ...(options.alsoFirst ?? [])]);
  }

  /** The paths of first requests that put a connection on the front (for the I/O worker's own front). */
  get firstRequestPaths(): readonly string[] {
    return [...this.firstRequests];
  }

  /**
   * Whether a connection whose first request has this path goes through the front. A connection that opens
   * with a stream (a Watch, a config subscription) mostly carries streams, which the front only passes on to
   * nghttp2 — through a JS socket that costs them more than a raw one — so it keeps the raw socket.
   */
  takes(firstPath: string | undefined): boolean {
    return firstPath !== undefined && this.firstRequests.has(firstPath);
  }

  /** The socket Node's HTTP/2 server should get for this connection. */
  wrap(socket: net.Socket): Duplex {
    return new GrpcFrontSocket(socket, {
      calls: this.calls,
      maxConcurrentStreams: this.options.maxConcurrentStreams,
      stats: this.options.stats,
    });
  }
}

/**
 * Writes DATA on `stream` (a stream of Node's HTTP/2 server) through the gRPC front, when its connection goes
 * through one: the frames join the connection's one write per tick (server-stream-data.ts). Undefined: write to
 * the stream. The returned function answers false when the front does not follow the stream (write to it then).
 */
export function frontDataWriter(
  stream: http2.Http2Stream,
): ((data: Buffer, written: () => void) => boolean) | undefined {
  const proxy = socketProxyUnder(stream.session?.socket);
  const id = stream.id;
  if (!(proxy instanceof GrpcFrontSocket) || id === undefined) return undefined;
  return (data, written) => proxy.sendStreamData(id, data, written);
}
