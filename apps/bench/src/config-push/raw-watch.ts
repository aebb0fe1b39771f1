// Config Watch streams over plain node:http2 (gRPC framing and the service's own protobuf codec), for
// `bench config-push --client http2`: the same wire as grpc-js sends, without grpc-js's per-message client
// machinery, so that on one machine the subscriber processes take less of the cores the members need.
import http2 from 'node:http2';
import { type ConfigWatchEvent__Output, loadEtcdServices } from '@cairn/api';

const PATH = '/cairn.config.v1.Config/Watch';

interface Codec {
  requestSerialize(value: object): Buffer;
  responseDeserialize(bytes: Buffer): ConfigWatchEvent__Output;
}

let codec: Codec | undefined;

function watchCodec(): Codec {
  codec ??= loadEtcdServices().cairn.config.v1.Config.service.Watch as unknown as Codec;
  return codec;
}

/** One HTTP/2 connection carrying many Watch streams. */
export class RawConnection {
  private readonly session: http2.ClientHttp2Session;

  constructor(endpoint: string, onError: (err: Error) => void) {
    this.session = http2.connect(`http://${endpoint}`);
    this.session.on('error', onError);
  }

  /** Opens a Watch stream; `onEvent` gets each decoded event, `onEnd` the reason it ended. */
  watch(
    request: object,
    onEvent: (event: ConfigWatchEvent__Output) => void,
    onEnd: (err: Error) => void,
  ): void {
    const { requestSerialize, responseDeserialize } = watchCodec();
    const stream = this.session.request({
      ':method': 'POST',
      ':path': PATH,
      'content-type': 'application/grpc',
      te: 'trailers',
    });
    const body = requestSerialize(request);
    const frame = Buffer.allocUnsafe(5 + body.length);
    frame[0] = 0;
    frame.writeUInt32BE(body.length, 1);
    body.copy(frame, 5);
    stream.end(frame);
    let pending: Buffer = Buffer.alloc(0);
    stream.on('data', (chunk: Buffer) => {
      pending = pending.length === 0 ? chunk : Buffer.concat([pending, chunk]);
      while (pending.length >= 5) {
        const length = pending.readUInt32BE(1);
        if (pending.length < 5 + length) break;
        const message = pending.subarray(5, 5 + length);
        pending = pending.subarray(5 + length);
        onEvent(responseDeserialize(message));
      }
    });
    stream.on('trailers', (trailers) => {
      const status = Number(trailers['grpc-status'] ?? 0);
      if (status !== 0) onEnd(new Error(`grpc-status ${status}: ${String(trailers['grpc-message'] ?? '')}`));
    });
    stream.on('error', onEnd);
  }

  close(): void {
    this.session.destroy();
  }
}
