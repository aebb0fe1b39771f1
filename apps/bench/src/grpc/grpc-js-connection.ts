// A connection through @grpc/grpc-js. Requests go out as raw protobuf bytes: the
// (de)serializers pass Buffers through untouched, so no CPU goes into message objects.

import * as grpc from '@grpc/grpc-js';
import type { BidiStream, Connection, UnaryCallback } from './transport';

const passThrough = (message: Buffer): Buffer => message;

export class GrpcJsConnection implements Connection {
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

  ready(timeoutMs: number): Promise<void> {
    return new Promise((resolve, reject) => {
      this.client.waitForReady(Date.now() + timeoutMs, (error) => {
        if (error) reject(new Error(`${this.endpoint}: not ready after ${timeoutMs} ms: ${error.message}`));
        else resolve();
      });
    });
  }

  /** The callback style avoids a promise per request on the hot path. */
  unary(method: string, request: Buffer, done: UnaryCallback): void {
    this.client.makeUnaryRequest(method, passThrough, passThrough, request, (error, response) =>
      done(error, response),
    );
  }

  bidi(method: string): BidiStream {
    return this.client.makeBidiStreamRequest(method, passThrough, passThrough);
  }

  close(): void {
    this.client.close();
  }
}
