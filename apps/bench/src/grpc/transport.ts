// What a workload needs from a connection, whichever library carries it: unary calls and
// bidirectional streams of raw protobuf bytes.

export type UnaryCallback = (error: Error | null, response?: Buffer) => void;

/** A bidi gRPC stream carrying already-encoded messages. */
export interface BidiStream {
  write(message: Buffer): unknown;
  on(event: 'data', listener: (message: Buffer) => void): unknown;
  on(event: 'error', listener: (error: Error) => void): unknown;
  /** Ends the call from the client side; an 'error' may follow, which callers expect. */
  cancel(): void;
}

/** One HTTP/2 connection to one endpoint. */
export interface Connection {
  readonly endpoint: string;
  ready(timeoutMs: number): Promise<void>;
  unary(method: string, request: Buffer, done: UnaryCallback): void;
  bidi(method: string): BidiStream;
  /** The etcd auth token sent (as metadata `token`) with every later call; undefined: none. */
  setToken(token: string | undefined): void;
  close(): void;
}

export const TRANSPORTS = ['grpc-js', 'http2'] as const;
export type TransportKind = (typeof TRANSPORTS)[number];

/** Promise form of `unary`, for setup steps that are not measured. */
export function unaryAsync(connection: Connection, method: string, request: Buffer): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    connection.unary(method, request, (error, response) => {
      if (error) reject(error);
      else resolve(response ?? Buffer.alloc(0));
    });
  });
}
