// A connection through @grpc/grpc-js. Requests go out as raw protobuf bytes: the
// (de)serializers pass Buffers through untouched, so no CPU goes into message objects.

import * as grpc from '@grpc/grpc-js';
import type { ConnectionSecurity } from './security';
import type { BidiStream, Connection, UnaryCallback } from './transport';

const passThrough = (message: Buffer): Buffer => message;

export class GrpcJsConnection implements Connection {
  private readonly client: grpc.Client;
  private metadata = new grpc.Metadata();

  constructor(
    readonly endpoint: string,
    security: ConnectionSecurity = {},
  ) {
    const credentials = security.tls
      ? grpc.credentials.createSsl(security.tls.ca, security.tls.key ?? null, security.tls.cert ?? null)
      : grpc.credentials.createInsecure();
    this.setToken(security.token);
    this.client = new grpc.Client(endpoint, credentials, {
      // Without a local pool grpc-js would share one TCP connection among all channels to the
      // same address, and --conns would mean nothing.
      'grpc.use_local_subchannel_pool': 1,
      // A benchmark must see every failure, not have grpc-js quietly resend it (and retry
      // bookkeeping buffers each message); channelz would count every call for nobody.
      'grpc.enable_retries': 0,
      'grpc.enable_channelz': 0,
      'grpc.max_receive_message_length': 64 * 1024 * 1024,
      'grpc.max_send_message_length': 64 * 1024 * 1024,
      // With TLS, name the server "localhost" (in the test certificates' SANs): SNI takes no IP address.
      ...(security.tls ? { 'grpc.ssl_target_name_override': 'localhost' } : {}),
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
    this.client.makeUnaryRequest(
      method,
      passThrough,
      passThrough,
      request,
      this.metadata,
      (error, response) => done(error, response),
    );
  }

  bidi(method: string): BidiStream {
    return this.client.makeBidiStreamRequest(method, passThrough, passThrough, this.metadata);
  }

  setToken(token: string | undefined): void {
    const metadata = new grpc.Metadata();
    if (token !== undefined) metadata.set('token', token);
    this.metadata = metadata;
  }

  close(): void {
    this.client.close();
  }
}
