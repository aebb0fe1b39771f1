// The flow of a server-streaming gRPC call, bounded like every other stream of the member. A grpc-js server
// stream is an object-mode Writable whose write completes only when HTTP/2 flow control lets the message out,
// so a client that stops reading makes messages queue there: once its own high-water mark of queued messages
// is reached (writableNeedDrain) the producer is told to stop (a watch parks, its store keeps the response)
// and is told again on 'drain'. Memory per stalled stream: that many messages plus the one in flight.

/** The part of a grpc-js server stream the flow reads. */
export interface GrpcServerStreamLike {
  readonly writableNeedDrain: boolean;
  readonly cancelled: boolean;
  readonly destroyed: boolean;
  once(event: 'drain' | 'close', listener: () => void): unknown;
  off(event: 'drain' | 'close', listener: () => void): unknown;
}

export class GrpcStreamFlow {
  constructor(private readonly call: GrpcServerStreamLike) {}

  /** False while the stream's queue of unsent messages is full. */
  get writable(): boolean {
    return !this.call.writableNeedDrain;
  }

  get closed(): boolean {
    return this.call.cancelled || this.call.destroyed;
  }

  /** Resolves once there is room again, or the call is gone. */
  drained(): Promise<void> {
    if (this.writable || this.closed) return Promise.resolve();
    return new Promise((resolve) => {
      const done = (): void => {
        this.call.off('drain', done);
        this.call.off('close', done);
        resolve();
      };
      this.call.once('drain', done);
      this.call.once('close', done);
    });
  }
}
