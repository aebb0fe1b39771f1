// What the pipeline knows of a request, whichever surface it came through (gRPC on grpc-js or the fast path,
// the JSON gateway, the REST APIs, the console, the probes).
import type { EtcdError } from '@cairn/api';

export type Surface = 'grpc' | 'http';
export type CallKind = 'unary' | 'server_stream' | 'client_stream' | 'bidi_stream';

export interface RequestInfo {
  readonly surface: Surface;
  /**
   * What was called: gRPC `package.Service/Method` (e.g. `etcdserverpb.KV/Range`); HTTP `VERB /route` with
   * the route's pattern once routing knows it (`POST /v3/kv/range`, `GET /api/registry/v1/services/:service`).
   */
  method: string;
  readonly kind: CallKind;
  /** A request header or gRPC metadata value (lower-case name), first value only. */
  header(name: string): string | undefined;
  /** The client's own deadline (gRPC's grpc-timeout), absolute ms since the epoch. */
  readonly clientDeadline?: number;
  /** Waits by design (Watch, LeaseKeepAlive, Lock, Campaign, SSE): bounded only by the client's deadline. */
  readonly blocking: boolean;
  /** Size of the request body or message, when known before the handler runs. */
  readonly requestBytes?: number;
  readonly remoteAddress?: string;
  /**
   * CN of the client certificate the TLS handshake verified against --trusted-ca-file; etcd uses it as the user
   * name when a request carries no token (--client-cert-auth). Absent on plaintext connections and without a
   * verified certificate.
   */
  readonly certificateCommonName?: string;
  /** Aborted when the client goes away. */
  readonly signal?: AbortSignal;
}

/** How a call ended: its gRPC code name (OK, InvalidArgument...), the error if any, and how long it took. */
export interface Outcome {
  readonly code: string;
  readonly error?: EtcdError | Error;
  readonly seconds: number;
}
