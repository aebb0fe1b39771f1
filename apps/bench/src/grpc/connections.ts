// gRPC connections to the endpoints under test. Requests go out as raw protobuf bytes: the
// (de)serializers pass Buffers through untouched, so the client spends no CPU on message objects.

import * as grpc from '@grpc/grpc-js';

const passThrough = (message: Buffer): Buffer => message;

/** One HTTP/2 connection to one endpoint. */
export class Connection {
  private readonly client: grpc.Client;

  constructor(readonly endpoint: string) {
    this.client = new grpc.Client(endpoint, grpc.credentials.createInsecure(), {
      // Without a local pool grpc-js would share one TCP connection among all channels to the
      // same address, and --conns would mean nothing.
      'grpc.use_local_subchannel_pool': 1,
      // A benchmark must see every failure, not have grpc-js quietly resend it (and retry
      // bookkeeping buffers each message); channelz would count every call for nobody.
      'grpc.enable_retries': 0,
      'grpc.enable_channelz': 0,
      'grpc.max_receive_message_length': 64 * 1024 * 1024,
      'grpc.max_send_message_length': 64 * 1024 * 1024,
    });
  }

  /** Waits until the connection is established (or the deadline passes). */
  ready(timeoutMs: number): Promise<void> {
    return new Promise((resolve, reject) => {
      this.client.waitForReady(Date.now() + timeoutMs, (error) => {
        if (error) reject(new Error(`${this.endpoint}: not ready after ${timeoutMs} ms: ${error.message}`));
        else resolve();
      });
    });
  }

  /** Sends one unary request; the callback style avoids a promise per request on the hot path. */
  unary(
    method: string,
    request: Buffer,
    done: (error: grpc.ServiceError | null, response?: Buffer) => void,
  ): void {
    this.client.makeUnaryRequest(method, passThrough, passThrough, request, (error, response) =>
      done(error, response),
    );
  }

  /** Promise form of `unary`, for setup steps that are not measured. */
  unaryAsync(method: string, request: Buffer): Promise<Buffer> {
    return new Promise((resolve, reject) => {
      this.unary(method, request, (error, response) => {
        if (error) reject(error);
        else resolve(response ?? Buffer.alloc(0));
      });
    });
  }

  /** Opens a bidirectional stream (watch, lease keep-alive). */
  bidi(method: string): grpc.ClientDuplexStream<Buffer, Buffer> {
    return this.client.makeBidiStreamRequest(method, passThrough, passThrough);
  }

  close(): void {
    this.client.close();
  }
}

/**
 * `count` connections spread round-robin over the endpoints, like etcd's benchmark tool does
 * with --conns; client i uses connection i mod count.
 */
export class ConnectionPool {
  readonly connections: Connection[];

  constructor(endpoints: readonly string[], count: number) {
    if (endpoints.length === 0) throw new Error('no endpoints given');
    this.connections = Array.from(
      { length: count },
      (_, i) => new Connection(endpoints[i % endpoints.length]),
    );
  }

  forClient(clientIndex: number): Connection {
    return this.connections[clientIndex % this.connections.length];
  }

  async ready(timeoutMs = 10_000): Promise<void> {
    await Promise.all(this.connections.map((connection) => connection.ready(timeoutMs)));
  }

  close(): void {
    for (const connection of this.connections) connection.close();
  }
}
